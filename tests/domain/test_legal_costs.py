"""Collection costs (WIK scale, RULES-NL rule 11): expected values worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.legal import LegalTableError, collection_costs, costs_allowed

D = Decimal
ON = date(2025, 1, 1)


@pytest.mark.parametrize("principal, costs", [
    ("0.01", "40.00"),  # 15% = 0.0015: the minimum
    ("100.00", "40.00"),  # 15.00: the minimum
    ("266.66", "40.00"),  # 39.999: still the minimum
    ("266.67", "40.00"),  # 40.0005 rounds down to 40.00
    ("266.70", "40.01"),  # 40.005: a tie rounds half-up
    ("1000.00", "150.00"),
    ("2500.00", "375.00"),  # 15% of 2,500
    ("2500.01", "375.00"),  # 375 + 10% of 0.01 = 375.001
    ("2500.05", "375.01"),  # 375.005, half-up
    ("5000.00", "625.00"),  # 375 + 250
    ("5000.01", "625.00"),  # 625 + 5% of 0.01 = 625.0005
    ("5000.10", "625.01"),  # 625.005, half-up
    ("10000.00", "875.00"),  # 625 + 250
    ("10000.01", "875.00"),  # 875 + 1% of 0.01 = 875.0001
    ("10000.50", "875.01"),  # 875.005, half-up
    ("200000.00", "2775.00"),  # 875 + 1% of 190,000
    ("200000.01", "2775.00"),  # 2775 + 0.5% of 0.01 = 2775.00005
    ("999998.00", "6774.99"),  # 2775 + 0.5% of 799,998
    ("999999.99", "6775.00"),  # 6774.99995 rounds up to the maximum
    ("1000000.00", "6775.00"),  # 2775 + 0.5% of 800,000: exactly the maximum
    ("1000000.01", "6775.00"),  # above: capped
    ("50000000.00", "6775.00"),  # far above
])
def test_scale_boundaries(principal, costs):
    r = collection_costs(D(principal), ON)
    assert r.costs == D(costs)
    assert r.vat == D("0.00")
    assert r.total == D(principal) + D(costs)
    assert r.principal == D(principal)


def test_zero_principal_has_no_costs():
    r = collection_costs(D("0"), ON)
    assert (r.costs, r.vat, r.total) == (D("0.00"), D("0.00"), D("0.00"))


@pytest.mark.parametrize("principal, costs, vat", [
    ("1000.00", "150.00", "31.50"),  # 21% of 150
    ("0.01", "40.00", "8.40"),
    ("2500.05", "375.01", "78.75"),  # 21% of 375.01 = 78.7521
    ("1000000.00", "6775.00", "1422.75"),  # the maximum plus VAT
])
def test_vat_on_top(principal, costs, vat):
    r = collection_costs(D(principal), ON, vat=True)
    assert (r.costs, r.vat) == (D(costs), D(vat))
    assert r.costs_with_vat == D(costs) + D(vat)
    assert r.total == D(principal) + D(costs) + D(vat)
    assert "BTW / VAT 21%" in r.explanation


def test_vat_was_19_percent_before_october_2012():
    r = collection_costs(D("1000.00"), date(2012, 8, 1), vat=True)
    assert (r.costs, r.vat) == (D("150.00"), D("28.50"))


def test_no_scale_before_the_wik():
    with pytest.raises(LegalTableError, match="2012-07-01"):
        collection_costs(D("1000.00"), date(2012, 6, 30))


def test_small_recurring_claim_no_cap_before_october_2024():
    r = collection_costs(D("1000.00"), date(2024, 9, 30), monthly_amount=D("100.00"))
    assert (r.costs, r.capped) == (D("150.00"), False)
    assert "no cap for small recurring claims" in r.explanation


@pytest.mark.parametrize("monthly, charged, costs, capped", [
    ("100.00", "0", "140.00", True),
    ("266.66", "0", "140.00", True),  # just below the threshold
    ("266.67", "0", "150.00", False),  # not below: the plain scale
    ("100.00", "100.00", "40.00", True),  # 140 - 100 already charged
    ("100.00", "140.00", "0.00", True),  # nothing left in the 6 months
    ("100.00", "200.00", "0.00", True),  # never below zero
])
def test_small_recurring_claim_cap_from_october_2024(monthly, charged, costs, capped):
    r = collection_costs(D("1000.00"), date(2024, 10, 1), monthly_amount=D(monthly),
                         charged_last_6_months=D(charged))
    assert (r.costs, r.capped, r.scale_costs) == (D(costs), capped, D("150.00"))


def test_cap_does_not_raise_small_costs():
    r = collection_costs(D("300.00"), date(2025, 3, 1), monthly_amount=D("100.00"))
    assert (r.costs, r.capped) == (D("45.00"), False)  # 15% of 300 is under the cap


def test_cap_with_vat():
    r = collection_costs(D("1000.00"), date(2025, 3, 1), monthly_amount=D("100.00"), vat=True)
    assert (r.costs, r.vat, r.total) == (D("140.00"), D("29.40"), D("1169.40"))


def test_explanation_is_dutch_first_then_english():
    text = collection_costs(D("12000.00"), ON).explanation
    assert "Hoofdsom / principal: € 12000.00" in text
    assert "15% over / of € 2500.00" in text
    assert "0.5%" not in text  # the last band is not reached
    assert "1% over / of € 2000.00 (van / from € 10000.00 tot / to € 12000.00) = € 20.00" in text
    assert "Kosten / costs: € 895.00" in text  # 375 + 250 + 250 + 20


@pytest.mark.parametrize("bad", [D("-1.00"), D("10.001")])
def test_bad_principal(bad):
    with pytest.raises(ValueError, match="principal"):
        collection_costs(bad, ON)


amounts = st.decimals(min_value=0, max_value=3_000_000, places=2, allow_nan=False,
                      allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(amounts, amounts, st.booleans(),
       st.one_of(st.none(), st.decimals(min_value=0, max_value=1000, places=2)),
       st.decimals(min_value=0, max_value=300, places=2),
       st.dates(date(2012, 7, 1), date(2035, 12, 31)))
def test_costs_monotone_and_never_above_the_maximum(a, b, vat, monthly, charged, on):
    low, high = sorted((a, b))
    r_low = collection_costs(low, on, monthly_amount=monthly, vat=vat,
                             charged_last_6_months=charged)
    r_high = collection_costs(high, on, monthly_amount=monthly, vat=vat,
                              charged_last_6_months=charged)
    assert r_low.costs <= r_high.costs
    assert r_low.costs_with_vat <= r_high.costs_with_vat
    assert r_high.costs <= D("6775.00")
    assert r_high.costs_with_vat <= D("8197.75")  # 6,775 plus 21% VAT
    assert r_high.costs >= 0


def test_costs_allowed_only_after_the_deadline():
    sent = date(2026, 4, 9)  # received 13 April, day 14 is King's Day, deadline 28 April
    assert not costs_allowed(sent, date(2026, 4, 9))
    assert not costs_allowed(sent, date(2026, 4, 27))
    assert not costs_allowed(sent, date(2026, 4, 28))
    assert costs_allowed(sent, date(2026, 4, 29))


def test_costs_not_allowed_without_a_letter_or_before_default():
    assert not costs_allowed(None, date(2026, 6, 1))
    assert not costs_allowed(date(2026, 4, 9), date(2026, 6, 1), in_default_on=date(2026, 4, 10))
    assert costs_allowed(date(2026, 4, 9), date(2026, 6, 1), in_default_on=date(2026, 4, 2))
