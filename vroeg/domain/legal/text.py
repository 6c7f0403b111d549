"""How amounts and dates read in explanations: Dutch first, English second."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from vroeg.domain.calendar import easter_sunday, is_holiday

WEEKDAYS = ("ma/Mon", "di/Tue", "wo/Wed", "do/Thu", "vr/Fri", "za/Sat", "zo/Sun")


def euro(amount: Decimal) -> str:
    """€ and the amount as computed; at least cents, more places only when there are."""
    places = max(2, -int(amount.normalize().as_tuple().exponent))
    return f"€ {amount:.{places}f}"


def percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def day(d: date) -> str:
    return f"{d.isoformat()} ({WEEKDAYS[d.weekday()]})"


def holiday_name(d: date) -> str:
    """The name of a Dutch public holiday (for explanations only; `is_holiday` decides)."""
    if not is_holiday(d):
        return ""
    easter = easter_sunday(d.year)
    names = {
        (1, 1): "Nieuwjaarsdag / New Year's Day",
        (5, 5): "Bevrijdingsdag / Liberation Day",
        (12, 25): "Eerste Kerstdag / Christmas Day",
        (12, 26): "Tweede Kerstdag / Boxing Day",
    }
    by_easter = {
        easter + timedelta(days=1): "Tweede Paasdag / Easter Monday",
        easter + timedelta(days=39): "Hemelvaartsdag / Ascension Day",
        easter + timedelta(days=50): "Tweede Pinksterdag / Whit Monday",
    }
    return (by_easter.get(d) or names.get((d.month, d.day))
            or "Koningsdag / King's Day")


def closed_day_reason(d: date) -> str:
    """Why a day cannot be the last day of a term (Algemene termijnenwet art. 1)."""
    if is_holiday(d):
        return f"feestdag / public holiday: {holiday_name(d)}"
    return "zaterdag / Saturday" if d.weekday() == 5 else "zondag / Sunday"
