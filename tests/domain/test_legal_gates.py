"""Bailiff hand-over and summons gates (RULES-NL rules 15 and 16): proposals only."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.legal import (
    Check,
    EscalationFacts,
    GateResult,
    Proof,
    SignalEvidence,
    handover_gate,
    summons_gate,
)

TODAY = date(2025, 6, 2)
EVIDENCE = SignalEvidence(
    contact_attempt=Proof(date(2025, 2, 10), "huisbezoek"),
    debt_help_referral=Proof(date(2025, 2, 12), "folder met 14 010"),
    written_reminder=Proof(date(2025, 2, 20), "herinnering"),
    objection_offer=Proof(date(2025, 2, 20), "zelfde brief"),
)
FACTS = EscalationFacts(
    months_in_arrears=Decimal("3.5"), evidence=EVIDENCE, signal_sent_on=date(2025, 3, 10),
    fourteen_day_letter_sent_on=date(2025, 4, 1), debt_help_active=False,
    moratorium_active=False, children_in_household=False)


def failed(result):
    return [c.code for c in result.checks if not c.passed]


def test_handover_open_when_every_check_passes():
    g = handover_gate(FACTS, TODAY)
    assert g.open and failed(g) == []
    assert {c.code for c in g.checks} == {
        "arrears_months", "wgs_contact_attempt", "wgs_debt_help_referral",
        "wgs_written_reminder", "wgs_objection_offer", "signal_sent", "signal_waited",
        "fourteen_day_letter", "no_debt_help", "no_moratorium"}
    assert any("a person approves" in f for f in g.flags)


@pytest.mark.parametrize("change, code", [
    ({"months_in_arrears": Decimal("1.99")}, "arrears_months"),
    ({"evidence": replace(EVIDENCE, contact_attempt=None)}, "wgs_contact_attempt"),
    ({"evidence": replace(EVIDENCE, objection_offer=None)}, "wgs_objection_offer"),
    ({"signal_sent_on": None}, "signal_sent signal_waited"),
    ({"signal_sent_on": date(2025, 4, 3)}, "signal_waited"),  # 2 months: from 3 June
    ({"fourteen_day_letter_sent_on": None}, "fourteen_day_letter"),
    # sent 15 May: received 19 May, deadline 2 June = today, not yet passed
    ({"fourteen_day_letter_sent_on": date(2025, 5, 15)}, "fourteen_day_letter"),
    ({"debt_help_active": True}, "no_debt_help"),
    ({"moratorium_active": True}, "no_moratorium"),
])
def test_handover_closed_by_each_check(change, code):
    g = handover_gate(replace(FACTS, **change), TODAY)
    assert not g.open
    assert failed(g) == code.split()


def test_handover_two_months_is_enough():
    assert handover_gate(replace(FACTS, months_in_arrears=Decimal("2")), TODAY).open
    assert handover_gate(replace(FACTS, signal_sent_on=date(2025, 4, 2)), TODAY).open


def test_objection_means_no_signal_and_the_wait_runs_from_it():
    ev = replace(EVIDENCE, objected_on=date(2025, 3, 1))
    g = handover_gate(replace(FACTS, evidence=ev, signal_sent_on=None), TODAY)
    assert g.open
    signal = next(c for c in g.checks if c.code == "signal_sent")
    assert "tenant objected on 2025-03-01" in signal.text
    late = replace(EVIDENCE, objected_on=date(2025, 4, 10))
    assert failed(handover_gate(replace(FACTS, evidence=late, signal_sent_on=None), TODAY)) == [
        "signal_waited"]


def test_a_signal_sent_after_an_objection_closes_the_gate():
    ev = replace(EVIDENCE, objected_on=date(2025, 3, 1))
    assert failed(handover_gate(replace(FACTS, evidence=ev), TODAY)) == ["signal_sent"]


def test_stale_signal_is_flagged_not_blocking():
    g = handover_gate(replace(FACTS, signal_sent_on=date(2024, 11, 1)), date(2025, 6, 2))
    assert g.open
    assert any("stale" in f for f in g.flags)


def test_summons_needs_three_months():
    assert summons_gate(FACTS, TODAY).open
    g = summons_gate(replace(FACTS, months_in_arrears=Decimal("2.99")), TODAY)
    assert failed(g) == ["arrears_months"]


def test_summons_does_not_need_the_letter_but_needs_rule_3_and_the_wait():
    assert summons_gate(replace(FACTS, fourteen_day_letter_sent_on=None), TODAY).open
    assert failed(summons_gate(replace(FACTS, evidence=replace(
        EVIDENCE, written_reminder=None)), TODAY)) == ["wgs_written_reminder"]
    assert failed(summons_gate(replace(FACTS, signal_sent_on=date(2025, 4, 5)), TODAY)) == [
        "signal_waited"]
    assert failed(summons_gate(replace(FACTS, debt_help_active=True), TODAY)) == [
        "no_debt_help"]


def test_summons_flags_children_and_urgent_help():
    g = summons_gate(replace(FACTS, children_in_household=True), TODAY)
    assert g.open
    assert any("household with children: extra care" in f for f in g.flags)
    assert any("within 3 working days" in f for f in g.flags)
    assert any("a manager signs off" in f for f in g.flags)
    unknown = summons_gate(replace(FACTS, children_in_household=None), TODAY)
    assert any("not known whether children" in f for f in unknown.flags)


def test_gate_result_cannot_be_open_with_a_failed_check():
    with pytest.raises(ValueError):
        GateResult(open=True, checks=(Check("x", False, "nee / no"),))
    with pytest.raises(ValueError):
        GateResult(open=True, checks=())


dates = st.dates(date(2024, 6, 1), date(2025, 12, 31))
proofs = st.one_of(st.none(), st.builds(Proof, dates, st.sampled_from(["", "notitie"])))
facts = st.builds(
    EscalationFacts,
    months_in_arrears=st.decimals(min_value=0, max_value=12, places=2),
    evidence=st.builds(SignalEvidence, proofs, proofs, proofs, proofs,
                       st.one_of(st.none(), dates)),
    signal_sent_on=st.one_of(st.none(), dates),
    fourteen_day_letter_sent_on=st.one_of(st.none(), dates),
    debt_help_active=st.booleans(), moratorium_active=st.booleans(),
    children_in_household=st.one_of(st.none(), st.booleans()))


@settings(max_examples=300, deadline=None)
@given(facts, dates)
def test_never_open_without_every_check_passed(f, today):
    for gate in (handover_gate, summons_gate):
        g = gate(f, today)
        assert g.open == all(c.passed for c in g.checks)
        assert all(c.code and " / " in c.text for c in g.checks)
        if g.open:
            assert not f.debt_help_active and not f.moratorium_active
            assert f.signal_sent_on is not None or f.evidence.objected_on is not None
