"""Collection costs are charged only after the 14-day deadline, once, never in debt help."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.legal.charging import LetterFacts, costs_to_charge
from vroeg.domain.legal.deadline import fourteen_day_deadline

SENT = date(2026, 8, 18)  # Tue: received Thu 20 Aug, deadline Thu 3 Sep
LETTER = LetterFacts(case_id=1, tenancy_id=1, sent_on=SENT, principal=Decimal("1400.00"),
                     arrears_today=Decimal("2100.00"), monthly_rent=Decimal("700.00"))


def test_not_on_the_deadline_but_the_day_after():
    assert costs_to_charge(LETTER, date(2026, 9, 3)) is None
    costs = costs_to_charge(LETTER, date(2026, 9, 4))
    assert costs is not None and costs.costs == Decimal("210.00")  # 15% of the letter's 1400


def test_over_what_is_still_unpaid_of_the_principal():
    partly = LetterFacts(**{**LETTER.__dict__, "arrears_today": Decimal("300.00")})
    assert costs_to_charge(partly, date(2026, 9, 4)).costs == Decimal("45.00")
    paid = LetterFacts(**{**LETTER.__dict__, "arrears_today": Decimal("0.00")})
    assert costs_to_charge(paid, date(2026, 9, 4)) is None


def test_never_in_debt_help_and_once_per_case():
    for changed in ({"debt_help": True}, {"already_charged": True}):
        assert costs_to_charge(LetterFacts(**{**LETTER.__dict__, **changed}),
                               date(2026, 10, 1)) is None


@settings(max_examples=300, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.integers(-10, 60))
def test_never_costs_on_or_before_the_deadline(sent, offset):
    letter = LetterFacts(**{**LETTER.__dict__, "sent_on": sent})
    deadline = fourteen_day_deadline(sent).deadline
    today = deadline + timedelta(days=offset)
    result = costs_to_charge(letter, today)
    assert (result is not None) == (today > deadline)
