"""The 14-day letter's deadline (RULES-NL rule 10, Algemene termijnenwet art. 1)."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.legal import atw_last_day, costs_allowed, fourteen_day_deadline


@pytest.mark.parametrize("sent, received, deadline", [
    # plain: Mon -> Wed, + 14 days is a Wednesday
    (date(2025, 3, 10), date(2025, 3, 12), date(2025, 3, 26)),
    # weekend in the delivery: Fri -> Mon (1), Tue (2)
    (date(2025, 3, 7), date(2025, 3, 11), date(2025, 3, 25)),
    # sent on a Saturday: Mon (1), Tue (2)
    (date(2025, 3, 8), date(2025, 3, 11), date(2025, 3, 25)),
    # Easter in the delivery: Thu 17 Apr -> Fri 18 (1; Good Friday is a working day),
    # Easter Monday 21 skipped, Tue 22 (2)
    (date(2025, 4, 17), date(2025, 4, 22), date(2025, 5, 6)),
    # day 14 on Easter Monday 6 Apr 2026 -> Tue 7 Apr
    (date(2026, 3, 19), date(2026, 3, 23), date(2026, 4, 7)),
    # day 14 on King's Day, Mon 27 Apr 2026 -> Tue 28 Apr
    (date(2026, 4, 9), date(2026, 4, 13), date(2026, 4, 28)),
    # King's Day in the delivery: Mon 26 Apr 2027 -> (Tue 27 skipped) Wed 28 (1), Thu 29 (2)
    (date(2027, 4, 26), date(2027, 4, 29), date(2027, 5, 13)),
    # Christmas in the delivery: Tue 23 Dec 2025 -> Wed 24 (1), Mon 29 (2)
    (date(2025, 12, 23), date(2025, 12, 29), date(2026, 1, 12)),
    # day 14 on Christmas Day (Fri); Boxing Day is a Saturday, then Sunday -> Mon 28 Dec
    (date(2026, 12, 9), date(2026, 12, 11), date(2026, 12, 28)),
    # day 14 on New Year's Day (Fri 1 Jan 2027), then the weekend -> Mon 4 Jan
    (date(2026, 12, 16), date(2026, 12, 18), date(2027, 1, 4)),
])
def test_deadline(sent, received, deadline):
    d = fourteen_day_deadline(sent)
    assert (d.sent_on, d.received_on, d.deadline) == (sent, received, deadline)
    assert f"Uiterste betaaldatum / deadline: {deadline.isoformat()}" in d.explanation


def test_explanation_names_the_holiday():
    d = fourteen_day_deadline(date(2026, 4, 9))
    assert "2026-04-27 (ma/Mon) is feestdag / public holiday: Koningsdag / King's Day" in (
        d.explanation)


def test_longer_delivery():
    d = fourteen_day_deadline(date(2025, 3, 10), delivery_working_days=3)
    assert (d.received_on, d.deadline) == (date(2025, 3, 13), date(2025, 3, 27))


def test_delivery_of_less_than_two_working_days_is_refused():
    with pytest.raises(ValueError, match="delivery_working_days"):
        fourteen_day_deadline(date(2025, 3, 10), delivery_working_days=1)


@pytest.mark.parametrize("day, moved", [
    (date(2025, 3, 15), date(2025, 3, 17)),  # Saturday -> Monday
    (date(2025, 3, 16), date(2025, 3, 17)),  # Sunday -> Monday
    (date(2025, 4, 26), date(2025, 4, 28)),  # King's Day on a Saturday, then Sunday
    (date(2025, 5, 5), date(2025, 5, 6)),  # Liberation Day
    (date(2026, 5, 14), date(2026, 5, 15)),  # Ascension Day
    (date(2025, 4, 18), date(2025, 4, 18)),  # Good Friday is not an Atw holiday
    (date(2025, 3, 12), date(2025, 3, 12)),  # an ordinary Wednesday stays
])
def test_atw_last_day(day, moved):
    assert atw_last_day(day) == moved


@settings(max_examples=300, deadline=None)
@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(-10, 60),
       st.integers(2, 5))
def test_costs_never_allowed_on_or_before_the_deadline(sent, offset, delivery):
    d = fourteen_day_deadline(sent, delivery)
    today = sent + timedelta(days=offset)
    allowed = costs_allowed(sent, today, delivery_working_days=delivery)
    assert allowed == (today > d.deadline)
    assert d.deadline >= d.received_on + timedelta(days=14)
    assert d.received_on > sent
