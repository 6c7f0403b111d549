"""import_tenancies: all-or-nothing, idempotent, audited updates."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.audit.models import AuditEvent
from vroeg.domain.reference import is_valid_betalingskenmerk, tenancy_betalingskenmerk
from vroeg.domain.tenancy_columns import ALL
from vroeg.portfolio.actions import TenancyImportError, import_tenancies, is_tenancy_csv
from vroeg.portfolio.models import Household, ImportBatch, KnownPayer, Tenancy

pytestmark = pytest.mark.django_db

ROWS = [
    {"overeenkomst_code": "OV-1", "relatie_code": "R-1", "relatie_naam": "J. de Vries",
     "eenheid_code": "E-1", "eenheid_straat": "Dorpsstraat", "eenheid_huisnummer": "12",
     "eenheid_postcode": "1234ab", "eenheid_plaats": "Utrecht", "ingangsdatum": "2019-04-01",
     "kale_huur": "612,45", "servicekosten": "45.50", "betaalwijze": "incasso",
     "machtigingskenmerk": "MND-1", "machtiging_datum": "2019-03-15",
     "iban": "NL91ABNA0417164300", "email": "jdv@example.nl", "mobiel": "0612345678",
     "beperkingen": "tolk", "beginsaldo": "120.00", "beginsaldo_datum": "2024-12-31"},
    {"overeenkomst_code": "OV-2", "relatie_code": "R-1", "relatie_naam": "J. de Vries",
     "eenheid_code": "P-9", "eenheid_straat": "Dorpsstraat", "eenheid_huisnummer": "12 P",
     "eenheid_postcode": "1234 AB", "eenheid_plaats": "Utrecht", "ingangsdatum": "2020-01-01",
     "kale_huur": "35", "iban": "NL91ABNA0417164300", "email": "jdv@example.nl",
     "mobiel": "+31612345678", "beperkingen": "tolk"},
    {"overeenkomst_code": "OV-3", "relatie_code": "R-2", "relatie_naam": "A. Yılmaz",
     "eenheid_code": "E-2", "eenheid_straat": "Kerkweg", "eenheid_huisnummer": "3-bis",
     "eenheid_postcode": "3512 JE", "eenheid_plaats": "Utrecht", "ingangsdatum": "01-02-2021",
     "kale_huur": "701.10", "betalingskenmerk": "5000 0567 8901 2345", "taal": "tr",
     "voorkeurskanaal": "brief"},
]


def write_csv(folder: Path, rows: list[dict[str, str]], name: str = "tenancies.csv",
              delimiter: str = ",", bom: bool = False) -> Path:
    lines = [delimiter.join(ALL)]
    for r in rows:
        cells = []
        for column in ALL:
            cell = r.get(column, "")
            if delimiter in cell or '"' in cell:
                cell = '"' + cell.replace('"', '""') + '"'
            cells.append(cell)
        lines.append(delimiter.join(cells))
    path = folder / name
    path.write_bytes((("\ufeff" if bom else "") + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def changed(**per_code: dict[str, str]) -> list[dict[str, str]]:
    return [{**r, **per_code.get(r["overeenkomst_code"], {})} for r in ROWS]


def test_import_creates_everything(vroeg_home):
    result = import_tenancies(write_csv(vroeg_home, ROWS))
    assert (result.file, result.rows, result.created, result.updated, result.unchanged,
            result.households_created, result.households_updated) == (
        "tenancies.csv", 3, 3, 0, 0, 2, 0)

    t1 = Tenancy.objects.get(code="OV-1")
    assert t1.household.code == "R-1" and t1.postcode == "1234 AB"
    assert t1.net_rent == Decimal("612.45") and t1.monthly_rent == Decimal("657.95")
    assert t1.payment_method == "direct_debit" and t1.mandate_reference == "MND-1"
    assert t1.opening_balance == Decimal("120.00") and str(t1.opening_balance_on) == "2024-12-31"
    assert t1.payment_reference == tenancy_betalingskenmerk(t1.pk)
    assert is_valid_betalingskenmerk(t1.payment_reference) and t1.row_hash
    assert Tenancy.objects.get(code="OV-3").payment_reference == "5000056789012345"

    hh = Household.objects.get(code="R-1")
    assert hh.tenancies.count() == 2
    assert hh.mobile == "+31612345678" and hh.needs_interpreter and not hh.no_sms
    assert Household.objects.get(code="R-2").preferred_channel == "letter"

    payers = KnownPayer.objects.order_by("tenancy__code")
    assert [(p.tenancy.code, p.iban, p.linked_by) for p in payers] == [
        ("OV-1", "NL91ABNA0417164300", "import"), ("OV-2", "NL91ABNA0417164300", "import")]

    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.created, batch.updated, batch.unchanged) == (3, 3, 0, 0)
    assert len(batch.sha256) == 64

    events = AuditEvent.objects.order_by("id")
    assert [(e.action, e.object_type, e.details["line"], e.details["household_created"])
            for e in events] == [("tenancy.create", "portfolio.tenancy", 2, True),
                                 ("tenancy.create", "portfolio.tenancy", 3, True),
                                 ("tenancy.create", "portfolio.tenancy", 4, True)]
    event = events[0]
    assert event.object_id == str(t1.pk) and event.actor == "system:import"
    assert event.details["batch"] == batch.pk and event.details["file"] == "tenancies.csv"
    assert "de Vries" not in str(event.details) and "de Vries" not in event.summary


def test_reimport_changes_nothing(vroeg_home):
    path = write_csv(vroeg_home, ROWS)
    import_tenancies(path)
    before = {t.code: (t.payment_reference, t.row_hash) for t in Tenancy.objects.all()}
    audits = AuditEvent.objects.count()

    again = import_tenancies(path, actor="cli:import")
    assert (again.created, again.updated, again.unchanged, again.households_created,
            again.households_updated) == (0, 0, 3, 0, 0)
    assert AuditEvent.objects.count() == audits
    assert {t.code: (t.payment_reference, t.row_hash) for t in Tenancy.objects.all()} == before
    assert KnownPayer.objects.count() == 2
    assert ImportBatch.objects.count() == 2


def test_same_data_written_differently_is_unchanged(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    rows = changed(**{"OV-1": {"kale_huur": "612.45", "eenheid_postcode": "1234 AB",
                               "ingangsdatum": "01-04-2019"}})
    result = import_tenancies(write_csv(vroeg_home, rows, "b.csv", delimiter=";", bom=True))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)


def test_changed_row_updates_tenancy_and_household(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    audits = AuditEvent.objects.count()
    rows = changed(**{"OV-1": {"kale_huur": "630.00", "vervaldag": "25"},
                      "OV-3": {"email": "ay@example.nl", "voorkeurskanaal": "email"}})
    result = import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert (result.created, result.updated, result.unchanged, result.households_created,
            result.households_updated) == (0, 1, 2, 0, 1)

    t1 = Tenancy.objects.get(code="OV-1")
    assert t1.net_rent == Decimal("630.00") and t1.due_day == 25
    hh = Household.objects.get(code="R-2")
    assert hh.email == "ay@example.nl" and hh.preferred_channel == "email"

    new = AuditEvent.objects.order_by("id")[audits:]
    assert [(e.action, e.details["fields"]) for e in new] == [
        ("household.update", ["email", "preferred_channel"]),
        ("tenancy.update", ["net_rent", "due_day"])]
    for event in new:  # field names only, never the values
        text = f"{event.summary} {event.details}"
        assert "630" not in text and "ay@example.nl" not in text
    assert ImportBatch.objects.order_by("-id")[0].updated == 1


def test_staff_edits_survive_reimport_of_an_unchanged_household(vroeg_home):
    path = write_csv(vroeg_home, ROWS)
    import_tenancies(path)
    Household.objects.filter(code="R-1").update(email="new@example.nl")
    rows = changed(**{"OV-1": {"kale_huur": "630.00"}})
    import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert Household.objects.get(code="R-1").email == "new@example.nl"


def test_iban_change_replaces_the_imported_payer_only(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    t1 = Tenancy.objects.get(code="OV-1")
    KnownPayer.objects.create(tenancy=t1, iban="NL02RABO0123456789", third_party=True,
                              linked_by="staff:anna")
    rows = changed(**{"OV-1": {"iban": "NL20INGB0001234567"}, "OV-2": {"iban": ""}})
    result = import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert result.updated == 2
    assert sorted(t1.known_payers.values_list("iban", "linked_by")) == [
        ("NL02RABO0123456789", "staff:anna"), ("NL20INGB0001234567", "import")]
    assert not KnownPayer.objects.filter(tenancy__code="OV-2").exists()
    fields = [e.details["fields"] for e in AuditEvent.objects.filter(action="tenancy.update")]
    assert fields == [["iban"], ["iban"]]


def test_new_rows_and_moves_between_households(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    extra = {**ROWS[2], "overeenkomst_code": "OV-4", "eenheid_code": "E-4",
             "betalingskenmerk": ""}
    rows = changed(**{"OV-2": {"relatie_code": "R-2", "relatie_naam": "A. Yılmaz",
                               "email": "", "mobiel": "", "beperkingen": "", "taal": "tr",
                               "voorkeurskanaal": "brief"}}) + [extra]
    result = import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert (result.created, result.updated, result.unchanged) == (1, 1, 2)
    assert Tenancy.objects.get(code="OV-2").household.code == "R-2"
    event = AuditEvent.objects.get(action="tenancy.update")
    assert event.details["fields"] == ["household"]
    t4 = Tenancy.objects.get(code="OV-4")
    assert t4.payment_reference == tenancy_betalingskenmerk(t4.pk)


def test_payment_reference_given_later_replaces_and_empty_keeps(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    generated = Tenancy.objects.get(code="OV-2").payment_reference
    rows = changed(**{"OV-2": {"betalingskenmerk": "12 2345 3462 2567"}})
    import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert Tenancy.objects.get(code="OV-2").payment_reference == "12234534622567"
    import_tenancies(write_csv(vroeg_home, ROWS, "v3.csv"))  # cell empty again
    assert Tenancy.objects.get(code="OV-2").payment_reference == "12234534622567"
    assert generated != "12234534622567"


def test_bad_file_writes_nothing_and_lists_all_errors(vroeg_home):
    rows = changed(**{"OV-1": {"kale_huur": "6.1e2", "iban": "NL91ABNA0417164301"},
                      "OV-3": {"ingangsdatum": "2021-02-30", "taal": "de"}})
    rows.append({**ROWS[0], "eenheid_code": "E-9"})  # duplicate OV-1
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(write_csv(vroeg_home, rows))
    found = {(e.line, e.column) for e in info.value.errors}
    assert found == {(2, "kale_huur"), (2, "iban"), (4, "ingangsdatum"), (4, "taal"),
                     (5, "overeenkomst_code")}
    message = str(info.value)
    assert message.splitlines()[0].startswith("5 fout(en), niets ingelezen / 5 error(s)")
    assert "tenancies.csv, regel/line 2, kolom/column kale_huur:" in message
    assert "tenancies.csv, regel/line 5, kolom/column overeenkomst_code:" in message
    for model in (Tenancy, Household, KnownPayer, ImportBatch, AuditEvent):
        assert not model.objects.exists(), model


def test_reference_used_by_another_tenancy_refuses_the_file(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    counts = (Tenancy.objects.count(), AuditEvent.objects.count(), ImportBatch.objects.count())
    rows = changed(**{"OV-1": {"kale_huur": "700"},
                      "OV-2": {"betalingskenmerk": "5000056789012345"}})[:2]  # OV-3 has it
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert [(e.line, e.column) for e in info.value.errors] == [(3, "betalingskenmerk")]
    assert "already used by tenancy OV-3" in str(info.value)
    assert Tenancy.objects.get(code="OV-1").net_rent == Decimal("612.45")
    assert (Tenancy.objects.count(), AuditEvent.objects.count(),
            ImportBatch.objects.count()) == counts


def test_reference_used_by_another_tenancy_is_listed_with_all_other_errors(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    rows = changed(**{"OV-1": {"kale_huur": "x"},
                      "OV-2": {"betalingskenmerk": "5000056789012345", "kale_huur": "-1",
                               "ingangsdatum": "gisteren"}})[:2]  # OV-3 has the reference
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert [(e.line, e.column) for e in info.value.errors] == [
        (2, "kale_huur"), (3, "ingangsdatum"), (3, "kale_huur"), (3, "betalingskenmerk")]
    assert ("v2.csv, regel/line 3, kolom/column betalingskenmerk: al in gebruik bij "
            "huurovereenkomst OV-3 / already used by tenancy OV-3") in str(info.value)
    assert Tenancy.objects.get(code="OV-2").payment_reference != "5000056789012345"


def test_reference_check_against_database_keeps_own_reference(vroeg_home):
    import_tenancies(write_csv(vroeg_home, ROWS))
    rows = changed(**{"OV-3": {"kale_huur": "x"}})  # OV-3 keeps its own reference
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(write_csv(vroeg_home, rows, "v2.csv"))
    assert [(e.line, e.column) for e in info.value.errors] == [(4, "kale_huur")]


def test_cr_only_line_endings_import_like_lf(vroeg_home):
    lf = write_csv(vroeg_home, ROWS, "lf.csv").read_bytes()
    path = vroeg_home / "mac.csv"
    path.write_bytes(lf.replace(b"\n", b"\r"))
    assert is_tenancy_csv(path.read_bytes())
    result = import_tenancies(path)
    assert (result.rows, result.created) == (3, 3)
    assert Tenancy.objects.get(code="OV-3").payment_reference == "5000056789012345"
    crlf = vroeg_home / "win.csv"
    crlf.write_bytes(lf.replace(b"\n", b"\r\n"))
    assert import_tenancies(crlf).unchanged == 3


def test_missing_required_column_is_recognised_and_named(vroeg_home):
    path = vroeg_home / "export.csv"
    columns = [c for c in ALL if c != "kale_huur"]
    lines = [",".join(columns)] + [",".join(r.get(c, "").replace(",", ".") for c in columns)
                                   for r in ROWS]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    assert is_tenancy_csv(path.read_bytes()[:4096])
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(path)
    assert [(e.line, e.column) for e in info.value.errors] == [(1, "kale_huur")]
    assert ("export.csv, regel/line 1, kolom/column kale_huur: verplichte kolom ontbreekt / "
            "required column missing") in str(info.value)
    assert not Tenancy.objects.exists()


def test_header_only_file_is_refused(vroeg_home):
    path = write_csv(vroeg_home, [], "empty.csv")
    assert is_tenancy_csv(path.read_bytes())
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(path)
    assert "empty.csv, regel/line 1: geen regels / no rows" in str(info.value)
    assert not ImportBatch.objects.exists()


def test_not_utf8_is_refused(vroeg_home):
    path = vroeg_home / "latin1.csv"
    rows = changed(**{"OV-3": {"relatie_naam": "A. Müller"}})
    path.write_bytes(write_csv(vroeg_home, rows).read_text("utf-8").encode("cp1252"))
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(path)
    assert info.value.errors[0].line == 4 and "UTF-8" in str(info.value)
    assert not Tenancy.objects.exists()


def test_is_tenancy_csv(vroeg_home):
    data = write_csv(vroeg_home, ROWS, bom=True, delimiter=";").read_bytes()
    assert is_tenancy_csv(data) and is_tenancy_csv(data[:4096]) and is_tenancy_csv(data[:200])
    assert not is_tenancy_csv(b"<?xml version='1.0'?><Document/>")
    assert not is_tenancy_csv(b":20:STARTUMSE\r\n:25:NL91ABNA0417164300\r\n")
    assert not is_tenancy_csv(b"\xff\xfe\x00")


@pytest.mark.parametrize("data", [b"abc\rdef\n", b"\r", b"a,b\r,c\x00", b"\xff\r\xfe\n",
                                  b'"\r"\r', b"\x00" * 10 + b"\r\n,;\r"])
def test_is_tenancy_csv_never_raises(data):
    assert is_tenancy_csv(data) is False


def test_is_tenancy_csv_reads_the_header_up_to_a_lone_cr():
    assert is_tenancy_csv(b"overeenkomst_code\rrelatie_code,kale_huur\n")


@given(st.binary(max_size=5000))
@settings(deadline=None)
def test_is_tenancy_csv_never_raises_on_any_bytes(data):
    assert is_tenancy_csv(data) in (True, False)


@pytest.mark.parametrize("seed", range(20))
def test_is_tenancy_csv_is_false_for_random_binary(seed):
    assert is_tenancy_csv(random.Random(seed).randbytes(4096)) is False


def test_implausible_rent_and_an_opening_balance_date_far_ahead_are_refused(vroeg_home):
    rows = changed(**{"OV-1": {"kale_huur": "9000000.00"},
                      "OV-2": {"beginsaldo": "100.00", "beginsaldo_datum": "2027-03-01"}})
    with pytest.raises(TenancyImportError) as info:
        import_tenancies(write_csv(vroeg_home, rows), on=date(2026, 12, 4))
    assert {(e.line, e.column) for e in info.value.errors} == {(2, "kale_huur"),
                                                               (3, "beginsaldo_datum")}
    assert "check the amount" in str(info.value)
    assert "more than a month after today" in str(info.value)
    assert not Tenancy.objects.exists()
