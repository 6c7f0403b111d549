"""SEPA direct debit on a real database: pain.008 files, FRST/RCUR, returns by reason."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from unittest import mock
from xml.sax.saxutils import escape

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from tests.builders import ACCOUNT, credit, iban, tenancy_row, write_statement, write_tenancies
from vroeg.audit.models import AuditEvent
from vroeg.banking.actions import import_bank_file
from vroeg.banking.matching import match_and_post
from vroeg.collection.models import Task
from vroeg.directdebit.actions import DirectDebitError, collect, handle_returns, sync_mandates
from vroeg.directdebit.models import Collection, CollectionFile, CollectionReturn, Mandate
from vroeg.ledger.actions import post_charges, post_opening_balances
from vroeg.ledger.queries import balance_of
from vroeg.messaging.models import Message
from vroeg.portfolio.actions import import_tenancies
from vroeg.portfolio.models import Household, Tenancy

pytestmark = pytest.mark.django_db
D = Decimal
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
FRI_OCT_30 = date(2026, 10, 30)  # file day for November (1 Nov is a Sunday -> Mon 2 Nov)
MON_NOV_30 = date(2026, 11, 30)  # file day for December (1 Dec, a Tuesday)
TAKEOVER = date(2026, 10, 1)


def dd_row(n: int, **over: str) -> dict[str, str]:
    values = {"betaalwijze": "incasso", "machtigingskenmerk": f"MND-{n}",
              "machtiging_datum": "2026-09-01", "betaaldag": "20",
              "beginsaldo_datum": "2026-10-31"}  # rent charged from November
    values.update(over)
    return tenancy_row(n, **values)


@pytest.fixture
def portfolio(vroeg_home):
    """Two tenancies on direct debit (one household speaks English), one on transfer."""
    path = write_tenancies(vroeg_home / "huurcontracten.csv", [
        dd_row(1), dd_row(2, taal="en"), tenancy_row(3)])
    import_tenancies(path)
    return vroeg_home


def code(n: int) -> str:
    return f"OVK-{n:05d}"


def our_e2e(n: int, yyyymm: str, attempt: int = 1) -> str:
    """vroeg's own end-to-end id of a collection (the demo's history has no -VR)."""
    return f"{code(n)}-{yyyymm}-VR{attempt}"


def charges(through: date) -> None:
    post_charges(through, takeover_on=TAKEOVER)


def xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def pain002(path: Path, rejects: list[tuple[str, str, str]], created: datetime) -> Path:
    """A pain.002.001.03 status report rejecting our collections: (e2e, amount, reason),
    shaped like the real sample in account-payment/.../test-sepa-pain-unpaid.xml."""
    txs = []
    for n, (e2e, amount, reason) in enumerate(rejects, 1):
        txs.append(f"""<TxInfAndSts><StsId>REJ-{escape(e2e)}-{n}</StsId>
<OrgnlEndToEndId>{escape(e2e)}</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>
<OrgnlTxRef><Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt>
<ReqdColltnDt>2026-11-02</ReqdColltnDt>
<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm></PmtTpInf>
<MndtRltdInf><MndtId>MND-1</MndtId><DtOfSgntr>2026-09-01</DtOfSgntr></MndtRltdInf>
<Dbtr><Nm>Fam. Test 1</Nm></Dbtr><DbtrAcct><Id><IBAN>{iban(1)}</IBAN></Id></DbtrAcct>
<Cdtr><Nm>Woonstad Voorbeeld</Nm></Cdtr>
<CdtrAcct><Id><IBAN>{ACCOUNT}</IBAN></Id></CdtrAcct></OrgnlTxRef></TxInfAndSts>""")
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>PAIN002-{created:%Y%m%d%H%M%S}</MsgId><CreDtTm>{created:%Y-%m-%dT%H:%M:%S}</CreDtTm>
</GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>VROEG-DD</OrgnlMsgId>
<OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>VROEG-DD-1</OrgnlPmtInfId>{''.join(txs)}
</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>""", encoding="utf-8")
    return path


def collection(e2e: str) -> Collection:
    return Collection.objects.select_related("mandate").get(end_to_end_id=e2e)


# --- the file ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["001.02", "001.08"])
def test_collect_writes_a_file_valid_against_the_official_xsd(portfolio, realdata, version):
    result = collect(FRI_OCT_30, version)
    assert result.status == "written"
    path = portfolio / "outbox" / "sepa" / f"pain.008-2026-10-30-{version}.xml"
    assert result.path == str(path) and path.is_file()
    assert not list(path.parent.glob("*.part"))
    doc = etree.parse(str(path))
    schemas = [realdata / "python-sepaxml" / "schemas" / f"pain.008.{version}.xsd"]
    if version == "001.02":
        schemas.append(realdata / "bank-payment" / "xsd" / "pain.008.001.02.xsd")
    for schema in schemas:
        checker = xsd(schema)
        assert checker.validate(doc), (schema, checker.error_log)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:pain.008.{version}"}
    assert doc.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == "VROEG-DD-20261030"
    assert doc.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "1400.00"
    assert doc.findtext(".//p:PmtInf/p:PmtTpInf/p:SeqTp", namespaces=ns) == "FRST"
    assert doc.findtext(".//p:PmtInf/p:ReqdColltnDt", namespaces=ns) == "2026-11-02"
    assert doc.findtext(".//p:CdtrSchmeId//p:Othr/p:Id", namespaces=ns) == "NL69ZZZ123456780000"
    e2e = sorted(doc.xpath("//p:EndToEndId/text()", namespaces=ns))
    assert e2e == [our_e2e(1, "202611"), our_e2e(2, "202611")]
    mandates = sorted(doc.xpath("//p:MndtId/text()", namespaces=ns))
    assert mandates == ["MND-1", "MND-2"]
    assert set(doc.xpath("//p:DtOfSgntr/text()", namespaces=ns)) == {"2026-09-01"}
    assert "Huur november 2026" in doc.findtext(".//p:Ustrd", namespaces=ns)
    cf = CollectionFile.objects.get()
    assert (cf.count, cf.total, cf.frst_count, cf.rcur_count) == (2, D("1400.00"), 2, 0)
    assert AuditEvent.objects.filter(action="sepa.collect").count() == 1


def test_frst_then_rcur_and_a_rerun_writes_nothing(portfolio):
    first = collect(FRI_OCT_30)
    path = Path(first.path)
    content = path.read_bytes()
    assert {c.sequence_type for c in Collection.objects.all()} == {"FRST"}
    assert set(Mandate.objects.values_list("used", flat=True)) == {True}

    again = collect(FRI_OCT_30)
    assert again.status == "already_written" and again.path == first.path
    assert "geen nieuw bestand" in again.note and again.count == 2
    other = collect(FRI_OCT_30, "001.08")  # another version, same day: still one file
    assert other.status == "already_written"
    assert path.read_bytes() == content
    assert Collection.objects.count() == 2 and CollectionFile.objects.count() == 1
    assert list(path.parent.iterdir()) == [path]

    # A day later: November is collected already, December is not due yet.
    assert collect(date(2026, 11, 2)).status == "nothing_to_collect"
    december = collect(MON_NOV_30)
    assert december.status == "written" and (december.frst, december.rcur) == (0, 2)
    dec = collection(our_e2e(1, "202612"))
    assert (dec.sequence_type, dec.collect_on, dec.attempt) == ("RCUR", date(2026, 12, 1), 1)
    assert Collection.objects.count() == 4


@pytest.fixture
def today_is():
    """The command's "today" (Europe/Amsterdam)."""
    with ExitStack() as stack:
        def set_today(day: date) -> None:
            stack.enter_context(mock.patch("vroeg.runs.clock.today", return_value=day))
        yield set_today


def test_the_command(portfolio, today_is):
    today_is(FRI_OCT_30)
    out = StringIO()
    call_command("sepa", "collect", "--date", "2026-10-30", stdout=out)
    text = out.getvalue()
    assert "pain.008-2026-10-30-001.02.xml" in text and "FRST 2, RCUR 0" in text
    assert "EUR 1400.00" in text and "totaal / total" in text
    out = StringIO()
    call_command("sepa", "collect", "--date", "2026-10-30", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["status"] == "already_written" and data["total"] == "1400.00"


def test_bad_creditor_settings_stop_with_a_clear_error(portfolio, settings, today_is):
    today_is(FRI_OCT_30)
    settings.VROEG_CREDITOR = {**settings.VROEG_CREDITOR, "creditor_id": "NL70ZZZ123456780000"}
    with pytest.raises(DirectDebitError, match="VROEG_CREDITOR_ID"):
        collect(FRI_OCT_30)
    with pytest.raises(CommandError, match="VROEG_CREDITOR_ID"):
        call_command("sepa", "collect", "--date", "2026-10-30")
    assert not Collection.objects.exists()
    assert not (portfolio / "outbox" / "sepa").exists() or not list(
        (portfolio / "outbox" / "sepa").iterdir())


def test_mandates_follow_the_tenancies(portfolio):
    result = sync_mandates(FRI_OCT_30)
    assert result.created == 2 and result.problems == []
    m = Mandate.objects.get(reference="MND-1")
    assert (m.debtor_iban, m.debtor_bic, m.signed_on) == (iban(1), "INGBNL2A", date(2026, 9, 1))
    assert sync_mandates(FRI_OCT_30).created == 0  # idempotent
    # no IBAN: reported, not collected
    path = write_tenancies(portfolio / "t2.csv", [dd_row(1), dd_row(2, taal="en"),
                                                  tenancy_row(3), dd_row(4, iban="")])
    import_tenancies(path)
    assert any(p.startswith(code(4)) for p in sync_mandates(FRI_OCT_30).problems)


# --- returns -------------------------------------------------------------------------------

def test_am04_in_a_pain002_retries_once_after_payday(portfolio):
    charges(date(2026, 11, 2))
    collect(FRI_OCT_30)
    first = our_e2e(1, "202611")
    import_bank_file(pain002(portfolio / "pain002-1.xml", [(first, "700.00", "AM04")],
                             datetime(2026, 11, 2, 18, 0)))
    result = handle_returns(date(2026, 11, 2))
    assert (result.handled, result.retries_planned) == (1, 1)
    c = collection(first)
    # rejected before settlement: never credited, nothing to reverse; the mandate is
    # unused again, so the retry is FRST (EPC)
    assert (c.status, c.return_reason, c.mandate.used) == ("rejected", "AM04", False)
    retry = collection(our_e2e(1, "202611", 2))
    # payday 20 November (a Friday): tried the first TARGET2 day after it
    assert (retry.status, retry.attempt, retry.collect_on) == ("planned", 2, date(2026, 11, 23))
    assert balance_of(c.tenancy_id, date(2026, 11, 2)) == D("700.00")
    # handling again changes nothing
    assert handle_returns(date(2026, 11, 2)).handled == 0
    assert CollectionReturn.objects.count() == 1

    charges(date(2026, 11, 20))
    not_yet = collect(date(2026, 11, 19))
    assert not_yet.status == "nothing_to_collect"  # not before payday
    after_payday = collect(date(2026, 11, 20))
    assert after_payday.status == "written" and after_payday.count == 1
    assert collect(date(2026, 11, 23)).status == "nothing_to_collect"  # once
    retry.refresh_from_db()
    assert (retry.status, retry.sequence_type, retry.collect_on) == (
        "exported", "FRST", date(2026, 11, 23))
    doc = etree.parse(after_payday.path)
    assert doc.xpath("//p:EndToEndId/text()", namespaces=NS) == [our_e2e(1, "202611", 2)]

    # The retry fails too: no third try; the collection flow takes over.
    import_bank_file(pain002(portfolio / "pain002-2.xml",
                             [(our_e2e(1, "202611", 2), "700.00", "AM04")],
                             datetime(2026, 11, 24, 18, 0)))
    second = handle_returns(date(2026, 11, 24))
    assert second.by_action == {"no_retry": 1} and second.retries_planned == 0
    assert not Collection.objects.filter(attempt=3).exists()
    assert collection(our_e2e(1, "202611", 2)).status == "rejected"


def test_md06_refund_in_a_camt053_reopens_the_arrears(portfolio):
    charges(date(2026, 11, 20))
    collect(FRI_OCT_30)
    e2e = our_e2e(1, "202611")
    inbox = portfolio / "inbox"
    import_bank_file(write_statement(inbox / "camt-11-02.xml", date(2026, 11, 2), [
        credit(1, date(2026, 11, 2), structured=False, end_to_end_id=e2e, mandate_id="MND-1"),
    ]))
    match_and_post(date(2026, 11, 2))
    assert handle_returns(date(2026, 11, 2)).settled == 1
    assert collection(e2e).status == "settled"
    tenancy_id = collection(e2e).tenancy_id
    assert balance_of(tenancy_id, date(2026, 11, 2)) == D("0.00")

    import_bank_file(write_statement(inbox / "camt-11-20.xml", date(2026, 11, 20), [
        credit(1, date(2026, 11, 20), "-700.00", structured=False, end_to_end_id=e2e,
               mandate_id="MND-1", return_reason="MD06", reversal=True),
    ]))
    match_and_post(date(2026, 11, 20))
    result = handle_returns(date(2026, 11, 20))
    assert (result.handled, result.refunded, result.retries_planned) == (1, 1, 0)
    c = collection(e2e)
    assert (c.status, c.return_reason) == ("refunded", "MD06")
    assert c.mandate.status == "active" and c.mandate.used
    # the statement's return is booked as a reversal by the matcher: arrears again
    assert balance_of(tenancy_id, date(2026, 11, 20)) == D("700.00")
    assert not Task.objects.exists() and not Message.objects.exists()
    # the mandate goes on: December is RCUR
    collect(MON_NOV_30)
    assert collection(our_e2e(1, "202612")).sequence_type == "RCUR"


@pytest.mark.parametrize("n, language, words", [
    (1, "nl", ("rekening opgeheven", "€ 700,00", "nieuwe machtiging")),
    (2, "en", ("account closed", "€700.00", "new mandate"))])
def test_ac04_stops_direct_debit_and_asks_for_a_new_payment_method(portfolio, n, language,
                                                                   words):
    charges(date(2026, 11, 2))
    collect(FRI_OCT_30)
    e2e = our_e2e(n, "202611")
    inbox = portfolio / "inbox"
    import_bank_file(write_statement(inbox / "camt-11-03.xml", date(2026, 11, 3), [
        credit(n, date(2026, 11, 3), "-700.00", structured=False, end_to_end_id=e2e,
               mandate_id=f"MND-{n}", return_reason="AC04", reversal=True),
    ]))
    result = handle_returns(date(2026, 11, 3))
    assert (result.stopped, result.tasks, result.messages) == (1, 1, 1)
    m = Mandate.objects.get(reference=f"MND-{n}")
    assert (m.status, m.ended_on) == ("ended", date(2026, 11, 3)) and "AC04" in m.end_reason
    assert Tenancy.objects.get(code=code(n)).payment_method == "transfer"
    task = Task.objects.get()
    assert task.kind == "dd_stopped" and task.tenancy.code == code(n)
    assert "Nieuwe betaalwijze" in task.title and "AC04" in task.title
    msg = Message.objects.get()
    assert (msg.template, msg.language, msg.channel, msg.case_id) == (
        "direct_debit_stopped", language, "email", None)
    for word in words:
        assert word in msg.body_text
    assert AuditEvent.objects.filter(action="sepa.return.stop_direct_debit").count() == 1
    assert AuditEvent.objects.filter(action="tenancy.payment_method").count() == 1
    assert handle_returns(date(2026, 11, 3)).handled == 0  # idempotent

    # The ERP still says "incasso" (a changed row re-imports it): the mandate stays ended.
    rows = [dd_row(1), dd_row(2, taal="en"), tenancy_row(3)]
    rows[n - 1]["servicekosten"] = "55.00"
    import_tenancies(write_tenancies(portfolio / "t2.csv", rows))
    assert Tenancy.objects.get(code=code(n)).payment_method == "direct_debit"
    dec = collect(MON_NOV_30)
    assert any("beëindigd" in p for p in dec.mandates.problems)
    assert not Collection.objects.filter(tenancy__code=code(n), period=date(2026, 12, 1))
    assert Mandate.objects.get(reference=f"MND-{n}").status == "ended"
    # A new mandate restarts it, FRST again.
    rows[n - 1]["machtigingskenmerk"] = f"MND-{n}-B"
    import_tenancies(write_tenancies(portfolio / "t3.csv", rows))
    jan = collect(date(2026, 12, 31))
    c = collection(our_e2e(n, "202701"))
    assert (c.sequence_type, c.mandate.reference) == ("FRST", f"MND-{n}-B")
    assert jan.frst == 1


def test_md07_stops_without_a_message_to_the_household(portfolio):
    collect(FRI_OCT_30)
    e2e = our_e2e(1, "202611")
    import_bank_file(pain002(portfolio / "p.xml", [(e2e, "700.00", "MD07")],
                             datetime(2026, 11, 2, 18, 0)))
    result = handle_returns(date(2026, 11, 2))
    assert (result.stopped, result.messages, result.tasks) == (1, 0, 1)
    assert not Message.objects.exists()
    assert "zorg" in Task.objects.get().title


def test_the_same_return_told_twice_is_handled_once(portfolio):
    charges(date(2026, 11, 4))
    collect(FRI_OCT_30)
    e2e = our_e2e(1, "202611")
    inbox = portfolio / "inbox"
    import_bank_file(write_statement(inbox / "c1.xml", date(2026, 11, 2), [
        credit(1, date(2026, 11, 2), structured=False, end_to_end_id=e2e, mandate_id="MND-1")]))
    import_bank_file(write_statement(inbox / "c2.xml", date(2026, 11, 4), [
        credit(1, date(2026, 11, 4), "-700.00", structured=False, end_to_end_id=e2e,
               mandate_id="MND-1", return_reason="AM04", reversal=True),
    ]))
    # the bank also reports it in a status report
    import_bank_file(pain002(inbox / "p.xml", [(e2e, "700.00", "AM04")],
                             datetime(2026, 11, 4, 18, 0)))
    result = handle_returns(date(2026, 11, 4))
    assert (result.handled, result.already_handled, result.retries_planned) == (1, 1, 1)
    assert collection(e2e).status == "returned"  # after settlement
    assert collection(e2e).mandate.used  # settled FRST: the retry is RCUR
    assert Collection.objects.filter(attempt=2).count() == 1
    assert CollectionReturn.objects.count() == 2


def test_the_daily_run_handles_returns_and_reports_them(portfolio):
    from vroeg.runs.daily import run_day
    from vroeg.runs.report import format_report

    collect(FRI_OCT_30)
    household = Household.objects.get(code="REL-00001")
    assert household.payday == 20  # from the betaaldag column
    pain002(portfolio / "inbox" / "pain002.xml", [(our_e2e(1, "202611"), "700.00", "AC04")],
            datetime(2026, 11, 2, 7, 0))
    report = run_day(date(2026, 11, 2))
    assert report["direct_debit"]["handled"] == 1
    assert report["direct_debit"]["by_reason"] == {"AC04": 1}
    assert "Incasso-retouren / direct-debit returns: 1 verwerkt/handled (AC04 1)" in \
        format_report(report)
    # the message asking for a new payment method is sent, not cancelled as "paid"
    msg = Message.objects.get(template="direct_debit_stopped")
    assert msg.status == Message.Status.SENT
    again = run_day(date(2026, 11, 2))
    assert again["direct_debit"]["handled"] == 0


def test_a_mandate_collected_before_vroeg_took_over_starts_with_rcur(portfolio):
    # The old system collected October under MND-1: the bank statement shows it.
    import_bank_file(write_statement(portfolio / "inbox" / "camt-10-01.xml", date(2026, 10, 1), [
        credit(1, date(2026, 10, 1), structured=False, end_to_end_id="OLD-1",
               mandate_id="MND-1")]))
    result = collect(FRI_OCT_30)
    assert (result.frst, result.rcur) == (1, 1)
    assert collection(our_e2e(1, "202611")).sequence_type == "RCUR"
    assert collection(our_e2e(2, "202611")).sequence_type == "FRST"


@pytest.mark.parametrize("channel", ["email", "sms", "letter"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_stop_message_renders_on_every_channel(portfolio, channel, language):
    from vroeg.directdebit.notify import TEMPLATE
    from vroeg.domain.bank.return_reasons import reason_for
    from vroeg.messaging.render import base_context, render

    tenancy = Tenancy.objects.select_related("household").get(code=code(1))
    reason = reason_for("AC04")
    ctx = {**base_context(tenancy.household, tenancy), "amount": D("700.00"),
           "oldest_due_on": date(2026, 11, 1), "months_owed": D("1"),
           "pay_link": "https://betalen.example/?k=1", "decided_on": date(2026, 11, 3),
           "reason_nl": reason.nl, "reason_en": reason.en}
    rendered = render(TEMPLATE, channel, language, ctx)
    assert (reason.nl if language == "nl" else reason.en) in rendered.text
    if channel != "sms":
        assert rendered.subject and rendered.html


# --- never twice, never after a refund ------------------------------------------------------

ALREADY = "al geïncasseerd volgens de bank / already collected according to the bank"


@pytest.fixture
def owing(vroeg_home):
    """Like `portfolio`, but tenancy 1 still owes October (opening balance 700.00)."""
    import_tenancies(write_tenancies(vroeg_home / "huurcontracten.csv", [
        dd_row(1, beginsaldo="700.00"), dd_row(2, taal="en"), tenancy_row(3)]))
    return vroeg_home


def history(home: Path, day: date, *entries) -> None:
    """A statement of the previous system's direct debits (ids as the demo writes them)."""
    import_bank_file(write_statement(home / "inbox" / f"camt-{day}.xml", day, list(entries)))


def old_dd(n: int, day: date, amount: str = "700.00", e2e: str = "", **kw):
    return credit(n, day, amount, structured=False, mandate_id=f"MND-{n}",
                  end_to_end_id=e2e or f"{code(n)}-202611", **kw)


@pytest.mark.parametrize("history_e2e", ["OVK-00001-202611", "OLD-77"])
def test_a_month_the_bank_history_collected_is_not_collected_again(owing, today_is,
                                                                    history_e2e):
    # The previous system collected November on 2 November: with the demo's id
    # (<code>-<yyyymm>) or an id without a month (then the booking date tells).
    history(owing, date(2026, 11, 2), old_dd(1, date(2026, 11, 2), e2e=history_e2e))
    post_opening_balances()
    charges(date(2026, 11, 3))
    match_and_post(date(2026, 11, 3))
    t1 = Tenancy.objects.get(code=code(1))
    assert balance_of(t1.pk, date(2026, 11, 3)) == D("700.00")  # October is still open
    today_is(date(2026, 11, 3))
    out = StringIO()
    call_command("sepa", "collect", "--date", "2026-11-03", stdout=out)
    # Only tenancy 2 (nothing in the history) is collected, as soon as possible.
    assert list(Collection.objects.values_list("end_to_end_id", flat=True)) == [
        our_e2e(2, "202611")]
    text = out.getvalue()
    assert "Overgeslagen / skipped: 1" in text and f"1 x {ALREADY}" in text
    assert f"{code(1)} 2026-11: {ALREADY}" in text
    assert "Fam. Test" not in text and iban(1) not in text  # no personal data
    event = AuditEvent.objects.get(action="sepa.collect")
    assert event.details["skipped_by_reason"] == {ALREADY: 1}
    # and the days after: still not
    for day in (date(2026, 11, 4), date(2026, 11, 5)):
        collect(day)
    assert not Collection.objects.filter(tenancy=t1).exists()


def test_a_month_refunded_in_the_bank_history_is_not_collected_again(portfolio):
    history(portfolio, date(2026, 11, 2), old_dd(1, date(2026, 11, 2)),
            old_dd(2, date(2026, 11, 2)))
    history(portfolio, date(2026, 11, 5), old_dd(1, date(2026, 11, 5), "-700.00",
                                                 return_reason="MD06", reversal=True))
    charges(date(2026, 11, 5))
    match_and_post(date(2026, 11, 5))
    t1 = Tenancy.objects.get(code=code(1))
    assert balance_of(t1.pk, date(2026, 11, 5)) == D("700.00")  # open again: the flow's
    result = collect(date(2026, 11, 5))
    assert result.status == "nothing_to_collect" and not Collection.objects.exists()
    reasons = {(s["tenancy"], s["reason"].split(":")[0]) for s in result.skipped}
    assert reasons == {(code(1), "teruggeboekt door de betaler (MD06)"),
                       (code(2), ALREADY)}


def test_our_own_refunded_month_is_not_collected_again(portfolio):
    collect(FRI_OCT_30)
    history(portfolio, date(2026, 11, 2), *(
        credit(n, date(2026, 11, 2), structured=False, end_to_end_id=our_e2e(n, "202611"),
               mandate_id=f"MND-{n}") for n in (1, 2)))
    history(portfolio, date(2026, 11, 6), credit(
        1, date(2026, 11, 6), "-700.00", structured=False, end_to_end_id=our_e2e(1, "202611"),
        mandate_id="MND-1", return_reason="MD06", reversal=True))
    charges(date(2026, 11, 6))
    match_and_post(date(2026, 11, 6))
    assert handle_returns(date(2026, 11, 6)).refunded == 1
    assert balance_of(collection(our_e2e(1, "202611")).tenancy_id, date(2026, 11, 6)) == \
        D("700.00")
    # November's due date is still within the catch-up window: not collected again
    assert collect(date(2026, 11, 6)).status == "nothing_to_collect"
    assert Collection.objects.count() == 2


def test_am04_of_the_bank_history_is_retried_once_after_payday(portfolio):
    history(portfolio, date(2026, 11, 2), old_dd(1, date(2026, 11, 2)),
            old_dd(2, date(2026, 11, 2)))
    history(portfolio, date(2026, 11, 4), old_dd(1, date(2026, 11, 4), "-700.00",
                                                 return_reason="AM04", reversal=True))
    charges(date(2026, 11, 4))
    match_and_post(date(2026, 11, 4))
    # payday 20 November (a Friday): the retry goes out on the first TARGET2 day after it
    for day in (date(2026, 11, 4), date(2026, 11, 19)):
        result = collect(day)
        assert result.status == "nothing_to_collect", day
        waiting = [s for s in result.skipped if s["tenancy"] == code(1)]
        assert waiting == [{"tenancy": code(1), "period": "2026-11",
                            "reason": "AM04 onvoldoende saldo: nog één poging na de "
                                      "betaaldag / insufficient funds: one more try after "
                                      "payday", "not_before": "2026-11-23"}]
    assert not Collection.objects.exists()
    charges(date(2026, 11, 20))
    retry = collect(date(2026, 11, 20))
    assert (retry.status, retry.count, retry.rcur) == ("written", 1, 1)
    c = collection(our_e2e(1, "202611", 2))
    assert (c.attempt, c.amount, c.collect_on, c.sequence_type) == (
        2, D("700.00"), date(2026, 11, 23), "RCUR")
    # once: not again the next days, and no third try after it fails too
    assert collect(date(2026, 11, 23)).status == "nothing_to_collect"
    import_bank_file(pain002(portfolio / "inbox" / "p.xml",
                             [(our_e2e(1, "202611", 2), "700.00", "AM04")],
                             datetime(2026, 11, 24, 18, 0)))
    assert handle_returns(date(2026, 11, 24)).by_action == {"no_retry": 1}
    assert collect(date(2026, 11, 24)).status == "nothing_to_collect"
    assert Collection.objects.count() == 1


def test_no_retry_for_a_month_paid_by_transfer_after_the_return(owing):
    # Tenancy 1 still owes October; November's debit fails (AM04), and the tenant pays
    # November by transfer. The retry would only take October's arrears: it is cancelled.
    post_opening_balances()
    charges(date(2026, 11, 2))
    collect(FRI_OCT_30)
    import_bank_file(pain002(owing / "inbox" / "p.xml", [(our_e2e(1, "202611"), "700.00",
                                                          "AM04")], datetime(2026, 11, 2, 18)))
    assert handle_returns(date(2026, 11, 2)).retries_planned == 1
    history(owing, date(2026, 11, 10), credit(1, date(2026, 11, 10)))  # the transfer
    charges(date(2026, 11, 20))
    match_and_post(date(2026, 11, 20))
    tenancy_id = collection(our_e2e(1, "202611")).tenancy_id
    assert balance_of(tenancy_id, date(2026, 11, 20)) == D("700.00")  # October's
    result = collect(date(2026, 11, 20))
    assert (result.status, result.cancelled_retries) == ("nothing_to_collect", 1)
    assert collection(our_e2e(1, "202611", 2)).status == "cancelled"


def test_the_command_refuses_a_date_in_the_past_or_far_ahead(portfolio, today_is):
    today_is(date(2026, 12, 4))
    for day, words in (("2026-12-03", "in het verleden.*in the past"),
                       ("2027-01-14", "meer dan 40 dagen vooruit.*more than 40 days ahead")):
        with pytest.raises(CommandError, match=words):
            call_command("sepa", "collect", "--date", day, stdout=StringIO())
    assert not CollectionFile.objects.exists() and not AuditEvent.objects.filter(
        action="sepa.collect").exists()
    for day in ("2026-12-04", "2027-01-13"):  # today, and 40 days ahead
        call_command("sepa", "collect", "--date", day, stdout=StringIO())
    call_command("sepa", "collect", stdout=StringIO())  # default: today
    call_command("sepa", "returns", "--date", "2026-11-02", stdout=StringIO())  # may look back
    # The function itself (the simulator's) still takes a day in the past.
    assert collect(FRI_OCT_30).status == "written"


def test_the_command_refuses_while_the_bank_statements_are_behind(portfolio, today_is):
    # The last statement is of Friday 23 October: Monday to Thursday are missing.
    stmt = write_statement(portfolio / "camt.xml", date(2026, 10, 23), [])
    assert import_bank_file(stmt).status == "imported"
    today_is(FRI_OCT_30)
    with pytest.raises(CommandError, match="bank statements are behind.*import the bank "
                                           "statements first"):
        call_command("sepa", "collect", "--date", "2026-10-30", stdout=StringIO())
    assert not Collection.objects.exists()
    today_is(date(2026, 10, 26))  # Monday: only the weekend since Friday, nothing missing
    call_command("sepa", "collect", "--date", "2026-10-26", stdout=StringIO())
