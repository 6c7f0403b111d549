"""import_bank_file: one transaction per file, idempotent per file and per entry, audited."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

from tests.builders import write_statement
from vroeg.audit.models import AuditEvent
from vroeg.banking.actions import (
    ReviewError,
    accept_held,
    held_path,
    import_bank_file,
    move_to_rejected,
    reject_held,
)
from vroeg.banking.models import BankFile, BankTransaction, TxnStatus
from vroeg.domain.bank.model import AMOUNT_DIGITS, AMOUNT_PLACES, BankEntry
from vroeg.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

ABN_CAMT = "camt-moiristo/sample_files/camt.xml"
RABO = "mt940/jejik/rabobank-iban.sta"


def copy(realdata: Path, rel: str, folder: Path, name: str | None = None) -> Path:
    target = folder / (name or Path(rel).name)
    shutil.copyfile(realdata / rel, target)
    return target


def test_import_real_file_then_again_is_a_duplicate(realdata: Path, vroeg_home: Path) -> None:
    path = copy(realdata, ABN_CAMT, vroeg_home / "inbox")
    first = import_bank_file(path, actor="test")
    assert (first.status, first.format, first.statements) == ("imported", "camt.053.001.02", 1)
    assert first.entries == first.new_entries == 29 and first.duplicate_entries == 0
    assert BankTransaction.objects.count() == 29
    assert set(BankTransaction.objects.values_list("status", flat=True)) == {TxnStatus.NEW}
    assert BankTransaction.objects.filter(booked=True).count() == 29
    returned = BankTransaction.objects.get(amount=Decimal("-921.00"))
    assert (returned.return_reason, returned.reversal, returned.counterparty_name) == (
        "MS03", True, "Debtor")
    assert returned.account_iban == "NL77ABNA0574908765"
    events = AuditEvent.objects.filter(action="bank.file_imported")
    assert events.count() == 1 and events.get().details["new_entries"] == 29

    again = import_bank_file(path, actor="test")
    assert again.status == "duplicate_file"
    assert again.new_entries == 0
    assert "already imported" in again.reason
    assert BankFile.objects.count() == 1
    assert BankTransaction.objects.count() == 29
    assert AuditEvent.objects.filter(action__startswith="bank.").count() == 1  # nothing new


def test_overlapping_statements_are_not_stored_twice(realdata: Path,
                                                     vroeg_home: Path) -> None:
    full = (realdata / RABO).read_text()
    first_statement = full[: full.index(":20:", 10)]  # the file holds two statements
    part = vroeg_home / "rabo-day1.sta"
    part.write_text(first_statement)
    whole = copy(realdata, RABO, vroeg_home, "rabo-week.sta")

    a = import_bank_file(part)
    assert (a.status, a.statements, a.new_entries, a.duplicate_entries) == ("imported", 1, 2, 0)
    b = import_bank_file(whole)
    assert (b.status, b.statements, b.entries) == ("imported", 2, 4)
    assert (b.new_entries, b.duplicate_entries) == (2, 2)
    assert BankTransaction.objects.count() == 4
    assert BankFile.objects.get(name="rabo-week.sta").duplicate_entries == 2


def test_broken_file_is_refused_and_nothing_is_written(realdata: Path,
                                                       vroeg_home: Path) -> None:
    data = (realdata / "php-mt940/Bunq/sample").read_bytes()
    path = vroeg_home / "inbox" / "bunq.sta"
    path.write_bytes(data[: len(data) // 2])
    r = import_bank_file(path, actor="test")
    assert r.status == "refused"
    assert "truncated" in r.reason and "bunq.sta, regel/line" in r.reason
    assert BankTransaction.objects.count() == 0
    row = BankFile.objects.get()
    assert (row.status, row.reason) == (BankFile.Status.REFUSED, r.reason)
    assert AuditEvent.objects.filter(action="bank.file_refused").count() == 1

    moved = move_to_rejected(path, r.reason)
    assert not path.exists() and moved.parent == vroeg_home / "inbox" / "rejected"
    assert (moved.parent / "bunq.sta.reason.txt").read_text(encoding="utf-8").startswith(
        "bunq.sta, regel/line")
    # A second refused file of the same name does not overwrite the first.
    other = vroeg_home / "inbox" / "bunq.sta"
    other.write_bytes(b"not a bank file")
    second = move_to_rejected(other, "nee / no")
    assert second != moved and second.exists() and moved.exists()


def test_non_euro_entries_are_kept_but_ignored(realdata: Path, vroeg_home: Path) -> None:
    r = import_bank_file(copy(realdata, "php-mt940/Rabo/sample", vroeg_home))
    assert r.status == "held"  # this sample's balances do not add up: a person decides
    accept_held(BankFile.objects.get(pk=r.file_id), "staff:test", "trimmed sample")
    usd = BankTransaction.objects.filter(currency="USD")
    assert usd.exists()
    assert {t.status for t in usd} == {TxnStatus.IGNORED}
    assert all("only euros" in t.match_reason for t in usd)
    assert BankTransaction.objects.filter(currency="EUR", status=TxnStatus.NEW).exists()
    assert "balance does not add up" in BankFile.objects.get().warnings


def test_notification_first_then_statement_becomes_booked(realdata: Path,
                                                         vroeg_home: Path) -> None:
    folder = "account-payment/account_payment_return_import_iso20022"
    n = import_bank_file(copy(realdata, f"{folder}/test-sepa-camt-054-unpaid.xml", vroeg_home))
    assert n.status == "imported"
    txn = BankTransaction.objects.get()
    assert (txn.booked, txn.return_reason, txn.amount) == (False, "AC06", Decimal("-100.00"))
    s = import_bank_file(copy(realdata, f"{folder}/test-sepa-camt-053-unpaid.xml", vroeg_home))
    assert (s.new_entries, s.duplicate_entries) == (0, 1)  # the same booking
    txn.refresh_from_db()
    assert txn.booked is True


def test_pain002_rejects_are_stored_as_not_booked(realdata: Path, vroeg_home: Path) -> None:
    r = import_bank_file(copy(realdata, "account-payment/account_payment_return_import_sepa_pain/"
                                        "test-sepa-unpaid.xml", vroeg_home))
    assert (r.status, r.format, r.new_entries) == ("imported", "pain.002.001.03", 4)
    assert set(BankTransaction.objects.values_list("return_reason", flat=True)) == {
        "AC01", "MS02", "MD06", "AM04"}
    assert not BankTransaction.objects.filter(booked=True).exists()


def test_statement_of_another_account_is_refused(realdata: Path, vroeg_home: Path,
                                                 settings) -> None:
    settings.VROEG_BANK_ACCOUNTS = ["NL91ABNA0417164300"]
    r = import_bank_file(copy(realdata, ABN_CAMT, vroeg_home))
    assert r.status == "refused" and "NL77ABNA0574908765" in r.reason
    assert BankTransaction.objects.count() == 0
    settings.VROEG_BANK_ACCOUNTS = ["NL77 ABNA 0574 9087 65"]
    assert import_bank_file(vroeg_home / "camt.xml").status == "imported"  # retried


def test_bank_parse_command(realdata: Path, capsys) -> None:
    call_command("bank", "parse", str(realdata / "php-mt940/Abn/issue48"), "--json")
    out = capsys.readouterr().out
    import json

    doc = json.loads(out)
    assert doc["format"] == "mt940"
    (s,) = doc["statements"]
    assert (s["opening_balance"], s["closing_balance"]) == ("1124.58", "1171.60")
    assert s["entries"][1]["amount"] == "-62.63"
    assert s["entries"][1]["creditor_reference"] is None
    assert s["entries"][0]["booked_on"] == "2016-12-15"
    with pytest.raises(SystemExit) as exit_:
        call_command("bank", "parse", str(realdata / "camt/test-data/camt053.v2.wrong.xml"))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "camt053.v2.wrong.xml, Document/BkToCstmrStmt (regel/line 3)" in err
    assert "Traceback" not in err


UNBALANCED = "mt940/jejik/abnamro.sta"  # closing balances do not follow from the entries


def test_bank_parse_json_shows_warnings(realdata: Path) -> None:
    import json

    out = StringIO()
    call_command("bank", "parse", str(realdata / UNBALANCED), "--json", stdout=out)
    doc = json.loads(out.getvalue())
    assert list(doc) == ["format", "statements", "warnings"]
    assert doc["format"] == "mt940" and len(doc["statements"]) == 2
    (first, second) = doc["warnings"]
    assert "balance does not add up" in first and "verschil / difference -2038.00" in first
    assert "verschil / difference -1002.60" in second

    out = StringIO()
    call_command("bank", "parse", str(realdata / "php-mt940/Abn/issue48"), "--json", stdout=out)
    assert json.loads(out.getvalue())["warnings"] == []


def test_unbalanced_statement_waits_for_a_person(realdata: Path, vroeg_home: Path) -> None:
    path = copy(realdata, UNBALANCED, vroeg_home)
    r = import_bank_file(path)
    assert r.status == "held" and r.new_entries == 0
    assert "verschil / difference -2038.00" in r.reason
    assert not BankTransaction.objects.exists()  # nothing stored, nothing booked
    held = BankFile.objects.get(pk=r.file_id)
    assert held.status == BankFile.Status.HELD and held_path(held).is_file()
    again = import_bank_file(path)  # the same file again: still waiting, still nothing stored
    assert again.status == "held" and "already awaiting review" in again.reason
    assert not BankTransaction.objects.exists()

    out = StringIO()
    call_command("bank", "held", stdout=out)
    assert f"#{held.pk}" in out.getvalue() and "-2038.00" in out.getvalue()
    out = StringIO()
    call_command("bank", "accept", str(held.pk), "--note", "bank confirmed", stdout=out)
    assert "accepted" in out.getvalue()
    held.refresh_from_db()
    assert held.status == BankFile.Status.IMPORTED and held.reviewed_by == "staff:cli"
    assert held.name == UNBALANCED.rsplit("/", 1)[-1]
    assert BankTransaction.objects.filter(file=held).count() == r.entries
    assert not held_path(held).exists() and (vroeg_home / "inbox" / "done").is_dir()
    assert AuditEvent.objects.filter(action="bank.file_accepted").count() == 1
    assert import_bank_file(path).status == "duplicate_file"
    with pytest.raises(ReviewError):
        accept_held(held, "staff:test")


def test_rejected_statement_is_never_booked(realdata: Path, vroeg_home: Path) -> None:
    path = copy(realdata, UNBALANCED, vroeg_home)
    r = import_bank_file(path)
    held = BankFile.objects.get(pk=r.file_id)
    with pytest.raises(ReviewError):
        reject_held(held, "staff:test", " ")
    reject_held(held, "staff:test", "afschrift is afgekapt / statement is cut off")
    held.refresh_from_db()
    assert held.status == BankFile.Status.REJECTED and not BankTransaction.objects.exists()
    reason_files = list((vroeg_home / "inbox" / "rejected").glob("*.reason.txt"))
    assert len(reason_files) == 1 and "cut off" in reason_files[0].read_text(encoding="utf-8")
    again = import_bank_file(path)
    assert again.status == "refused" and "rejected earlier by staff:test" in again.reason
    assert not BankTransaction.objects.exists()


def test_unbalanced_file_in_the_inbox_waits_in_held(realdata: Path, vroeg_home: Path) -> None:
    from vroeg.runs.ingest import ingest_inbox

    copy(realdata, UNBALANCED, vroeg_home / "inbox")
    (outcome,) = ingest_inbox()
    assert outcome.status == "held" and "balance does not add up" in outcome.detail
    assert not list((vroeg_home / "inbox").glob("*.*"))
    assert len(list((vroeg_home / "inbox" / "held").iterdir())) == 1


def test_accepted_file_carries_its_warnings(realdata: Path, vroeg_home: Path) -> None:
    path = copy(realdata, UNBALANCED, vroeg_home)
    r = import_bank_file(path, accept_unbalanced=True)
    assert r.status == "imported" and len(r.warnings) == 2
    assert all("balance does not add up" in w for w in r.warnings)
    assert "verschil / difference -2038.00" in r.warnings[0]
    assert BankFile.objects.get(pk=r.file_id).warnings.splitlines() == list(r.warnings)
    again = import_bank_file(path)  # the same file again still says what is wrong with it
    assert again.status == "duplicate_file" and again.warnings == r.warnings

    out = StringIO()
    call_command("bank", "import", str(path), stdout=out)
    assert "let op / note: Saldo klopt niet" in out.getvalue()


# ------------------------------------------------------ amounts and booking dates

def test_amount_limit_fits_every_field_a_bank_amount_reaches() -> None:
    fields = [BankTransaction._meta.get_field("amount"), LedgerEntry._meta.get_field("amount")]
    assert all(f.decimal_places == AMOUNT_PLACES for f in fields)
    assert min(f.max_digits for f in fields) == AMOUNT_DIGITS  # the narrowest decides


def _statement_file(path: Path, amount: str, booked_on: date | None = None) -> Path:
    day = date(2026, 11, 2)
    huge = BankEntry(amount=Decimal(amount), currency="EUR", booked_on=booked_on or day,
                     counterparty_name="Groot", bank_reference="G-1")
    back = BankEntry(amount=-Decimal(amount), currency="EUR", booked_on=day,
                     counterparty_name="Groot", bank_reference="G-2")
    return write_statement(path, day, [huge, back])  # balances add up


def test_absurd_amount_is_refused_naming_file_and_element(vroeg_home: Path) -> None:
    path = _statement_file(vroeg_home / "inbox" / "groot.xml", "12345678901234567890.99")
    r = import_bank_file(path, actor="test")
    assert r.status == "refused"
    assert r.reason.startswith("groot.xml, Document/BkToCstmrStmt/Stmt/Ntry[1]/Amt (regel/line ")
    assert "Bedrag te groot / amount too large: '12345678901234567890.99'" in r.reason
    assert BankTransaction.objects.count() == 0
    assert BankFile.objects.get().status == BankFile.Status.REFUSED


def test_late_and_future_entries_are_kept_with_a_warning(vroeg_home: Path) -> None:
    path = _statement_file(vroeg_home / "laat.xml", "700.00", booked_on=date(2026, 11, 20))
    with mock.patch("vroeg.runs.clock.today", return_value=date(2026, 11, 10)):
        r = import_bank_file(path, actor="test")
    assert (r.status, r.new_entries) == ("imported", 2)
    assert [w.split(":")[0] for w in r.warnings] == [
        "Meer dan 7 dagen na de afschriftdatum geboekt / booked more than 7 days after the "
        "statement date",
        "Boekdatum in de toekomst / booked after today (2026-11-10)"]
    assert all("1 boeking(en) / entries, 2026-11-20 .. 2026-11-20" in w for w in r.warnings)
    assert BankFile.objects.get().warnings.splitlines() == list(r.warnings)
