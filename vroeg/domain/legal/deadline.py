"""The 14-day letter's deadline (veertiendagenbrief, art. 6:96 lid 6 BW; RULES-NL rule 10).

The letter gives 14 days starting the day after receipt. Receipt must be provable, so
it is assumed at least `delivery_working_days` working days (Mon-Fri, not a Dutch
public holiday) after sending. Day 14 is received_on + 14 days; when that is a
Saturday, Sunday or public holiday the term ends on the next day that is none of
those (Algemene termijnenwet art. 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from vroeg.domain.calendar import add_business_days, is_business_day
from vroeg.domain.legal.text import closed_day_reason, day

TERM_DAYS = 14
MIN_DELIVERY_WORKING_DAYS = 2


@dataclass(frozen=True)
class Deadline:
    sent_on: date
    received_on: date  # assumed receipt
    deadline: date  # the last day the tenant may pay without costs
    explanation: str

    def has_passed(self, today: date) -> bool:
        """True from the day after the deadline; on the deadline itself it has not."""
        return today > self.deadline


def atw_last_day(d: date) -> date:
    """A term's last day moved past Saturdays, Sundays and public holidays (Atw art. 1)."""
    while not is_business_day(d):
        d += timedelta(days=1)
    return d


def fourteen_day_deadline(sent_on: date, delivery_working_days: int = 2) -> Deadline:
    if delivery_working_days < MIN_DELIVERY_WORKING_DAYS:
        raise ValueError("bezorging / delivery_working_days: minimaal / at least "
                         f"{MIN_DELIVERY_WORKING_DAYS} werkdagen / working days")
    received_on = add_business_days(sent_on, delivery_working_days)
    day_14 = received_on + timedelta(days=TERM_DAYS)
    deadline = atw_last_day(day_14)
    lines = [
        f"Verzonden / sent: {day(sent_on)}",
        f"Ontvangen (aangenomen: {delivery_working_days} werkdagen na verzending) / "
        f"received (assumed: {delivery_working_days} working days after sending): "
        f"{day(received_on)}",
        f"Termijn van {TERM_DAYS} dagen vanaf de dag na ontvangst, dag {TERM_DAYS} / "
        f"{TERM_DAYS}-day term from the day after receipt, day {TERM_DAYS}: {day(day_14)}",
    ]
    moved = day_14
    while moved < deadline:
        lines.append(f"  {day(moved)} is {closed_day_reason(moved)}: een dag later / "
                     "one day later (Algemene termijnenwet art. 1)")
        moved += timedelta(days=1)
    lines.append(f"Uiterste betaaldatum / deadline: {day(deadline)}; kosten pas vanaf / "
                 f"costs only from {day(deadline + timedelta(days=1))}")
    return Deadline(sent_on=sent_on, received_on=received_on, deadline=deadline,
                    explanation="\n".join(lines))
