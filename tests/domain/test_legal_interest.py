"""Statutory interest (art. 6:119 BW, RULES-NL rule 12): expected values by hand.

Each period: base * rate% * days / 365, rounded half-up to cents; after each full
interest year (counted from the start date) the year's interest joins the base.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.legal import LegalTableError, parse_interest, statutory_interest

D = Decimal


def rows(r):
    return [(p.from_on, p.to_on, p.days, p.rate, p.base, p.interest, p.year) for p in r.periods]


def test_the_2023_rate_changes():
    r = statutory_interest(D("1000.00"), date(2023, 1, 1), date(2024, 1, 1))
    assert rows(r) == [
        # 1000 * 4% * 181/365 = 19.8356
        (date(2023, 1, 1), date(2023, 7, 1), 181, D("4"), D("1000.00"), D("19.84"), 1),
        # 1000 * 6% * 184/365 = 30.2466
        (date(2023, 7, 1), date(2024, 1, 1), 184, D("6"), D("1000.00"), D("30.25"), 1),
    ]
    assert r.interest == D("50.09")
    assert r.total == D("1050.09")


def test_across_2023_and_2024_with_compounding():
    r = statutory_interest(D("1000.00"), date(2023, 3, 15), date(2024, 6, 15))
    assert rows(r) == [
        # 17 + 30 + 31 + 30 = 108 days: 1000 * 4% * 108/365 = 11.8356
        (date(2023, 3, 15), date(2023, 7, 1), 108, D("4"), D("1000.00"), D("11.84"), 1),
        # 1000 * 6% * 184/365 = 30.2466
        (date(2023, 7, 1), date(2024, 1, 1), 184, D("6"), D("1000.00"), D("30.25"), 1),
        # 31 + 29 + 14 = 74 days: 1000 * 7% * 74/365 = 14.1918
        (date(2024, 1, 1), date(2024, 3, 15), 74, D("7"), D("1000.00"), D("14.19"), 1),
        # year 1 earned 56.28, now in the base; 17 + 30 + 31 + 14 = 92 days:
        # 1056.28 * 7% * 92/365 = 18.6368
        (date(2024, 3, 15), date(2024, 6, 15), 92, D("7"), D("1056.28"), D("18.64"), 2),
    ]
    assert r.interest == D("74.92")
    assert "interest of year 1 added to the base, now € 1056.28" in r.explanation


def test_two_years_at_two_percent_compounded():
    r = statutory_interest(D("1000.00"), date(2021, 1, 1), date(2023, 1, 1))
    # 1000 * 2% = 20.00; then 1020 * 2% = 20.40
    assert [(p.base, p.interest) for p in r.periods] == [(D("1000.00"), D("20.00")),
                                                       (D("1020.00"), D("20.40"))]
    assert r.interest == D("40.40")


def test_leap_year_counts_366_days_over_365():
    r = statutory_interest(D("1000.00"), date(2024, 1, 1), date(2026, 1, 1))
    # 1000 * 7% * 366/365 = 70.1918; then 1070.19 * 7% * 365/365 = 74.9133
    assert [(p.days, p.base, p.interest) for p in r.periods] == [
        (366, D("1000.00"), D("70.19")), (365, D("1070.19"), D("74.91"))]
    assert r.interest == D("145.10")


def test_year_from_29_february_ends_with_28_february():
    r = statutory_interest(D("1000.00"), date(2024, 2, 29), date(2025, 3, 2))
    # year 1: 29 Feb 2024 up to 1 Mar 2025 = 366 days: 70.19;
    # year 2: 1 day on 1070.19: 1070.19 * 7% / 365 = 0.2052
    assert rows(r) == [
        (date(2024, 2, 29), date(2025, 3, 1), 366, D("7"), D("1000.00"), D("70.19"), 1),
        (date(2025, 3, 1), date(2025, 3, 2), 1, D("7"), D("1070.19"), D("0.21"), 2),
    ]


def test_the_last_rate_continues():
    r = statutory_interest(D("1000.00"), date(2030, 1, 1), date(2030, 7, 1))
    # 181 days: 1000 * 7% * 181/365 = 34.7123
    assert rows(r) == [(date(2030, 1, 1), date(2030, 7, 1), 181, D("7"), D("1000.00"),
                        D("34.71"), 1)]


def test_same_day_is_no_interest():
    r = statutory_interest(D("1000.00"), date(2024, 5, 1), date(2024, 5, 1))
    assert (r.interest, r.periods) == (D("0.00"), ())


def test_before_the_table_is_refused():
    with pytest.raises(LegalTableError, match="2015-07-01"):
        statutory_interest(D("1000.00"), date(2015, 6, 30), date(2016, 1, 1))


def test_to_before_from_is_refused():
    with pytest.raises(ValueError, match="before"):
        statutory_interest(D("1000.00"), date(2024, 5, 2), date(2024, 5, 1))


def test_a_table_of_your_own():
    table = parse_interest({"rates": [{"valid_from": "2020-01-01", "percent": "10"},
                                      {"valid_from": "2020-04-01", "percent": "5"}]}, "test")
    r = statutory_interest(D("365.00"), date(2020, 3, 1), date(2020, 5, 1), table)
    # 31 days at 10% on 365 = 3.10; 30 days at 5% = 1.50
    assert [(p.days, p.rate, p.interest) for p in r.periods] == [(31, D("10"), D("3.10")),
                                                               (30, D("5"), D("1.50"))]


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=100_000, places=2),
       st.dates(date(2015, 7, 1), date(2030, 12, 31)), st.integers(0, 3000))
def test_periods_chain_and_add_up(principal, from_on, length):
    to_on = from_on + timedelta(days=length)
    r = statutory_interest(principal, from_on, to_on)
    assert sum(p.days for p in r.periods) == length
    assert sum((p.interest for p in r.periods), D(0)) == r.interest
    on = from_on
    for p in r.periods:
        assert p.from_on == on and p.days == (p.to_on - p.from_on).days > 0
        assert p.base >= principal
        on = p.to_on
    assert on == to_on or not r.periods
