from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.arrangements import (
    BROKEN_FIRST_MISS,
    BROKEN_SECOND_MISS,
    COMPLETED,
    DUE,
    LATE,
    MISSED,
    ON_TRACK,
    PAID,
    ROUTE_DEBT_HELP,
    ROUTE_STAFF,
    UPCOMING,
    ArrangementPolicy,
    IncomeCheck,
    Instalment,
    Proposal,
    Refusal,
    Schedule,
    SelfServiceFacts,
    _Book,
    compliance,
    eur,
    propose,
    schedule_amounts,
    self_service_allowed,
)
from vroeg.domain.calendar import add_business_days, add_months
from vroeg.domain.ledger import Posting, age, debts

D = Decimal
RENT = D("650.00")


def charge(d: date, amount: Decimal = RENT) -> Posting:
    return Posting("charge", amount, d, d)


def pay(d: date, amount: Decimal = RENT) -> Posting:
    return Posting("payment", -amount, d)


def scheduled(arrears: Decimal, start_on: date, terms: int, agreed_on: date) -> Schedule:
    p = propose(arrears, RENT, start_on, terms, agreed_on=agreed_on)
    assert isinstance(p, Proposal), p
    return p.schedule


def two_months_behind() -> list[Posting]:
    """January and February unpaid (1,300.00), rent paid on the 1st from March on."""
    ps = [charge(date(2026, 1, 1)), charge(date(2026, 2, 1))]
    for m in range(3, 12):
        ps += [charge(date(2026, m, 1)), pay(date(2026, m, 1))]
    return ps


# --- amounts and proposals ------------------------------------------------------------

def test_remainder_goes_on_the_last_term():
    assert schedule_amounts(D("1000.00"), terms=3) == [D("333.33"), D("333.33"), D("333.34")]
    assert schedule_amounts(D("1000.00"), instalment=D("300.00")) == [
        D("300.00"), D("300.00"), D("300.00"), D("100.00")]
    assert schedule_amounts(D("0.03"), terms=12) == [D("0.01")] * 3  # never a zero term


def test_monthly_due_dates_keep_the_day():
    p = propose(D("1200.00"), RENT, date(2026, 1, 31), 4)
    assert isinstance(p, Proposal)
    assert [i.due_on for i in p.schedule.instalments] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert [i.n for i in p.schedule.instalments] == [1, 2, 3, 4]
    assert p.schedule.agreed_on == date(2026, 1, 31)
    assert p.schedule.terms == 4 and p.schedule.end_on == date(2026, 4, 30)
    assert {c.code for c in p.checks} == {"max_terms", "other_creditors", "protected_income"}
    income = next(c for c in p.checks if c.code == "protected_income")
    assert income.passed is None and "niet getoetst" in income.text


@pytest.mark.parametrize("kwargs", [
    {"terms": 3, "instalment": D("100.00")},  # both
    {},  # neither
    {"terms": 0},
    {"instalment": D("0.00")},
    {"instalment": D("10.005")},
])
def test_bad_input_is_an_error(kwargs):
    with pytest.raises(ValueError):
        propose(D("1000.00"), RENT, date(2026, 3, 1), **kwargs)


@pytest.mark.parametrize("arrears", [D("0.00"), D("-5.00"), D("12.345"), 12.5])
def test_bad_arrears_is_an_error(arrears):
    with pytest.raises(ValueError):
        propose(arrears, RENT, date(2026, 3, 1), 3)


def test_more_than_twelve_terms_goes_to_a_person():
    r = propose(D("1300.00"), RENT, date(2026, 3, 1), 13)
    assert isinstance(r, Refusal) and r.route == ROUTE_STAFF
    assert any("maximaal 12" in t for t in r.reasons)


def test_more_than_eighteen_months_goes_to_debt_help():
    r = propose(D("1900.00"), RENT, date(2026, 3, 1), instalment=D("100.00"))  # 19 terms
    assert isinstance(r, Refusal) and r.route == ROUTE_DEBT_HELP


def test_other_creditors_go_to_debt_help():
    r = propose(D("600.00"), RENT, date(2026, 3, 1), 3, other_creditors=True)
    assert isinstance(r, Refusal) and r.route == ROUTE_DEBT_HELP
    assert any("schuldhulpverlening" in t for t in r.reasons)


def test_protected_income_fits():
    income = IncomeCheck(net_income=D("1800.00"), protected_income=D("1000.00"))
    p = propose(D("600.00"), RENT, date(2026, 3, 1), 6, protected_income_check=income)
    assert isinstance(p, Proposal)
    check = next(c for c in p.checks if c.code == "protected_income")
    assert check.passed is True and "€ 1.000,00" in check.text  # 1800 - 650 - 100 = 1050


def test_protected_income_refused_with_a_suggestion():
    # Room above the protected income: 1800 - 650 - 1000 = 150 a month.
    income = IncomeCheck(net_income=D("1800.00"), protected_income=D("1000.00"))
    r = propose(D("900.00"), RENT, date(2026, 3, 1), 3, protected_income_check=income)
    assert isinstance(r, Refusal) and r.route == ROUTE_STAFF
    assert r.suggested_terms == 6
    assert any("beslagvrije voet" in t for t in r.reasons)
    ok = propose(D("900.00"), RENT, date(2026, 3, 1), r.suggested_terms,
                 protected_income_check=income)
    assert isinstance(ok, Proposal)


def test_protected_income_no_room_or_too_long_goes_to_debt_help():
    none_left = IncomeCheck(net_income=D("1600.00"), protected_income=D("1000.00"))
    r = propose(D("300.00"), RENT, date(2026, 3, 1), 3, protected_income_check=none_left)
    assert isinstance(r, Refusal) and r.route == ROUTE_DEBT_HELP
    little = IncomeCheck(net_income=D("1700.00"), protected_income=D("1000.00"))  # 50 a month
    r = propose(D("1000.00"), RENT, date(2026, 3, 1), 12, protected_income_check=little)
    assert isinstance(r, Refusal) and r.route == ROUTE_DEBT_HELP  # 20 months needed
    some = IncomeCheck(net_income=D("1725.00"), protected_income=D("1000.00"))  # 75 a month
    r = propose(D("1000.00"), RENT, date(2026, 3, 1), 12, protected_income_check=some)
    assert isinstance(r, Refusal) and r.route == ROUTE_STAFF  # 14 months: a person decides
    assert r.suggested_terms is None


def test_a_schedule_must_add_up():
    i1 = Instalment(1, date(2026, 3, 1), D("100.00"))
    i2 = Instalment(2, date(2026, 4, 1), D("100.00"))
    assert Schedule(D("200.00"), (i1, i2), date(2026, 2, 20)).terms == 2
    for bad in [(D("250.00"), (i1, i2)), (D("200.00"), (i2, i1)), (D("0.00"), ()),
                (D("200.00"), (i1, Instalment(3, date(2026, 4, 1), D("100.00"))))]:
        with pytest.raises(ValueError):
            Schedule(bad[0], bad[1], date(2026, 2, 20))


def test_money_text():
    assert eur(D("1234.5")) == "€ 1.234,50"
    assert eur(D("1234.5"), "en") == "€1,234.50"
    assert eur(D("-3")) == "€ -3,00"


# --- self-service ---------------------------------------------------------------------

def facts(**kw) -> SelfServiceFacts:
    base = {"tenancy_start_on": date(2020, 5, 1), "today": date(2026, 3, 1),
            "arrears": D("600.00"), "monthly_rent": RENT, "terms": 6}
    base.update(kw)
    return SelfServiceFacts(**base)


def test_self_service_within_policy():
    ok, checks = self_service_allowed(facts())
    assert ok and all(c.passed for c in checks)
    assert {c.code for c in checks} == {"tenancy_age", "no_recent_arrangement",
                                        "arrears_limit", "terms_limit"}


@pytest.mark.parametrize(("kw", "failed"), [
    ({"tenancy_start_on": date(2025, 6, 1)}, "tenancy_age"),
    ({"last_arrangement_on": date(2025, 9, 1)}, "no_recent_arrangement"),
    ({"arrears": D("650.01")}, "arrears_limit"),
    ({"terms": 7}, "terms_limit"),
])
def test_self_service_outside_policy_goes_to_a_person(kw, failed):
    ok, checks = self_service_allowed(facts(**kw))
    assert not ok
    assert [c.code for c in checks if not c.passed] == [failed]


def test_self_service_edges():
    assert self_service_allowed(facts(tenancy_start_on=date(2025, 3, 1)))[0]  # 12 months
    assert self_service_allowed(facts(last_arrangement_on=date(2025, 3, 1)))[0]
    assert self_service_allowed(facts(arrears=RENT))[0]


# --- compliance -----------------------------------------------------------------------

ARREARS = D("1300.00")


def plan() -> Schedule:
    # Agreed 20 Feb on the 1,300.00 of January and February: 4 x 325.00 from 15 March.
    return scheduled(ARREARS, date(2026, 3, 15), 4, date(2026, 2, 20))


def test_paid_per_schedule_is_on_track_then_completed():
    s = plan()
    ps = two_months_behind() + [pay(i.due_on, i.amount) for i in s.instalments]
    before = compliance(s, ps, date(2026, 3, 10), arrangement_id=7)
    assert before.state == ON_TRACK and before.arrangement_id == "7"
    assert [i.state for i in before.instalments] == [UPCOMING] * 4
    mid = compliance(s, ps, date(2026, 4, 16))
    assert mid.state == ON_TRACK and not mid.behind
    assert [i.state for i in mid.instalments] == [PAID, PAID, UPCOMING, UPCOMING]
    assert mid.instalments[1].paid_on == date(2026, 4, 15)
    assert mid.scheduled_open == D("650.00")
    done = compliance(s, ps, date(2026, 6, 20))
    assert done.state == COMPLETED and done.completed_on == date(2026, 6, 15)
    assert done.misses == 0 and done.next_step == ""


def test_paying_only_the_rent_misses_the_instalments():
    s = plan()
    ps = two_months_behind()
    within_grace = compliance(s, ps, date(2026, 3, 20))
    assert within_grace.state == ON_TRACK and within_grace.instalments[0].state == DUE
    assert within_grace.behind
    first = compliance(s, ps, date(2026, 3, 21))
    assert first.state == BROKEN_FIRST_MISS and first.next_step == "contact"
    assert first.instalments[0].state == MISSED and first.instalments[0].miss == 1
    # Grace ends Friday 20 March: contact within 3 working days, by Wednesday 25 March.
    assert first.contact_by == add_business_days(date(2026, 3, 20), 3) == date(2026, 3, 25)
    second = compliance(s, ps, date(2026, 4, 21))
    assert second.state == BROKEN_SECOND_MISS and second.next_step == "fourteen_day_letter"
    assert [i.miss for i in second.instalments[:2]] == [1, 2]
    assert second.contact_by == date(2026, 3, 25)


def test_paying_the_instalment_but_not_the_rent_is_a_miss():
    # Oldest first, the 325.00 pays January; April's rent stays open, so the arrangement
    # is not kept: money counts for it only beyond the current rent.
    s = plan()
    ps = [p for p in two_months_behind() if p != pay(date(2026, 4, 1))]
    ps += [pay(i.due_on, i.amount) for i in s.instalments]
    st_ = compliance(s, ps, date(2026, 4, 21))
    assert [i.state for i in st_.instalments[:2]] == [PAID, MISSED]
    assert st_.state == BROKEN_FIRST_MISS


def test_a_late_instalment_within_grace_is_late_not_broken():
    s = plan()
    ps = two_months_behind() + [pay(date(2026, 3, 19), D("325.00"))]
    st_ = compliance(s, ps, date(2026, 3, 25))
    assert st_.instalments[0].state == LATE and st_.instalments[0].paid_on == date(2026, 3, 19)
    assert st_.state == ON_TRACK


def test_a_miss_stays_a_miss_after_catching_up():
    s = plan()
    ps = two_months_behind() + [pay(date(2026, 3, 28), D("325.00"))]
    st_ = compliance(s, ps, date(2026, 4, 1))
    assert st_.instalments[0].state == MISSED
    assert st_.instalments[0].caught_up_on == date(2026, 3, 28)
    assert st_.state == BROKEN_FIRST_MISS and not st_.behind


def test_a_reversed_instalment_is_missed():
    s = plan()
    ps = two_months_behind() + [pay(date(2026, 3, 15), D("325.00")),
                                Posting("reversal", D("325.00"), date(2026, 3, 18), None,
                                        "AM04", "bank:9")]
    assert compliance(s, ps, date(2026, 3, 21)).instalments[0].state == MISSED


def test_paying_everything_early_completes_it():
    s = plan()
    ps = two_months_behind() + [pay(date(2026, 4, 2), D("975.00")),
                                pay(date(2026, 3, 15), D("325.00"))]
    st_ = compliance(s, ps, date(2026, 5, 20))
    assert st_.state == COMPLETED and st_.completed_on == date(2026, 4, 2)
    assert [i.state for i in st_.instalments] == [PAID] * 4
    # Rent missed after it was cleared is new arrears, not a broken arrangement.
    later = [p for p in ps if p != pay(date(2026, 5, 1))]
    assert compliance(s, later, date(2026, 6, 20)).state == COMPLETED


def test_policy_grace_days_is_data():
    s = plan()
    ps = two_months_behind() + [pay(date(2026, 3, 22), D("325.00"))]
    assert compliance(s, ps, date(2026, 3, 25)).state == BROKEN_FIRST_MISS
    wide = ArrangementPolicy(grace_days=10)
    assert compliance(s, ps, date(2026, 3, 25), wide).instalments[0].state == LATE


# --- properties -----------------------------------------------------------------------

cents = st.integers(min_value=1, max_value=2_000_000).map(lambda c: D(c) / 100)


@settings(max_examples=300, deadline=None)
@given(cents, st.one_of(st.integers(1, 30).map(lambda n: ("terms", n)),
                        cents.map(lambda a: ("instalment", a))),
       st.dates(date(2025, 1, 1), date(2028, 12, 31)))
def test_schedule_adds_up_and_stays_within_max_terms(arrears, how, start_on):
    policy = ArrangementPolicy()
    result = propose(arrears, RENT, start_on, **{how[0]: how[1]}, policy=policy)
    if isinstance(result, Refusal):
        assert result.reasons and result.route in (ROUTE_STAFF, ROUTE_DEBT_HELP)
        return
    inst = result.schedule.instalments
    assert sum(i.amount for i in inst) == arrears
    assert 1 <= len(inst) <= policy.max_terms
    assert all(i.amount > 0 and i.amount == i.amount.quantize(D("0.01")) for i in inst)
    assert len({i.amount for i in inst[:-1]}) <= 1  # equal, the remainder on the last
    assert [i.n for i in inst] == list(range(1, len(inst) + 1))
    assert all(a.due_on < b.due_on for a, b in zip(inst, inst[1:], strict=False))


@st.composite
def kept_arrangements(draw):
    """Some history, an arrangement on its arrears, then rent and instalments paid."""
    rent = draw(cents.filter(lambda a: a >= 100))
    months = draw(st.integers(1, 4))
    ps = []
    for m in range(months):
        ps.append(charge(date(2026, 1 + m, 1), rent))
    paid_before = draw(st.integers(0, months - 1))
    ps += [pay(date(2026, 1 + m, 2), rent) for m in range(paid_before)]
    extra = draw(st.integers(0, 9_999).map(lambda c: D(c) / 100))
    if extra:  # a part payment too
        ps.append(pay(date(2026, months, 3), min(extra, rent)))
    agreed_on = date(2026, months, 1) + timedelta(days=draw(st.integers(5, 25)))
    arrears = age(ps, agreed_on, rent).arrears
    if arrears <= 0:
        arrears = None
    start_on = agreed_on + timedelta(days=draw(st.integers(0, 27)))
    terms = draw(st.integers(1, 12))
    grace = draw(st.integers(0, 7))
    delays = draw(st.lists(st.integers(0, grace), min_size=12, max_size=12))
    return rent, ps, agreed_on, arrears, start_on, terms, grace, delays


@settings(max_examples=200, deadline=None)
@given(kept_arrangements(), st.lists(st.integers(0, 420), min_size=1, max_size=5))
def test_kept_arrangement_is_never_broken(case, offsets):
    rent, ps, agreed_on, arrears, start_on, terms, grace, delays = case
    if arrears is None:
        return
    policy = ArrangementPolicy(grace_days=grace)
    s = scheduled(arrears, start_on, terms, agreed_on)
    # Current rent from the month after the agreement, paid on its due date.
    first_rent = add_months(date(agreed_on.year, agreed_on.month, 1), 1)
    dues = [add_months(first_rent, k) for k in range(16)]
    ps = ps + [charge(d, rent) for d in dues] + [pay(d, rent) for d in dues]
    ps += [pay(i.due_on + timedelta(days=delays[i.n - 1]), i.amount) for i in s.instalments]
    for off in offsets:
        today = agreed_on + timedelta(days=off)
        status = compliance(s, ps, today, policy, arrangement_id="x")
        assert status.misses == 0, status
        assert status.state in (ON_TRACK, COMPLETED)
    end = s.end_on + timedelta(days=grace)
    assert compliance(s, ps, end, policy).state == COMPLETED


@st.composite
def ledgers(draw):
    ps = [charge(date(2026, 1 + m, 1), draw(cents)) for m in range(draw(st.integers(1, 8)))]
    for _ in range(draw(st.integers(0, 10))):
        day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 250)))
        ps.append(pay(day, draw(cents)))
    for _ in range(draw(st.integers(0, 2))):
        day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 250)))
        ps.append(Posting("reversal", draw(cents), day, None, "AM04"))
    return ps


@settings(max_examples=200, deadline=None)
@given(ledgers(), st.integers(0, 260), st.integers(0, 260))
def test_book_equals_the_ledger_allocation(ps, today_off, through_off):
    # The O(log n) shortcut compliance uses is ledger.debts' oldest-first allocation.
    today = date(2026, 1, 1) + timedelta(days=today_off)
    through = date(2026, 1, 1) + timedelta(days=through_off)
    expected = sum((d.open_amount for d in debts(ps, today) if d.due_on <= through), D(0))
    assert _Book(ps, today).open_through(through, today) == expected


def test_only_the_last_instalment_missed_has_run_out():
    """Rule 14's second miss can only come while instalments are still to come: with
    the last one the only miss, the arrangement has run out. First the contact (as after
    any first miss); once its time is over it ends as a second miss does (a new 14-day
    letter), never straight back to the ladder."""
    s = plan()
    paid_three = two_months_behind() + [pay(i.due_on, i.amount) for i in s.instalments[:3]]
    last = s.instalments[-1]
    within_grace = compliance(s, paid_three, last.due_on + timedelta(days=3))
    assert within_grace.state == ON_TRACK and not within_grace.ran_out
    after = compliance(s, paid_three, last.due_on + timedelta(days=6))
    assert after.state == BROKEN_FIRST_MISS and after.ran_out and after.ran_out_on is None
    assert after.contact_by is not None
    on_the_last_day = compliance(s, paid_three, after.contact_by)
    assert on_the_last_day.ran_out and on_the_last_day.ran_out_on is None
    ended = compliance(s, paid_three, after.contact_by + timedelta(days=1))
    assert ended.ran_out_on == after.contact_by + timedelta(days=1)
    assert (ended.state, ended.next_step, ended.misses) == (
        BROKEN_SECOND_MISS, "fourteen_day_letter", 1)
    assert not ended.ran_out
    # Paid in full after all: completed, not ended.
    caught_up = paid_three + [pay(after.contact_by, last.amount)]
    assert compliance(s, caught_up, after.contact_by + timedelta(days=9)).state == COMPLETED
    # The missed instalment made good within the contact time while the next month's
    # rent is still open: the arrangement is done (the open rent is new arrears, the
    # ladder's), not ended as broken.
    rent_open = [p for p in caught_up if not (p.kind == "payment" and p.booked_on ==
                                               date(2026, 7, 1))]
    assert rent_open != caught_up
    done = compliance(s, rent_open, after.contact_by + timedelta(days=9))
    assert (done.state, done.ran_out_on, done.ran_out) == (COMPLETED, None, False)
    assert done.completed_on == after.contact_by
    # A first miss with instalments still to come has not run out.
    first = compliance(s, two_months_behind(), date(2026, 3, 21))
    assert first.state == BROKEN_FIRST_MISS and not first.ran_out
    assert not compliance(s, two_months_behind(), date(2026, 4, 21)).ran_out  # second miss
