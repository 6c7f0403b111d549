"""The camt.053 writer: valid against the official XSDs, balanced, deterministic, and
read back by vroeg's own parser to the entries it was given."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from vroeg.domain.bank.camt_writer import (
    SUPPORTED_VERSIONS,
    CamtWriteError,
    _Writer,
    write_camt053,
    write_camt053_to,
)
from vroeg.domain.bank.model import BankEntry, Statement
from vroeg.domain.bank.parse import parse_bank_file

D = Decimal
ACCOUNT = "NL91ABNA0417164300"
CREATED = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
NS = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"}


def entry(amount: str, **kw: object) -> BankEntry:
    base: dict[str, object] = {"amount": D(amount), "currency": "EUR",
                               "booked_on": date(2026, 11, 2), "value_on": date(2026, 11, 2)}
    return BankEntry(**{**base, **kw})  # type: ignore[arg-type]


VARIED = (
    entry("612.45", counterparty_name="J. Klaverhorst", counterparty_iban="NL20INGB0001234567",
          creditor_reference="5000056789012345", bank_reference="20261102-1"),
    entry("540.00", counterparty_name="A. & B. <de> Lindewaard", remittance="huur nov "
          "5000 0567 8901 2345", counterparty_iban="NL20INGB0001234567",
          counterparty_bic="INGBNL2A"),
    entry("700.00", counterparty_name="M. Essenburg", counterparty_iban="NL20INGB0001234567",
          creditor_reference="5000056789012345", remittance="Huur november 2026",
          end_to_end_id="OVK0000001-202611", mandate_id="WSV-0000001-1"),
    entry("-700.00", booked_on=date(2026, 11, 5), value_on=date(2026, 11, 5),
          counterparty_name="M. Essenburg", counterparty_iban="NL20INGB0001234567",
          creditor_reference="5000056789012345", end_to_end_id="OVK0000001-202611",
          mandate_id="WSV-0000001-1", return_reason="AM04"),
    entry("-650.00", booked_on=date(2026, 11, 20), value_on=None,
          counterparty_name="K. Duinhorst", counterparty_iban="NL20INGB0001234567",
          creditor_reference="RF18539007547034", end_to_end_id="E2E-9", mandate_id="M-9",
          return_reason="MD06"),
    entry("-12.50", reversal=True, bank_reference="REV-1", remittance="correctie"),
    entry("-99.95", counterparty_name="Leverancier B.V.",
          counterparty_iban="DE89370400440532013000", remittance="factuur 123"),
    entry("0.01"),
)


def statement(entries: tuple[BankEntry, ...] = VARIED, opening: str = "1000.00",
              **kw: object) -> Statement:
    total = sum((e.amount for e in entries), D(0))
    base: dict[str, object] = {
        "account_iban": ACCOUNT, "currency": "EUR", "opening_balance": D(opening),
        "closing_balance": D(opening) + total, "opening_on": date(2026, 11, 1),
        "closing_on": date(2026, 11, 30), "statement_id": f"{ACCOUNT}-2026-11",
        "entries": entries}
    return Statement(**{**base, **kw})  # type: ignore[arg-type]


@cache
def _schema(folder: str, version: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(Path(folder) / f"camt.053.{version}.xsd")))


def assert_valid(realdata: Path, data: bytes, version: str = "001.02") -> None:
    schema = _schema(str(realdata / "camt" / "assets"), version)
    doc = etree.fromstring(data)
    assert schema.validate(doc), schema.error_log


# ------------------------------------------------------------------------- XSD


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_valid_against_the_official_xsd(realdata: Path, version: str) -> None:
    data = write_camt053([statement(), statement((), opening="-50.00", statement_id="S2")],
                         message_id="MSG-1", created_at=CREATED, version=version,
                         sequence_start=41)
    assert_valid(realdata, data, version)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


@pytest.mark.parametrize("pretty", [True, False])
def test_demo_statements_are_valid(realdata: Path, pretty: bool) -> None:
    from vroeg.demo.build import camt_bytes, plan_bank_files
    from vroeg.demo.population import generate

    files = plan_bank_files(generate(120, seed=5, today=date(2026, 3, 10)))
    for f in (files[0], files[-1]):
        assert_valid(realdata, camt_bytes(f, pretty=pretty))


def test_structure_of_a_statement() -> None:
    data = write_camt053([statement()], message_id="MSG-1", created_at=CREATED,
                         sequence_start=7)
    doc = etree.fromstring(data)
    x = lambda path: doc.xpath(path, namespaces=NS)  # noqa: E731
    assert x("string(/c:Document/c:BkToCstmrStmt/c:GrpHdr/c:MsgId)") == "MSG-1"
    assert x("string(//c:GrpHdr/c:CreDtTm)") == "2026-12-01T06:00:00+00:00"
    stmt = x("//c:Stmt")[0]
    assert stmt.xpath("string(c:Id)", namespaces=NS) == f"{ACCOUNT}-2026-11"
    assert stmt.xpath("string(c:ElctrncSeqNb)", namespaces=NS) == "7"
    assert stmt.xpath("string(c:Acct/c:Id/c:IBAN)", namespaces=NS) == ACCOUNT
    bals = {b.xpath("string(c:Tp/c:CdOrPrtry/c:Cd)", namespaces=NS):
            (b.xpath("string(c:Amt)", namespaces=NS), b.xpath("string(c:CdtDbtInd)",
                                                                namespaces=NS),
             b.xpath("string(c:Dt/c:Dt)", namespaces=NS)) for b in x("//c:Bal")}
    total = sum((e.amount for e in VARIED), D(0))
    assert bals["OPBD"] == ("1000.00", "CRDT", "2026-11-01")
    assert bals["CLBD"] == (str(D("1000.00") + total), "CRDT", "2026-11-30")
    ntries = x("//c:Ntry")
    assert len(ntries) == len(VARIED)
    ret = ntries[3]
    get = lambda el, p: el.xpath(f"string({p})", namespaces=NS)  # noqa: E731
    assert get(ret, "c:CdtDbtInd") == "DBIT"
    assert ret.xpath("c:RvslInd", namespaces=NS) == []  # a return is a debit, not a reversal
    assert get(ret, "c:Sts") == "BOOK"
    assert get(ret, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd") == "UPDD"
    assert get(ret, ".//c:RtrInf/c:Rsn/c:Cd") == "AM04"
    assert get(ret, ".//c:RltdPties/c:Dbtr/c:Nm") == "M. Essenburg"  # the original debtor
    assert get(ret, ".//c:Refs/c:EndToEndId") == "OVK0000001-202611"
    assert get(ret, ".//c:Refs/c:MndtId") == "WSV-0000001-1"
    first = ntries[0]
    assert get(first, ".//c:CdtrRefInf/c:Tp/c:CdOrPrtry/c:Cd") == "SCOR"
    assert get(first, ".//c:CdtrRefInf/c:Tp/c:Issr") == "CUR"
    assert get(first, ".//c:CdtrRefInf/c:Ref") == "5000056789012345"
    assert get(first, "c:AcctSvcrRef") == "20261102-1"
    assert get(first, "c:ValDt/c:Dt") == "2026-11-02"
    assert get(ntries[4], ".//c:CdtrRefInf/c:Tp/c:Issr") == "ISO"  # RF reference
    assert ntries[4].xpath("c:ValDt", namespaces=NS) == []
    assert get(ntries[5], "c:RvslInd") == "true"
    assert get(ntries[6], ".//c:RltdPties/c:Cdtr/c:Nm") == "Leverancier B.V."
    assert get(ntries[6], ".//c:CdtrAcct/c:Id/c:IBAN") == "DE89370400440532013000"
    assert get(ntries[1], ".//c:RltdAgts/c:DbtrAgt/c:FinInstnId/c:BIC") == "INGBNL2A"
    assert get(ntries[1], ".//c:RmtInf/c:Ustrd") == "huur nov 5000 0567 8901 2345"


def test_negative_balances_are_debit() -> None:
    data = write_camt053([statement((entry("-10.00"),), opening="-5.00")],
                         message_id="M", created_at=CREATED)
    doc = etree.fromstring(data)
    inds = doc.xpath("//c:Bal/c:CdtDbtInd/text()", namespaces=NS)
    amounts = doc.xpath("//c:Bal/c:Amt/text()", namespaces=NS)
    assert inds == ["DBIT", "DBIT"] and amounts == ["5.00", "15.00"]


# ------------------------------------------------------------------ refusals


def test_unbalanced_statement_is_refused() -> None:
    bad = statement(closing_balance=D("1.00"))
    with pytest.raises(CamtWriteError, match="!= closing"):
        write_camt053([bad], message_id="M", created_at=CREATED)


def test_statement_without_balances_is_refused() -> None:
    with pytest.raises(CamtWriteError, match="opening and closing balance"):
        write_camt053([statement(opening_balance=None)], message_id="M", created_at=CREATED)


def test_empty_statement_needs_dates() -> None:
    with pytest.raises(CamtWriteError, match="balance dates"):
        write_camt053([statement((), opening_on=None, closing_on=None)], message_id="M",
                      created_at=CREATED)


def test_balance_dates_default_to_booking_dates() -> None:
    data = write_camt053([statement(opening_on=None, closing_on=None)], message_id="M",
                         created_at=CREATED)
    dates = etree.fromstring(data).xpath("//c:Bal/c:Dt/c:Dt/text()", namespaces=NS)
    assert dates == ["2026-11-02", "2026-11-20"]


def test_amounts_must_be_whole_cents() -> None:
    with pytest.raises(CamtWriteError, match="whole cents"):
        write_camt053([statement((entry("1.005"),))], message_id="M", created_at=CREATED)
    with pytest.raises(CamtWriteError, match="opening balance"):
        write_camt053([statement((), opening="1.001")], message_id="M", created_at=CREATED)


def test_text_that_cleans_to_nothing_is_left_out(realdata: Path) -> None:
    blank = statement((entry("5.00", remittance="\x01\x02", counterparty_name=" \t ",
                             end_to_end_id="\n"),))
    data = write_camt053([blank], message_id="M", created_at=CREATED)
    assert_valid(realdata, data)
    doc = etree.fromstring(data)
    assert doc.xpath("//c:Ustrd | //c:RltdPties | //c:Refs", namespaces=NS) == []


def test_other_currency_entry_is_refused() -> None:
    with pytest.raises(CamtWriteError, match="currency"):
        write_camt053([statement((entry("1.00", currency="USD"),))], message_id="M",
                      created_at=CREATED)


@pytest.mark.parametrize("message_id", ["", "X" * 36])
def test_message_id_length(message_id: str) -> None:
    with pytest.raises(CamtWriteError, match="message_id"):
        write_camt053([statement()], message_id=message_id, created_at=CREATED)


def test_unknown_version_is_refused() -> None:
    with pytest.raises(CamtWriteError, match="not supported"):
        write_camt053([statement()], message_id="M", created_at=CREATED, version="001.03")


# --------------------------------------------------------------- properties


def test_same_input_same_bytes_and_text_is_cleaned() -> None:
    messy = statement((entry("1.00", remittance="huur\t\x02 nov\n" + "x" * 200,
                             counterparty_name="  N.   Naam "),))
    a = write_camt053([messy], message_id="M", created_at=CREATED)
    b = write_camt053([messy], message_id="M", created_at=CREATED)
    assert a == b
    doc = etree.fromstring(a)
    ustrd = doc.xpath("string(//c:Ustrd)", namespaces=NS)
    assert ustrd.startswith("huur nov xxx") and len(ustrd) == 140
    assert doc.xpath("string(//c:Dbtr/c:Nm)", namespaces=NS) == "N. Naam"


def test_compact_and_pretty_hold_the_same_document() -> None:
    pretty = write_camt053([statement()], message_id="M", created_at=CREATED)
    compact = write_camt053([statement()], message_id="M", created_at=CREATED, pretty=False)
    assert len(compact) < len(pretty)
    parser = etree.XMLParser(remove_blank_text=True)
    assert etree.tostring(etree.fromstring(pretty, parser)) == etree.tostring(
        etree.fromstring(compact, parser))


# -------------------------------------------------------------- parse back

IBANS = ("NL20INGB0001234567", "NL91ABNA0417164300", "DE89370400440532013000",
         "NL02RABO0123456789")
WORDS = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"),
                                       exclude_characters="\u2028\u2029"),
                min_size=1, max_size=40).map(lambda s: " ".join(s.split())).filter(bool)
IDS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/", min_size=1,
              max_size=35).filter(lambda s: s != "NOTPROVIDED")


@st.composite
def bank_entries(draw: st.DrawFn) -> BankEntry:
    cents = draw(st.integers(min_value=-900_000, max_value=900_000).filter(bool))
    amount = D(cents).scaleb(-2)
    return_reason = draw(st.sampled_from(["", "AM04", "MD06", "AC04"])) if cents < 0 else ""
    booked = draw(st.dates(date(2024, 1, 1), CREATED.date()))  # later would warn
    return BankEntry(
        amount=amount, currency="EUR", booked_on=booked,
        value_on=draw(st.none() | st.just(booked) | st.dates(date(2024, 1, 1),
                                                             date(2030, 12, 31))),
        counterparty_name=draw(st.just("") | WORDS),
        counterparty_iban=draw(st.sampled_from(("", *IBANS[:1], *IBANS[2:]))),
        counterparty_bic=draw(st.sampled_from(["", "INGBNL2A", "RABONL2U"])),
        remittance=draw(st.just("") | WORDS),
        creditor_reference=draw(st.sampled_from(
            ["", "5000056789012345", "122345346225", "RF18539007547034"])),
        end_to_end_id=draw(st.just("") | IDS),
        mandate_id=draw(st.just("") | IDS),
        bank_reference=draw(st.just("") | IDS),
        reversal=draw(st.booleans()) if not return_reason else False,
        return_reason=return_reason)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(bank_entries(), max_size=8), second=st.lists(bank_entries(), max_size=8),
       version=st.sampled_from(SUPPORTED_VERSIONS))
def test_streamed_is_the_compact_tree_byte_for_byte(
        first: list[BankEntry], second: list[BankEntry], version: str) -> None:
    stmts = [statement(tuple(first)), statement(tuple(second), statement_id="S-2")]
    tree = _Writer(version).document(stmts, "M", CREATED, 5, pretty=False)
    out = io.BytesIO()
    n = write_camt053_to(out, stmts, message_id="M", created_at=CREATED, version=version,
                         sequence_start=5)
    assert out.getvalue() == tree and n == len(tree)
    assert write_camt053(stmts, message_id="M", created_at=CREATED, version=version,
                         sequence_start=5, pretty=False) == tree


def test_stream_writes_nothing_for_a_bad_statement() -> None:
    out = io.BytesIO()
    with pytest.raises(CamtWriteError):
        write_camt053_to(out, [statement(), statement(closing_balance=D("0.00"))],
                         message_id="M", created_at=CREATED)
    assert out.getvalue() == b""


def _expected(e: BankEntry) -> BankEntry:
    """What the parser reports: a return is also flagged as undoing a booking; the
    counterparty's BIC is only there with a name or IBAN beside it."""
    return BankEntry(
        amount=e.amount, currency=e.currency, booked_on=e.booked_on, value_on=e.value_on,
        counterparty_name=e.counterparty_name, counterparty_iban=e.counterparty_iban,
        counterparty_bic=e.counterparty_bic if (e.counterparty_name or e.counterparty_iban)
        else "",
        remittance=e.remittance, creditor_reference=e.creditor_reference,
        end_to_end_id=e.end_to_end_id, mandate_id=e.mandate_id,
        bank_reference=e.bank_reference, reversal=e.reversal or bool(e.return_reason),
        return_reason=e.return_reason)


def _comparable(e: BankEntry) -> BankEntry:
    return BankEntry(**{**e.__dict__, "bank_code": ""})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(bank_entries(), max_size=12),
       version=st.sampled_from(SUPPORTED_VERSIONS),
       opening=st.integers(min_value=-10**9, max_value=10**9))
def test_written_statements_parse_back_to_the_same_entries(
        entries: list[BankEntry], version: str, opening: int) -> None:
    opening_balance = D(opening).scaleb(-2)
    stmt = statement(tuple(entries), opening=str(opening_balance))
    data = write_camt053([stmt, stmt], message_id="RT", created_at=CREATED, version=version)
    parsed = parse_bank_file(data, "rt.xml")
    assert parsed.format == f"camt.053.{version}"
    assert parsed.warnings == ()
    assert len(parsed.statements) == 2
    for back in parsed.statements:
        assert back.account_iban == ACCOUNT
        assert (back.opening_balance, back.closing_balance) == (
            stmt.opening_balance, stmt.closing_balance)
        assert (back.opening_on, back.closing_on) == (stmt.opening_on, stmt.closing_on)
        assert back.statement_id == stmt.statement_id
        assert [_comparable(e) for e in back.entries] == [_expected(e) for e in entries]


def test_bank_transaction_codes_read_back() -> None:
    data = write_camt053([statement()], message_id="RT", created_at=CREATED)
    (back,) = parse_bank_file(data, "rt.xml").statements
    assert [e.bank_code for e in back.entries] == [
        "PMNT-RCDT-ESCT", "PMNT-RCDT-ESCT", "PMNT-IDDT-ESDD", "PMNT-IDDT-UPDD",
        "PMNT-IDDT-UPDD", "PMNT-ICDT-ESCT", "PMNT-ICDT-ESCT", "PMNT-RCDT-ESCT"]


def test_a_demo_month_parses_back_exactly() -> None:
    from vroeg.demo.build import camt_bytes, plan_bank_files
    from vroeg.demo.population import generate

    files = plan_bank_files(generate(300, seed=9, today=date(2026, 6, 15)))
    for f in files[:2] + files[-2:]:
        parsed = parse_bank_file(camt_bytes(f, pretty=False), f.name)
        (back,) = parsed.statements
        assert parsed.warnings == ()
        assert [_comparable(e) for e in back.entries] == [
            _expected(e) for e in f.statement.entries]
