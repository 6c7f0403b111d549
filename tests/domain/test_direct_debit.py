"""SEPA direct debit, the pure core: dates, sequence types, planning, the reason table."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroeg.domain import direct_debit as dd
from vroeg.domain.bank.return_reasons import (
    ACTIONS,
    REASONS,
    REOPEN,
    RETRY_AFTER_PAYDAY,
    REVIEW,
    STOP_DIRECT_DEBIT,
    meaning,
    reason_for,
)
from vroeg.domain.calendar import (
    add_target2_days,
    is_target2_day,
    target2_closing_days,
    target2_on_or_after,
)

D = Decimal
RENT = D("700.00")


# --- TARGET2 days ------------------------------------------------------------------------

def test_target2_closing_days_2026():
    assert target2_closing_days(2026) == {
        date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1),
        date(2026, 12, 25), date(2026, 12, 26)}


def test_kings_day_is_a_target2_day_good_friday_is_not():
    assert is_target2_day(date(2026, 4, 27))  # King's Day: Dutch holiday, TARGET2 open
    assert not is_target2_day(date(2026, 4, 3))  # Good Friday
    assert not is_target2_day(date(2026, 10, 31))  # Saturday


def test_add_target2_days_skips_easter():
    assert add_target2_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert add_target2_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert target2_on_or_after(date(2026, 11, 1)) == date(2026, 11, 2)


def test_collection_date_is_the_earliest_the_bank_allows():
    assert dd.collection_date(date(2026, 10, 29)) == date(2026, 10, 30)
    assert dd.collection_date(date(2026, 10, 30)) == date(2026, 11, 2)  # Friday -> Monday
    assert dd.collection_date(date(2026, 10, 29), lead_days=2) == date(2026, 11, 2)


# --- identifiers -------------------------------------------------------------------------

def test_end_to_end_ids():
    nov = date(2026, 11, 1)
    # "VR": never the same as another system's <code>-<yyyymm> (the demo's history)
    assert dd.end_to_end_id("OVK-00001", 7, nov) == "OVK-00001-202611-VR1"
    assert dd.end_to_end_id("OVK-00001", 7, nov, 2) == "OVK-00001-202611-VR2"
    # not SEPA characters, or too long: the tenancy id instead
    assert dd.end_to_end_id("OVK_0001", 7, nov) == "T7-202611-VR1"
    assert dd.end_to_end_id("X" * 30, 7, nov, 2) == "T7-202611-VR2"
    assert len(dd.end_to_end_id("X" * 24, 7, nov, 2)) == 35


@pytest.mark.parametrize("e2e, month", [
    ("OVK-00001-202611", date(2026, 11, 1)),       # another system's (the demo's)
    ("OVK-00001-202611-2", date(2026, 11, 1)),     # vroeg's older form, a retry
    ("OVK-00001-202611-VR1", date(2026, 11, 1)),
    ("T7-202612-VR2", date(2026, 12, 1)),
    ("OVK-00001-202613", None), ("OVK-00002-202611", None), ("OLD-1", None),
    ("OVK-00001-2026-11", None), ("", None),
])
def test_the_month_in_an_end_to_end_id(e2e, month):
    assert dd.period_in_end_to_end_id(e2e, "OVK-00001", 7) == month


@pytest.mark.parametrize("value, ok", [
    ("NL69ZZZ123456780000", True), ("DE98ZZZ09999999999", True),
    ("NL70ZZZ123456780000", False), ("NL69ZZZ12345678000", False), ("", False),
    ("nl69 zzz 1234 5678 0000", True),
])
def test_creditor_id(value, ok):
    assert dd.is_valid_creditor_id(value) is ok


def test_remittance_is_dutch_first():
    assert dd.remittance(date(2026, 11, 1), "OVK-1") == "Huur november 2026 OVK-1 / rent 2026-11"


# --- sequence type -----------------------------------------------------------------------

def test_sequence_type_rule():
    assert dd.sequence_type(False) == dd.FRST
    assert dd.sequence_type(True) == dd.RCUR
    # a FRST rejected before settlement leaves the mandate unused: FRST again
    assert not dd.mandate_used([dd.REJECTED])
    assert not dd.mandate_used([dd.REJECTED, dd.PLANNED, dd.CANCELLED])
    # sent, settled or returned after settlement: used
    for status in (dd.EXPORTED, dd.SETTLED, dd.RETURNED, dd.REFUNDED):
        assert dd.mandate_used([dd.REJECTED, status])


# --- planning ----------------------------------------------------------------------------

def mandate(used: bool = False, signed: date | None = date(2020, 1, 1), mid: int = 1,
            ref: str = "MND-1") -> dd.MandateFacts:
    return dd.MandateFacts(mid, ref, signed, "Fam. Test", "NL28INGB0000000001", "", used)


def tenancy(tid: int = 1, *, used: bool = False, due_day: int = 1, **kw) -> dd.TenancyFacts:
    kw.setdefault("mandate", mandate(used, mid=tid, ref=f"MND-{tid}"))
    return dd.TenancyFacts(tenancy_id=tid, code=f"OVK-{tid:05d}", due_day=due_day,
                           start_on=date(2020, 1, 1), monthly_rent=RENT, **kw)


def test_first_collection_is_frst_on_the_due_date():
    # 1 November 2026 is a Sunday: collected Monday 2 November; the file is made Friday.
    assert dd.plan_collections(date(2026, 10, 29), [tenancy()]).collections == ()
    plan = dd.plan_collections(date(2026, 10, 30), [tenancy()])
    (c,) = plan.collections
    assert (c.period, c.due_on, c.collect_on) == (date(2026, 11, 1), date(2026, 11, 1),
                                                  date(2026, 11, 2))
    assert (c.sequence_type, c.attempt, c.amount) == (dd.FRST, 1, RENT)
    assert c.end_to_end_id == "OVK-00001-202611-VR1"
    assert plan.total == RENT


def test_used_mandate_is_rcur():
    (c,) = dd.plan_collections(date(2026, 10, 30), [tenancy(used=True)]).collections
    assert c.sequence_type == dd.RCUR


def test_collected_month_is_not_collected_again():
    t = tenancy(collected_periods=frozenset({date(2026, 11, 1)}))
    assert dd.plan_collections(date(2026, 10, 30), [t]).collections == ()


def test_missed_days_are_caught_up_but_old_months_are_not():
    # the run missed a few days: November is still collected, as soon as possible
    (c,) = dd.plan_collections(date(2026, 11, 5), [tenancy()]).collections
    assert c.collect_on == date(2026, 11, 6)
    # 20 days late: left to the collection flow, never a surprise debit
    assert dd.plan_collections(date(2026, 11, 21), [tenancy()]).collections == ()


def test_ledger_charge_and_credit_set_the_amount():
    day = date(2026, 11, 2)
    charged = tenancy(charges={date(2026, 11, 3): D("712.50")}, due_day=3,
                      balance=D("712.50"))
    (c,) = dd.plan_collections(day, [charged]).collections
    assert c.amount == D("712.50")
    # paid 200 in advance: 200 less is collected
    (c,) = dd.plan_collections(day, [tenancy(due_day=3, balance=D("-200.00"))]).collections
    assert c.amount == D("500.00")
    # arrears never raise the amount
    (c,) = dd.plan_collections(day, [tenancy(due_day=3, balance=D("1400.00"))]).collections
    assert c.amount == RENT
    plan = dd.plan_collections(day, [tenancy(due_day=3, balance=D("-900.00"))])
    assert plan.collections == ()
    assert "vooruitbetaald" in plan.skipped[0].reason


def test_problems_are_reported_not_dropped():
    t = tenancy(mandate=mandate(signed=None))
    plan = dd.plan_collections(date(2026, 10, 30), [t])
    assert plan.collections == ()
    (s,) = plan.skipped
    assert s.code == "OVK-00001" and "signature date" in s.reason
    late = tenancy(mandate=mandate(signed=date(2026, 11, 20)))
    assert "signed after" in dd.plan_collections(date(2026, 10, 30), [late]).skipped[0].reason


def test_tenancy_period_bounds():
    started = dd.TenancyFacts(1, "OVK-1", 1, date(2026, 11, 15), RENT, mandate())
    assert dd.plan_collections(date(2026, 10, 30), [started]).collections == ()
    ended = dd.TenancyFacts(1, "OVK-1", 1, date(2020, 1, 1), RENT, mandate(),
                            end_on=date(2026, 10, 31))
    assert dd.plan_collections(date(2026, 10, 30), [ended]).collections == ()


def retry(collect_on: date, amount: D = RENT, tid: int = 1) -> dd.PlannedRetry:
    return dd.PlannedRetry(99, tid, date(2026, 10, 1), amount, collect_on,
                           f"OVK-{tid:05d}-202610-2")


def test_planned_retry_goes_out_when_its_date_has_come():
    t = tenancy(used=True, balance=RENT, collected_periods=frozenset({date(2026, 11, 1)}))
    r = retry(date(2026, 10, 26))
    assert dd.plan_collections(date(2026, 10, 22), [t], [r]).collections == ()
    (c,) = dd.plan_collections(date(2026, 10, 23), [t], [r]).collections
    assert (c.retry_of, c.attempt, c.end_to_end_id) == (99, 2, "OVK-00001-202610-2")
    assert (c.collect_on, c.sequence_type) == (date(2026, 10, 26), dd.RCUR)


def test_retry_collects_at_most_what_is_owed_and_is_cancelled_when_paid():
    base = {"used": True, "collected_periods": frozenset({date(2026, 11, 1)})}
    (c,) = dd.plan_collections(date(2026, 10, 23), [tenancy(balance=D("300.00"), **base)],
                               [retry(date(2026, 10, 26))]).collections
    assert c.amount == D("300.00")
    plan = dd.plan_collections(date(2026, 10, 23), [tenancy(balance=D("0.00"), **base)],
                               [retry(date(2026, 10, 26))])
    assert plan.collections == () and plan.cancel == ((99, "inmiddels betaald / paid in the "
                                                           "meantime"),)
    # no active mandate any more: cancelled
    plan = dd.plan_collections(date(2026, 10, 23), [], [retry(date(2026, 10, 26))])
    assert plan.cancel[0][0] == 99 and "mandate" in plan.cancel[0][1]


def test_unused_mandate_sends_one_frst_per_file():
    # a FRST rejected before settlement: its retry is FRST, and the next month waits
    t = tenancy(used=False, balance=D("1400.00"))
    plan = dd.plan_collections(date(2026, 10, 30), [t], [retry(date(2026, 10, 30))])
    (c,) = plan.collections
    assert (c.retry_of, c.sequence_type) == (99, dd.FRST)
    assert "FRST" in plan.skipped[0].reason and plan.skipped[0].period == date(2026, 11, 1)


# --- the bank history: what another system collected ----------------------------------

NOV = date(2026, 11, 1)


def old(day: date, amount: str = "700.00", reason: str = "", e2e: str = "OVK-00001-202611",
        period: date | None = NOV) -> dd.BankDebit:
    return dd.BankDebit(day, D(amount), period, reason, e2e)


def test_a_month_credited_in_the_bank_history_is_not_collected_again():
    # even with arrears (which made the planner collect it again before)
    t = tenancy(used=True, balance=D("700.00"), bank_debits=(old(date(2026, 11, 2)),))
    plan = dd.plan_collections(date(2026, 11, 3), [t])
    assert plan.collections == ()
    (s,) = plan.skipped
    assert (s.period, s.reason) == (NOV, "al geïncasseerd volgens de bank / already "
                                         "collected according to the bank")
    # a month the history does not mention is collected as usual
    dec = tenancy(used=True, bank_debits=(old(date(2026, 10, 1), period=date(2026, 10, 1)),))
    assert len(dd.plan_collections(date(2026, 11, 3), [dec]).collections) == 1


def test_after_a_refund_a_month_is_never_collected_again():
    for later in ((), (old(date(2026, 11, 20)),)):  # even after a new credit
        t = tenancy(used=True, balance=D("1400.00"), bank_debits=(
            old(date(2026, 11, 2)), old(date(2026, 11, 6), "-700.00", "MD06"), *later))
        for day in (date(2026, 11, 6), date(2026, 11, 9)):
            plan = dd.plan_collections(day, [t])
            assert plan.collections == ()
            assert "MD06" in plan.skipped[0].reason
    assert dd.month_history([old(date(2026, 11, 2)), old(date(2026, 11, 6), "-700.00",
                                                         "MD06")]).verdict == dd.HISTORY_REFUNDED


def test_am04_in_the_bank_history_is_retried_once_after_payday():
    hist = (old(date(2026, 11, 2)), old(date(2026, 11, 4), "-700.00", "AM04"))
    t = tenancy(used=True, balance=D("700.00"), payday=20, bank_debits=hist)
    # payday Friday 20 November: not before the first TARGET2 day after it
    for day in (date(2026, 11, 4), date(2026, 11, 19)):
        plan = dd.plan_collections(day, [t])
        assert plan.collections == ()
        (s,) = plan.skipped
        assert s.not_before == date(2026, 11, 23) and "after payday" in s.reason
    (c,) = dd.plan_collections(date(2026, 11, 20), [t]).collections
    assert (c.period, c.attempt, c.amount, c.collect_on) == (NOV, 2, RENT, date(2026, 11, 23))
    assert (c.end_to_end_id, c.sequence_type, c.retry_of) == ("OVK-00001-202611-VR2", dd.RCUR,
                                                              None)
    # once: when the retry is ours, the month has a collection
    done = tenancy(used=True, balance=D("700.00"), payday=20, bank_debits=hist,
                   collected_periods=frozenset({NOV}))
    assert dd.plan_collections(date(2026, 11, 23), [done]).collections == ()
    # at most what is owed; nothing when paid by transfer meanwhile
    part = tenancy(used=True, balance=D("250.00"), payday=20, bank_debits=hist)
    assert dd.plan_collections(date(2026, 11, 20), [part]).collections[0].amount == D("250.00")
    paid = tenancy(used=True, balance=D("0.00"), payday=20, bank_debits=hist)
    plan = dd.plan_collections(date(2026, 11, 20), [paid])
    assert plan.collections == () and "paid in the meantime" in plan.skipped[0].reason
    # the old system tried twice already (a retry that failed too): no retry from us
    twice = tenancy(used=True, balance=D("700.00"), payday=20, bank_debits=(
        *hist, old(date(2026, 11, 10)),
        old(date(2026, 11, 12), "-700.00", "AM04", e2e="OVK-00001-202611-2")))
    plan = dd.plan_collections(date(2026, 11, 20), [twice])
    assert plan.collections == () and plan.skipped == ()  # out of the window: no noise
    assert dd.month_history(twice.bank_debits).verdict == dd.HISTORY_FAILED_TWICE
    # the same return told twice (notification, then statement) is one failure
    told_twice = (*hist, old(date(2026, 11, 4), "-700.00", "AM04"))
    assert dd.month_history(told_twice).verdict == dd.HISTORY_RETRY
    # a retry that worked: collected
    assert dd.month_history((*hist, old(date(2026, 11, 23)))).verdict == dd.HISTORY_COLLECTED


def test_a_history_retry_is_made_around_payday_and_not_for_what_was_paid_otherwise():
    hist = (old(date(2026, 11, 2)), old(date(2026, 11, 4), "-700.00", "AM04"))
    # older arrears keep the balance up; November itself was paid by transfer after payday
    paid = tenancy(used=True, balance=D("700.00"), payday=20, bank_debits=hist,
                   other_payments=((date(2026, 11, 3), D("50.00")),
                                   (date(2026, 11, 21), D("700.00"))))
    plan = dd.plan_collections(date(2026, 11, 23), [paid])
    assert plan.collections == () and "paid in the meantime" in plan.skipped[0].reason
    partly = tenancy(used=True, balance=D("900.00"), payday=20, bank_debits=hist,
                     other_payments=((date(2026, 11, 21), D("300.00")),))
    (c,) = dd.plan_collections(date(2026, 11, 23), [partly]).collections
    assert c.amount == D("400.00")
    # missed its moment (the retry date was 23 November): once December is due, the
    # month is the collection flow's, not a debit on top of December's
    t = tenancy(used=True, balance=D("1400.00"), payday=20, bank_debits=hist)
    assert len(dd.plan_collections(date(2026, 11, 27), [t]).collections) == 1  # -> 30 Nov
    late = dd.plan_collections(date(2026, 11, 30), [t])  # collection date 1 December
    assert [(c.period, c.attempt) for c in late.collections] == [(date(2026, 12, 1), 1)]


def test_our_retry_is_not_made_for_what_was_paid_otherwise_since_the_return():
    r = dd.PlannedRetry(99, 1, date(2026, 10, 1), RENT, date(2026, 10, 26),
                        "OVK-00001-202610-VR2", 2, returned_on=date(2026, 10, 5))
    base = {"used": True, "collected_periods": frozenset({date(2026, 10, 1), NOV})}
    # the tenant paid the month by transfer after the return; older arrears remain
    t = tenancy(balance=D("700.00"), other_payments=((date(2026, 10, 20), RENT),), **base)
    plan = dd.plan_collections(date(2026, 10, 23), [t], [r])
    assert plan.collections == () and plan.cancel == ((99, "inmiddels betaald / paid in the "
                                                           "meantime"),)
    before = tenancy(balance=D("700.00"), other_payments=((date(2026, 10, 5), RENT),), **base)
    assert dd.plan_collections(date(2026, 10, 23), [before], [r]).collections[0].amount == RENT


def test_other_returns_in_the_bank_history_leave_the_month_to_the_flow():
    t = tenancy(used=True, balance=RENT, bank_debits=(
        old(date(2026, 11, 2)), old(date(2026, 11, 3), "-700.00", "MS02")))
    plan = dd.plan_collections(date(2026, 11, 4), [t])
    assert plan.collections == () and "returned (MS02)" in plan.skipped[0].reason


def test_the_month_of_a_history_entry_without_one_in_its_id():
    def month(day: date, due_day: int = 1) -> date:
        return dd.bank_debit_period(dd.BankDebit(day, RENT), due_day)
    assert month(date(2026, 11, 2)) == NOV
    assert month(date(2026, 11, 20)) == NOV            # late in the month: that month
    assert month(date(2026, 10, 27)) == NOV            # a few days early: the next one
    assert month(date(2026, 10, 20)) == date(2026, 10, 1)
    assert month(date(2026, 11, 30), due_day=28) == NOV
    assert month(date(2026, 12, 2), due_day=31) == NOV  # due 30 Nov, collected after it
    # a return takes its credit's month (by end-to-end id), whatever its date
    months = dd.months_of([dd.BankDebit(date(2026, 11, 2), RENT, None, "", "X1"),
                           dd.BankDebit(date(2026, 12, 20), -RENT, None, "MD06", "X1")], 1)
    assert list(months) == [NOV] and len(months[NOV]) == 2
    # A return alone: an AM04 belongs to the month due on or before it (no early
    # shift); a refund weeks later without its credit blocks no month at all.
    alone = dd.months_of([dd.BankDebit(date(2026, 10, 27), -RENT, None, "AM04", "Y1")], 1)
    assert list(alone) == [date(2026, 10, 1)]
    assert dd.months_of([dd.BankDebit(date(2026, 11, 24), -RENT, None, "MD06", "Y2")], 1) \
        == {}


# --- retry after payday ------------------------------------------------------------------

@pytest.mark.parametrize("handled, payday, lead, expected", [
    (date(2026, 10, 5), 25, 1, date(2026, 10, 26)),   # the 25th is a Sunday
    (date(2026, 10, 26), 25, 1, date(2026, 11, 26)),  # payday passed: next month
    (date(2026, 10, 23), 23, 1, date(2026, 10, 26)),  # payday today: after it
    (date(2026, 12, 24), 24, 1, date(2026, 12, 28)),  # Christmas closing days
    (date(2026, 12, 24), 24, 3, date(2026, 12, 30)),  # a longer lead time wins
    (date(2027, 2, 3), 31, 1, date(2027, 3, 1)),      # 31 -> last day of February
])
def test_retry_date(handled, payday, lead, expected):
    assert dd.retry_date(handled, payday, lead) == expected


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2035, 12, 31)),
       st.integers(min_value=1, max_value=31), st.integers(min_value=1, max_value=5))
def test_retry_date_properties(handled, payday, lead):
    on = dd.retry_date(handled, payday, lead)
    pay = dd.next_payday(handled, payday)
    assert is_target2_day(on)
    assert on > pay >= handled
    assert on >= add_target2_days(handled, lead)
    # the first such day: the day before is not one (or is too early)
    before = on - timedelta(days=1)
    assert not (is_target2_day(before) and before > pay
                and before >= add_target2_days(handled, lead))


# --- the return reasons ------------------------------------------------------------------

REQUIRED = ("AC01", "AC04", "AC06", "AC13", "AG01", "AG02", "AM04", "AM05", "BE05", "CNOR",
            "DNOR", "FF01", "MD01", "MD02", "MD06", "MD07", "MS02", "MS03", "RC01", "RR01",
            "RR02", "RR03", "RR04", "SL01", "FOCR")


def test_reason_table_is_complete_and_bilingual():
    for code in REQUIRED:
        r = REASONS[code]
        assert r.nl and r.en and r.iso_name and r.action in ACTIONS
    assert meaning("AM04") == "AM04 onvoldoende saldo / insufficient funds"
    assert reason_for("am04").code == "AM04"
    unknown = reason_for("ZZ99")
    assert unknown.action == REVIEW and "ZZ99" in unknown.meaning


@pytest.mark.parametrize("code, action", [
    ("AM04", RETRY_AFTER_PAYDAY), ("MS03", RETRY_AFTER_PAYDAY), ("MD06", REOPEN),
    ("MS02", REOPEN), ("AC04", STOP_DIRECT_DEBIT), ("MD01", STOP_DIRECT_DEBIT),
    ("AC01", STOP_DIRECT_DEBIT), ("MD07", STOP_DIRECT_DEBIT), ("FF01", REVIEW),
    ("MD02", REVIEW),
])
def test_reason_actions(code, action):
    assert REASONS[code].action == action


def test_am04_retries_once():
    first = dd.decide_return(dd.ReturnFacts("AM04", attempt=1, status=dd.SETTLED,
                                            settled=True))
    assert first.plan_retry and first.status == dd.RETURNED and first.after_settlement
    second = dd.decide_return(dd.ReturnFacts("AM04", attempt=2, status=dd.EXPORTED))
    assert second.action == dd.NO_RETRY and not second.plan_retry
    again = dd.decide_return(dd.ReturnFacts("AM04", attempt=1, status=dd.EXPORTED,
                                            retry_exists=True))
    assert again.action == dd.NO_RETRY


def test_reject_before_settlement_versus_return_after():
    rejected = dd.decide_return(dd.ReturnFacts("AM04", 1, dd.EXPORTED, status_report=True))
    assert rejected.status == dd.REJECTED and not rejected.after_settlement
    returned = dd.decide_return(dd.ReturnFacts("AM04", 1, dd.EXPORTED, status_report=False))
    assert returned.status == dd.RETURNED
    # a refund is after settlement, whatever file tells it
    refund = dd.decide_return(dd.ReturnFacts("MD06", 1, dd.EXPORTED, status_report=True))
    assert refund.status == dd.REFUNDED and refund.after_settlement
    assert not (refund.plan_retry or refund.stop_direct_debit or refund.staff_task)


def test_stop_and_review():
    stop = dd.decide_return(dd.ReturnFacts("AC04", 1, dd.SETTLED, settled=True))
    assert stop.stop_direct_debit and stop.message_tenant and stop.staff_task
    deceased = dd.decide_return(dd.ReturnFacts("MD07", 1, dd.SETTLED, settled=True))
    assert deceased.stop_direct_debit and not deceased.message_tenant and deceased.staff_task
    review = dd.decide_return(dd.ReturnFacts("FF01", 1, dd.EXPORTED, status_report=True))
    assert review.staff_task and not review.stop_direct_debit


def test_the_same_return_twice_is_handled_once():
    told_again = dd.decide_return(dd.ReturnFacts("AM04", 1, dd.RETURNED,
                                                 previous_reason="AM04"))
    assert told_again.action == dd.ALREADY_HANDLED and told_again.status == dd.RETURNED
