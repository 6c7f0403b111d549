"""The bulk writes (vroeg/db.py) store what Django's own save would store, on SQLite and
PostgreSQL: their fast paths (plain values passed as they are) must not change a value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from tests.builders import credit, tenancy_row, write_statement, write_tenancies
from vroeg.banking.actions import import_bank_file
from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.db import insert_rows, update_rows, values_rows
from vroeg.ledger.actions import post_charges
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.portfolio.actions import import_tenancies
from vroeg.portfolio.models import Tenancy

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 5)
FIELDS = ("tenancy_id", "kind", "amount", "booked_on", "due_on", "description",
          "return_reason", "source_key")


@pytest.fixture
def tenancies(vroeg_home: Path) -> list[int]:
    rows = [tenancy_row(n, beginsaldo_datum="2026-10-31") for n in (1, 2)]
    import_tenancies(write_tenancies(vroeg_home / "t.csv", rows), actor="test")
    return list(Tenancy.objects.order_by("pk").values_list("pk", flat=True))


def test_insert_rows_stores_what_create_stores(tenancies: list[int]) -> None:
    a, b = tenancies
    row = {"tenancy_id": a, "kind": EntryKind.CHARGE, "amount": Decimal("712.35"),
           "booked_on": DAY, "due_on": DAY, "description": "Huur / rent",
           "source_key": "x:1"}
    LedgerEntry.objects.create(**{**row, "source_key": "x:0"})
    insert_rows(LedgerEntry, [
        {**row, "source_key": "x:1"},
        # a plain str kind, an amount with more places, no due date, a long text
        {**row, "source_key": "x:2", "tenancy_id": b, "kind": "payment",
         "amount": Decimal("-0.5"), "due_on": None, "description": "n" * 250}])
    got = {r[-1]: r for r in values_rows(LedgerEntry.objects.order_by("pk"), FIELDS)}
    assert got["x:1"][:-1] == got["x:0"][:-1]
    assert got["x:1"][1:4] == ("charge", Decimal("712.35"), DAY)
    assert got["x:2"][1:6] == ("payment", Decimal("-0.50"), DAY, None, "n" * 200)
    # A value Django refuses is still refused, before anything is written.
    with pytest.raises(ValidationError), transaction.atomic():
        insert_rows(LedgerEntry, [{**row, "source_key": "x:3", "amount": Decimal("NaN")}])
    assert not LedgerEntry.objects.filter(source_key="x:3").exists()


def test_charges_are_not_booked_twice(tenancies: list[int]) -> None:
    first = post_charges(date(2026, 12, 1), takeover_on=date(2026, 11, 1))
    assert first.count == 4 and first.amount == Decimal("2800.00")
    assert post_charges(date(2026, 12, 1), takeover_on=date(2026, 11, 1)).count == 0
    # A key booked some other way than post_charges: that one is skipped, the rest
    # (the other tenancy's January) still booked, once.
    LedgerEntry.objects.create(tenancy_id=tenancies[1], kind="costs", amount=Decimal(1),
                               booked_on=date(2026, 12, 5),
                               source_key=f"charge:{tenancies[1]}:2027-01-01")
    jan = post_charges(date(2027, 1, 1), takeover_on=date(2026, 11, 1))
    assert (jan.count, jan.amount) == (1, Decimal("700.00"))
    assert LedgerEntry.objects.filter(kind="charge").count() == 5
    assert post_charges(date(2027, 1, 1), takeover_on=date(2026, 11, 1)).count == 0


def test_update_rows_stores_what_save_stores(tenancies: list[int], vroeg_home: Path) -> None:
    rows = [credit(1, DAY), credit(2, DAY)]
    r = import_bank_file(write_statement(vroeg_home / "s.xml", DAY, rows))
    assert r.status == "imported", r.reason
    one, two = BankTransaction.objects.order_by("pk")
    one.status, one.tenancy_id, one.candidates = TxnStatus.MATCHED, tenancies[0], []
    one.match_reason, one.matched_on = "betalingskenmerk", DAY
    two.status, two.candidates = TxnStatus.UNMATCHED, [{"tenancy_id": 7, "score": 0.5}]
    update_rows(BankTransaction, [one, two], ["status", "tenancy", "candidates",
                                              "match_reason", "matched_on"])
    one, two = BankTransaction.objects.order_by("pk")
    assert (one.status, one.tenancy_id, one.candidates, one.match_reason, one.matched_on) == (
        "matched", tenancies[0], [], "betalingskenmerk", DAY)
    assert (two.status, two.tenancy_id, two.candidates, two.matched_on) == (
        "unmatched", None, [{"tenancy_id": 7, "score": 0.5}], None)


def test_a_payment_whose_key_is_booked_is_not_posted_twice(tenancies: list[int],
                                                           vroeg_home: Path) -> None:
    from vroeg.banking.matching import match_and_post

    r = import_bank_file(write_statement(vroeg_home / "s.xml", DAY, [credit(1, DAY),
                                                                      credit(2, DAY)]))
    assert r.status == "imported", r.reason
    one, two = BankTransaction.objects.order_by("pk")
    # The first one's posting is in the ledger already (written some other way): the
    # match does not post it again, and still posts the second.
    LedgerEntry.objects.create(tenancy_id=tenancies[0], kind="payment", amount=-one.amount,
                               booked_on=DAY, source_key=f"bank:{one.pk}")
    result = match_and_post(DAY)
    assert result.matched == 2
    assert LedgerEntry.objects.filter(source_key=f"bank:{one.pk}").count() == 1
    assert LedgerEntry.objects.filter(source_key=f"bank:{two.pk}").count() == 1
    assert set(BankTransaction.objects.values_list("status", flat=True)) == {"matched"}


def test_a_row_refused_for_another_reason_is_not_taken_for_a_booked_key(
        tenancies: list[int], caplog: pytest.LogCaptureFixture) -> None:
    from django.db import IntegrityError

    from vroeg.ledger.actions import insert_new_rows

    row = {"tenancy_id": None, "kind": "payment", "amount": Decimal("-1.00"),
           "booked_on": DAY, "source_key": "x:null"}
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_new_rows([row])
    assert "already booked" not in caplog.text
    assert not LedgerEntry.objects.filter(source_key="x:null").exists()
