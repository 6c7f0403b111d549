from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.flow import (
    Contact,
    FlowError,
    HouseholdSnapshot,
    OpenCase,
    TenancySnapshot,
    decide,
    load_flow,
)

FLOW_FILE = Path(__file__).resolve().parents[2] / "vroeg" / "flows" / "sociaal-incasseren.yaml"
FLOW = load_flow(yaml.safe_load(FLOW_FILE.read_text()), "sociaal-incasseren.yaml")
TODAY = date(2026, 11, 20)
EMAIL = Contact(preferred_channel="email", has_email=True, has_mobile=True)


def tenancy(days: int, arrears: str = "700", case: OpenCase | None = None, tid: int = 1,
            signals: frozenset[str] = frozenset(), balance: str | None = None) -> TenancySnapshot:
    a = Decimal(arrears)
    return TenancySnapshot(
        tenancy_id=tid, monthly_rent=Decimal("700"), balance=Decimal(balance or arrears),
        arrears=a, oldest_due_on=TODAY - timedelta(days=days) if days else None,
        days_overdue=days, months_owed=a / 700, signals=signals, open_case=case)


def household(*ts: TenancySnapshot, contact: Contact = EMAIL, **kw) -> HouseholdSnapshot:
    return HouseholdSnapshot(household_id=1, contact=contact, tenancies=ts, **kw)


def test_opens_a_case_the_day_after_due_but_waits_with_the_first_message():
    d = decide(FLOW, household(tenancy(2)), TODAY)
    assert d.open_cases == (1,) and d.steps == ()


def test_friendly_reminder_by_preferred_channel():
    d = decide(FLOW, household(tenancy(5)), TODAY)
    (s,) = d.steps
    assert s.step.id == "reminder_friendly" and s.channel == "email" and s.case_id is None


def test_steps_in_order_with_spacing():
    case = OpenCase(9, {"reminder_friendly": TODAY - timedelta(days=3)})
    assert decide(FLOW, household(tenancy(14, case=case)), TODAY).steps == ()
    case = OpenCase(9, {"reminder_friendly": TODAY - timedelta(days=7)})
    (s,) = decide(FLOW, household(tenancy(14, case=case)), TODAY).steps
    assert s.step.id == "reminder_second" and s.case_id == 9


def test_call_comes_sooner_after_a_reversal():
    case = OpenCase(9, {"reminder_friendly": TODAY - timedelta(days=10),
                        "reminder_second": TODAY - timedelta(days=6)})
    plain = decide(FLOW, household(tenancy(13, case=case)), TODAY)
    assert plain.steps == ()
    reversed_ = decide(FLOW, household(tenancy(13, case=case,
                                               signals=frozenset({"dd_reversal"}))), TODAY)
    assert [s.step.id for s in reversed_.steps] == ["call"]
    assert "dd_reversal" in reversed_.steps[0].reason


def test_written_reminder_is_a_letter_even_for_email_people():
    taken = {"reminder_friendly": TODAY - timedelta(days=25),
             "reminder_second": TODAY - timedelta(days=18), "call": TODAY - timedelta(days=10)}
    (s,) = decide(FLOW, household(tenancy(30, case=OpenCase(9, taken))), TODAY).steps
    assert s.step.id == "written_reminder" and s.channel == "letter"
    assert "signal_offer" in s.step.records


def test_case_closes_on_total_balance_only():
    case = OpenCase(9, {})
    d = decide(FLOW, household(tenancy(0, arrears="0", balance="0", case=case)), TODAY)
    assert d.close_cases == ((9, "saldo voldaan / balance settled"),)
    # Arrears gone but a not-yet-due charge still open: balance > 0, the case stays.
    d = decide(FLOW, household(tenancy(0, arrears="0", balance="700", case=case)), TODAY)
    assert d.close_cases == ()


def test_minimum_amount_and_pause():
    assert decide(FLOW, household(tenancy(20, arrears="5")), TODAY).open_cases == ()
    d = decide(FLOW, household(tenancy(20), paused_reason="schuldhulp"), TODAY)
    assert d.steps == () and d.open_cases == (1,) and "schuldhulp" in d.notes[0]


def test_one_message_per_household_per_day_highest_step_wins():
    a = tenancy(5, tid=1)
    taken = {"reminder_friendly": TODAY - timedelta(days=8)}
    b = tenancy(13, tid=2, case=OpenCase(7, taken))
    d = decide(FLOW, household(a, b), TODAY)
    assert [(s.tenancy_id, s.step.id) for s in d.steps] == [(2, "reminder_second")]
    again = decide(FLOW, household(a, b, messaged_on=frozenset({TODAY})), TODAY)
    assert again.steps == ()


def test_letter_only_and_no_channel():
    letter = Contact(letter_only=True, has_email=True)
    (s,) = decide(FLOW, household(tenancy(5), contact=letter), TODAY).steps
    assert s.channel == "letter"
    nothing = Contact(has_postal=False)
    (s,) = decide(FLOW, household(tenancy(5), contact=nothing), TODAY).steps
    assert s.step.action == "task" and s.step.task_kind == "no_channel"


@pytest.mark.parametrize("broken, message", [
    ({"name": "x", "version": 1}, "'steps'"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "fly", "when": {}}]}, "action"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "task",
                                             "when": {"days": 3}, "task": {"kind": "call"}}]},
     "unknown trigger"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "message", "template": "t",
                                             "channels": ["fax"], "when": {}}]}, "fax"),
])
def test_bad_flows_name_the_element(broken, message):
    with pytest.raises(FlowError, match=message) as exc:
        load_flow(broken, "mine.yaml")
    assert "mine.yaml" in str(exc.value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 90), st.integers(0, 3000)), min_size=1, max_size=4),
       st.booleans())
def test_never_more_than_one_message_per_household_per_day(rows, messaged):
    ts = tuple(tenancy(days, str(arrears), tid=i) for i, (days, arrears) in enumerate(rows))
    d = decide(FLOW, household(*ts, messaged_on=frozenset({TODAY}) if messaged else frozenset()),
               TODAY)
    messages = [s for s in d.steps if s.step.action == "message"]
    assert len(messages) <= (0 if messaged else 1)
    assert all(s.tenancy_id in {t.tenancy_id for t in ts} for s in d.steps)


@pytest.mark.parametrize("patch, message", [
    ({"min_arrears": "ten euro"}, "min_arrears"),
    ({"steps": [{"id": "a", "action": "task", "task": {"kind": "call"},
                 "when": {"days_overdue_at_least": -5}}]}, "negatief"),
])
def test_bad_values_are_flow_errors(patch, message):
    data = {"name": "x", "version": 1, "steps": [
        {"id": "a", "action": "task", "task": {"kind": "call"}, "when": {}}]} | patch
    with pytest.raises(FlowError, match=message):
        load_flow(data, "mine.yaml")
