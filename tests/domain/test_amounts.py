"""Property tests: amounts in bank files and exports are read exactly, as Decimal.

MT940 writes '1234,56' (a comma, 0 to 2 decimals, no sign: D/C/RC/RD say it);
camt writes '1234.56' with CdtDbtInd; the tenancy CSV takes Dutch and English forms.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroeg.domain.bank.model import MAX_AMOUNT, BankFileError
from vroeg.domain.bank.parse import parse_bank_file
from vroeg.domain.money import parse_amount

# Up to the largest amount a bank file may carry, less the test statements' 1000.00.
cents = st.integers(min_value=0, max_value=int((MAX_AMOUNT - 1000) * 100)).map(
    lambda c: Decimal(c).scaleb(-2))


def mt940_amount(value: Decimal, decimals: int) -> str:
    text = f"{value:.2f}".replace(".", ",")
    if decimals == 0 and text.endswith(",00"):
        return text[:-2]  # "700," is how several banks write whole euros
    if decimals == 1 and text.endswith("0"):
        return text[:-1]
    return text


def mt940(amount: str, mark: str) -> bytes:
    opening = Decimal("1000.00")
    sign = -1 if mark in ("D", "RC") else 1
    value = Decimal(amount.replace(",", ".") or "0")
    closing = opening + sign * value
    cd = "C" if closing >= 0 else "D"
    closing_text = f"{abs(closing):.2f}".replace(".", ",")
    return (":20:STARTUMS\r\n:25:NL91ABNA0417164300\r\n:28C:1/1\r\n"
            ":60F:C261130EUR1000,00\r\n"
            f":61:2612011201{mark}{amount}NTRFNONREF//B1\r\n"
            ":86:/IBAN/NL20INGB0001234567/NAME/J. de Vries/REMI/huur\r\n"
            f":62F:{cd}261201EUR{closing_text}\r\n").encode()


@given(cents, st.integers(0, 2), st.sampled_from(["C", "D", "RC", "RD"]))
def test_mt940_amounts_are_exact_and_signed(value, decimals, mark):
    text = mt940_amount(value, decimals)
    parsed = parse_bank_file(mt940(text, mark), "t.sta")
    (entry,) = parsed.statements[0].entries
    # Credit positive; a reversal of a credit (RC) is a debit, of a debit (RD) a credit.
    expected = value if mark in ("C", "RD") else -value
    assert entry.amount == expected
    assert entry.reversal == mark.startswith("R")
    assert not [w for w in parsed.warnings if "balance" in w]  # it adds up, exactly


@given(cents, st.sampled_from(["CRDT", "DBIT"]))
def test_camt_amounts_are_exact(value, indicator):
    amount = f"{value:.2f}"
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M</MsgId><CreDtTm>2026-12-01T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S</Id><CreDtTm>2026-12-01T06:00:00</CreDtTm>
<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-12-01</Dt></BookgDt><ValDt><Dt>2026-12-01</Dt></ValDt>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
</BkTxCd></Ntry></Stmt></BkToCstmrStmt></Document>"""
    (entry,) = parse_bank_file(doc.encode(), "t.xml").statements[0].entries
    assert entry.amount == (value if indicator == "CRDT" else -value)
    assert isinstance(entry.amount, Decimal)


@pytest.mark.parametrize("bad", ["1,2,3", "abc", "1e5", "NaN", "-5.00", ".5.", "12.345.678"])
def test_bad_camt_amounts_name_the_element(bad):
    doc = f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>S</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">{bad}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>"""
    with pytest.raises(BankFileError) as err:
        parse_bank_file(doc.encode(), "t.xml")
    assert "Ntry/Amt" in str(err.value) and "invalid amount" in str(err.value)


def camt_entry(amount: str) -> bytes:
    return f"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>S</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">700.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>""".encode()


@pytest.mark.parametrize(("amount", "needle"), [
    ("12345678901234567890.99", "Bedrag te groot / amount too large: '12345678901234567890.99'"),
    ("10000000000.00", "amount too large"),
    ("1" * 40 + ".00", "amount too large"),  # beyond Decimal's 28 digits
    ("700.005", "Te veel decimalen / too many decimals: '700.005'"),
])
def test_camt_amount_that_does_not_fit_names_the_element(amount, needle):
    with pytest.raises(BankFileError) as err:
        parse_bank_file(camt_entry(amount), "groot.xml")
    assert needle in str(err.value)
    assert err.value.where == "groot.xml, Document/BkToCstmrStmt/Stmt/Ntry[2]/Amt (regel/line 5)"


def test_largest_amount_is_read_and_trailing_zeros_are_fine():
    (_, big) = parse_bank_file(camt_entry(str(MAX_AMOUNT)), "t.xml").statements[0].entries
    assert big.amount == Decimal("9999999999.99") == MAX_AMOUNT
    (_, even) = parse_bank_file(camt_entry("700.500"), "t.xml").statements[0].entries
    assert even.amount == Decimal("700.50")


def test_camt_batch_amount_that_does_not_fit_is_refused():
    doc = camt_entry("700.00").replace(
        b"</BookgDt></Ntry></Stmt>",
        b"</BookgDt><NtryDtls><TxDtls><Amt Ccy=\"EUR\">99999999999.00</Amt></TxDtls>"
        b"<TxDtls><Amt Ccy=\"EUR\">1.00</Amt></TxDtls></NtryDtls></Ntry></Stmt>")
    with pytest.raises(BankFileError, match="amount too large") as err:
        parse_bank_file(doc, "t.xml")
    assert "Ntry[2]/NtryDtls/TxDtls[1]/Amt" in err.value.where


@pytest.mark.parametrize(("line61", "balance", "where", "needle"), [
    ("C12345678901234567890,99", "1000,00", "regel/line 5",
     "Bedrag te groot / amount too large (veld / field :61:): '12345678901234567890,99'"),
    ("C700,005", "1000,00", "regel/line 5",
     "Te veel decimalen / too many decimals (veld / field :61:): '700,005'"),
    ("C700,00", "99999999999,00", "regel/line 4", "amount too large (veld / field :60F:)"),
])
def test_mt940_amount_that_does_not_fit_names_line_and_field(line61, balance, where, needle):
    data = (":20:STARTUMS\r\n:25:NL91ABNA0417164300\r\n:28C:1/1\r\n"
            f":60F:C261130EUR{balance}\r\n"
            f":61:2612011201{line61}NTRFNONREF//B1\r\n"
            ":86:/IBAN/NL20INGB0001234567/NAME/J. de Vries/REMI/huur\r\n"
            ":62F:C261201EUR1700,00\r\n").encode()
    with pytest.raises(BankFileError) as err:
        parse_bank_file(data, "groot.sta")
    assert needle in str(err.value)
    assert err.value.where == f"groot.sta, {where}"


def dutch(value: Decimal) -> str:
    whole, frac = f"{value:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return ".".join(groups) + "," + frac


@given(cents, st.sampled_from(["plain", "comma", "dutch", "english", "spaced"]))
def test_spreadsheet_amounts_read_back(value, style):
    text = {"plain": f"{value:.2f}", "comma": f"{value:.2f}".replace(".", ","),
            "dutch": dutch(value), "english": f"{value:,.2f}",
            "spaced": f"  {value:.2f}\u00a0"}[style]
    assert parse_amount(text) == value


@pytest.mark.parametrize("bad", ["", " ", "abc", "NaN", "Infinity", "12,34,5a"])
def test_spreadsheet_amounts_refuse_rubbish(bad):
    with pytest.raises(ValueError):
        parse_amount(bad)
