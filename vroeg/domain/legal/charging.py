"""Whether, and how much, collection costs are charged for a case today (pure).

Only when the flow's policy charges costs at all (social landlords usually do not
before a hand-over, rule 11), after the 14-day letter's deadline has passed (rule
10), never during debt help or a moratorium (rule 9), once per case (the dossier),
over what is still unpaid of the principal the letter named, and within the cap for
small recurring claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vroeg.domain.legal.costs import CostResult, collection_costs
from vroeg.domain.legal.deadline import fourteen_day_deadline
from vroeg.domain.money import ZERO


@dataclass(frozen=True)
class LetterFacts:
    case_id: int
    tenancy_id: int
    sent_on: date
    principal: Decimal          # what the letter asked
    arrears_today: Decimal      # what is still unpaid now
    monthly_rent: Decimal
    charged_last_6_months: Decimal = ZERO
    already_charged: bool = False
    debt_help: bool = False


def costs_to_charge(letter: LetterFacts, today: date, *, vat: bool = False,
                    delivery_working_days: int = 2) -> CostResult | None:
    """The costs to book today, or None (not due, not allowed, or nothing unpaid)."""
    if letter.already_charged or letter.debt_help:
        return None
    deadline = fourteen_day_deadline(letter.sent_on, delivery_working_days)
    if not deadline.has_passed(today):
        return None
    principal = min(letter.principal, letter.arrears_today)
    if principal <= 0:
        return None
    result = collection_costs(principal, today, monthly_amount=letter.monthly_rent, vat=vat,
                              charged_last_6_months=letter.charged_last_6_months)
    return result if result.costs_with_vat > 0 else None


__all__ = ["LetterFacts", "costs_to_charge"]
