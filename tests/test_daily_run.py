"""A whole run on a small, exact portfolio: matching, steps, idempotency, catch-up."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.builders import credit, iban, ref, tenancy_row, write_statement, write_tenancies
from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.collection.models import Case, Signal, Task
from vroeg.domain.bank.model import BankEntry
from vroeg.domain.calendar import is_business_day
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)
D = date


def run(day: date) -> dict:
    out = StringIO()
    call_command("run", date=day.isoformat(), json=True, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def portfolio(vroeg_home):
    inbox = vroeg_home / "inbox"
    write_tenancies(inbox / "huurcontracten.csv", [
        tenancy_row(1),                                   # always on time
        tenancy_row(2, voorkeurskanaal="sms"),            # does not pay in November
        tenancy_row(3),                                   # pays after the first reminder
        tenancy_row(4, betaalwijze="incasso", machtigingskenmerk="MANDT-4"),  # AM04 return
        tenancy_row(5, beginsaldo="350.00"),              # opening arrears, pays them in Oct
    ])
    oct_entries = [credit(n, D(2026, 10, 1)) for n in (1, 2, 3, 4)]
    oct_entries.append(credit(5, D(2026, 10, 1), "1050.00"))
    write_statement(inbox / "camt-2026-10-01.xml", D(2026, 10, 1), oct_entries)
    write_statement(inbox / "camt-2026-11-02.xml", D(2026, 11, 2), [
        credit(1, D(2026, 11, 2)),
        credit(4, D(2026, 11, 2), mandate_id="MANDT-4", end_to_end_id="E2E-4-NOV"),
        credit(5, D(2026, 11, 2)),
        # A stranger's payment: no reference, unknown IBAN -> the staff queue.
        BankEntry(amount=Decimal("123.45"), currency="EUR",
                  booked_on=D(2026, 11, 2), counterparty_name="Onbekend",
                  counterparty_iban="NL02RABO0123456789", remittance="huur",
                  bank_reference="X-1"),
    ])
    write_statement(inbox / "camt-2026-11-04.xml", D(2026, 11, 4), [
        BankEntry(amount=Decimal("-700.00"), currency="EUR",
                  booked_on=D(2026, 11, 4), counterparty_name="Fam. Test 4",
                  counterparty_iban=iban(4), return_reason="AM04", mandate_id="MANDT-4",
                  end_to_end_id="E2E-4-NOV", bank_reference="RET-4"),
    ])
    spaced = " ".join(ref(3)[i:i + 4] for i in range(0, 16, 4))
    write_statement(inbox / "camt-2026-11-09.xml", D(2026, 11, 9), [
        credit(3, D(2026, 11, 9), structured=False, text=f"huur nov {spaced}"),
    ])
    write_statement(inbox / "camt-2026-11-23.xml", D(2026, 11, 23), [
        credit(4, D(2026, 11, 23), structured=False, text="huur november"),  # by IBAN
    ])
    # The bank sends a statement every working day, also when nothing came in.
    for day in range(3, 31):
        on = D(2026, 11, day)
        if is_business_day(on) and not (inbox / f"camt-{on}.xml").exists():
            write_statement(inbox / f"camt-{on}.xml", on, [])
    return vroeg_home


def steps_of(code: str) -> list[tuple[str, str]]:
    return sorted((m.decided_on.isoformat(), f"{m.step}:{m.channel}")
                  for m in Message.objects.filter(tenancy__code=code))


def test_a_month_of_runs(portfolio):
    first = run(D(2026, 10, 31))
    assert first["ingested"]["files"] == 23 and first["ingested"]["refused"] == 0
    # October: every tenancy charged once; everybody paid, T5 also its opening arrears.
    assert first["ledger"]["charges"] == 5 and first["ledger"]["opening_balances"] == 1
    assert first["payments"]["matched"] == 5
    assert first["arrears"]["tenancies_in_arrears"] == 0

    last = run(D(2026, 11, 30))
    assert last["caught_up"][0] == "2026-11-01" and len(last["caught_up"]) == 29

    # The stranger waits for a person; nothing was guessed.
    queue = BankTransaction.objects.filter(status=TxnStatus.UNMATCHED)
    assert [t.amount for t in queue] == [Decimal("123.45")]
    assert last["queues"]["unmatched_payments"] == 1

    # T1 and T5 paid on time: no case, no message.
    assert not Case.objects.filter(tenancy__code__in=["OVK-00001", "OVK-00005"]).exists()

    # T2 never paid (first time late): the ladder, spaced, by SMS as preferred: the
    # friendly reminder, a person calls (late for the first time: what happened?), the
    # second reminder, the arrangement offer with its link, the call after it.
    assert steps_of("OVK-00002") == [
        ("2026-11-06", "reminder_friendly:sms"), ("2026-11-16", "reminder_second:sms"),
        ("2026-11-21", "arrangement_offer:sms")]
    calls = Task.objects.filter(tenancy__code="OVK-00002").order_by("created_on")
    assert [(t.kind, t.created_on) for t in calls] == [("call", D(2026, 11, 11)),
                                                       ("call", D(2026, 11, 26))]

    # T3 paid on 9 Nov with the reference typed in the text: case closed that day.
    case3 = Case.objects.get(tenancy__code="OVK-00003")
    assert case3.status == Case.Status.CLOSED and case3.closed_on == D(2026, 11, 9)
    assert steps_of("OVK-00003") == [("2026-11-06", "reminder_friendly:email")]

    # T4: the AM04 return reopened November, a signal says why, the call came sooner.
    sig = Signal.objects.get(tenancy__code="OVK-00004", kind="dd_reversal")
    assert "AM04" in sig.reason and sig.detected_on == D(2026, 11, 4)
    case4 = Case.objects.get(tenancy__code="OVK-00004")
    assert case4.closed_on == D(2026, 11, 23)
    task4 = Task.objects.get(tenancy__code="OVK-00004")
    assert task4.created_on == D(2026, 11, 13)
    assert task4.status == Task.Status.CANCELLED  # the case closed: the call is moot
    rev = LedgerEntry.objects.get(tenancy__code="OVK-00004", kind="reversal")
    assert rev.return_reason == "AM04"

    # Arrears at the end: only T2's November rent.
    assert last["arrears"]["total"] == "700.00"
    assert last["arrears"]["tenancies_in_arrears"] == 1

    # Every letter/email/sms decided was written to the outbox exactly once.
    assert not Message.objects.filter(status=Message.Status.PENDING).exists()
    assert len(list((portfolio / "outbox" / "sms").glob("*.json"))) == 3

    # 1 December: T2's written reminder, by letter.
    run(D(2026, 12, 1))
    assert Case.objects.get(tenancy__code="OVK-00002").state == "written_reminder"
    letter = Message.objects.get(tenancy__code="OVK-00002", channel="letter")
    assert letter.step == "written_reminder" and letter.decided_on == D(2026, 12, 1)
    assert letter.status == Message.Status.SENT
    assert (portfolio / letter.delivery_ref).is_file()


def test_same_date_twice_changes_nothing(portfolio):
    run(D(2026, 10, 31))
    run(D(2026, 11, 30))
    counts = (LedgerEntry.objects.count(), Message.objects.count(), Task.objects.count(),
              Case.objects.count(), Signal.objects.count())
    again = run(D(2026, 11, 30))
    assert again["rerun"] is True and again["nothing_new"] is True
    assert again["messages"]["decided"] == {} and again["tasks"]["created"] == {}
    assert again["ledger"]["charges"] == 0 and again["payments"]["matched"] == 0
    assert counts == (LedgerEntry.objects.count(), Message.objects.count(),
                      Task.objects.count(), Case.objects.count(), Signal.objects.count())


# T2 (first time late): a reminder, an early call, a reminder, the arrangement offer, a
# call. T4 (direct debit returned): the call comes before the second reminder.
EXPECTED_MESSAGES = sorted([
    ("OVK-00002", "reminder_friendly", D(2026, 11, 6)),
    ("OVK-00002", "reminder_second", D(2026, 11, 16)),
    ("OVK-00002", "arrangement_offer", D(2026, 11, 21)),
    ("OVK-00003", "reminder_friendly", D(2026, 11, 6)),
    ("OVK-00004", "reminder_friendly", D(2026, 11, 6)),
    ("OVK-00004", "reminder_second", D(2026, 11, 18)),
])
EXPECTED_TASKS = [("OVK-00002", "call", D(2026, 11, 11)), ("OVK-00002", "call", D(2026, 11, 26)),
                  ("OVK-00004", "call", D(2026, 11, 13))]


def schedule() -> tuple[list, list]:
    msgs = sorted(Message.objects.values_list("tenancy__code", "step", "decided_on"))
    tasks = sorted(Task.objects.values_list("tenancy__code", "kind", "created_on"))
    return msgs, tasks


def test_catch_up_in_one_go_equals_running_every_day(portfolio):
    run(D(2026, 10, 31))
    for day in range(1, 31):
        report = run(D(2026, 11, day))
        assert "caught_up" not in report
    assert schedule() == (EXPECTED_MESSAGES, EXPECTED_TASKS)


def test_catch_up_schedule(portfolio):
    run(D(2026, 10, 31))
    run(D(2026, 11, 30))
    assert schedule() == (EXPECTED_MESSAGES, EXPECTED_TASKS)


def test_a_refused_file_lands_in_rejected_with_a_reason(vroeg_home):
    (vroeg_home / "inbox" / "kapot.xml").write_text("<Document><BkToCstmrStmt>", "utf-8")
    report = run(D(2026, 11, 2))
    assert report["ingested"]["refused"] == 1
    reason = (vroeg_home / "inbox" / "rejected" / "kapot.xml.reason.txt").read_text("utf-8")
    assert "kapot.xml" in reason or reason.strip()


def test_a_file_with_an_absurd_amount_is_rejected_and_the_run_completes(vroeg_home):
    inbox = vroeg_home / "inbox"
    write_tenancies(inbox / "huurcontracten.csv", [tenancy_row(1)])
    huge = Decimal("12345678901234567890.99")
    write_statement(inbox / "camt-groot.xml", D(2026, 11, 2), [
        credit(1, D(2026, 11, 2), str(huge)), credit(1, D(2026, 11, 2), str(-huge))])
    (inbox / "mt940-groot.sta").write_text(
        ":20:GROOT\n:25:NL91ABNA0417164300\n:28C:1\n:60F:C261102EUR0,00\n"
        ":61:2611021102C12345678901234567890,99NTRFNONREF\n:86:/NAME/Fam. Test 1\n"
        ":61:2611021102D12345678901234567890,99NTRFNONREF\n:86:/NAME/Fam. Test 1\n"
        ":62F:C261102EUR0,00\n-\n", "utf-8")
    write_statement(inbox / "camt-2026-11-02.xml", D(2026, 11, 2), [credit(1, D(2026, 11, 2))])

    report = run(D(2026, 11, 2))
    assert report["ingested"]["refused"] == 2 and report["payments"]["matched"] == 1
    rejected = inbox / "rejected"
    camt = (rejected / "camt-groot.xml.reason.txt").read_text("utf-8")
    assert camt.startswith("camt-groot.xml, Document/BkToCstmrStmt/Stmt/Ntry[1]/Amt")
    assert "amount too large: '12345678901234567890.99'" in camt
    mt940 = (rejected / "mt940-groot.sta.reason.txt").read_text("utf-8")
    assert mt940.startswith("mt940-groot.sta, regel/line 5: Bedrag te groot / amount too "
                            "large (veld / field :61:): '12345678901234567890,99'")
    assert {p.name for p in rejected.iterdir()} == {
        "camt-groot.xml", "camt-groot.xml.reason.txt", "mt940-groot.sta",
        "mt940-groot.sta.reason.txt"}
    assert BankTransaction.objects.count() == 1  # only the good file's payment
    assert run(D(2026, 11, 3))["ingested"]["files"] == 0  # the next run completes too


def test_a_file_delivered_twice_is_kept_once(portfolio):
    copy = (portfolio / "inbox" / "camt-2026-10-01.xml").read_bytes()
    run(D(2026, 10, 31))
    (portfolio / "inbox" / "camt-2026-10-01.xml").write_bytes(copy)
    report = run(D(2026, 10, 31))
    assert report["ingested"]["duplicate_files"] == 1 and report["nothing_new"]
    assert [p.name for p in (portfolio / "inbox" / "done").glob("camt-2026-10-01*")] == [
        "camt-2026-10-01.xml"]


def test_a_pause_stops_the_steps_but_not_the_case(portfolio):
    from vroeg.collection.models import Pause
    from vroeg.portfolio.models import Tenancy

    run(D(2026, 10, 31))
    Pause.objects.create(tenancy=Tenancy.objects.get(code="OVK-00002"),
                         reason="schuldhulptraject / in debt help", starts_on=D(2026, 11, 1),
                         ends_on=D(2026, 11, 20), set_by="staff:test")
    run(D(2026, 11, 30))
    # Paused until the 20th; afterwards the ladder starts where it stood: the first step,
    # then the early call.
    assert steps_of("OVK-00002") == [("2026-11-21", "reminder_friendly:sms")]
    assert list(Task.objects.filter(tenancy__code="OVK-00002").values_list(
        "kind", "created_on")) == [("call", D(2026, 11, 26))]
    assert Case.objects.get(tenancy__code="OVK-00002").opened_on == D(2026, 11, 2)


def test_catching_up_to_today_sends_only_the_latest_step_dated_today(portfolio, settings):
    """An outage: the run for 'today' (1 Dec 2026 here) catches up November. The missed
    days decide, but only today sends, and only each case's latest message, dated today
    with its objection deadline counted from today."""
    from unittest import mock

    from vroeg.domain.calendar import AMSTERDAM

    run(D(2026, 10, 31))
    today = D(2026, 12, 1)
    noon = datetime.combine(today, time(12, 0), AMSTERDAM)
    with mock.patch("vroeg.runs.daily.today", return_value=today), \
            mock.patch("vroeg.runs.clock.today", return_value=today), \
            mock.patch("django.utils.timezone.now", return_value=noon):
        report = run(today)
    assert len(report["caught_up"]) == 30
    sent = Message.objects.filter(status=Message.Status.SENT, tenancy__code="OVK-00002")
    assert [m.step for m in sent] == ["written_reminder"]
    assert Message.objects.filter(tenancy__code="OVK-00002",
                                  status=Message.Status.CANCELLED).count() == 3
    letter = sent[0]
    pdf = portfolio / letter.delivery_ref
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "1 december 2026" in text  # dated the day it is sent, not 30 November
    assert "15 december 2026" in text  # the objection deadline counts from today


def test_the_letter_points_to_the_tenants_own_municipality(vroeg_home):
    inbox = vroeg_home / "inbox"
    write_tenancies(inbox / "t.csv", [tenancy_row(1, eenheid_plaats="Tilburg",
                                                  eenheid_postcode="5038 AB")])
    run(D(2026, 10, 31))
    run(D(2026, 11, 30))
    letter = Message.objects.get(channel="letter")
    assert "Gemeente Tilburg" in letter.body_text and "14 013" in letter.body_text
    assert "14 020" not in letter.body_text  # not Amsterdam's debt help


def test_without_an_opening_balance_date_rent_is_charged_from_the_first_run(vroeg_home):
    inbox = vroeg_home / "inbox"
    write_tenancies(inbox / "t.csv", [tenancy_row(1, beginsaldo="", beginsaldo_datum="",
                                                  ingangsdatum="2015-06-01")])
    first = run(D(2026, 10, 31))
    assert first["ledger"]["charges"] == 0  # 2015..October is the ERP's history
    run(D(2026, 11, 30))
    charges = list(LedgerEntry.objects.filter(kind="charge").values_list("due_on", flat=True))
    assert charges == [D(2026, 11, 1)]


def test_replay_to_today_sends_each_day_on_its_own_date(portfolio):
    from unittest import mock

    from vroeg.domain.calendar import AMSTERDAM

    run(D(2026, 10, 31))
    today = D(2026, 12, 1)
    noon = datetime.combine(today, time(12, 0), AMSTERDAM)
    out = StringIO()
    with mock.patch("vroeg.runs.daily.today", return_value=today), \
            mock.patch("vroeg.runs.clock.today", return_value=today), \
            mock.patch("django.utils.timezone.now", return_value=noon):
        call_command("run", date=today.isoformat(), json=True, replay=True, stdout=out)
    sent = dict(Message.objects.filter(tenancy__code="OVK-00002").values_list("step",
                                                                              "sent_at"))
    assert sent["reminder_friendly"].astimezone(AMSTERDAM).date() == D(2026, 11, 6)
    assert sent["written_reminder"].astimezone(AMSTERDAM).date() == D(2026, 12, 1)


def test_no_new_steps_while_the_bank_statements_are_behind(vroeg_home):
    inbox = vroeg_home / "inbox"
    write_tenancies(inbox / "huurcontracten.csv", [
        tenancy_row(n, beginsaldo_datum="2026-10-31") for n in (1, 2)])
    write_statement(inbox / "camt-2026-11-02.xml", D(2026, 11, 2), [credit(1, D(2026, 11, 2))])
    run(D(2026, 10, 31))
    last = run(D(2026, 11, 12))
    # The export stopped after 2 November: nobody knows who paid, so nobody is reminded.
    assert not Message.objects.exists()
    assert list(Case.objects.values_list("tenancy__code", "opened_on")) == [
        ("OVK-00002", D(2026, 11, 2))]  # that day's statement was in
    assert "2026-11-02" in last["decisions"]["held_bank_behind"]
    out = StringIO()
    call_command("run", date="2026-11-12", stdout=out)  # the rerun's report for people
    lines = out.getvalue().splitlines()
    assert lines[2].startswith("LET OP / WARNING: bankafschriften lopen achter")  # on top
    # The statements arrive (the 2nd paid, a day late): the next run decides again.
    for day in range(3, 14):
        on = D(2026, 11, day)
        if is_business_day(on):
            write_statement(inbox / f"camt-{on}.xml", on,
                            [credit(2, on)] if day == 3 else [])
    after = run(D(2026, 11, 13))
    assert after["decisions"]["held_bank_behind"] == ""
    assert after["arrears"]["tenancies_in_arrears"] == 0


def test_a_payment_that_may_be_theirs_holds_the_reminder_until_matched(vroeg_home):
    inbox = vroeg_home / "inbox"
    write_tenancies(inbox / "huurcontracten.csv", [
        tenancy_row(n, beginsaldo_datum="2026-10-31") for n in (1, 2)])
    for day in range(2, 13):
        on = D(2026, 11, day)
        if is_business_day(on):
            # On the 3rd the rent of T2 comes from an unknown account, no reference.
            paid = [BankEntry(amount=Decimal("650.00"), currency="EUR", booked_on=on,
                              counterparty_name="Fam. Test 2",
                              counterparty_iban="NL02RABO0123456789",
                              remittance="huur", bank_reference="X-2")] \
                if day == 3 else []
            write_statement(inbox / f"camt-{on}.xml", on,
                            [credit(1, on)] * (day == 2) + paid)
    run(D(2026, 10, 31))
    report = run(D(2026, 11, 12))
    txn = BankTransaction.objects.get(bank_reference="X-2")
    assert txn.status == TxnStatus.UNMATCHED, txn.match_reason
    assert "OVK-00002" in [c["code"] for c in txn.candidates]
    assert not Message.objects.filter(tenancy__code="OVK-00002").exists()
    assert report["decisions"]["waiting_for_unmatched_payment"] == 1
    # Ten days on and still not matched by a person: the reminder goes after all.
    for day in range(13, 17):
        on = D(2026, 11, day)
        if is_business_day(on):
            write_statement(inbox / f"camt-{on}.xml", on, [])
    run(D(2026, 11, 16))
    assert Message.objects.filter(tenancy__code="OVK-00002").exists()


def test_a_catch_up_sums_up_the_days_it_ran(portfolio):
    run(D(2026, 10, 31))
    out = StringIO()
    call_command("run", date="2026-11-10", stdout=out)
    first = out.getvalue().splitlines()[0]
    assert first.startswith("Ingehaald / caught up: 2026-11-01 .. 2026-11-09 (9 dagen/days): "
                            "5 huurregels/rent charges")
    assert "berichten/messages" in first and "taken/tasks" in first
