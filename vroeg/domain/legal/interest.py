"""Statutory interest (wettelijke rente, art. 6:119 BW; RULES-NL rule 12).

Interest runs from `from_on` (the first day of default) up to, not including, `to_on`
(the day of payment): (to_on - from_on) days in all.

- Interest years (rente-jaren) are counted from `from_on`, not from 1 January. Within a
  year the interest is simple; at the end of each full year that year's interest is
  added to the base (art. 6:119 lid 2). A year that starts on 29 February ends with
  28 February, so the next one starts on 1 March.
- Periods are split at every year end and every rate change in the table.
- Day count: actual days / 365, also in leap years (29 February is a day like any
  other, so a full leap year of 366 days earns 366/365 of the yearly rate).
- Each period's interest is rounded half-up to cents; the total is the sum of the
  shown periods, so every line can be checked by hand and adds up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vroeg.domain.legal.tables import InterestTable, LegalTableError, default_interest_table
from vroeg.domain.legal.text import euro, percent
from vroeg.domain.money import ZERO, cents

DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class InterestPeriod:
    from_on: date  # the first day
    to_on: date  # the day after the last day
    days: int
    rate: Decimal  # percent per year
    base: Decimal  # principal plus interest compounded in earlier years
    interest: Decimal  # base * rate / 100 * days / 365, half-up to cents
    year: int  # the interest year, 1 for the first


@dataclass(frozen=True)
class InterestResult:
    principal: Decimal
    from_on: date
    to_on: date
    interest: Decimal
    periods: tuple[InterestPeriod, ...]
    explanation: str

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def _year_end(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # a 29 February start
        return date(start.year + years, 3, 1)


def _period_interest(base: Decimal, rate: Decimal, days: int) -> Decimal:
    # One division, last: the exact product keeps a true .005 tie exact.
    return cents(base * rate * days / (100 * DAYS_PER_YEAR))


def statutory_interest(principal: Decimal, from_on: date, to_on: date,
                       table: InterestTable | None = None) -> InterestResult:
    table = table or default_interest_table()
    if principal < 0 or cents(principal) != principal:
        raise ValueError(f"hoofdsom / principal: een bedrag ≥ 0 in hele centen / an amount "
                         f">= 0 in whole cents, not {principal}")
    principal = cents(principal)  # 1000 and 1000.00 read the same everywhere
    if to_on < from_on:
        raise ValueError(f"tot / to ({to_on.isoformat()}) ligt vóór van / is before from "
                         f"({from_on.isoformat()})")
    if from_on < table.starts_on:
        raise LegalTableError(
            f"van / from {from_on.isoformat()}: de rentetabel begint op / the rate table "
            f"starts on {table.starts_on.isoformat()} ({table.source})")
    lines = [f"Wettelijke rente (art. 6:119 BW) over / statutory interest on {euro(principal)}, "
             f"van / from {from_on.isoformat()} tot / until {to_on.isoformat()} "
             f"({(to_on - from_on).days} dagen / days); dagen/365 / actual days/365"]
    periods: list[InterestPeriod] = []
    base, year, start = principal, 1, from_on
    while start < to_on:
        anniversary = _year_end(from_on, year)
        year_stop = min(anniversary, to_on)
        year_interest = ZERO
        cursor = start
        while cursor < year_stop:
            rate = table.rate_on(cursor).percent
            change = table.next_change_after(cursor)
            stop = year_stop if change is None else min(year_stop, change)
            days = (stop - cursor).days
            amount = _period_interest(base, rate, days)
            periods.append(InterestPeriod(from_on=cursor, to_on=stop, days=days, rate=rate,
                                          base=base, interest=amount, year=year))
            lines.append(f"  jaar / year {year}: {cursor.isoformat()} tot / until "
                         f"{stop.isoformat()}, {days} dagen / days, {percent(rate)} over / "
                         f"on {euro(base)} = {euro(amount)}")
            year_interest += amount
            cursor = stop
        if anniversary <= to_on:
            # A full interest year: its interest joins the base (art. 6:119 lid 2).
            base += year_interest
            lines.append(f"  {anniversary.isoformat()}: rente van jaar {year} "
                         f"({euro(year_interest)}) bij de grondslag, nu / interest of year "
                         f"{year} added to the base, now {euro(base)}")
        start, year = year_stop, year + 1
    interest = sum((p.interest for p in periods), ZERO)
    lines.append(f"Rente / interest: {euro(interest)}; hoofdsom + rente / principal + "
                 f"interest: {euro(principal + interest)}")
    return InterestResult(principal=principal, from_on=from_on, to_on=to_on,
                          interest=interest, periods=tuple(periods),
                          explanation="\n".join(lines))
