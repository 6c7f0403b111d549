"""SEPA direct debit on a real database: pain.008 files, FRST/RCUR, returns by reason."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
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
from vroeg.ledger.actions import post_charges
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
    assert e2e == [f"{code(1)}-202611", f"{code(2)}-202611"]
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
    dec = collection(f"{code(1)}-202612")
    assert (dec.sequence_type, dec.collect_on, dec.attempt) == ("RCUR", date(2026, 12, 1), 1)
    assert Collection.objects.count() == 4


def test_the_command(portfolio):
    out = StringIO()
    call_command("sepa", "collect", "--date", "2026-10-30", stdout=out)
    text = out.getvalue()
    assert "pain.008-2026-10-30-001.02.xml" in text and "FRST 2, RCUR 0" in text
    assert "EUR 1400.00" in text and "totaal / total" in text
    out = StringIO()
    call_command("sepa", "collect", "--date", "2026-10-30", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["status"] == "already_written" and data["total"] == "1400.00"


def test_bad_creditor_settings_stop_with_a_clear_error(portfolio, settings):
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
    first = f"{code(1)}-202611"
    import_bank_file(pain002(portfolio / "pain002-1.xml", [(first, "700.00", "AM04")],
                             datetime(2026, 11, 2, 18, 0)))
    result = handle_returns(date(2026, 11, 2))
    assert (result.handled, result.retries_planned) == (1, 1)
    c = collection(first)
    # rejected before settlement: never credited, nothing to reverse; the mandate is
    # unused again, so the retry is FRST (EPC)
    assert (c.status, c.return_reason, c.mandate.used) == ("rejected", "AM04", False)
    retry = collection(f"{first}-2")
    # payday 20 November (a Friday): tried the first TARGET2 day after it
    assert (retry.status, retry.attempt, retry.collect_on) == ("planned", 2, date(2026, 11, 23))
    assert balance_of(c.tenancy_id, date(2026, 11, 2)) == D("700.00")
    # handling again changes nothing
    assert handle_returns(date(2026, 11, 2)).handled == 0
    assert CollectionReturn.objects.count() == 1

    charges(date(2026, 11, 20))
    assert collect(date(2026, 11, 19)).status == "nothing_to_collect"  # not yet
    after_payday = collect(date(2026, 11, 20))
    assert after_payday.status == "written" and after_payday.count == 1
    retry.refresh_from_db()
    assert (retry.status, retry.sequence_type, retry.collect_on) == (
        "exported", "FRST", date(2026, 11, 23))
    doc = etree.parse(after_payday.path)
    assert doc.xpath("//p:EndToEndId/text()", namespaces=NS) == [f"{first}-2"]

    # The retry fails too: no third try; the collection flow takes over.
    import_bank_file(pain002(portfolio / "pain002-2.xml", [(f"{first}-2", "700.00", "AM04")],
                             datetime(2026, 11, 24, 18, 0)))
    second = handle_returns(date(2026, 11, 24))
    assert second.by_action == {"no_retry": 1} and second.retries_planned == 0
    assert not Collection.objects.filter(attempt=3).exists()
    assert collection(f"{first}-2").status == "rejected"


def test_md06_refund_in_a_camt053_reopens_the_arrears(portfolio):
    charges(date(2026, 11, 20))
    collect(FRI_OCT_30)
    e2e = f"{code(1)}-202611"
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
    assert collection(f"{code(1)}-202612").sequence_type == "RCUR"


@pytest.mark.parametrize("n, language, words", [
    (1, "nl", ("rekening opgeheven", "€ 700,00", "nieuwe machtiging")),
    (2, "en", ("account closed", "€700.00", "new mandate"))])
def test_ac04_stops_direct_debit_and_asks_for_a_new_payment_method(portfolio, n, language,
                                                                   words):
    charges(date(2026, 11, 2))
    collect(FRI_OCT_30)
    e2e = f"{code(n)}-202611"
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
    c = collection(f"{code(n)}-202701")
    assert (c.sequence_type, c.mandate.reference) == ("FRST", f"MND-{n}-B")
    assert jan.frst == 1


def test_md07_stops_without_a_message_to_the_household(portfolio):
    collect(FRI_OCT_30)
    e2e = f"{code(1)}-202611"
    import_bank_file(pain002(portfolio / "p.xml", [(e2e, "700.00", "MD07")],
                             datetime(2026, 11, 2, 18, 0)))
    result = handle_returns(date(2026, 11, 2))
    assert (result.stopped, result.messages, result.tasks) == (1, 0, 1)
    assert not Message.objects.exists()
    assert "zorg" in Task.objects.get().title


def test_the_same_return_told_twice_is_handled_once(portfolio):
    charges(date(2026, 11, 4))
    collect(FRI_OCT_30)
    e2e = f"{code(1)}-202611"
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
    pain002(portfolio / "inbox" / "pain002.xml", [(f"{code(1)}-202611", "700.00", "AC04")],
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
    assert collection(f"{code(1)}-202611").sequence_type == "RCUR"
    assert collection(f"{code(2)}-202611").sequence_type == "FRST"


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
