"""The pure decision: segments, ladders, reactions, guards and the legal gates."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain import case_state as cs
from vroeg.domain.flow import (
    SKIP,
    Contact,
    FlowError,
    HouseholdSnapshot,
    OpenCase,
    Pause,
    TenancySnapshot,
    decide,
    load_flow,
)
from vroeg.domain.flow.show import markdown, mermaid, state_diagram, text
from vroeg.domain.legal.wgs import Proof, SignalEvidence

FLOW_FILE = Path(__file__).resolve().parents[2] / "vroeg" / "flows" / "sociaal-incasseren.yaml"
FLOW = load_flow(yaml.safe_load(FLOW_FILE.read_text()), "sociaal-incasseren.yaml")
TODAY = date(2026, 11, 20)
EMAIL = Contact(preferred_channel="email", has_email=True, has_mobile=True)
RENT = Decimal("700")


def tenancy(days: int, arrears: str = "700", case: OpenCase | None = None, tid: int = 1,
            signals: frozenset[str] = frozenset(), balance: str | None = None,
            **kw) -> TenancySnapshot:
    a = Decimal(arrears)
    kw.setdefault("start_on", date(2015, 1, 1))
    kw.setdefault("prior_cases_12m", 1)  # "standard" segment unless a test says otherwise
    return TenancySnapshot(
        tenancy_id=tid, monthly_rent=RENT, balance=Decimal(balance or arrears),
        arrears=a, oldest_due_on=TODAY - timedelta(days=days) if days else None,
        days_overdue=days, months_owed=(a / RENT).quantize(Decimal("0.01")), signals=signals,
        open_case=case, **kw)


def household(*ts: TenancySnapshot, contact: Contact = EMAIL, **kw) -> HouseholdSnapshot:
    return HouseholdSnapshot(household_id=1, contact=contact, tenancies=ts, **kw)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def case(steps: dict[str, int], **kw) -> OpenCase:
    return OpenCase(9, {s: ago(d) for s, d in steps.items()}, **kw)


def ids(d) -> list[str]:
    return [s.step.id for s in d.steps]


FULL = SignalEvidence(
    contact_attempt=Proof(ago(20), "call 2026-10-31: no answer"),
    debt_help_referral=Proof(ago(16), "letter: Geldzaken Utrecht 030-1234567"),
    written_reminder=Proof(ago(16), "message:12 letter"),
    objection_offer=Proof(ago(16), "message:12 offer, objection until ..."))
BEFORE_SIGNAL = {"reminder_friendly": 40, "call": 33, "reminder_second": 27,
                 "arrangement_offer": 22, "written_reminder": 16, "call_second_month": 10}
BEFORE_CALL = {"reminder_friendly": 14, "reminder_second": 7, "arrangement_offer": 5}


# --- the ladder ------------------------------------------------------------------------------

def test_opens_a_case_the_day_after_due_but_waits_with_the_first_message():
    d = decide(FLOW, household(tenancy(2)), TODAY)
    assert d.open_cases == (1,) and d.steps == ()


def test_friendly_reminder_by_preferred_channel_with_fallbacks():
    (s,) = decide(FLOW, household(tenancy(5)), TODAY).steps
    assert s.step.id == "reminder_friendly" and s.channel == "email" and s.case_id is None
    assert s.fallbacks == ("sms", "letter")
    sms = Contact(preferred_channel="sms", has_email=True, has_mobile=True)
    (s,) = decide(FLOW, household(tenancy(5), contact=sms), TODAY).steps
    assert (s.channel, s.fallbacks) == ("sms", ("email", "letter"))


def test_steps_in_order_with_spacing():
    assert decide(FLOW, household(tenancy(20, case=case({"reminder_friendly": 3}))),
                  TODAY).steps == ()
    d = decide(FLOW, household(tenancy(20, case=case({"reminder_friendly": 7}))), TODAY)
    assert ids(d) == ["reminder_second"]
    # The call comes after the arrangement offer (its link may settle it first).
    d = decide(FLOW, household(tenancy(20, case=case(BEFORE_CALL))), TODAY)
    assert ids(d) == ["call"] and d.steps[0].step.action == "task"


def test_late_for_the_first_time_a_person_calls_after_the_first_reminder():
    first = tenancy(12, case=case({"reminder_friendly": 5}), prior_cases_12m=0)
    d = decide(FLOW, household(first), TODAY)
    assert ids(d) == ["call_early"] and d.steps[0].step.task_kind == "call"
    assert d.segments == ((1, "first_time"),)
    # Someone late before (standard segment): the second reminder, no early call.
    d = decide(FLOW, household(replace(first, prior_cases_12m=1)), TODAY)
    assert ids(d) == ["reminder_second"]
    # Not before the income is in: payday the 25th, two days after it.
    d = decide(FLOW, household(replace(first, payday=25)), TODAY)
    assert d.steps == ()


def test_a_missed_instalment_holds_the_ladder_until_the_second_miss():
    """Rule 14: after one missed instalment only the contact (the reaction), no ladder
    step (before, the ladder's call came on top of the arrangement call); the ladder
    comes back once the second miss has ended the arrangement."""
    taken = {"reminder_friendly": 30, "call_early": 25, "reminder_second": 10}
    missed = tenancy(40, case=case(taken), arrangement="broken", prior_cases_12m=0,
                     events=(("broken_arrangement", "arr3:2"),))
    d = decide(FLOW, household(missed), TODAY)
    assert [(s.step.id, s.step.task_kind) for s in d.steps] == [
        ("arrangement_missed", "arrangement_call")]
    assert any("regel 14" in n for n in d.notes)
    d = decide(FLOW, household(replace(missed, events=())), TODAY)
    assert d.steps == ()  # days later: still no ladder step
    # The arrangement ended (second miss): the ladder goes on where it was.
    d = decide(FLOW, household(replace(missed, arrangement=None, events=())), TODAY)
    assert ids(d) == ["arrangement_offer"]
    # The missed one was the last instalment (no second miss can come): held the same,
    # the call only, no ladder step on top of it (its call came twice; a letter would
    # have gone out before the contact rule 14 wants).
    ran_out = replace(missed, arrangement="ran_out", events=(("broken_arrangement", "arr3:4"),))
    d = decide(FLOW, household(ran_out), TODAY)
    assert ids(d) == ["arrangement_missed"]
    assert decide(FLOW, household(replace(ran_out, events=())), TODAY).steps == ()
    # Its contact time over, it ends with a new 14-day letter (the reaction), not the
    # ladder's next step: never on to a bailiff on the old letter.
    ended = replace(ran_out, arrangement="broken",
                    events=(("broken_arrangement_again", "arr3:end"),))
    d = decide(FLOW, household(ended), TODAY)
    assert [(s.step.id, s.step.action) for s in d.steps] == [
        ("arrangement_broken_letter", "fourteen_day_letter")]


def test_the_ladder_keeps_its_distance_from_a_reaction():
    """After the rule-14 letter (a reaction) the ladder's next step waits
    min_days_between_steps like after any step: no reminder the next day."""
    taken = {"reminder_friendly": 40, "call_early": 35}
    after_letter = case(taken, last_reaction_on=ago(1),
                        reactions_done=frozenset({"arrangement_broken_letter:arr3:3"}))
    d = decide(FLOW, household(tenancy(45, case=after_letter, prior_cases_12m=0)), TODAY)
    assert d.steps == ()
    later = replace(after_letter, last_reaction_on=ago(FLOW.min_days_between_steps))
    d = decide(FLOW, household(tenancy(45, case=later, prior_cases_12m=0)), TODAY)
    assert ids(d) == ["reminder_second"]


def test_an_arrangement_kept_with_older_arrears_left_skips_the_offer():
    taken = {"reminder_friendly": 30, "call_early": 25, "reminder_second": 10}
    d = decide(FLOW, household(tenancy(40, case=case(taken), arrangement="completed",
                                       prior_cases_12m=0)), TODAY)
    skipped = [s for s in d.steps if s.kind == SKIP]
    assert [s.step.id for s in skipped] == ["arrangement_offer"]
    assert "already has an arrangement" in skipped[0].reason
    assert "call" in ids(d)  # the ladder goes on


def test_segments_first_match_wins():
    def segment(**kw) -> str:
        t = tenancy(5, **{k: v for k, v in kw.items() if k != "hh"})
        return dict(decide(FLOW, household(t, **kw.get("hh", {})), TODAY).segments)[1]

    assert segment() == "standard"
    assert segment(prior_cases_12m=0) == "first_time"
    assert segment(signals=frozenset({"late_repeatedly"})) == "frequently_late"
    assert segment(start_on=ago(100)) == "new_tenancy"
    assert segment(start_on=ago(100), signals=frozenset({"dd_reversal"})) == "dd_reversal"
    assert segment(signals=frozenset({"dd_reversal"}), hh={"vulnerable": True}) == "vulnerable"
    assert segment(pause=Pause("Schuldhulp Utrecht", "debt_help"),
                   hh={"vulnerable": True}) == "debt_help"


def test_vulnerable_household_gets_a_visit_instead_of_a_call():
    d = decide(FLOW, household(tenancy(12, case=case({"reminder_friendly": 7})),
                               vulnerable=True), TODAY)
    (s,) = d.steps
    assert s.step.id == "visit" and s.step.task_team == "wijkconsulent"


def test_call_comes_sooner_after_a_reversal():
    c = case({"reminder_friendly": 7})
    assert "call" not in ids(decide(FLOW, household(tenancy(13, case=c)), TODAY))
    d = decide(FLOW, household(tenancy(13, case=c, signals=frozenset({"dd_reversal"}))), TODAY)
    assert ids(d) == ["call"] and "dd_reversal" in d.steps[0].reason


def test_written_reminder_is_a_letter_even_for_email_people():
    taken = {"reminder_friendly": 25, "call": 18, "reminder_second": 12,
             "arrangement_offer": 7}
    (s,) = decide(FLOW, household(tenancy(30, case=case(taken))), TODAY).steps
    assert s.step.id == "written_reminder" and s.channel == "letter"
    assert set(s.step.records) == {"written_reminder", "objection_offer", "debt_help_referral"}
    assert s.step.case_event == cs.WRITTEN_REMINDER_SENT


def test_case_closes_on_total_balance_only():
    c = OpenCase(9, {})
    d = decide(FLOW, household(tenancy(0, arrears="0", balance="0", case=c)), TODAY)
    assert d.close_cases == ((9, "saldo voldaan / balance settled"),)
    # Arrears gone but a not-yet-due charge still open: balance > 0, the case stays.
    d = decide(FLOW, household(tenancy(0, arrears="0", balance="700", case=c)), TODAY)
    assert d.close_cases == ()


# --- guards ----------------------------------------------------------------------------------

def test_minimum_amount_and_pause():
    assert decide(FLOW, household(tenancy(20, arrears="5")), TODAY).open_cases == ()
    d = decide(FLOW, household(tenancy(20), pause=Pause("schuldhulp", "debt_help")), TODAY)
    assert d.steps == () and d.open_cases == (1,) and "schuldhulp" in d.notes[0]
    d = decide(FLOW, household(tenancy(20, pause=Pause("geschil", "dispute", ago(-3)))), TODAY)
    assert d.steps == () and "geschil" in d.notes[0]


def test_one_message_per_household_per_day_highest_step_wins():
    a = tenancy(5, tid=1)
    b = tenancy(13, tid=2, case=OpenCase(7, {"reminder_friendly": ago(8), "call": ago(6)}))
    d = decide(FLOW, household(a, b), TODAY)
    assert [(s.tenancy_id, s.step.id) for s in d.steps] == [(2, "reminder_second")]
    again = decide(FLOW, household(a, b, messaged_on=frozenset({TODAY})), TODAY)
    assert again.steps == ()


def test_at_most_two_messages_a_week():
    d = decide(FLOW, household(tenancy(5), messages_last_7_days=2), TODAY)
    assert d.steps == () and any("deze week" in n for n in d.notes)
    assert decide(FLOW, household(tenancy(5), messages_last_7_days=1), TODAY).steps


def test_tasks_are_not_communications_and_are_not_capped():
    c = case(BEFORE_CALL)
    d = decide(FLOW, household(tenancy(20, case=c), messages_last_7_days=5,
                               messaged_on=frozenset({TODAY})), TODAY)
    assert ids(d) == ["call"]


def test_letter_only_and_no_channel():
    letter = Contact(letter_only=True, has_email=True)
    (s,) = decide(FLOW, household(tenancy(5), contact=letter), TODAY).steps
    assert s.channel == "letter" and s.fallbacks == ()
    nothing = Contact(has_postal=False)
    (s,) = decide(FLOW, household(tenancy(5), contact=nothing), TODAY).steps
    assert s.step.action == "task" and s.step.task_kind == "no_channel"


def test_arrangement_on_track_holds_the_ladder_and_proposal_stops_it():
    d = decide(FLOW, household(tenancy(40, arrangement="on_track")), TODAY)
    assert d.steps == () and "arrangement" in d.notes[0]
    c = case({"reminder_friendly": 90}, state=cs.HANDOVER_PROPOSED)
    d = decide(FLOW, household(tenancy(100, "1500", case=c)), TODAY)
    assert d.steps == () and "hand-over" in d.notes[0]


# --- the municipal signal (Wgs gate) --------------------------------------------------------

def test_a_person_calls_again_when_the_second_month_comes_due_in_every_segment():
    """A case still open when the next month's rent is due: a second call, before the
    municipal signal and the 14-day letter, whatever the segment (calling everyone kept
    year-end arrears lower without it: docs/simulate.md)."""
    for seg in FLOW.segments:
        if not seg.ladder:
            continue  # debt help: no ladder at all
        assert "call_second_month" in seg.ladder, seg.id
        ladder = list(seg.ladder)
        assert ladder.index("written_reminder") < ladder.index("call_second_month") \
            < ladder.index("municipal_signal"), seg.id
    before = {k: v for k, v in BEFORE_SIGNAL.items() if k != "call_second_month"}
    c = case({k: v - 9 for k, v in before.items()}, evidence=FULL)  # written reminder 7 ago
    assert decide(FLOW, household(tenancy(30, case=c)), TODAY).steps == ()
    (s,) = decide(FLOW, household(tenancy(31, case=c)), TODAY).steps
    assert (s.step.id, s.step.task_kind) == ("call_second_month", "call")


def test_a_step_added_by_a_new_flow_version_does_not_hold_open_cases():
    """Cases past the written reminder when version 5 came in: no second-month call
    for them, and their next step comes on its day."""
    past_signal = case({**{k: v for k, v in BEFORE_SIGNAL.items() if k != "call_second_month"},
                        "municipal_signal": 6}, evidence=FULL, signal_sent_on=ago(6),
                       segment="standard")
    (s,) = decide(FLOW, household(tenancy(50, "1000", case=past_signal)), TODAY).steps
    assert s.step.id == "fourteen_day_letter"
    # A case that now needs care takes its new ladder's earlier steps all the same.
    d = decide(FLOW, household(tenancy(50, "1000", case=past_signal), vulnerable=True), TODAY)
    assert ids(d) == ["visit"]


def test_signal_waits_until_every_precondition_is_on_record():
    no_call = SignalEvidence(**{**FULL.__dict__, "contact_attempt": None})
    c = case(BEFORE_SIGNAL, evidence=no_call)
    d = decide(FLOW, household(tenancy(44, case=c)), TODAY)
    assert d.steps == () and any("municipal_signal wacht" in n and "contact" in n
                                 for n in d.notes)
    d = decide(FLOW, household(tenancy(44, case=case(BEFORE_SIGNAL, evidence=FULL))), TODAY)
    (s,) = d.steps
    assert s.step.action == "municipal_signal" and s.gate and s.kind != SKIP


def test_objection_skips_the_signal_and_the_ladder_goes_on():
    objected = SignalEvidence(**{**FULL.__dict__, "objected_on": ago(10),
                                 "objection_note": "belde 10-11"})
    c = case(BEFORE_SIGNAL, evidence=objected)
    d = decide(FLOW, household(tenancy(46, case=c)), TODAY)
    kinds = [(s.step.id, s.kind) for s in d.steps]
    assert kinds[0] == ("municipal_signal", SKIP)
    assert ("fourteen_day_letter", "take") in kinds


def test_no_agreement_with_the_municipality_skips_the_signal():
    c = case(BEFORE_SIGNAL, evidence=FULL)
    d = decide(FLOW, household(tenancy(44, case=c), municipality_has_agreement=False), TODAY)
    assert [(s.step.id, s.kind) for s in d.steps] == [("municipal_signal", SKIP)]


# --- the 14-day letter and the hand-over gate -----------------------------------------------

AFTER_SIGNAL = {**BEFORE_SIGNAL, "municipal_signal": 70, "fourteen_day_letter": 40,
                "call_before_handover": 30}


def test_fourteen_day_letter_goes_by_post():
    c = case({**BEFORE_SIGNAL, "municipal_signal": 6}, evidence=FULL, signal_sent_on=ago(6))
    (s,) = decide(FLOW, household(tenancy(50, "1000", case=c)), TODAY).steps
    assert s.step.id == "fourteen_day_letter" and s.channel == "letter"
    assert s.step.case_event == cs.FOURTEEN_DAY_LETTER_SENT


def test_handover_is_proposed_only_through_the_whole_gate():
    ready = case(AFTER_SIGNAL, evidence=FULL, signal_sent_on=ago(70),
                 fourteen_day_letter_on=ago(40), state=cs.FORMAL_NOTICE)
    (s,) = decide(FLOW, household(tenancy(110, "1500", case=ready)), TODAY).steps
    assert s.step.action == "handover_proposal"
    assert any("veertiendagenbrief" in g.lower() for g in s.gate)
    # Too little arrears (under 2 months): the step's own trigger waits.
    assert decide(FLOW, household(tenancy(110, "1300", case=ready)), TODAY).steps == ()
    # Too soon after the signal, no 14-day letter: the gate holds it, and says why.
    for changed in ({"case": case(AFTER_SIGNAL, evidence=FULL, signal_sent_on=ago(40),
                                  fourteen_day_letter_on=ago(40))},
                    {"case": case(AFTER_SIGNAL, evidence=FULL, signal_sent_on=ago(70))}):
        kw = {"arrears": "1500", "case": ready, **changed}
        d = decide(FLOW, household(tenancy(110, kw.pop("arrears"), **kw)), TODAY)
        assert d.steps == () and any("handover_proposal wacht" in n for n in d.notes)


# --- reactions ------------------------------------------------------------------------------

def test_broken_arrangement_reactions_follow_rule_14():
    c = case({"reminder_friendly": 60}, state=cs.ARRANGEMENT)
    first = tenancy(60, case=c, arrangement="broken",
                    events=(("broken_arrangement", "arr3:2"),))
    d = decide(FLOW, household(first), TODAY)
    (s,) = [x for x in d.steps if x.reaction_key]
    assert s.step.task_kind == "arrangement_call" and s.reaction_key == "arrangement_missed:arr3:2"
    done = case({"reminder_friendly": 60}, state=cs.ARRANGEMENT,
                reactions_done=frozenset({"arrangement_missed:arr3:2"}))
    d = decide(FLOW, household(tenancy(60, case=done, arrangement="broken",
                                       events=(("broken_arrangement", "arr3:2"),))), TODAY)
    assert not [x for x in d.steps if x.reaction_key]
    second = tenancy(70, case=c, arrangement="broken",
                     events=(("broken_arrangement_again", "arr3:3"),))
    (s,) = [x for x in decide(FLOW, household(second), TODAY).steps if x.reaction_key]
    assert s.step.action == "fourteen_day_letter" and s.channel == "letter"


def test_a_reaction_waits_for_its_own_when():
    """A reaction's `when` holds it back until it is true (within the event's days)."""
    raw = yaml.safe_load(FLOW_FILE.read_text())
    raw["reactions"].append({
        "id": "deep_reversal_call", "reacts_to": "dd_reversal", "action": "task",
        "task": {"kind": "call"}, "when": {"months_owed_at_least": "1.5"}})
    flow = load_flow(raw, "x.yaml")
    c = case({"reminder_friendly": 30})
    event = (("dd_reversal", "NL01-2026-11"),)
    d = decide(flow, household(tenancy(35, "700", case=c, events=event)), TODAY)
    assert "deep_reversal_call" not in [s.step.id for s in d.steps]
    assert any(n.startswith("deep_reversal_call wacht") and "1.5+" in n for n in d.notes)
    d = decide(flow, household(tenancy(35, "1100", case=c, events=event)), TODAY)
    (s,) = [x for x in d.steps if x.reaction_key]
    assert s.reaction_key == "deep_reversal_call:NL01-2026-11"
    shown = markdown(flow)
    assert "dd_reversal, als / if 1.5+ maanden huur / months of rent owed" in shown
    assert "| current_rent_unpaid |" in shown  # no `when`: the event alone


def test_debt_help_pause_still_checks_current_rent():
    t = tenancy(40, case=case({"reminder_friendly": 30}),
                events=(("current_rent_unpaid", "2026-10"),))
    in_debt_help = Pause("Schuldhulp", "debt_help", since=date(2026, 9, 15))
    d = decide(FLOW, household(t, pause=in_debt_help), TODAY)
    assert [(s.step.id, s.step.task_kind) for s in d.steps] == [
        ("debt_help_rent_missed", "debt_help_check")]
    # A month already owed when debt help began is part of the debt, not a breach.
    early = replace(in_debt_help, since=date(2026, 10, 20))
    assert decide(FLOW, household(t, pause=early), TODAY).steps == ()
    # A dispute or a manual pause is no debt help: no check.
    for kind in ("dispute", "manual"):
        other = Pause("pauze", kind, until=TODAY + timedelta(days=9))
        assert decide(FLOW, household(t, pause=other), TODAY).steps == ()


# --- loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("broken, message", [
    ({"name": "x", "version": 1}, "'steps'"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "fly", "when": {}}]}, "action"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "task",
                                             "when": {"days": 3}, "task": {"kind": "call"}}]},
     "unknown key days"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "message", "template": "t",
                                             "channels": ["fax"], "when": {}}]}, "fax"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "fourteen_day_letter",
                                             "template": "t", "channels": ["email"],
                                             "when": {}}]}, "per post"),
    ({"name": "x", "version": 1, "steps": [{"id": "A-1", "action": "task",
                                             "task": {"kind": "call"}, "when": {}}]}, "id"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "task",
                                             "task": {"kind": "call"}, "when": {}}],
      "segments": [{"id": "s", "ladder": ["b"]}]}, "unknown step 'b'"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "task",
                                             "task": {"kind": "call"}, "when": {}}],
      "segments": [{"id": "s", "when": {"vulnerable": True}, "ladder": ["a"]}]},
     "catch everyone"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "task",
                                             "task": {"kind": "call"}, "when": {}}],
      "reactions": [{"id": "r", "action": "task", "task": {"kind": "call"}}]}, "reacts_to"),
    ({"name": "x", "version": 1, "steps": [{"id": "a", "action": "task",
                                             "task": {"kind": "call"},
                                             "when": {"after_step": {"id": "zz"}}}]}, "zz"),
    ({"name": "x", "version": 1, "guards": {"contact_hours": {"from": "21:00",
                                                              "until": "08:00"}},
      "steps": [{"id": "a", "action": "task", "task": {"kind": "call"}, "when": {}}]}, "before"),
])
def test_bad_flows_name_the_element(broken, message):
    with pytest.raises(FlowError, match=message) as exc:
        load_flow(broken, "mine.yaml")
    assert "mine.yaml" in str(exc.value)


def test_yaml_on_as_a_key_gets_a_hint():
    data = yaml.safe_load("name: x\nversion: 1\nsteps:\n  - {id: a, action: task, "
                          "task: {kind: call}, when: {}}\nreactions:\n  - {id: r, on: x, "
                          "action: task, task: {kind: call}}\n")
    with pytest.raises(FlowError, match="reacts_to"):
        load_flow(data, "mine.yaml")


@pytest.mark.parametrize("patch, message", [
    ({"min_arrears": "ten euro"}, "min_arrears"),
    ({"guards": {"max_messages_per_week": 0}}, "max_messages_per_week"),
    ({"steps": [{"id": "a", "action": "task", "task": {"kind": "call"},
                 "when": {"days_overdue_at_least": -5}}]}, "negatief"),
])
def test_bad_values_are_flow_errors(patch, message):
    data = {"name": "x", "version": 1, "steps": [
        {"id": "a", "action": "task", "task": {"kind": "call"}, "when": {}}]} | patch
    with pytest.raises(FlowError, match=message):
        load_flow(data, "mine.yaml")


def test_a_version_1_file_is_one_segment():
    data = {"name": "x", "version": 1, "min_arrears": "5", "steps": [
        {"id": "a", "action": "task", "task": {"kind": "call"},
         "when": {"days_overdue_at_least": 3}}]}
    flow = load_flow(data, "old.yaml")
    assert [s.id for s in flow.segments] == ["alle"] and flow.min_arrears == Decimal("5")


def test_show_renders_every_step_and_segment():
    md = markdown(FLOW)
    for step_id in FLOW.steps:
        assert f"**{step_id}**" in md
    for seg in FLOW.segments:
        assert f"**{seg.id}**" in md and f"subgraph {seg.id}" in mermaid(FLOW)
    assert "```mermaid" in md and "reacts" not in md
    assert "handover_proposal" in text(FLOW)
    diagram = state_diagram()
    assert "formal_notice --> handover_proposed" in diagram
    assert "handover_proposed --> handed_over" in diagram


# --- properties ---------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 4000)), min_size=1, max_size=4),
       st.booleans(), st.integers(0, 3))
def test_never_more_than_one_message_per_household_per_day(rows, messaged, week):
    ts = tuple(tenancy(days, str(arrears), tid=i) for i, (days, arrears) in enumerate(rows))
    d = decide(FLOW, household(*ts, messaged_on=frozenset({TODAY}) if messaged else frozenset(),
                               messages_last_7_days=week), TODAY)
    messages = [s for s in d.steps if s.step.is_communication]
    assert len(messages) <= (0 if messaged or week >= 2 else 1)
    assert all(s.tenancy_id in {t.tenancy_id for t in ts} for s in d.steps)


_proofs = st.one_of(st.none(), st.builds(Proof, st.dates(ago(400), TODAY + timedelta(days=5)),
                                         st.sampled_from(["", "bewijs / proof"])))


@settings(max_examples=400, deadline=None)
@given(_proofs, _proofs, _proofs, _proofs, st.one_of(st.none(), st.dates(ago(400), TODAY)),
       st.integers(0, 200), st.booleans())
def test_never_a_signal_when_objected_or_a_precondition_is_missing(a, b, c, d_, objected,
                                                                   days, agreement):
    ev = SignalEvidence(a, b, c, d_, objected_on=objected)
    t = tenancy(days, "900", case=case(BEFORE_SIGNAL, evidence=ev))
    d = decide(FLOW, household(t, municipality_has_agreement=agreement), TODAY)
    signalled = [s for s in d.steps if s.step.action == "municipal_signal" and s.kind != SKIP]
    complete = all(p is not None and p.on <= TODAY and p.note for p in (a, b, c, d_))
    if signalled:
        assert complete and objected is None and agreement


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 4000), st.one_of(st.none(), st.dates(ago(200), TODAY)),
       st.one_of(st.none(), st.dates(ago(200), TODAY)), st.sampled_from([None, "debt_help",
                                                                         "moratorium"]),
       st.booleans())
def test_never_a_handover_without_every_gate(arrears, signal_on, letter_on, pause_kind, full):
    ev = FULL if full else SignalEvidence(**{**FULL.__dict__, "written_reminder": None})
    c = case(AFTER_SIGNAL, evidence=ev, signal_sent_on=signal_on,
             fourteen_day_letter_on=letter_on, state=cs.FORMAL_NOTICE)
    pause = Pause("x", pause_kind) if pause_kind else None
    d = decide(FLOW, household(tenancy(120, str(arrears), case=c, pause=pause)), TODAY)
    proposals = [s for s in d.steps if s.step.action == "handover_proposal"]
    if proposals:
        assert arrears >= 1400 and full and pause is None
        assert signal_on is not None and signal_on <= TODAY - timedelta(days=59)
        assert letter_on is not None and letter_on <= TODAY - timedelta(days=17)


def test_a_case_keeps_its_segment_unless_the_household_needs_care():
    c = case({"reminder_friendly": 30, "reminder_second": 23}, segment="first_time")
    late = tenancy(40, case=c, signals=frozenset({"late_repeatedly"}))
    assert dict(decide(FLOW, household(late), TODAY).segments)[1] == "first_time"
    assert dict(decide(FLOW, household(late, vulnerable=True), TODAY).segments)[1] == \
        "vulnerable"


_events = st.lists(st.tuples(st.sampled_from(["broken_arrangement", "broken_arrangement_again",
                                              "benefit_stopped", "missed_month",
                                              "dd_reversal"]),
                             st.sampled_from(["arr1:1", "arr1:2", "2026-10", "2026-11-02"])),
                   max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 3000), _events),
                min_size=1, max_size=3),
       st.sets(st.sampled_from(["arrangement_missed:arr1:1", "benefit_stopped_call:2026-10"])))
def test_never_two_steps_with_one_idempotency_key(rows, done):
    ts = tuple(tenancy(days, str(a), tid=i, events=tuple(ev),
                       case=case({"reminder_friendly": 6}, reactions_done=frozenset(done)))
               for i, (days, a, ev) in enumerate(rows))
    d = decide(FLOW, household(*ts), TODAY)
    keys = [(s.tenancy_id, s.reaction_key or s.step.id) for s in d.steps]
    assert len(keys) == len(set(keys))  # the shell's msg:/task: keys are built from these
    assert not {k for _, k in keys} & done  # a reaction already done is never repeated


def test_the_call_waits_for_the_households_payday():
    # 19 days overdue on 2026-11-20: the oldest due date is 2026-11-01. Income on the
    # 24th: no call before the 26th (after_payday_days: 2); the reminder is not held up.
    waits = decide(FLOW, household(tenancy(19, payday=24, case=case(BEFORE_CALL))), TODAY)
    assert "call" not in ids(waits)
    t = tenancy(19, payday=24, case=case(BEFORE_CALL))
    assert "call" not in ids(decide(FLOW, household(replace(t, days_overdue=24)),
                                    TODAY + timedelta(days=5)))
    assert "call" in ids(decide(FLOW, household(replace(t, days_overdue=25)),
                                TODAY + timedelta(days=6)))
    # Paid on the 3rd (income early in the month), or no payday known: call on day 19.
    for payday in (3, None):
        d = decide(FLOW, household(tenancy(19, payday=payday, case=case(BEFORE_CALL))),
                   TODAY)
        assert "call" in ids(d)


def test_a_payment_waiting_in_the_unmatched_queue_holds_the_next_step():
    t = tenancy(20, case=case(BEFORE_CALL))
    waits = decide(FLOW, household(replace(t, unmatched_payment_on=ago(3))), TODAY)
    assert waits.steps == () and "wacht op koppeling" in waits.notes[-1]
    # Not for ever: after 10 days without a match the ladder goes on.
    assert ids(decide(FLOW, household(replace(t, unmatched_payment_on=ago(10))), TODAY)) \
        == ["call"]


def test_no_new_steps_when_the_bank_statements_are_behind():
    from vroeg.domain.flow import bank_hold, held

    friday = date(2026, 11, 20)
    assert bank_hold(None, friday, FLOW) is None  # nothing imported yet
    assert bank_hold(date(2026, 11, 19), friday, FLOW) is None
    assert bank_hold(date(2026, 11, 17), friday, FLOW) is None  # Wed, Thu missing
    why = bank_hold(date(2026, 11, 16), friday, FLOW)  # Tue, Wed, Thu missing
    assert why is not None and "2026-11-16" in why and "3 werkdagen" in why
    # A weekend is not missing: Friday's statement on Monday 23rd, Tuesday 24th.
    assert bank_hold(friday, date(2026, 11, 24), FLOW) is None
    d = decide(FLOW, household(tenancy(5), tenancy(0, arrears="0", balance="0", tid=2,
                                                    case=OpenCase(4, {}))), TODAY)
    h = held(d, why)
    assert h.steps == () and h.open_cases == () and h.close_cases == d.close_cases != ()


def test_a_small_unmatched_payment_does_not_hold_large_arrears():
    t = tenancy(20, arrears="1400", case=case(BEFORE_CALL), unmatched_payment_on=ago(2))
    assert decide(FLOW, household(replace(t, unmatched_payment_amount=Decimal("700"))),
                  TODAY).steps == ()
    assert ids(decide(FLOW, household(replace(t, unmatched_payment_amount=Decimal("5"))),
                      TODAY)) == ["call"]
