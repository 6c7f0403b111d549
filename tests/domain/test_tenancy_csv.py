"""The tenancy CSV parser: typed records, and errors that name file, line and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroeg.domain.tenancy_columns import ALL, REQUIRED
from vroeg.domain.tenancy_csv import (
    HOUSEHOLD_FIELDS,
    RowError,
    decode_csv,
    household_hash,
    is_tenancy_csv_text,
    parse_tenancy_csv,
    row_hash,
)

FILE = "tenancies.csv"


def row(**overrides: str) -> dict[str, str]:
    base = {
        "overeenkomst_code": "OV-1001", "relatie_code": "R-501", "relatie_naam": "J. de Vries",
        "eenheid_code": "E-77", "eenheid_straat": "Dorpsstraat", "eenheid_huisnummer": "12-A",
        "eenheid_postcode": "1234 AB", "eenheid_plaats": "Utrecht",
        "ingangsdatum": "2019-04-01", "kale_huur": "612.45",
    }
    base.update(overrides)
    return base


def csv_text(rows: list[dict[str, str]], delimiter: str = ",", columns=None) -> str:
    columns = list(columns or dict.fromkeys(c for r in rows for c in r))
    lines = [delimiter.join(columns)]
    for r in rows:
        cells = []
        for c in columns:
            cell = r.get(c, "")
            if delimiter in cell or '"' in cell or "\n" in cell:
                cell = '"' + cell.replace('"', '""') + '"'
            cells.append(cell)
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + "\n"


def parse(rows, **kw):
    return parse_tenancy_csv(csv_text(rows, **kw), FILE)


FULL = row(
    einddatum="2030-12-31", servicekosten="45,50", vervaldag="28", betaalwijze="incasso",
    machtigingskenmerk="MND-2019-0042", machtiging_datum="15-03-2019",
    iban="nl91 abna 0417 1643 00", betalingskenmerk="5000 0567 8901 2345",
    email="j.devries@example.nl", mobiel="06-12345678", post_straat="Postbus",
    post_huisnummer="100", post_postcode="9999zz", post_plaats="Zwolle", taal="TR",
    voorkeurskanaal="sms", beperkingen="tolk; geen_email", beginsaldo="-12,5",
    beginsaldo_datum="2024-12-31",
)


def test_good_file_all_columns():
    result = parse([FULL, row(overeenkomst_code="OV-1002", relatie_code="R-502")])
    assert result.errors == ()
    assert result.rows == 2 and result.ok
    rec = result.records[0]
    assert rec.code == "OV-1001" and rec.household_code == "R-501" and rec.line == 2
    assert rec.start_on == date(2019, 4, 1) and rec.end_on == date(2030, 12, 31)
    assert rec.net_rent == Decimal("612.45") and rec.service_costs == Decimal("45.50")
    assert rec.monthly_rent == Decimal("657.95")
    assert rec.due_day == 28
    assert rec.payment_method == "direct_debit" and rec.mandate_reference == "MND-2019-0042"
    assert rec.mandate_signed_on == date(2019, 3, 15)
    assert rec.iban == "NL91ABNA0417164300"
    assert rec.payment_reference == "5000056789012345"
    assert rec.email == "j.devries@example.nl" and rec.mobile == "+31612345678"
    assert (rec.postal_street, rec.postal_house_number, rec.postal_postcode,
            rec.postal_city) == ("Postbus", "100", "9999 ZZ", "Zwolle")
    assert rec.language == "tr" and rec.preferred_channel == "sms"
    assert rec.restrictions == ("needs_interpreter", "no_email")
    assert rec.opening_balance == Decimal("-12.50")
    assert rec.opening_balance_on == date(2024, 12, 31)

    plain = result.records[1]
    assert plain.line == 3
    assert plain.end_on is None and plain.service_costs == Decimal("0.00")
    assert plain.due_day == 1 and plain.payment_method == "transfer"
    assert plain.language == "nl" and plain.preferred_channel == "email"
    assert plain.restrictions == () and plain.payment_reference == "" and plain.iban == ""


def test_only_required_columns():
    result = parse([row()], columns=REQUIRED)
    assert result.errors == () and len(result.records) == 1


def test_bom_and_crlf():
    text = "\ufeff" + csv_text([row()]).replace("\n", "\r\n")
    result = parse_tenancy_csv(text, FILE)
    assert result.errors == () and result.records[0].code == "OV-1001"


def test_bom_in_bytes():
    data = ("\ufeff" + csv_text([row()])).encode("utf-8")
    text, error = decode_csv(data, FILE)
    assert error is None and parse_tenancy_csv(text, FILE).records[0].code == "OV-1001"


def test_not_utf8_names_the_line():
    data = csv_text([row(), row(overeenkomst_code="X", relatie_naam="Müller")]).encode("cp1252")
    text, error = decode_csv(data, FILE)
    assert error is not None and error.line == 3
    assert str(error).startswith("tenancies.csv, regel/line 3: geen UTF-8")


def test_semicolons_and_comma_decimals():
    text = csv_text([row(kale_huur="612,45", servicekosten="12,3",
                         beperkingen="tolk;geen_sms")], delimiter=";")
    assert text.splitlines()[0].count(";") > 5
    result = parse_tenancy_csv(text, FILE)
    assert result.errors == () and result.delimiter == ";"
    rec = result.records[0]
    assert rec.net_rent == Decimal("612.45") and rec.service_costs == Decimal("12.30")
    assert rec.restrictions == ("needs_interpreter", "no_sms")


@given(st.decimals(min_value=0, max_value=24950, places=2), st.sampled_from([".", ","]),
       st.sampled_from([",", ";"]))
def test_money_round_trip(amount, mark, delimiter):
    text = csv_text([row(kale_huur=f"{amount:.2f}".replace(".", mark))], delimiter=delimiter)
    result = parse_tenancy_csv(text, FILE)
    assert result.errors == ()
    assert result.records[0].net_rent == amount


def test_error_str_is_dutch_first_then_english():
    error = RowError("tenancies.csv", 14, "kale_huur", "geen geldig bedrag / not a valid amount")
    assert str(error) == ("tenancies.csv, regel/line 14, kolom/column kale_huur: "
                          "geen geldig bedrag / not a valid amount")
    assert str(RowError("t.csv", 3, "", "x")) == "t.csv, regel/line 3: x"


BAD_CELLS = [
    ("kale_huur", "6.1e2", "geen geldig bedrag / not a valid amount"),
    ("kale_huur", "1.234,56", "not a valid amount"),
    ("kale_huur", "€ 612,45", "not a valid amount"),
    ("kale_huur", "612.456", "not a valid amount"),
    ("kale_huur", "NaN", "not a valid amount"),
    ("kale_huur", "-5.00", "must not be negative"),
    ("kale_huur", "", "required, but empty"),
    ("servicekosten", "12.3.4", "not a valid amount"),
    ("beginsaldo", "1e3", "not a valid amount"),
    ("ingangsdatum", "2019/04/01", "not a date"),
    ("ingangsdatum", "2019-02-30", "no such date"),
    ("ingangsdatum", "31-04-2019", "no such date"),
    ("ingangsdatum", "0019-04-01", "year outside"),
    ("einddatum", "2018-01-01", "before the start date"),
    ("vervaldag", "0", "due day must be 1-31"),
    ("vervaldag", "32", "due day must be 1-31"),
    ("vervaldag", "1.5", "due day must be 1-31"),
    ("betaalwijze", "contant", "unknown betaalwijze / payment method"),
    ("betaalwijze", "incasso", "required when betaalwijze is incasso"),
    ("machtigingskenmerk", "MND 42", "not a valid SEPA mandate id"),
    ("iban", "NL91ABNA0417164301", "not a valid IBAN"),
    ("iban", "NL91", "not a valid IBAN"),
    ("betalingskenmerk", "5000 0567 8901 2346", "not a valid payment reference"),
    ("email", "j.devries@", "not a valid email address"),
    ("email", "j devries@example.nl", "not a valid email address"),
    ("email", "a@b", "not a valid email address"),
    ("mobiel", "0612", "not a valid phone number"),
    ("mobiel", "hallo", "not a phone number"),
    ("mobiel", "020 123 4567", "not a mobile number"),
    ("taal", "de", "unknown language"),
    ("voorkeurskanaal", "whatsapp", "unknown kanaal / channel"),
    ("voorkeurskanaal", "sms", "sms chosen but no mobile number"),
    ("voorkeurskanaal", "email", "email chosen but no email address"),
    ("beperkingen", "tolk;geen_post", "unknown restriction"),
    ("eenheid_postcode", "1234", "not a Dutch postcode"),
    ("eenheid_postcode", "0123 AB", "not a Dutch postcode"),
    ("eenheid_huisnummer", "A12", "not a house number"),
    ("overeenkomst_code", "OV 1", "code contains spaces"),
    ("overeenkomst_code", "X" * 41, "too long, at most 40"),
    ("relatie_naam", "", "required, but empty"),
    ("relatie_naam", "J.\tde Vries", "control character"),
    ("eenheid_plaats", "U" * 81, "too long, at most 80"),
    ("post_straat", "Postbus", "postal address incomplete"),
    ("beginsaldo_datum", "", "required when beginsaldo is not 0"),
]


@pytest.mark.parametrize(("column", "value", "expected"), BAD_CELLS)
def test_bad_cell_names_line_and_column(column, value, expected):
    extra = {"beginsaldo": "10,00"} if column == "beginsaldo_datum" else {}
    good = row(overeenkomst_code="OV-1", relatie_code="R-1")
    bad = row(**{"overeenkomst_code": "OV-2", "relatie_code": "R-2", column: value, **extra})
    columns = [*REQUIRED, *(c for c in ALL if c not in REQUIRED)]
    result = parse([good, bad], columns=columns)
    assert [r.code for r in result.records] == ["OV-1"]
    mine = [e for e in result.errors if e.line == 3]
    assert result.errors and len(mine) == len(result.errors), result.errors
    # Rules across cells name the column that must change.
    target = {("betaalwijze", "incasso"): "machtigingskenmerk",
              ("post_straat", "Postbus"): "post_huisnummer"}.get((column, value), column)
    hits = [e for e in mine if e.column == target and expected in e.message]
    assert hits, result.errors
    assert str(hits[0]).startswith(f"tenancies.csv, regel/line 3, kolom/column {target}: ")


@pytest.mark.parametrize(("column", "value"), [
    ("email", "piet.jansen@"), ("mobiel", "0612"), ("iban", "NL91ABNA0417164301"),
    ("relatie_naam", "Piet\x07Jansen"), ("eenheid_postcode", "12345"),
])
def test_personal_data_is_not_echoed(column, value):
    result = parse([row(**{column: value})])
    assert result.errors
    assert all(value not in str(e) for e in result.errors)


def test_all_errors_of_a_row_are_listed():
    result = parse([row(kale_huur="x", ingangsdatum="gisteren", eenheid_postcode="?")])
    assert {e.column for e in result.errors} == {"kale_huur", "ingangsdatum",
                                                 "eenheid_postcode"}


def test_unknown_missing_and_double_columns():
    columns = [c for c in REQUIRED if c not in ("kale_huur", "eenheid_plaats")]
    columns += ["huurprijs", "relatie_code"]
    result = parse_tenancy_csv(",".join(columns) + "\n", FILE)
    assert result.records == ()
    assert {(e.line, e.column) for e in result.errors} == {
        (1, "huurprijs"), (1, "relatie_code"), (1, "kale_huur"), (1, "eenheid_plaats")}
    messages = {e.column: e.message for e in result.errors}
    assert "unknown column" in messages["huurprijs"]
    assert "required column missing" in messages["kale_huur"]
    assert "column appears twice" in messages["relatie_code"]


def test_header_is_case_and_space_insensitive():
    text = ", ".join(c.upper() for c in REQUIRED) + "\n" + ",".join(row().values()) + "\n"
    result = parse_tenancy_csv(text, FILE)
    assert result.errors == () and len(result.records) == 1


def test_empty_file():
    result = parse_tenancy_csv("", FILE)
    assert [str(e) for e in result.errors] == [
        "tenancies.csv, regel/line 1: leeg bestand: kopregel ontbreekt / empty file: "
        "header line missing"]


@pytest.mark.parametrize("after_header", ["\n", "", "\n\n,,,,,,,,,\n"])
def test_header_only_is_refused(after_header):
    result = parse_tenancy_csv(",".join(REQUIRED) + after_header, FILE)
    assert result.records == () and result.rows == 0
    assert [str(e) for e in result.errors] == [
        "tenancies.csv, regel/line 1: geen regels / no rows (alleen een kopregel / "
        "only a header line)"]


def test_duplicate_code_names_both_lines():
    result = parse([row(), row(eenheid_code="E-78"), row(overeenkomst_code="OV-9")])
    assert [str(e) for e in result.errors] == [
        "tenancies.csv, regel/line 3, kolom/column overeenkomst_code: 'OV-1001' staat ook op "
        "regel 2 / also on line 2"]
    assert [r.line for r in result.records] == [2, 4]


def test_duplicate_code_found_even_when_the_first_row_is_bad():
    result = parse([row(kale_huur="x"), row()])
    assert {(e.line, e.column) for e in result.errors} == {(2, "kale_huur"),
                                                           (3, "overeenkomst_code")}


def test_duplicate_payment_reference_names_both_lines():
    ref = "5000 0567 8901 2345"
    result = parse([row(betalingskenmerk=ref),
                    row(overeenkomst_code="OV-2", betalingskenmerk=ref.replace(" ", ""))])
    assert [(e.line, e.column) for e in result.errors] == [(3, "betalingskenmerk")]
    assert "also used on line 2" in result.errors[0].message


def test_household_on_several_rows_must_agree():
    first = row(email="a@example.nl", taal="en")
    same = row(overeenkomst_code="OV-2", eenheid_code="P-1", email="A@EXAMPLE.NL".lower(),
               taal="EN")
    different = row(overeenkomst_code="OV-3", email="b@example.nl", taal="nl")
    result = parse([first, same, different])
    assert [r.code for r in result.records] == ["OV-1001", "OV-2"]
    assert {(e.line, e.column) for e in result.errors} == {(4, "email"), (4, "taal")}
    assert all("differs from line 2 with the same relatie_code" in e.message
               for e in result.errors)


def test_household_fields_compare_normalised_values():
    result = parse([row(mobiel="06 1234 5678"),
                    row(overeenkomst_code="OV-2", mobiel="+31612345678")])
    assert result.errors == () and len(result.records) == 2


def test_wrong_number_of_cells():
    text = csv_text([row()]) + "OV-2,R-1,too few\n"
    result = parse_tenancy_csv(text, FILE)
    assert [(e.line, e.column) for e in result.errors] == [(3, "")]
    assert "3 cells, expected 10" in result.errors[0].message


def test_blank_lines_are_skipped_and_line_numbers_stay_physical():
    text = csv_text([row()]) + "\n,,,,,,,,,\n" + csv_text(
        [row(overeenkomst_code="OV-2", kale_huur="x")]).split("\n", 1)[1]
    result = parse_tenancy_csv(text, FILE)
    assert result.rows == 2
    assert [(e.line, e.column) for e in result.errors] == [(5, "kale_huur")]


def test_quoted_line_break_keeps_line_numbers_right():
    text = csv_text([row(relatie_naam="Fam.\nJansen"), row(overeenkomst_code="OV-2",
                                                           relatie_code="R-2", kale_huur="?")])
    result = parse_tenancy_csv(text, FILE)
    assert [(e.line, e.column) for e in result.errors] == [(2, "relatie_naam"),
                                                            (4, "kale_huur")]


def test_broken_quotes_stop_with_an_error():
    text = csv_text([row()]) + 'OV-2,"R-2,x\n'
    result = parse_tenancy_csv(text, FILE)
    assert result.errors and result.errors[-1].line == 3
    assert "line unreadable" in result.errors[-1].message


def test_dates_in_both_forms():
    result = parse([row(ingangsdatum="1-4-2019", einddatum="2030-12-31")])
    assert result.records[0].start_on == date(2019, 4, 1)


def test_row_hash_is_stable_and_follows_the_values():
    a = parse([row()]).records[0]
    b = parse([row(eenheid_code="X")]).records[0]
    moved = parse([row(overeenkomst_code="OV-0", relatie_code="R-0"), row()]).records[1]
    assert row_hash(a) == row_hash(parse([row()]).records[0])
    assert row_hash(a) == row_hash(moved) and moved.line != a.line  # line is not data
    assert row_hash(a) != row_hash(b)
    assert household_hash(a) == household_hash(b)  # only tenancy columns differ
    assert len(row_hash(a)) == 64
    # The same value written differently is the same data.
    c = parse([row(kale_huur="612,45", eenheid_postcode="1234ab")]).records[0]
    assert row_hash(c) == row_hash(a)


def test_recognises_a_tenancy_header():
    assert is_tenancy_csv_text(csv_text([row()]))
    assert is_tenancy_csv_text("\ufeff" + csv_text([row()], delimiter=";"))
    assert not is_tenancy_csv_text("<?xml version='1.0'?><Document/>")
    assert not is_tenancy_csv_text(":20:STARTUMSE\n:25:NL91ABNA0417164300\n")
    assert not is_tenancy_csv_text("")


def test_recognises_a_tenancy_header_that_lacks_required_columns():
    # Recognised, so that the importer names the missing column instead of the file
    # being refused as "not a bank statement".
    lacking = ",".join(c for c in REQUIRED if c != "kale_huur") + "\n"
    assert is_tenancy_csv_text(lacking)
    assert is_tenancy_csv_text("overeenkomst_code;huurprijs\n")
    assert is_tenancy_csv_text("Eenheid_Code, kale_huur ,IBAN\n")  # 3 known columns
    assert not is_tenancy_csv_text("eenheid_code,kale_huur,bedrag,datum\n")  # only 2
    assert not is_tenancy_csv_text("Datum,Naam / Omschrijving,Rekening,Tegenrekening,Code\n")
    result = parse_tenancy_csv(lacking + ",".join(row().values()) + "\n", FILE)
    assert [str(e) for e in result.errors] == [
        "tenancies.csv, regel/line 1, kolom/column kale_huur: verplichte kolom ontbreekt / "
        "required column missing"]


@pytest.mark.parametrize("text", ["abc\rdef\n", "a,b\r,c", "\r", "\x00\r\n\x00", '"\r"',
                                  "overeenkomst_code\rrelatie_code,kale_huur\n"])
def test_recognising_never_raises(text):
    assert is_tenancy_csv_text(text) in (True, False)


@given(st.text())
def test_recognising_never_raises_on_any_text(text):
    assert is_tenancy_csv_text(text) in (True, False)


def test_cr_only_line_endings():
    """Classic Mac files: CR alone ends a line; read like LF and CRLF, same line numbers."""
    text = csv_text([row(), row(overeenkomst_code="OV-2", kale_huur="x")]).replace("\n", "\r")
    assert is_tenancy_csv_text(text)
    result = parse_tenancy_csv(text, FILE)
    assert [r.code for r in result.records] == ["OV-1001"] and result.rows == 2
    assert [(e.line, e.column) for e in result.errors] == [(3, "kale_huur")]
    decoded, error = decode_csv(("\ufeff" + text).encode("utf-8"), FILE)
    assert error is None and "\r" not in decoded
    assert decoded == csv_text([row(), row(overeenkomst_code="OV-2", kale_huur="x")])


def test_mixed_line_endings_are_all_line_breaks():
    lines = csv_text([row(), row(overeenkomst_code="OV-2"),
                      row(overeenkomst_code="OV-3", kale_huur="x")]).split("\n")
    text = lines[0] + "\r\n" + lines[1] + "\r" + lines[2] + "\n" + lines[3] + "\r\n"
    result = parse_tenancy_csv(text, FILE)
    assert [r.code for r in result.records] == ["OV-1001", "OV-2"]
    assert [(e.line, e.column) for e in result.errors] == [(4, "kale_huur")]


def test_not_utf8_names_the_line_with_cr_line_endings():
    data = csv_text([row(), row(overeenkomst_code="X", relatie_naam="Müller")]).replace(
        "\n", "\r").encode("cp1252")
    text, error = decode_csv(data, FILE)
    assert error is not None and error.line == 3


def _mobile_by_phonenumbers(cell: str) -> str | None:
    """The reference: phonenumbers' own verdict (valid and mobile -> E.164)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(cell, "NL")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@given(st.sampled_from(["0", "+31", "0031", "+31 ", "(0)"]),
       st.sampled_from(["6", "61", "65", "66", "67", "68", "69", "97", "970", "971", "20", "85"]),
       st.text(alphabet="0123456789", min_size=5, max_size=10),
       st.sampled_from(["", " ", "-"]))
def test_mobile_fast_path_agrees_with_phonenumbers(prefix, start, rest, sep):
    from vroeg.domain.tenancy_csv import _CellError, parse_mobile

    cell = f"{prefix}{start}{sep}{rest}"
    expected = _mobile_by_phonenumbers(cell)
    try:
        got: str | None = parse_mobile(cell)
    except _CellError:
        got = None
    assert got == expected


def test_the_example_in_the_docs_parses():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "import-format.md").read_text("utf-8")
    example = doc.split("## Example", 1)[1].split("\n\n", 2)[1]
    text = "\n".join(line[4:] for line in example.splitlines()) + "\n"
    result = parse_tenancy_csv(text, "example.csv")
    assert result.errors == () and len(result.records) == 3
    assert result.records[0].household_code == result.records[1].household_code
    assert result.records[2].payment_reference == "5000056789012345"


def test_payday_column():
    result = parse([row(betaaldag="25"), row(overeenkomst_code="OV-1002", relatie_code="R-502",
                                              betaaldag="")])
    assert result.ok
    assert [r.payday for r in result.records] == [25, None]
    assert "payday" in HOUSEHOLD_FIELDS
    for bad in ("0", "32", "25e", "x"):
        (error,) = parse([row(betaaldag=bad)]).errors
        assert error.column == "betaaldag" and "payday must be 1-31" in error.message
    # a household column: rows of one household must agree
    errors = parse([row(betaaldag="20"), row(overeenkomst_code="OV-1002",
                                             betaaldag="25")]).errors
    assert [e.column for e in errors] == ["betaaldag"]


def test_payday_leaves_old_row_hashes_unchanged():
    (with_column,) = parse([row(betaaldag="")]).records
    (without,) = parse([row()]).records
    assert row_hash(with_column) == row_hash(without)
    assert household_hash(with_column) == household_hash(without)
