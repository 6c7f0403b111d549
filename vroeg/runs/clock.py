"""The one place the shell reads the clock."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone

from vroeg.domain.calendar import AMSTERDAM

CATCH_UP_TIME = time(10, 0)


def today() -> date:
    return timezone.now().astimezone(AMSTERDAM).date()


def run_clock(run_on: date) -> datetime:
    """'Now' for a run: the real time for today; 10:00 that morning for a past date,
    so a caught-up day sends what it would have sent then."""
    if run_on >= today():
        return timezone.now()
    return datetime.combine(run_on, CATCH_UP_TIME, AMSTERDAM)
