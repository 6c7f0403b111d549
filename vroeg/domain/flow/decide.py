"""The pure decision of the day: `decide(flow, household, today)`.

Kill Bill's overdue engine in small: a snapshot in, for each tenancy its segment
(the first whose rule holds), then the first step of that segment's ladder that is
due, guards and legal gates applied, and out comes what the shell should do. Side
effects (cases, messages, tasks, signals, proposals) are the shell's, in one
transaction per household.

Order of the checks for each tenancy in arrears:
1. a case closes when the tenancy's total balance is settled (never on one line);
2. reactions to today's events (a reversal, a broken arrangement), once per event;
3. a pause (debt help, manual, municipal help) or a running arrangement (also one with
   a missed instalment: rule 14) stops the ladder; a proposal waiting for a person, or
   the bailiff, stops it too; so does a payment in the unmatched queue that may be this
   tenant's (for a few days);
4. the ladder: steps in order, each once per case, spaced by min_days_between_steps;
   the first one whose trigger does not hold (or whose legal gate is closed) ends it.
Then for the household: one communication a day (the highest step wins) and no more
than max_messages_per_week in any 7 days. For the whole run: `bank_hold` holds every new
step when the bank statements are behind (nobody knows who paid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from vroeg.domain import case_state as cs
from vroeg.domain.calendar import add_months, is_business_day, next_payday
from vroeg.domain.flow.model import (
    ARRANGEMENT_OFFER,
    FOURTEEN_DAY_LETTER,
    HANDOVER_PROPOSAL,
    MESSAGE,
    MUNICIPAL_SIGNAL,
    TASK,
    Flow,
    Segment,
    Step,
    Trigger,
)
from vroeg.domain.flow.snapshot import (
    ARRANGEMENT_BROKEN,
    ARRANGEMENT_ON_TRACK,
    ARRANGEMENT_RAN_OUT,
    Contact,
    HouseholdSnapshot,
    OpenCase,
    Pause,
    TenancySnapshot,
)
from vroeg.domain.legal.gates import EscalationFacts, handover_gate
from vroeg.domain.legal.wgs import SignalEvidence, signal_eligibility

TAKE = "take"
SKIP = "skip"  # a step ruled out for this case (an objection, a running arrangement)

# A communication's weight when one must win: the heavier letter goes out.
_WEIGHT = {MESSAGE: 1, ARRANGEMENT_OFFER: 2, FOURTEEN_DAY_LETTER: 3}
_STOPPED_STATES = {
    cs.HANDOVER_PROPOSED: "overdracht wacht op een besluit / hand-over awaits a decision",
    cs.HANDED_OVER: "bij de deurwaarder / with the bailiff",
}


@dataclass(frozen=True)
class StepDecision:
    tenancy_id: int
    case_id: int | None  # None: the case opens in this same decision
    step: Step
    channel: str  # communications: the channel chosen; "" otherwise
    reason: str
    kind: str = TAKE
    segment: str = ""
    fallbacks: tuple[str, ...] = ()  # the step's other usable channels, in order
    reaction_key: str = ""  # reactions: "reaction id:event key"
    gate: tuple[str, ...] = ()  # the legal checks that let it through, readable


@dataclass(frozen=True)
class Decision:
    open_cases: tuple[int, ...] = ()  # tenancy ids
    close_cases: tuple[tuple[int, str], ...] = ()  # (case id, reason)
    steps: tuple[StepDecision, ...] = ()
    notes: tuple[str, ...] = field(default=())  # why nothing happened, for the report
    segments: tuple[tuple[int, str], ...] = ()  # (tenancy id, segment id)


# --- pieces ------------------------------------------------------------------------------

def trigger_holds(tr: Trigger, t: TenancySnapshot, today: date) -> bool:
    if tr.days_overdue_at_least is not None and t.days_overdue < tr.days_overdue_at_least:
        return False
    if tr.months_owed_at_least is not None and t.months_owed < tr.months_owed_at_least:
        return False
    if tr.arrears_at_least is not None and t.arrears < tr.arrears_at_least:
        return False
    if tr.signal is not None and tr.signal not in t.signals:
        return False
    if tr.event is not None and all(kind != tr.event for kind, _ in t.events):
        return False
    if tr.after_step is not None:
        taken = t.open_case.steps_taken.get(tr.after_step) if t.open_case else None
        if taken is None or (today - taken).days < tr.after_days:
            return False
    if tr.after_payday_days is not None and t.payday and t.oldest_due_on is not None:
        # A call before the income is in asks for money that is not there yet.
        income = next_payday(t.oldest_due_on, t.payday)
        if today < income + timedelta(days=tr.after_payday_days):
            return False
    return True


def trigger_met(step: Step, t: TenancySnapshot, today: date) -> Trigger | None:
    return next((tr for tr in step.when if trigger_holds(tr, t, today)), None)


def choose_channels(step: Step, contact: Contact) -> tuple[str, ...]:
    """The step's channels the household can be reached on, in the step's order."""
    out: list[str] = []
    for ch in step.channels:
        ch = contact.preferred_channel if ch == "preferred" else ch
        if ch not in out and contact.can_use(ch):
            out.append(ch)
    return tuple(out)


def segment_of(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot, today: date) -> Segment:
    """The first segment whose rule holds. A case keeps the segment it opened in (its
    own arrears soon make it "late repeatedly": that must not restart the ladder),
    unless the household now needs care: debt help or a vulnerable household."""
    found = _first_segment(flow, h, t, today)
    kept = t.open_case.segment if t.open_case else ""
    if kept and kept != found.id and found.rule.in_debt_help is None \
            and found.rule.vulnerable is None:
        for seg in flow.segments:
            if seg.id == kept:
                return seg
    return found


def _first_segment(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot,
                   today: date) -> Segment:
    pause = t.pause or h.pause
    for seg in flow.segments:
        r = seg.rule
        if r.signal is not None and r.signal not in t.signals:
            continue
        if r.in_debt_help is not None and r.in_debt_help != bool(pause and pause.debt_help):
            continue
        if r.vulnerable is not None and r.vulnerable != h.vulnerable:
            continue
        if r.tenancy_months_below is not None and (
                t.start_on is None or add_months(t.start_on, r.tenancy_months_below) <= today):
            continue
        if r.first_time is not None and r.first_time != (t.prior_cases_12m == 0):
            continue
        return seg
    return flow.segments[-1]


def _evidence(t: TenancySnapshot) -> SignalEvidence:
    return t.open_case.evidence if t.open_case else SignalEvidence()


def _signal_gate(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot,
                 today: date) -> tuple[str, tuple[str, ...]]:
    """(TAKE | SKIP | "wait", the readable checks) for the municipal signal."""
    if t.open_case is not None and t.open_case.signal_sent_on is not None:
        return SKIP, ("vroegsignaal al verstuurd / signal already sent",)
    e = signal_eligibility(
        _evidence(t), today=today, oldest_due_on=t.oldest_due_on,
        days_after_reminder=flow.legal.signal_days_after_written_reminder,
        min_days_overdue=flow.legal.signal_min_days_overdue,
        municipality_has_agreement=h.municipality_has_agreement)
    if e.eligible:
        return TAKE, e.reasons
    if any(m.code in ("objected", "no_agreement") for m in e.missing):
        return SKIP, tuple(m.text for m in e.missing)  # the law rules it out for good
    return "wait", tuple(m.text for m in e.missing)


def _handover_gate(t: TenancySnapshot, h: HouseholdSnapshot,
                   today: date) -> tuple[str, tuple[str, ...]]:
    case = t.open_case
    if case is not None and case.handover_pending:
        return SKIP, ("al voorgesteld / already proposed",)
    pause = t.pause or h.pause
    gate = handover_gate(EscalationFacts(
        months_in_arrears=t.months_owed, evidence=_evidence(t),
        signal_sent_on=case.signal_sent_on if case else None,
        fourteen_day_letter_sent_on=case.fourteen_day_letter_on if case else None,
        debt_help_active=bool(pause and pause.kind == "debt_help"),
        moratorium_active=bool(pause and pause.kind == "moratorium"),
        children_in_household=h.children), today)
    texts = tuple(c.text for c in gate.checks if gate.open or not c.passed) + gate.flags
    return (TAKE if gate.open else "wait"), texts


def _as_task(step: Step, kind: str) -> Step:
    """A communication that cannot reach the tenant: a person has to."""
    return Step(id=step.id, title=step.title, action=TASK, when=step.when,
                task_kind=kind, task_team=step.task_team, records=(), on=step.on)


def _plan(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot, step: Step, reason: str,
          segment: str, reaction_key: str = "", gate: tuple[str, ...] = ()) -> StepDecision:
    case_id = t.open_case.case_id if t.open_case else None
    if step.is_communication:
        usable = choose_channels(step, h.contact)
        if not usable:
            return StepDecision(t.tenancy_id, case_id, _as_task(step, "no_channel"), "",
                                reason + "; geen bruikbaar kanaal / no usable channel",
                                segment=segment, reaction_key=reaction_key, gate=gate)
        return StepDecision(t.tenancy_id, case_id, step, usable[0], reason, segment=segment,
                            fallbacks=usable[1:], reaction_key=reaction_key, gate=gate)
    return StepDecision(t.tenancy_id, case_id, step, "", reason, segment=segment,
                        reaction_key=reaction_key, gate=gate)


def _gate_for(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot, step: Step,
              today: date) -> tuple[str, tuple[str, ...]]:
    if step.action == MUNICIPAL_SIGNAL:
        return _signal_gate(flow, h, t, today)
    if step.action == HANDOVER_PROPOSAL:
        return _handover_gate(t, h, today)
    if step.action == ARRANGEMENT_OFFER and t.arrangement is not None:
        # The arrangement is paid off but older arrears remain: the ladder goes on, and
        # offering another arrangement now would contradict the one just kept.
        return SKIP, ("dit dossier heeft al een betalingsregeling / this case already has an "
                      "arrangement",)
    return TAKE, ()


def _days_since_last_step(case: OpenCase | None, today: date) -> int | None:
    """Days since the case's latest step, ladder or reaction."""
    if case is None:
        return None
    days = [*case.steps_taken.values(), *([case.last_reaction_on] if case.last_reaction_on
                                          else [])]
    return (today - max(days)).days if days else None


# --- the decision ------------------------------------------------------------------------

def decide(flow: Flow, household: HouseholdSnapshot, today: date) -> Decision:
    opens: list[int] = []
    closes: list[tuple[int, str]] = []
    planned: list[tuple[tuple[int, int], StepDecision]] = []  # (rank, decision)
    notes: list[str] = []
    segments: list[tuple[int, str]] = []

    for t in household.tenancies:
        case = t.open_case
        if case is not None and t.balance <= 0:
            # A case resolves on the tenancy's total balance, never on one line.
            closes.append((case.case_id, "saldo voldaan / balance settled"))
            continue
        if t.arrears < flow.min_arrears or t.days_overdue < flow.open_case_after_days:
            continue
        if case is None:
            opens.append(t.tenancy_id)
        segment = segment_of(flow, household, t, today)
        segments.append((t.tenancy_id, segment.id))
        if _waits_for_a_match(flow, t, today):
            notes.append(UNMATCHED_NOTE)
            continue
        pause: Pause | None = t.pause or household.pause
        planned.extend(_reactions(flow, household, t, today, pause, segment.id, notes))
        if pause is not None:
            notes.append(f"pauze / paused: {pause.reason}")
            continue
        if case is not None and case.state in _STOPPED_STATES:
            notes.append(_STOPPED_STATES[case.state])
            continue
        if t.arrangement == ARRANGEMENT_ON_TRACK:
            notes.append("betalingsregeling loopt / arrangement on track")
            continue
        if t.arrangement in (ARRANGEMENT_BROKEN, ARRANGEMENT_RAN_OUT):
            # Rule 14: after one missed instalment only the contact (a reaction); the
            # ladder comes back after a second miss, or the end of an arrangement that
            # ran out unpaid, has ended it with a new 14-day letter (a reaction too).
            notes.append("termijn gemist: eerst contact, de regeling loopt nog (regel 14) / "
                         "instalment missed: contact first, the arrangement still runs "
                         "(rule 14)")
            continue
        since = _days_since_last_step(case, today)
        if since is not None and since < flow.min_days_between_steps:
            continue
        planned.extend(_ladder(flow, household, t, today, segment, notes))

    steps = [d for _, d in planned if not d.step.is_communication]
    communications = [(rank, d) for rank, d in planned if d.step.is_communication]
    if communications:
        if today in household.messaged_on:
            notes.append("al een bericht vandaag / already messaged today")
        elif household.messages_last_7_days >= flow.guards.max_messages_per_week:
            notes.append(f"al {household.messages_last_7_days} berichten deze week / already "
                         f"{household.messages_last_7_days} messages this week")
        else:
            steps.append(max(communications, key=lambda c: c[0])[1])
    return Decision(open_cases=tuple(opens), close_cases=tuple(closes), steps=tuple(steps),
                    notes=tuple(notes), segments=tuple(segments))


def _waits_for_a_match(flow: Flow, t: TenancySnapshot, today: date) -> bool:
    """A payment in the unmatched queue may be this tenant's and is at least half of what
    is owed (a small one does not hold large arrears): nothing new until a person
    matched it, for a few days."""
    on, amount = t.unmatched_payment_on, t.unmatched_payment_amount
    if on is None or (today - on).days >= flow.guards.wait_for_unmatched_payment_days:
        return False
    return amount is None or amount * 2 >= t.arrears


def _month_before(key: str, since: date | None) -> bool:
    """An event keyed by a month (YYYY-MM) whose due date lies before `since`."""
    if since is None or len(key) != 7:
        return False
    try:
        return date(int(key[:4]), int(key[5:]), 1) < since
    except ValueError:
        return False


UNMATCHED_NOTE = ("betaling wacht op koppeling / a payment that may be this tenant's waits "
                  "to be matched")


def bank_hold(latest_booking_day: date | None, today: date, flow: Flow) -> str | None:
    """Why no new steps may be taken today, or None. With the last bank statement
    `max_bank_days_behind` working days or more behind, payments made since are unknown
    and a reminder could go to everyone who paid. Before any statement came in there is
    nothing to compare with (a new installation's first imports)."""
    limit = flow.guards.max_bank_days_behind
    if latest_booking_day is None or limit <= 0 or latest_booking_day >= today:
        return None
    missing = sum(1 for n in range(1, (today - latest_booking_day).days)
                  if is_business_day(latest_booking_day + timedelta(days=n)))
    if missing < limit:
        return None
    return (f"bankafschriften lopen achter: laatste boekdag {latest_booking_day.isoformat()}, "
            f"{missing} werkdagen zonder afschrift; geen nieuwe stappen tot ze binnen zijn / "
            f"bank statements are behind: last booking day {latest_booking_day.isoformat()}, "
            f"{missing} working days without a statement; no new steps until they are in")


def held(decision: Decision, reason: str) -> Decision:
    """The decision without new cases and steps (closing a settled case stays)."""
    return Decision(open_cases=(), close_cases=decision.close_cases, steps=(),
                    notes=(*decision.notes, reason), segments=decision.segments)


def _reactions(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot, today: date,
               pause: Pause | None, segment: str,
               notes: list[str]) -> list[tuple[tuple[int, int], StepDecision]]:
    out: list[tuple[tuple[int, int], StepDecision]] = []
    done = t.open_case.reactions_done if t.open_case else frozenset()
    for n, r in enumerate(flow.reactions):
        if (pause is not None and r.during_pause == "no") or (
                pause is None and r.during_pause in ("only", "debt_help")) or (
                r.during_pause == "debt_help" and not (pause and pause.debt_help)):
            continue
        for kind, key in dict.fromkeys(t.events):  # an event told twice is one event
            reaction_key = f"{r.id}:{key}"
            if kind != r.on or reaction_key in done:
                continue
            if r.during_pause == "debt_help" and pause is not None and \
                    _month_before(key, pause.since):
                # A month already in arrears when debt help began is part of the debt
                # it settles, not a breach of it (rule 9).
                continue
            if trigger_met(r, t, today) is None:
                # The reaction's own `when` (if any): checked again on the event's later days.
                notes.append(f"{r.id} wacht / waits: " + " of / or ".join(
                    tr.describe() for tr in r.when))
                continue
            verdict, gate = _gate_for(flow, h, t, r, today)
            if verdict != TAKE:
                notes.append(f"{r.id}: " + "; ".join(gate))
                continue
            out.append(((_WEIGHT.get(r.action, 0), 1000 + n), _plan(
                flow, h, t, r, f"reactie op / reaction to {kind} ({key})", segment,
                reaction_key, gate)))
    return out


def _ladder(flow: Flow, h: HouseholdSnapshot, t: TenancySnapshot, today: date,
            segment: Segment, notes: list[str]) -> list[tuple[tuple[int, int], StepDecision]]:
    out: list[tuple[tuple[int, int], StepDecision]] = []
    taken = t.open_case.steps_taken if t.open_case else {}
    # A step a newer flow version put before steps this case already took is passed
    # over: on the day a flow changes, open cases get no burst of steps meant for an
    # earlier stage, and their next step is not put off. Only in the segment the case
    # opened in (a case that now needs care takes its new ladder's steps, e.g. a visit).
    own = t.open_case is not None and t.open_case.segment == segment.id
    passed = max((i for i, s in enumerate(segment.ladder) if s in taken), default=-1) \
        if own else -1
    for i, step_id in enumerate(segment.ladder):
        step = flow.steps[step_id]
        if step.id in taken or i < passed:
            continue
        trigger = trigger_met(step, t, today)
        if trigger is None:
            break  # steps go in order: the first one not taken must be due first
        verdict, gate = _gate_for(flow, h, t, step, today)
        if verdict == SKIP:
            # Ruled out for this case (an objection): recorded, and the ladder goes on.
            out.append(((0, i), StepDecision(
                t.tenancy_id, t.open_case.case_id if t.open_case else None, step, "",
                "; ".join(gate), kind=SKIP, segment=segment.id, gate=gate)))
            continue
        if verdict != TAKE:
            notes.append(f"{step.id} wacht / waits: " + "; ".join(gate))
            break
        out.append(((_WEIGHT.get(step.action, 0), i),
                    _plan(flow, h, t, step, trigger.describe(), segment.id, gate=gate)))
        break
    return out


__all__ = ["SKIP", "TAKE", "UNMATCHED_NOTE", "Decision", "StepDecision", "bank_hold",
           "choose_channels", "decide", "held", "segment_of", "trigger_holds", "trigger_met"]
