"""The dated tables: shipped files load, bad files are refused with the field named."""

import re
from datetime import date
from decimal import Decimal

import pytest

from vroeg.domain.legal import (
    LegalTableError,
    collection_costs,
    default_interest_table,
    default_wik_table,
    parse_interest,
    parse_wik,
)


def wik(**scale):
    row = {"valid_from": date(2030, 1, 1), "minimum": "40", "maximum": "6775",
           "bands": [{"up_to": "2500", "percent": "15"}, {"up_to": None, "percent": "10"}],
           "recurring_cap": None, **scale}
    return {"scales": [row], "vat": [{"valid_from": "2001-01-01", "percent": "21"}]}


def test_shipped_tables():
    w = default_wik_table()
    assert [s.valid_from for s in w.scales] == [date(2012, 7, 1), date(2024, 10, 1)]
    cap = w.scale_on(date(2024, 10, 1)).recurring_cap
    assert cap is not None and (cap.monthly_below, cap.max_costs, cap.period_months) == (
        Decimal("266.67"), Decimal("140.00"), 6)
    assert w.scale_on(date(2024, 9, 30)).recurring_cap is None
    assert w.vat_on(date(2012, 9, 30)).percent == Decimal("19")
    assert w.vat_on(date(2012, 10, 1)).percent == Decimal("21")
    i = default_interest_table()
    assert [(r.valid_from, r.percent) for r in i.rates] == [
        (date(2015, 7, 1), Decimal("2")), (date(2023, 1, 1), Decimal("4")),
        (date(2023, 7, 1), Decimal("6")), (date(2024, 1, 1), Decimal("7"))]
    assert i.next_change_after(date(2023, 3, 1)) == date(2023, 7, 1)
    assert i.next_change_after(date(2024, 1, 1)) is None


def test_a_new_row_changes_the_result_without_code():
    table = parse_wik(wik(), "test")
    assert collection_costs(Decimal("3000.00"), date(2030, 1, 1), table=table).costs == (
        Decimal("425.00"))  # 375 + 10% of 500


@pytest.mark.parametrize("data, where", [
    (wik(minimum=40), "scales[0].minimum"),  # a YAML number, not a quoted decimal
    (wik(maximum="lots"), "scales[0].maximum"),
    (wik(valid_from="1-1-2030"), "scales[0].valid_from"),
    (wik(bands=[{"up_to": "2500", "percent": "15"}]), "scales[0].bands"),  # no open band
    (wik(bands=[{"up_to": "2500", "percent": "15"}, {"up_to": "1000", "percent": "10"},
                {"up_to": None, "percent": "5"}]), "scales[0].bands[1].up_to"),
    (wik(recurring_cap={"monthly_below": "266.67", "max_costs": "140",
                        "period_months": "6"}), "scales[0].recurring_cap.period_months"),
    ({"scales": []}, "scales"),
])
def test_bad_wik_table_names_the_field(data, where):
    with pytest.raises(LegalTableError, match=re.escape(f"test: {where}:")):
        parse_wik(data, "test")


def test_rows_must_be_in_date_order():
    data = {"rates": [{"valid_from": "2024-01-01", "percent": "7"},
                      {"valid_from": "2023-01-01", "percent": "4"}]}
    with pytest.raises(LegalTableError, match="valid_from must increase"):
        parse_interest(data, "test")
