from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.ledger import Posting, age, balance, debts

D = Decimal
RENT = D("700.00")


def charge(d: date, amount: Decimal = RENT) -> Posting:
    return Posting("charge", amount, d, d)


def pay(d: date, amount: Decimal) -> Posting:
    return Posting("payment", -amount, d)


def test_partial_payments_settle_the_oldest_charge_first():
    ps = [charge(date(2026, 9, 1)), charge(date(2026, 10, 1)), pay(date(2026, 10, 3), D("900"))]
    a = age(ps, date(2026, 10, 10), RENT)
    assert a.balance == D("500.00")
    assert a.arrears == D("500.00")
    assert a.oldest_due_on == date(2026, 10, 1)  # September is paid in full
    assert a.days_overdue == 9
    assert a.months_owed == D("0.71")


def test_reversal_reopens_the_charge_it_paid_with_its_own_due_date():
    ps = [charge(date(2026, 10, 1)), pay(date(2026, 10, 1), RENT),
          Posting("reversal", RENT, date(2026, 10, 6), None, "AM04", "bank:1")]
    assert age(ps, date(2026, 10, 5), RENT).arrears == 0
    after = age(ps, date(2026, 10, 8), RENT)
    assert after.arrears == RENT
    assert after.oldest_due_on == date(2026, 10, 1)


def test_settled_on_is_when_the_charge_became_and_stayed_paid():
    ps = [charge(date(2026, 10, 1)), pay(date(2026, 10, 20), D("300")),
          pay(date(2026, 10, 25), D("400"))]
    (d,) = debts(ps, date(2026, 11, 1) - timedelta(days=1))
    assert d.settled_on == date(2026, 10, 25)
    assert d.open_amount == 0


def test_prepayment_is_credit_and_a_charge_due_today_is_not_yet_arrears():
    ps = [pay(date(2026, 9, 28), RENT), charge(date(2026, 10, 1))]
    assert balance(ps, date(2026, 9, 30)) == -RENT
    ps2 = [charge(date(2026, 10, 1))]
    assert age(ps2, date(2026, 10, 1), RENT).arrears == 0
    assert age(ps2, date(2026, 10, 2), RENT).arrears == RENT


amounts = st.integers(min_value=1, max_value=200_000).map(lambda c: D(c) / 100)


@st.composite
def ledgers(draw):
    start = date(2026, 1, 1)
    postings = []
    for m in range(draw(st.integers(1, 8))):
        due = date(2026, 1 + m, 1)
        postings.append(charge(due, draw(amounts)))
    for _ in range(draw(st.integers(0, 12))):
        day = start + timedelta(days=draw(st.integers(0, 250)))
        postings.append(pay(day, draw(amounts)))
    return draw(st.permutations(postings))


@settings(max_examples=200, deadline=None)
@given(ledgers(), st.integers(0, 260))
def test_invariants(ps, offset):
    as_of = date(2026, 1, 1) + timedelta(days=offset)
    a = age(list(ps), as_of, RENT)
    state = debts(list(ps), as_of)
    # Open amounts never exceed what was owed, never negative.
    assert all(D(0) <= d.open_amount <= d.amount for d in state)
    # The arrears never exceed the balance when positive; a settled balance has no arrears.
    assert a.arrears >= 0
    assert a.arrears <= max(a.balance, D(0))
    # Total open = max(balance, 0) (all charges are due by as_of or not yet booked).
    assert sum((d.open_amount for d in state), D(0)) == max(a.balance, D(0))
    # Oldest-first: an open debt is never older than a fully settled one... rather, every
    # debt before the oldest open one is fully paid.
    open_dues = [d.due_on for d in state if d.open_amount > 0]
    if open_dues:
        first_open = min(open_dues)
        assert all(d.open_amount == 0 for d in state if d.due_on < first_open)


@settings(max_examples=100, deadline=None)
@given(ledgers())
def test_order_of_postings_does_not_matter(ps):
    as_of = date(2026, 9, 30)
    assert age(list(ps), as_of, RENT) == age(sorted(ps, key=lambda p: (p.booked_on, p.amount)),
                                             as_of, RENT)
