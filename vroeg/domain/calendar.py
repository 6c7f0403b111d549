"""Business dates in Europe/Amsterdam: Dutch public holidays, due dates, send slots.

Holidays follow the Algemene termijnenwet (the days that move a legal deadline):
New Year, Easter Monday, King's Day, Liberation Day (5 May), Ascension Day,
Whit Monday, Christmas Day and Boxing Day. Easter and Whit Sunday are Sundays anyway.
"""

from __future__ import annotations

import calendar as _cal
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SEND_FROM = time(8, 0)
SEND_UNTIL = time(21, 0)
DEFAULT_SEND_TIME = time(9, 0)


def easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def dutch_holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:  # on a Sunday it moves to Saturday the 26th
        kings_day = date(year, 4, 26)
    return frozenset({
        date(year, 1, 1),
        easter + timedelta(days=1),
        kings_day,
        date(year, 5, 5),
        easter + timedelta(days=39),  # Ascension Day
        easter + timedelta(days=50),  # Whit Monday
        date(year, 12, 25),
        date(year, 12, 26),
    })


def is_holiday(d: date) -> bool:
    return d in dutch_holidays(d.year)


def is_business_day(d: date) -> bool:
    return d.weekday() < 5 and not is_holiday(d)


def add_business_days(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        if is_business_day(d):
            n -= 1
    return d


def may_contact_on(d: date) -> bool:
    """Messages and calls: not on Sundays or public holidays (Saturdays are fine)."""
    return d.weekday() != 6 and not is_holiday(d)


@lru_cache(maxsize=65536)  # pure; the run asks it a dozen times per tenancy
def due_date(year: int, month: int, due_day: int) -> date:
    """The due date in a month; a due day past the month's end falls on its last day."""
    return date(year, month, min(due_day, _cal.monthrange(year, month)[1]))


def next_payday(on_or_after: date, payday: int) -> date:
    """The household's next payday on or after the date (29-31: the month's last day)."""
    d = due_date(on_or_after.year, on_or_after.month, payday)
    if d >= on_or_after:
        return d
    y, m = (on_or_after.year + 1, 1) if on_or_after.month == 12 else (
        on_or_after.year, on_or_after.month + 1)
    return due_date(y, m, payday)


@lru_cache(maxsize=65536)  # pure, see due_date
def add_months(d: date, months: int, day: int | None = None) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return due_date(d.year + y, m + 1, day or d.day)


def due_dates_between(after: date, through: date, due_day: int) -> list[date]:
    """Due dates d with after < d <= through."""
    out: list[date] = []
    y, m = after.year, after.month
    while True:
        d = due_date(y, m, due_day)
        if d > through:
            return out
        if d > after:
            out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def may_contact(d: date, *, sundays: bool = False, holidays: bool = False) -> bool:
    """Whether a day allows contact; by default not on Sundays or public holidays."""
    return (sundays or d.weekday() != 6) and (holidays or not is_holiday(d))


def next_send_slot(decided_on: date, now: datetime | None = None, *,
                   start: time = SEND_FROM, until: time = SEND_UNTIL,
                   sundays: bool = False, holidays: bool = False) -> datetime:
    """The first allowed instant to send a message decided on `decided_on`.

    Sending is allowed `start`-`until` Amsterdam time (08:00-21:00), not on Sundays or
    holidays unless allowed. `now` (aware) lets a run that starts mid-day send at once
    when allowed.
    """
    first = max(start, DEFAULT_SEND_TIME) if start < until else start
    d = decided_on
    slot = datetime.combine(d, first, AMSTERDAM)
    if now is not None:
        local = now.astimezone(AMSTERDAM)
        if local.date() == d and local.time() > first:
            slot = local
    while True:
        if may_contact(slot.date(), sundays=sundays, holidays=holidays) \
                and start <= slot.time() < until:
            return slot
        d = slot.date() + timedelta(days=1)
        slot = datetime.combine(d, first, AMSTERDAM)


def in_send_window(instant: datetime, *, start: time = SEND_FROM, until: time = SEND_UNTIL,
                   sundays: bool = False, holidays: bool = False) -> bool:
    local = instant.astimezone(AMSTERDAM)
    return may_contact(local.date(), sundays=sundays, holidays=holidays) \
        and start <= local.time() < until


# --- TARGET2 (SEPA settlement days) ----------------------------------------------------
# SEPA direct debits settle on TARGET2 days: every weekday except New Year's Day, Good
# Friday, Easter Monday, Labour Day (1 May), Christmas Day and 26 December. These are
# not the Dutch public holidays above: King's Day is a TARGET2 day, Good Friday is not.

@lru_cache(maxsize=256)
def target2_closing_days(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    return frozenset({
        date(year, 1, 1),
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        date(year, 5, 1),
        date(year, 12, 25),
        date(year, 12, 26),
    })


def is_target2_day(d: date) -> bool:
    return d.weekday() < 5 and d not in target2_closing_days(d.year)


def target2_on_or_after(d: date) -> date:
    while not is_target2_day(d):
        d += timedelta(days=1)
    return d


def add_target2_days(d: date, n: int) -> date:
    """The n-th TARGET2 day after d (n=0: d itself when it is one, else the next)."""
    if n <= 0:
        return target2_on_or_after(d)
    while n > 0:
        d += timedelta(days=1)
        if is_target2_day(d):
            n -= 1
    return d
