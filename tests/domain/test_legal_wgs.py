"""The municipal early signal (Wgs; RULES-NL rules 3-5 and 8)."""

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vroeg.domain.legal import (
    Missing,
    Proof,
    SignalEvidence,
    signal_eligibility,
    signal_is_stale,
    summons_allowed_after_signal,
)

TODAY = date(2025, 3, 20)
FULL = SignalEvidence(
    contact_attempt=Proof(date(2025, 2, 10), "gebeld, geen gehoor; logregel 881"),
    debt_help_referral=Proof(date(2025, 2, 12), "brief met 14 020, Gemeente Amsterdam"),
    written_reminder=Proof(date(2025, 2, 20), "herinnering nr. 1234"),
    objection_offer=Proof(date(2025, 2, 20), "zelfde brief, alinea bezwaar"),
)
OLDEST_DUE = date(2025, 2, 1)  # 47 days before TODAY


def check(evidence=FULL, **kw):
    kw.setdefault("today", TODAY)
    kw.setdefault("oldest_due_on", OLDEST_DUE)
    return signal_eligibility(evidence, **kw)


def test_all_four_recorded_is_eligible_and_mandatory():
    e = check()
    assert (e.eligible, e.missing) == (True, ())
    assert any("mandatory" in r for r in e.reasons)
    assert any(r.startswith("ok: (a)") for r in e.reasons)


@pytest.mark.parametrize("field, code", [
    ("contact_attempt", "contact_attempt"),
    ("debt_help_referral", "debt_help_referral"),
    ("written_reminder", "written_reminder"),
    ("objection_offer", "objection_offer"),
])
def test_each_precondition_is_required(field, code):
    e = check(replace(FULL, **{field: None}))
    assert not e.eligible
    assert code in e.missing
    item = next(m for m in e.missing if m == code)
    assert isinstance(item, Missing) and item.code == code
    assert " / " in item.text and "missing" in item.text


def test_a_precondition_dated_after_today_does_not_count():
    e = check(replace(FULL, contact_attempt=Proof(TODAY + timedelta(days=1), "gepland")))
    assert not e.eligible
    assert e.missing == ("contact_attempt",)
    assert "dated after today" in e.missing[0].text


def test_a_date_without_evidence_does_not_count():
    e = check(replace(FULL, debt_help_referral=Proof(date(2025, 2, 12), "  ")))
    assert e.missing == ("debt_help_referral",)
    assert "without evidence" in e.missing[0].text


def test_objection_stops_the_signal_and_says_why():
    e = check(replace(FULL, objected_on=date(2025, 2, 25), objection_note="telefonisch"))
    assert not e.eligible
    assert e.missing == ("objected",)
    assert "tenant objected on 2025-02-25" in e.missing[0].text
    assert "telefonisch" in e.missing[0].text


@pytest.mark.parametrize("oldest, eligible", [
    (TODAY - timedelta(days=29), False), (TODAY - timedelta(days=30), True)])
def test_oldest_arrears_at_least_30_days(oldest, eligible):
    e = check(oldest_due_on=oldest)
    assert e.eligible is eligible
    assert ("arrears_too_recent" in e.missing) is not eligible


def test_no_arrears_no_signal():
    assert check(oldest_due_on=None).missing == ("no_arrears",)


@pytest.mark.parametrize("days, eligible", [(13, False), (14, True)])
def test_days_after_the_reminder(days, eligible):
    reminder = Proof(TODAY - timedelta(days=days), "herinnering")
    e = check(replace(FULL, written_reminder=reminder, objection_offer=reminder))
    assert e.eligible is eligible


def test_wait_counts_from_the_reminder_with_the_offer():
    e = check(replace(FULL, objection_offer=Proof(TODAY - timedelta(days=5), "tweede brief")))
    assert e.missing == ("reminder_too_recent",)
    assert check(replace(FULL, objection_offer=Proof(TODAY - timedelta(days=5), "x")),
                 days_after_reminder=5).eligible


def test_only_municipalities_with_an_agreement():
    e = check(municipality_has_agreement=False)
    assert e.missing == ("no_agreement",)
    assert e.missing[0].text.startswith("Geen convenant")


def test_configurable_overdue_days():
    assert not check(oldest_due_on=TODAY - timedelta(days=40), min_days_overdue=45).eligible


@pytest.mark.parametrize("sent, today, stale", [
    (date(2025, 1, 15), date(2025, 7, 15), False),  # exactly 6 months
    (date(2025, 1, 15), date(2025, 7, 16), True),
    (date(2024, 8, 31), date(2025, 2, 28), False),  # 6 months after 31 Aug: 28 Feb
    (date(2024, 8, 31), date(2025, 3, 1), True),
])
def test_signal_is_stale(sent, today, stale):
    assert signal_is_stale(sent, today) is stale


@pytest.mark.parametrize("signal, summons, allowed", [
    (date(2025, 1, 15), date(2025, 3, 14), False),
    (date(2025, 1, 15), date(2025, 3, 15), True),  # exactly 2 months
    (date(2024, 12, 31), date(2025, 2, 27), False),
    (date(2024, 12, 31), date(2025, 2, 28), True),  # end of month
])
def test_summons_at_least_two_months_after_the_signal(signal, summons, allowed):
    assert summons_allowed_after_signal(signal, summons) is allowed


dates = st.dates(date(2024, 1, 1), date(2026, 12, 31))
proofs = st.one_of(st.none(), st.builds(Proof, dates, st.sampled_from(["", " ", "notitie"])))
evidence = st.builds(SignalEvidence, proofs, proofs, proofs, proofs,
                     st.one_of(st.none(), dates))


@settings(max_examples=400, deadline=None)
@given(evidence, dates, st.one_of(st.none(), dates), st.booleans())
def test_never_eligible_when_objected_or_a_precondition_missing(ev, today, oldest, agreement):
    e = signal_eligibility(ev, today=today, oldest_due_on=oldest,
                           municipality_has_agreement=agreement)
    proofs = (ev.contact_attempt, ev.debt_help_referral, ev.written_reminder,
              ev.objection_offer)
    lacking = any(p is None or p.on > today or not p.note.strip() for p in proofs)
    if ev.objected_on is not None or lacking or not agreement or oldest is None:
        assert not e.eligible
    assert e.eligible == (not e.missing)
    if ev.objected_on is not None:
        assert "objected" in e.missing
