"""match_and_post against the database: splits, candidates, third parties, staff decisions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.builders import credit, iban, ref, tenancy_row, write_statement, write_tenancies
from vroeg.audit.models import AuditEvent
from vroeg.banking.actions import import_bank_file
from vroeg.banking.matching import match_and_post
from vroeg.banking.matching_actions import manual_match, mark_not_rent
from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.domain.bank.model import BankEntry
from vroeg.ledger.actions import post_charges
from vroeg.ledger.models import LedgerEntry
from vroeg.ledger.queries import balance_of
from vroeg.portfolio.actions import import_tenancies
from vroeg.portfolio.models import KnownPayer, Tenancy

pytestmark = pytest.mark.django_db
D = Decimal
DAY = date(2026, 11, 5)


@pytest.fixture
def portfolio(vroeg_home: Path) -> Path:
    rows = [tenancy_row(1, relatie_naam="J. de Vries", eenheid_straat="Lange Nieuwstraat",
                        eenheid_huisnummer="12", eenheid_postcode="3512 PA"),
            # The same household's parking place: one payer, two tenancies.
            tenancy_row(2, relatie_code="REL-00001", relatie_naam="J. de Vries",
                        kale_huur="40.00", servicekosten="5.00", iban=iban(1),
                        email="huurder1@example.org",
                        eenheid_straat="Lange Nieuwstraat", eenheid_huisnummer="12a",
                        eenheid_postcode="3512 PA"),
            tenancy_row(3, relatie_naam="A. Bakker", eenheid_straat="Oudegracht",
                        eenheid_huisnummer="200", eenheid_postcode="3511 AB")]
    for row in rows:
        row["beginsaldo_datum"] = "2026-10-31"  # only November's rent is owed
    import_tenancies(write_tenancies(vroeg_home / "t.csv", rows), actor="test")
    post_charges(date(2026, 11, 1), takeover_on=date(2026, 11, 1))
    return vroeg_home


def book(home: Path, *entries: BankEntry) -> None:
    r = import_bank_file(write_statement(home / f"s{len(list(home.glob('s*')))}.xml", DAY,
                                         entries))
    assert r.status == "imported", r.reason


def t(code: str) -> Tenancy:
    return Tenancy.objects.get(code=code)


def test_one_payment_for_home_and_parking_is_split(portfolio: Path) -> None:
    book(portfolio, credit(1, DAY, "745.00"))
    run = match_and_post(DAY)
    assert run.split == 1 and run.matched == 1
    txn = BankTransaction.objects.get()
    assert txn.tenancy == t("OVK-00001") and "split" in txn.match_reason
    parts = dict(LedgerEntry.objects.filter(source_key__startswith=f"bank:{txn.pk}")
                 .values_list("tenancy__code", "amount"))
    assert parts == {"OVK-00001": D("-700.00"), "OVK-00002": D("-45.00")}
    assert balance_of(t("OVK-00001").pk, DAY) == 0 == balance_of(t("OVK-00002").pk, DAY)
    assert match_and_post(DAY).matched == 0  # nothing twice


def test_overpayment_stays_as_credit(portfolio: Path) -> None:
    book(portfolio, credit(3, DAY, "1000.00"))
    match_and_post(DAY)
    assert balance_of(t("OVK-00003").pk, DAY) == D("-300.00")


def test_two_payments_on_one_day_see_each_other(portfolio: Path) -> None:
    # The first pays the home; the second (same household IBAN) then only has the parking.
    book(portfolio, credit(1, DAY, "700.00"), credit(1, DAY, "45.00", structured=False))
    match_and_post(DAY)
    assert balance_of(t("OVK-00001").pk, DAY) == 0 == balance_of(t("OVK-00002").pk, DAY)


def test_unknown_payer_waits_with_candidates_then_is_remembered(portfolio: Path) -> None:
    municipality = "NL44RABO0123456789"
    payment = BankEntry(amount=D("700.00"), currency="EUR", booked_on=DAY,
                        counterparty_name="Gemeente Utrecht", counterparty_iban=municipality,
                        remittance="bijzondere bijstand J de Vries", bank_reference="G1")
    book(portfolio, payment)
    run = match_and_post(DAY)
    assert run.unmatched == 1
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.UNMATCHED and txn.candidates
    assert txn.candidates[0]["code"] in ("OVK-00001", "OVK-00002")
    assert "name in remittance" in txn.candidates[0]["why"]
    # A person links it and remembers the payer: a third party.
    manual_match(txn, t("OVK-00001"), None, remember=True)
    payer = KnownPayer.objects.get(iban=municipality)
    assert payer.third_party and payer.linked_by == "staff:unknown"
    assert AuditEvent.objects.filter(action="known_payer_linked").count() == 1
    # Next month the municipality's payment is matched by itself.
    nxt = BankEntry(amount=D("700.00"), currency="EUR", booked_on=DAY,
                    counterparty_name="Gemeente Utrecht", counterparty_iban=municipality,
                    remittance="bijzondere bijstand december", bank_reference="G2")
    book(portfolio, nxt)
    match_and_post(DAY)
    second = BankTransaction.objects.get(bank_reference="G2")
    assert second.tenancy == t("OVK-00001")
    assert "third-party" in second.match_reason


def test_a_staff_decision_is_never_undone(portfolio: Path) -> None:
    # The tenant of OVK-00003 pays with OVK-00001's reference; a person corrects it.
    wrong = BankEntry(amount=D("700.00"), currency="EUR", booked_on=DAY,
                      counterparty_name="Leverancier BV", counterparty_iban="NL02RABO0123456789",
                      remittance="creditnota 1234", bank_reference="X1")
    book(portfolio, credit(3, DAY, "700.00", structured=False, text="huur"), wrong)
    match_and_post(DAY)
    supplier = BankTransaction.objects.get(bank_reference="X1")
    assert supplier.status == TxnStatus.UNMATCHED
    assert mark_not_rent(supplier, None, "creditnota")
    supplier.refresh_from_db()
    assert supplier.status == TxnStatus.IGNORED and "not rent" in supplier.match_reason
    before = list(BankTransaction.objects.values_list("pk", "status", "tenancy_id",
                                                      "match_reason"))
    match_and_post(DAY)
    match_and_post(date(2026, 11, 6))
    assert list(BankTransaction.objects.values_list("pk", "status", "tenancy_id",
                                                    "match_reason")) == before
    assert not mark_not_rent(supplier, None)  # already decided


def test_mistyped_reference_is_not_matched_by_reference(portfolio: Path) -> None:
    good = ref(3)
    bad = good[:5] + str((int(good[5]) + 1) % 10) + good[6:]
    entry = BankEntry(amount=D("700.00"), currency="EUR", booked_on=DAY,
                      counterparty_name="Onbekend", counterparty_iban="NL02RABO0123456789",
                      creditor_reference=bad, bank_reference="M1")
    book(portfolio, entry)
    match_and_post(DAY)
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.UNMATCHED and txn.tenancy is None
