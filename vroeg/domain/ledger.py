"""The tenant ledger's arithmetic: balance, oldest-first allocation, ageing.

Sign convention (as stored): amount > 0 raises what the tenant owes (opening
balance, rent charge, reversal of a payment, a charge-type adjustment);
amount < 0 lowers it (payment, credit adjustment).

Allocation is oldest-first (RULES-NL rule 1): all credits form one pool that
settles debts in order of due date. A reversal takes money back out of the pool,
so the charge it had paid is open again with its own, original due date.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vroeg.domain.money import ZERO


@dataclass(frozen=True)
class Posting:
    kind: str  # opening, charge, payment, reversal, adjustment
    amount: Decimal
    booked_on: date
    due_on: date | None = None
    reason: str = ""  # e.g. the SEPA return reason of a reversal
    ref: str = ""  # the source key


@dataclass(frozen=True)
class Debt:
    """Something owed with a due date, and how it stands."""

    kind: str
    due_on: date
    amount: Decimal
    open_amount: Decimal  # what is still unpaid as of the evaluation date
    settled_on: date | None  # when it became (and stayed) fully paid


@dataclass(frozen=True)
class Ageing:
    balance: Decimal  # everything booked through the date; > 0 owed, < 0 credit
    arrears: Decimal  # owed and past due (never negative)
    oldest_due_on: date | None  # the oldest unpaid due date, drives every timer
    days_overdue: int
    months_owed: Decimal  # arrears in months of rent, 2 decimals


def is_debt(p: Posting) -> bool:
    # Reversals put money back out of the credit pool rather than adding a debt.
    return p.amount > 0 and p.kind != "reversal"


class CreditTimeline:
    """Cumulative credits over time (payments minus reversals)."""

    def __init__(self, postings: Iterable[Posting]) -> None:
        per_day: dict[date, Decimal] = {}
        for p in postings:
            if not is_debt(p):
                per_day[p.booked_on] = per_day.get(p.booked_on, ZERO) - p.amount
        self.days = sorted(per_day)
        self.cumulative: list[Decimal] = []
        total = ZERO
        for d in self.days:
            total += per_day[d]
            self.cumulative.append(total)

    def at(self, d: date) -> Decimal:
        i = bisect_right(self.days, d)
        return self.cumulative[i - 1] if i else ZERO

    def last_reached(self, level: Decimal, through: date) -> date | None:
        """The day from which the pool stayed >= level through `through`, if it is now."""
        i = bisect_right(self.days, through)
        if i == 0 or self.cumulative[i - 1] < level:
            return None
        since = self.days[i - 1]
        for j in range(i - 1, -1, -1):
            if self.cumulative[j] >= level:
                since = self.days[j]
            else:
                break
        return since


def debts(postings: Sequence[Posting], as_of: date) -> list[Debt]:
    """Every debt booked through `as_of`, oldest due first, with its state on `as_of`."""
    booked = [p for p in postings if p.booked_on <= as_of]
    timeline = CreditTimeline(booked)
    pool = timeline.at(as_of)
    owed = sorted((p for p in booked if is_debt(p)),
                  key=lambda p: (p.due_on or p.booked_on, p.booked_on))
    out: list[Debt] = []
    cumulative = ZERO
    for p in owed:
        before = cumulative
        cumulative += p.amount
        paid = min(max(pool - before, ZERO), p.amount)
        out.append(Debt(kind=p.kind, due_on=p.due_on or p.booked_on, amount=p.amount,
                        open_amount=p.amount - paid,
                        settled_on=timeline.last_reached(cumulative, as_of)))
    return out


def balance(postings: Iterable[Posting], as_of: date) -> Decimal:
    return sum((p.amount for p in postings if p.booked_on <= as_of), ZERO)


def age(postings: Sequence[Posting], as_of: date, monthly_rent: Decimal) -> Ageing:
    """Arrears on `as_of`: only debts whose due date has passed count as arrears."""
    state = debts(postings, as_of)
    overdue = [d for d in state if d.due_on < as_of and d.open_amount > 0]
    arrears = sum((d.open_amount for d in overdue), ZERO)
    oldest = min((d.due_on for d in overdue), default=None)
    months = (arrears / monthly_rent).quantize(Decimal("0.01")) if monthly_rent > 0 else ZERO
    return Ageing(balance=balance(postings, as_of), arrears=arrears, oldest_due_on=oldest,
                  days_overdue=(as_of - oldest).days if oldest else 0, months_owed=months)


def unpaid_on(postings: Sequence[Posting], charge: Posting, on: date) -> Decimal:
    """How much of `charge` was still unpaid on date `on` (oldest-first)."""
    for d in debts(postings, on):
        if d.due_on == (charge.due_on or charge.booked_on) and d.kind == charge.kind:
            return d.open_amount
    return charge.amount
