from datetime import date, datetime

import pytest

from vroeg.domain.calendar import (
    AMSTERDAM,
    add_business_days,
    due_date,
    due_dates_between,
    dutch_holidays,
    easter_sunday,
    is_business_day,
    next_send_slot,
)


@pytest.mark.parametrize("year, expected", [
    (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
    (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25)),
])
def test_easter(year, expected):
    assert easter_sunday(year) == expected


def test_holidays_2026():
    assert dutch_holidays(2026) == {
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 4, 27), date(2026, 5, 5),
        date(2026, 5, 14), date(2026, 5, 25), date(2026, 12, 25), date(2026, 12, 26)}


def test_kings_day_moves_off_sunday():
    assert date(2025, 4, 26) in dutch_holidays(2025)  # 27 April 2025 is a Sunday
    assert date(2025, 4, 27) not in dutch_holidays(2025)


def test_due_day_past_month_end_falls_on_last_day():
    assert due_date(2026, 2, 31) == date(2026, 2, 28)
    assert due_date(2028, 2, 30) == date(2028, 2, 29)


def test_due_dates_between_is_half_open():
    got = due_dates_between(date(2026, 1, 1), date(2026, 4, 1), 1)
    assert got == [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]


def test_business_days_skip_weekends_and_holidays():
    assert not is_business_day(date(2026, 12, 25))
    assert add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 28)


def test_send_slot_never_on_sunday_or_holiday_or_at_night():
    # Decided on Sunday 6 Dec 2026 -> Monday 09:00.
    slot = next_send_slot(date(2026, 12, 6))
    assert slot == datetime(2026, 12, 7, 9, 0, tzinfo=AMSTERDAM)
    # Christmas and Boxing Day (Sat) and Sunday 27th: first slot is Monday 28th.
    assert next_send_slot(date(2026, 12, 25)).date() == date(2026, 12, 28)
    # A run at 22:30 on a Tuesday sends on Wednesday morning.
    late = datetime(2026, 12, 8, 22, 30, tzinfo=AMSTERDAM)
    assert next_send_slot(date(2026, 12, 8), late) == datetime(2026, 12, 9, 9, 0, tzinfo=AMSTERDAM)
    # A run at 11:15 sends straight away.
    mid = datetime(2026, 12, 8, 11, 15, tzinfo=AMSTERDAM)
    assert next_send_slot(date(2026, 12, 8), mid) == mid
