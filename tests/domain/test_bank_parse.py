"""Bank-file parsing against the real sample files in shared/realdata, their expected
outputs (WoLpH/mt940 YAML, OCA golden pydata), and hand-made edge cases."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REALDATA
from vroeg.domain.bank.camt_writer import write_camt053
from vroeg.domain.bank.model import BankEntry, BankFileError, ParsedFile, Statement, entry_keys
from vroeg.domain.bank.parse import balance_warnings, parse_bank_file

D = Decimal
NOT_BANK_SUFFIXES = (".xsd", ".yml", ".pydata", ".md")
NOT_BANK_NAMES = ("LICENSE",)


def _files() -> list[str]:
    if not REALDATA.is_dir():
        return ["(realdata missing)"]
    return sorted(str(p.relative_to(REALDATA)) for p in REALDATA.rglob("*") if p.is_file())


def _is_bank_file(rel: str) -> bool:
    p = Path(rel)
    return p.suffix not in NOT_BANK_SUFFIXES and p.name not in NOT_BANK_NAMES


def parse(realdata: Path, rel: str) -> ParsedFile:
    return parse_bank_file((realdata / rel).read_bytes(), rel)


def entries(parsed: ParsedFile) -> list[BankEntry]:
    return [e for s in parsed.statements for e in s.entries]


# ------------------------------------------------------------- every real file

@pytest.mark.parametrize("rel", _files())
def test_every_real_file_parses_or_is_refused_clearly(realdata: Path, rel: str) -> None:
    data = (realdata / rel).read_bytes()
    if not _is_bank_file(rel):
        with pytest.raises(BankFileError) as err:
            parse_bank_file(data, rel)
        assert "not a bank statement" in str(err.value)
        assert err.value.where.startswith(rel)
        return
    if rel.endswith("camt053.v2.wrong.xml"):  # the deliberately broken sample
        with pytest.raises(BankFileError, match="no <Stmt> element"):
            parse_bank_file(data, rel)
        return
    parsed = parse_bank_file(data, rel)
    assert parsed.format == "mt940" or parsed.format[:8] in (
        "camt.052", "camt.053", "camt.054", "pain.002")
    for s in parsed.statements:
        assert s.account_iban
        for e in s.entries:
            assert isinstance(e.amount, Decimal)
            assert e.currency and len(e.currency) == 3
            assert isinstance(e.booked_on, date)
            assert e.amount != 0 or "0" in str(e.amount)  # zero only when the bank says so
    if parsed.format.startswith(("camt.054", "pain.002")):
        assert parsed.is_statement is False
    else:
        assert parsed.is_statement is True


def test_exact_versions_are_reported(realdata: Path) -> None:
    expected = {
        "camt/test-data/camt053.v2.minimal.xml": "camt.053.001.02",
        "camt/test-data/camt053.v4.xml": "camt.053.001.04",
        "camt/test-data/camt053.v8.xml": "camt.053.001.08",
        "camt/test-data/camt054.v8.xml": "camt.054.001.08",
        "hbci4java/sepa/test-camt-parse-05200108.xml": "camt.052.001.08",
        "hbci4java/sepa/test-pain-parse-0020110-02.xml": "pain.002.001.10",
        # OCA's files have no extension: recognised from the content.
        "bank-statement-import/account_statement_import_camt/test-camt053": "camt.053.001.02",
        "bank-statement-import/account_statement_import_camt/test-camt054": "camt.054.001.04",
        "php-mt940/Rabo/sample": "mt940",
    }
    for rel, fmt in expected.items():
        assert parse(realdata, rel).format == fmt, rel


# --------------------------------------------------------- expected outputs

class _PickleFreeLoader(yaml.SafeLoader):
    """Reads WoLpH/mt940's pickled YAML as plain data, without running its classes."""


def _obj(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Iterator[dict[str, Any]]:
    data: dict[str, Any] = {}
    yield data  # generator constructor: the YAML refers back to its own root
    data.update(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


def _apply(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    args = (loader.construct_sequence(node, deep=True)
            if isinstance(node, yaml.SequenceNode) else [])
    if suffix == "decimal.Decimal":
        return Decimal(args[0])
    if suffix == "mt940.models.Date":  # pickled date: 2 bytes year, month, day
        b = args[0]
        return date(b[0] * 256 + b[1], b[2], b[3])
    return None


_PickleFreeLoader.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", _apply)
_PickleFreeLoader.add_multi_constructor("tag:yaml.org,2002:python/object/new:", _apply)
_PickleFreeLoader.add_multi_constructor("tag:yaml.org,2002:python/object:", _obj)
_PickleFreeLoader.add_multi_constructor("tag:yaml.org,2002:python/name:",
                                        lambda loader, suffix, node: suffix)


def _yml_cases() -> list[str]:
    if not REALDATA.is_dir():
        return ["(realdata missing)"]
    return sorted(str(p.relative_to(REALDATA)) for p in REALDATA.glob("mt940/*/*.yml"))


@pytest.mark.parametrize("rel", _yml_cases())
def test_mt940_agrees_with_wolph_yaml(realdata: Path, rel: str) -> None:
    doc = yaml.load((realdata / rel).read_text(encoding="utf-8"), Loader=_PickleFreeLoader)
    parsed = parse(realdata, str(Path(rel).with_suffix(".sta")))
    mine = entries(parsed)
    theirs = [t["data"] for t in doc["transactions"]]
    assert len(mine) == len(theirs)
    for e, t in zip(mine, theirs, strict=True):
        amount = t["amount"]["amount"]
        # The YAML was made with the library's default: a reversal of credit (RC)
        # positive. It is a debit.
        expected = -abs(amount) if t["status"] == "RC" else amount
        assert e.amount == expected
        assert e.value_on == t["date"]
        assert e.booked_on == (t.get("entry_date") or t["date"])
        assert e.currency == t["amount"]["currency"]
    # The library keeps one value per balance tag (the last); each must be one of ours.
    openings = {(s.opening_balance, s.opening_on) for s in parsed.statements}
    closings = {(s.closing_balance, s.closing_on) for s in parsed.statements}
    for key, bal in doc["data"].items():
        pair = (bal["amount"]["amount"], bal["date"]) if key.endswith("balance") else None
        if key in ("final_opening_balance", "intermediate_opening_balance"):
            assert pair in openings, key
        elif key in ("final_closing_balance", "intermediate_closing_balance"):
            assert pair in closings, key


@pytest.mark.parametrize("name", ["camt053", "camt054"])
def test_camt_agrees_with_oca_golden(realdata: Path, name: str) -> None:
    folder = realdata / "bank-statement-import/account_statement_import_camt"
    currency, account, stmts = ast.literal_eval((folder / f"golden-{name}.pydata").read_text())
    parsed = parse_bank_file((folder / f"test-{name}").read_bytes(), f"test-{name}")
    assert len(parsed.statements) == len(stmts)
    for s, g in zip(parsed.statements, stmts, strict=True):
        assert (s.currency, s.account_iban, s.statement_id) == (currency, account, g["name"])
        if name == "camt053":
            assert s.opening_balance == D(str(g["balance_start"]))
            assert s.closing_balance == D(str(g["balance_end_real"]))
        else:  # a notification has no balances (OCA reports 0.0)
            assert s.opening_balance is None and s.closing_balance is None
        assert len(s.entries) == len(g["transactions"])
        for e, t in zip(s.entries, g["transactions"], strict=True):
            assert e.amount == D(str(t["amount"])).quantize(D("0.01"))
            assert e.booked_on == date.fromisoformat(t["date"])
            assert e.counterparty_iban == t["account_number"]
            assert e.counterparty_name == t["partner_name"]
            assert t["ref"] in (e.end_to_end_id, e.creditor_reference)


# ------------------------------------------------------------------ signs

def test_reversal_of_credit_is_a_debit_and_betterplace_balances(realdata: Path) -> None:
    parsed = parse(realdata, "mt940/betterplace/sepa_mt9401.sta")
    reversals = [e for e in entries(parsed) if e.reversal]
    assert reversals and all(e.amount == D("-204.88") for e in reversals)  # :61:...RCR204,88
    # With RC signed as a debit every one of the 26 statements adds up exactly.
    assert balance_warnings(parsed) == []
    assert parsed.warnings == ()


MT940_REVERSALS = b"""\
:20:REVERSALS
:25:NL91ABNA0417164300
:28C:1/1
:60F:C240102EUR100,00
:61:2401020102RC25,00NTRFNONREF
:86:/EREF/E1/RTRN/MD06/NAME/J JANSEN/REMI/HUUR JANUARI
:61:2401020102RD10,00NTRFNONREF
:86:/NAME/WATERBEDRIJF/REMI/STORNO INCASSO
:62F:C240102EUR85,00
-
"""


def test_rc_and_rd_signs() -> None:
    parsed = parse_bank_file(MT940_REVERSALS, "rev.sta")
    rc, rd = entries(parsed)
    assert (rc.amount, rc.reversal, rc.return_reason) == (D("-25.00"), True, "MD06")
    assert (rd.amount, rd.reversal) == (D("10.00"), True)
    assert parsed.warnings == ()  # 100 - 25 + 10 = 85


def test_camt_batch_becomes_one_entry_per_transaction(realdata: Path) -> None:
    parsed = parse(realdata, "bank-statement-import/account_statement_import_camt/"
                             "test-camt053-txdtls")
    s = parsed.statements[0]
    assert [e.amount for e in s.entries] == [D("2187.00"), D("1296.00")]
    assert [e.creditor_reference for e in s.entries] == [
        "302388292000011111111111111", "302388292000022222222222222"]
    assert s.opening_balance is not None
    assert s.opening_balance + sum(e.amount for e in s.entries) == s.closing_balance


def test_abn_amro_return_names_the_tenant_and_reason(realdata: Path) -> None:
    s = parse(realdata, "camt-moiristo/sample_files/camt.xml").statements[0]
    returns = [e for e in s.entries if e.return_reason]
    assert [(e.amount, e.return_reason, e.counterparty_name, e.reversal) for e in returns] == [
        (D("-1.00"), "MS03", "Debtor", True), (D("-921.00"), "MS03", "Debtor", True)]
    acceptgiro = [e for e in s.entries if e.creditor_reference]
    assert acceptgiro and all(e.creditor_reference == "1234567812345678" for e in acceptgiro)
    # ABN's entries without details carry the MT940 layout in AddtlNtryInf.
    assert any(e.counterparty_name == "NAAM" and e.remittance == "OMSCHRIJVING"
               for e in s.entries)
    assert all(e.end_to_end_id != "NOTPROVIDED" for e in s.entries)


def test_pain002_rejects_become_entries_with_reasons(realdata: Path) -> None:
    parsed = parse(realdata, "account-payment/account_payment_return_import_sepa_pain/"
                             "test-sepa-unpaid.xml")
    assert parsed.is_statement is False
    s = parsed.statements[0]
    assert s.account_iban == "NL77ABNA0574908765"
    assert [(e.amount, e.return_reason, e.end_to_end_id, e.mandate_id) for e in s.entries] == [
        (D("-100.00"), "AC01", "E2EID1", "MANDATEID1"),
        (D("-100.00"), "MS02", "E2EID2", "MANDATEID2"),
        (D("-100.00"), "MD06", "E2EID3", "MANDATEID3"),
        (D("-100.00"), "AM04", "E2EID4", "MANDATEID4")]
    assert all(e.reversal and e.counterparty_name.startswith("DEBTOR") for e in s.entries)


def test_dutch_86_layouts(realdata: Path) -> None:
    ing = entries(parse(realdata, "bank-statement-import/account_bank_statement_import_mt940_base/"
                                  "test-ing.940"))
    assert ing[2].return_reason == "MS03" and ing[2].reversal
    assert ing[3].mandate_id == "MND-EV01"  # wrapped over a line holding only "-"
    assert ing[6].creditor_reference == "9001123412341234"  # /REMI/STRD/CUR/
    assert (ing[0].counterparty_iban, ing[0].counterparty_bic) == ("NL32INGB0000012345",
                                                                   "INGBNL2A")
    rabo = entries(parse(realdata, "mt940/jejik/rabobank-iban.sta"))
    assert (rabo[0].counterparty_name, rabo[0].counterparty_iban) == (
        "CONTRA ACCOUNT HOLDER", "NL70ABNA0987654321")  # name wrapped mid-word
    abn = entries(parse(realdata, "php-mt940/Abn/issue48"))
    assert (abn[1].mandate_id, abn[1].end_to_end_id, abn[1].remittance) == (
        "000000059990", "012345678912361000", "INV/1511682351 1.12.2016")
    asn = entries(parse(realdata, "php-mt940/Asn/sample"))
    assert (asn[0].counterparty_iban, asn[0].counterparty_name, asn[0].remittance) == (
        "NL29INGB0006475121", "j blom", "Salaris december 2019")
    assert asn[1].mandate_id == "MTC244K"  # structured text inside ASN's layout
    knab = entries(parse(realdata, "mt940/jejik/knab.sta"))
    assert (knab[1].counterparty_name, knab[1].counterparty_iban) == ("PICQER",
                                                                      "NL65INGB0123456789")
    old_abn = entries(parse(realdata, "php-mt940/Abn/sample"))
    assert old_abn[0].counterparty_name == "KPN BV"
    assert old_abn[2].counterparty_name == "G.B. ROTTERDAM"
    triodos = entries(parse(realdata, "mt940/jejik/triodos.sta"))
    assert triodos[1].remittance == "HUUR KANTOOR - FEB 2010"
    rabo_dot = entries(parse(realdata, "php-mt940/Rabo/sample"))
    assert D("43985.66") in {e.amount for e in rabo_dot}  # dot decimals keep their cents


ABN_LABELLED = (
    ":20:ABN AMRO BANK NV\n:25:417164300\n:28:1/1\n:60F:C240102EUR0,00\n"
    ":61:2401020102C700,00N654NONREF\n"
    ":86:SEPA OVERBOEKING                 IBAN: NL20INGB0001234567        \n"
    "BIC: INGBNL2A                    NAAM: J JANSEN                  \n"
    "OMSCHRIJVING: HUUR JANUARI 2024 BETALINGSKENMERK 5000 0567 8901 \n"
    "KENMERK: E2E-1\n"
    ":62F:C240102EUR700,00\n-\n")


def test_abn_amro_labelled_layout() -> None:
    (e,) = entries(parse_bank_file(ABN_LABELLED.encode(), "abn.sta"))
    assert (e.counterparty_name, e.counterparty_iban, e.counterparty_bic) == (
        "J JANSEN", "NL20INGB0001234567", "INGBNL2A")
    assert e.remittance == "HUUR JANUARI 2024 BETALINGSKENMERK 5000 0567 8901"
    assert e.end_to_end_id == "E2E-1"  # ABN's KENMERK is the end-to-end id


def test_terminated_statement_without_closing_balance_is_kept(realdata: Path) -> None:
    parsed = parse(realdata, "bank-statement-import/account_bank_statement_import_mt940_base/"
                             "test-sns.940")
    assert parsed.statements[-1].closing_balance is None
    assert len(parsed.statements[-1].entries) == 2
    assert any("without closing balance" in w for w in parsed.warnings)


# ------------------------------------------------------------------ errors

def test_wrong_camt_names_the_element(realdata: Path) -> None:
    with pytest.raises(BankFileError) as err:
        parse(realdata, "camt/test-data/camt053.v2.wrong.xml")
    assert "Document/BkToCstmrStmt" in err.value.where
    assert "regel/line 3" in err.value.where
    assert "Stmt" in err.value.detail


def test_truncated_mt940_names_the_line(realdata: Path) -> None:
    data = (realdata / "php-mt940/Bunq/sample").read_bytes()
    with pytest.raises(BankFileError) as err:
        parse_bank_file(data[: len(data) // 2], "bunq-half.sta")
    assert "truncated" in err.value.detail
    assert err.value.where.startswith("bunq-half.sta, regel/line ")


def test_truncated_xml_names_line_and_column(realdata: Path) -> None:
    data = (realdata / "camt-moiristo/sample_files/camt.xml").read_bytes()
    with pytest.raises(BankFileError) as err:
        parse_bank_file(data[:5000], "camt-half.xml")
    assert "malformed XML" in err.value.detail
    assert "regel/line" in err.value.where and "kolom/column" in err.value.where


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "empty file"),
    (b"  \r\n\r\n", "empty file"),
    (b"datum;bedrag;omschrijving\n2024-01-01;12,50;huur\n", "looks like CSV"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    (b"<html><body>hallo</body></html>", "root <html>"),
    (b'<Document xmlns="urn:example:other"><X/></Document>', "unknown namespace"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.002.02"><BkToCstmrStmt/>'
     b"</Document>", "unknown version"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"><CstmrDrctDbtInitn/>'
     b"</Document>", "direct-debit instruction"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><CstmrPmtStsRpt/>'
     b"</Document>", "expects <BkToCstmrStmt>"),
    (b":20:X\n:25:NL91ABNA0417164300\n:60F:C240102EUR1,00\n:61:2401020102D1,00NTRF\n",
     "truncated"),
    (b":20:X\n:25:NL91ABNA0417164300\n:60F:C240102EUR1,00\n:61:24X\n:62F:C240102EUR1,00\n",
     "unreadable entry"),
])
def test_bad_input_is_refused_with_a_clear_message(data: bytes, needle: str) -> None:
    with pytest.raises(BankFileError) as err:
        parse_bank_file(data, "in.dat")
    assert needle in str(err.value)
    assert err.value.where.startswith("in.dat")


def test_bad_camt_amount_names_the_element() -> None:
    xml = (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
           b"<GrpHdr/><Stmt><Id>1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>"
           b"<Ntry><Amt Ccy=\"EUR\">12,50</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
           b"<BookgDt><Dt>2024-01-02</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>")
    with pytest.raises(BankFileError) as err:
        parse_bank_file(xml, "x.xml")
    assert "Stmt/Ntry/Amt" in err.value.where


# ------------------------------------------------------------------ encodings

def _one_line(details: str) -> str:
    return (":20:ENC\n:25:NL91ABNA0417164300\n:28C:1\n:60F:C240102EUR0,00\n"
            ":61:2401020102C700,00NTRFNONREF\n"
            f":86:/IBAN/NL20INGB0001234567/NAME/{details}/REMI/Huur januari\n"
            ":62F:C240102EUR700,00\n-\n")


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "cp1252"])
def test_mt940_in_latin1_and_utf8(encoding: str) -> None:
    parsed = parse_bank_file(_one_line("Zoë Çelik-Müller").encode(encoding), "enc.sta")
    assert entries(parsed)[0].counterparty_name == "Zoë Çelik-Müller"


def test_camt_in_latin1_with_and_without_declaration() -> None:
    body = ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
            "<GrpHdr/><Stmt><Id>1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>"
            '<Ntry><Amt Ccy="EUR">700.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            "<BookgDt><Dt>2024-01-02</Dt></BookgDt><NtryDtls><TxDtls><RltdPties><Dbtr>"
            "<Nm>Zoë Çelik</Nm></Dbtr></RltdPties><RmtInf><Strd><CdtrRefInf>"
            "<Ref>5000 0567 8901 2345</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls>"
            "</Ntry></Stmt></BkToCstmrStmt></Document>")
    declared = '<?xml version="1.0" encoding="ISO-8859-1"?>' + body
    for data in (declared.encode("latin-1"), body.encode("latin-1"), body.encode("utf-8")):
        e = entries(parse_bank_file(data, "x.xml"))[0]
        assert e.counterparty_name == "Zoë Çelik"
        assert e.creditor_reference == "5000056789012345"  # spaces stripped


def test_booking_time_with_zone_is_the_amsterdam_date(realdata: Path) -> None:
    e = entries(parse(realdata, "bank-statement-import/account_bank_statement_import_camt_oca/"
                                "test-camt053-bookgdt-dttm"))[0]
    assert e.booked_on == date(2014, 1, 5)  # 2014-01-04T23:00Z is midnight in Amsterdam


# ------------------------------------------------------------------ entry keys

def _entry(**kw: Any) -> BankEntry:
    base: dict[str, Any] = {"amount": D("700.00"), "currency": "EUR",
                            "booked_on": date(2024, 1, 2)}
    return BankEntry(**{**base, **kw})


def test_entry_keys_are_stable_and_count_identical_entries() -> None:
    a, b = _entry(remittance="huur"), _entry(remittance="huur")
    s1 = Statement("NL91ABNA0417164300", "EUR", None, None, entries=(a, b))
    s2 = Statement("nl91 abna 0417 1643 00", "EUR", None, None,
                   entries=(a, b, _entry(amount=D("700"), remittance="huur")))
    k1, k2 = entry_keys(s1), entry_keys(s2)
    assert len(set(k1)) == 2  # two identical payments are two payments
    assert k2[:2] == k1  # an overlapping statement gives the same keys
    assert k2[2] not in k1  # a third identical one is new (700 == 700.00)
    assert entry_keys(Statement("NL91ABNA0417164300", "EUR", None, None,
                                entries=(_entry(remittance="huur", reversal=True),)))[0] != k1[0]


# ------------------------------------------------------------------ round trip

IBANS = ["NL91ABNA0417164300", "NL20INGB0001234567", "DE89370400440532013000"]
TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-/",
               min_size=1, max_size=30).map(lambda s: " ".join(s.split())).filter(bool)


@st.composite
def bank_entries(draw: st.DrawFn) -> BankEntry:
    amount = draw(st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2)
                  .filter(lambda d: d != 0))
    return_reason = draw(st.sampled_from(["", "", "AM04", "MD06"])) if amount < 0 else ""
    return BankEntry(
        amount=amount, currency="EUR",
        booked_on=draw(st.dates(date(2020, 1, 1), date(2030, 12, 31))),
        value_on=draw(st.none() | st.dates(date(2020, 1, 1), date(2030, 12, 31))),
        counterparty_name=draw(st.just("") | TEXT),
        counterparty_iban=draw(st.sampled_from(["", *IBANS])),
        remittance=draw(st.just("") | TEXT),
        creditor_reference=draw(st.sampled_from(["", "5000056789012345", "1223453462256"])),
        end_to_end_id=draw(st.just("") | TEXT.map(lambda s: s.replace(" ", ""))),
        mandate_id=draw(st.just("") | TEXT.map(lambda s: s.replace(" ", ""))),
        bank_reference=draw(st.just("") | TEXT.map(lambda s: s.replace(" ", ""))),
        reversal=bool(return_reason) or draw(st.booleans()),
        return_reason=return_reason)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bank_entries(), max_size=8), st.sampled_from(["001.02", "001.04", "001.08"]),
       st.decimals(min_value=D("-10000"), max_value=D("10000"), places=2))
def test_camt_written_by_vroeg_reads_back_the_same(items: list[BankEntry], version: str,
                                                   opening: Decimal) -> None:
    closing = opening + sum((e.amount for e in items), D(0))
    stmt = Statement("NL91ABNA0417164300", "EUR", opening, closing,
                     opening_on=date(2020, 1, 1), closing_on=date(2031, 1, 1),
                     statement_id="RT-1", entries=tuple(items))
    data = write_camt053([stmt], message_id="RT", version=version,
                         created_at=datetime(2031, 1, 1, tzinfo=UTC))
    parsed = parse_bank_file(data, "rt.xml")
    assert parsed.format == f"camt.053.{version}"
    (back,) = parsed.statements
    assert (back.opening_balance, back.closing_balance) == (opening, closing)
    assert parsed.warnings == ()
    for written, read in zip(items, back.entries, strict=True):
        assert read.amount == written.amount
        assert read.booked_on == written.booked_on
        # Without a value date the writer may leave ValDt out or repeat the booking date.
        assert read.value_on in ((written.value_on,) if written.value_on
                                 else (None, written.booked_on))
        assert read.counterparty_name == written.counterparty_name
        assert read.counterparty_iban == written.counterparty_iban
        assert read.remittance == written.remittance
        assert read.creditor_reference == written.creditor_reference
        assert read.end_to_end_id == written.end_to_end_id
        assert read.mandate_id == written.mandate_id
        assert read.bank_reference == written.bank_reference
        assert read.reversal == written.reversal
        assert read.return_reason == written.return_reason


def test_unbalanced_real_file_warns_with_the_difference(realdata: Path) -> None:
    parsed = parse(realdata, "mt940/jejik/abnamro.sta")
    assert list(parsed.warnings) == balance_warnings(parsed)
    assert [w.rsplit(" ", 1)[-1] for w in parsed.warnings] == ["-2038.00)", "-1002.60)"]
    assert all(w.startswith("Saldo klopt niet / balance does not add up") for w in parsed.warnings)


# ------------------------------------------------------------------ booking dates

def test_entry_booked_long_after_the_statement_date_is_kept_with_a_warning() -> None:
    on_time, late = _entry(booked_on=date(2024, 1, 9)), _entry(booked_on=date(2024, 1, 12))
    stmt = Statement("NL91ABNA0417164300", "EUR", D("0"), D("1400.00"),
                     opening_on=date(2024, 1, 2), closing_on=date(2024, 1, 2),
                     statement_id="S-1", entries=(on_time, late))
    data = write_camt053([stmt], message_id="M", created_at=datetime(2024, 1, 2, 6, 0))
    parsed = parse_bank_file(data, "laat.xml")
    assert [e.booked_on for e in entries(parsed)] == [date(2024, 1, 9), date(2024, 1, 12)]
    (warning,) = parsed.warnings  # 7 days after is still fine, 10 is not
    assert warning.startswith("Meer dan 7 dagen na de afschriftdatum geboekt / booked more "
                              "than 7 days after the statement date: ")
    assert warning.endswith("(NL91ABNA0417164300 S-1): 1 boeking(en) / entries, "
                            "2024-01-12 .. 2024-01-12")


def test_mt940_entry_booked_long_after_the_closing_balance_date_warns() -> None:
    data = (b":20:LAAT\n:25:NL91ABNA0417164300\n:28C:1\n:60F:C240102EUR0,00\n"
            b":61:2401300130C700,00NTRFNONREF\n:86:/NAME/J. de Vries/REMI/huur\n"
            b":62F:C240102EUR700,00\n-\n")
    parsed = parse_bank_file(data, "laat.sta")
    assert entries(parsed)[0].booked_on == date(2024, 1, 30)
    assert [w.split(":")[0] for w in parsed.warnings] == [
        "Meer dan 7 dagen na de afschriftdatum geboekt / booked more than 7 days after the "
        "statement date"]
