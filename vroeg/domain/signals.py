"""Early-warning signals (vroegsignalen): facts about a tenancy's payment behaviour.

Each signal has a kind, a key that makes it unique (a month, a bank entry) and a
reason a staff member can read. Only payment behaviour is used (RULES-NL rule 20).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from vroeg.domain.calendar import add_months
from vroeg.domain.ledger import Posting, debts

RETURN_REASONS = {
    "AM04": "onvoldoende saldo / insufficient funds",
    "MD06": "terugboeking door betaler / refund requested by the payer",
    "MD01": "geen geldige machtiging / no valid mandate",
    "AC04": "rekening opgeheven / account closed",
    "AC06": "rekening geblokkeerd / account blocked",
    "AC01": "rekeningnummer onjuist / incorrect account number",
    "MS02": "geweigerd door betaler / refused by the payer",
    "MS03": "geweigerd, reden onbekend / refused, reason not given",
}


@dataclass(frozen=True)
class SignalFact:
    kind: str  # missed_month, late_repeatedly, dd_reversal
    key: str
    reason: str


@dataclass(frozen=True)
class SignalPolicy:
    late_grace_days: int = 3
    late_window_months: int = 6
    late_min_count: int = 2
    reversal_window_days: int = 62


def detect(postings: Sequence[Posting], today: date,
           policy: SignalPolicy = SignalPolicy()) -> list[SignalFact]:
    out: list[SignalFact] = []
    window_start = add_months(today, -policy.late_window_months)
    charges = [d for d in debts(postings, today)
               if d.kind == "charge" and window_start < d.due_on <= today]

    # Missed a month: a month's rent still wholly unpaid a month after its due date.
    for d in charges:
        month_later = add_months(d.due_on, 1)
        if month_later > today:
            continue
        if d.settled_on is None or d.settled_on >= month_later:
            unpaid_then = _wholly_unpaid(postings, d.due_on, month_later)
            if unpaid_then:
                out.append(SignalFact(
                    "missed_month", f"{d.due_on:%Y-%m}",
                    f"Huur {d.due_on:%m-%Y} een maand na de vervaldag nog niet betaald / "
                    f"rent of {d.due_on:%Y-%m} still wholly unpaid one month after its due date"))

    # Late in at least N of the last M months.
    late = [d for d in charges
            if (d.settled_on is None and (today - d.due_on).days > policy.late_grace_days)
            or (d.settled_on is not None
                and (d.settled_on - d.due_on).days > policy.late_grace_days)]
    if len(late) >= policy.late_min_count:
        months = ", ".join(f"{d.due_on:%Y-%m}" for d in late)
        out.append(SignalFact(
            "late_repeatedly", f"{late[-1].due_on:%Y-%m}",
            f"{len(late)} van de laatste {policy.late_window_months} maanden te laat betaald "
            f"({months}) / late in {len(late)} of the last {policy.late_window_months} months"))

    # Direct-debit reversals (returns) and why: AM04 is not MD06.
    since = today - timedelta(days=policy.reversal_window_days)
    for p in postings:
        if p.kind == "reversal" and since < p.booked_on <= today:
            meaning = RETURN_REASONS.get(p.reason, "reden onbekend / reason unknown")
            code = f" {p.reason}" if p.reason else ""
            out.append(SignalFact(
                "dd_reversal", p.ref or f"{p.booked_on:%Y-%m-%d}",
                f"Incasso gestorneerd op {p.booked_on:%d-%m-%Y}{code}: {meaning} / "
                f"direct debit returned on {p.booked_on:%Y-%m-%d}{code}"))
    return out


def _wholly_unpaid(postings: Sequence[Posting], due_on: date, on: date) -> bool:
    for d in debts(postings, on):
        if d.kind == "charge" and d.due_on == due_on:
            return d.open_amount == d.amount
    return False
