"""A case resolves on the tenancy's total balance, never on one line: whatever the
order, size and timing of partial payments (DESIGN: properties that make it trustworthy)."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.domain.test_flow import FLOW, household
from vroeg.domain.flow import OpenCase, TenancySnapshot, decide
from vroeg.domain.ledger import Posting, age

RENT = Decimal("612.45")
START = date(2026, 1, 1)


def snapshot(postings: list[Posting], today: date) -> TenancySnapshot:
    a = age(postings, today, RENT)
    return TenancySnapshot(tenancy_id=1, monthly_rent=RENT, balance=a.balance,
                           arrears=a.arrears, oldest_due_on=a.oldest_due_on,
                           days_overdue=a.days_overdue, months_owed=a.months_owed,
                           open_case=OpenCase(7, {"reminder_friendly": START}),
                           start_on=date(2015, 1, 1))


@st.composite
def payments(draw):
    months = draw(st.integers(1, 6))
    total_cents = int(RENT * 100) * months
    cuts = sorted(draw(st.lists(st.integers(1, total_cents - 1), max_size=8, unique=True)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total_cents], strict=True)]
    days = draw(st.lists(st.integers(0, 240), min_size=len(parts), max_size=len(parts)))
    return months, [(START + timedelta(days=d), Decimal(c) / 100) for d, c in
                    zip(days, draw(st.permutations(parts)), strict=True)]


@settings(max_examples=300, deadline=None)
@given(payments(), st.booleans())
def test_a_case_closes_exactly_when_the_total_balance_is_settled(plan, short):
    months, paid = plan
    charges = [Posting("charge", RENT, START.replace(month=m), START.replace(month=m))
               for m in range(1, months + 1)]
    if short:
        paid = paid[:-1]  # one part still missing: never closed, whatever is paid
    postings = charges + [Posting("payment", -amount, on) for on, amount in paid]
    today = max([START.replace(month=months), *(on for on, _ in paid)]) + timedelta(days=1)
    d = decide(FLOW, household(snapshot(postings, today)), today)
    settled = sum((p.amount for p in postings), Decimal(0)) <= 0
    assert settled == (not short)  # every part paid, in any order: settled
    assert (d.close_cases == ((7, "saldo voldaan / balance settled"),)) == settled
