"""Applying one household's decision: cases, steps, messages, tasks, evidence, the
municipal signal and the hand-over proposal, and every case move in the state
machine, in one atomic, audited transaction. Called by collection/evaluate.py."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from vroeg.audit.models import AuditEvent
from vroeg.collection.actions import move_case
from vroeg.collection.debt_help import debt_help_for
from vroeg.collection.models import Arrangement, Case, CaseStep, Evidence, Signal, Task
from vroeg.collection.snapshots import Facts
from vroeg.domain import case_state as cs
from vroeg.domain.calendar import AMSTERDAM, next_send_slot
from vroeg.domain.flow import (
    SKIP,
    Decision,
    Flow,
    Step,
    StepDecision,
    TenancySnapshot,
    task_due_on,
)
from vroeg.domain.flow.model import (
    ARRANGEMENT_OFFER,
    FOURTEEN_DAY_LETTER,
    HANDOVER_PROPOSAL,
    MUNICIPAL_SIGNAL,
    TASK,
)
from vroeg.domain.legal.costs import collection_costs
from vroeg.domain.legal.deadline import fourteen_day_deadline
from vroeg.domain.signals import SignalFact
from vroeg.messaging.models import Message
from vroeg.messaging.recipients import recipient
from vroeg.messaging.render import base_context, jsonable_context, render, staff_texts_for
from vroeg.payments.actions import pay_url
from vroeg.portfolio.models import Household, Tenancy

ACTOR = "system:run"
#: Message.context key: the evidence the message proves once it is sent.
EVIDENCE_KEY = "_evidence"
# Days the written reminder gives to object to the municipal signal (RULES-NL rule 5).
SIGNAL_OBJECTION_DAYS = 14
# An arrangement offer proposes at most this many monthly instalments (rule 13).
OFFER_TERMS = 6
TASK_TITLES = {
    "call": "Bel de huurder over de achterstand / Call the tenant about the arrears",
    "visit": "Huisbezoek bij de huurder / Visit the tenant at home",
    "no_channel": "Geen kanaal om de huurder te bereiken / No channel to reach the tenant",
    "arrangement_call": "Regeling gemist: bel binnen 3 werkdagen / Instalment missed: call "
                        "within 3 working days",
    "debt_help_check": "Schuldhulp: huidige huur niet betaald, nagaan / Debt help: current "
                       "rent unpaid, check",
}


@dataclass
class Applied:
    """What one household's decision did, added up by evaluate()."""

    cases_opened: int = 0
    cases_closed: int = 0
    signals: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    municipal_signals: int = 0
    handover_proposals: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # steps the state machine refused


def message_context(h: Household, t: TenancySnapshot, tenancy: Tenancy, run_on: date) -> dict:
    ctx = base_context(h, tenancy)
    pay_url = ctx["corp"]["pay_url"]
    ctx.update({
        "amount": t.arrears,
        "oldest_due_on": t.oldest_due_on,
        "months_owed": t.months_owed,
        "pay_link": f"{pay_url}?kenmerk={tenancy.payment_reference}&bedrag={t.arrears}",
        "decided_on": run_on,
        "debt_help": debt_help_for(tenancy.city),
    })
    return ctx


def _legal_context(flow: Flow, t: TenancySnapshot, send_on: date) -> dict[str, Any]:
    """The 14-day letter's figures (rule 10): principal, the exact costs, the deadline."""
    deadline = fourteen_day_deadline(send_on, flow.legal.letter_delivery_working_days)
    costs = collection_costs(t.arrears, send_on, monthly_amount=t.monthly_rent,
                             vat=flow.legal.vat_on_costs)
    return {"principal": t.arrears, "costs": costs.costs_with_vat, "total": costs.total,
            "sent_on": send_on, "received_on": deadline.received_on,
            "deadline": deadline.deadline}


def _offer_context(t: TenancySnapshot) -> dict[str, Any]:
    terms = max(1, min(OFFER_TERMS, int(t.months_owed * 3) or 1))
    instalment = (t.arrears / terms).quantize(Decimal("0.01"))
    return {"offer_terms": terms, "offer_instalment": instalment}


def send_slot(flow: Flow, run_on: date, now: datetime) -> datetime:
    """When a message decided on `run_on` may go out: the flow's contact hours, not
    on Sundays or holidays when the flow says so."""
    g = flow.guards
    return next_send_slot(run_on, now, start=g.contact_from, until=g.contact_until,
                          sundays=not g.no_contact_on_sundays,
                          holidays=not g.no_contact_on_holidays)


def step_context(step: Step, flow: Flow, household: Household, snap: TenancySnapshot,
                 tenancy: Tenancy, run_on: date, send_on: date,
                 language: str | None = None) -> dict[str, Any]:
    """The render context of a communication step for one tenancy: message_context
    plus what the step adds (the objection date, the 14-day letter's figures, the
    example arrangement) and the staff's own texts for the template in the household's
    language. The daily run and `vroeg message preview` both build it here."""
    ctx = message_context(household, snap, tenancy, run_on)
    if "objection_offer" in step.records:
        # Rule 3d/4: the tenant may object before the signal goes out.
        ctx["object_by"] = run_on + timedelta(days=SIGNAL_OBJECTION_DAYS)
    if step.action == FOURTEEN_DAY_LETTER:
        ctx.update(_legal_context(flow, snap, send_on))
        ctx["delivery_working_days"] = flow.legal.letter_delivery_working_days
    if step.action == ARRANGEMENT_OFFER:
        ctx.update(_offer_context(snap))
    staff_texts = staff_texts_for(step.template, language or household.language)
    if staff_texts:
        ctx["staff_texts"] = staff_texts
    return ctx


def _send_message(sd: StepDecision, case: Case, household: Household, tenancy: Tenancy,
                  snap: TenancySnapshot, flow: Flow, run_on: date, now: datetime,
                  result: Applied) -> Message:
    send_after = send_slot(flow, run_on, now)
    ctx = step_context(sd.step, flow, household, snap, tenancy, run_on,
                       send_after.astimezone(AMSTERDAM).date())
    ctx["fallback_channels"] = list(sd.fallbacks)
    key = f"msg:{case.pk}:{sd.reaction_key or sd.step.id}"
    # A link for the amount owed (vroeg/payments): the same link while it stays open.
    ctx["pay_link"] = pay_url(tenancy, snap.arrears, message_key=key, now=now)
    if sd.step.action == ARRANGEMENT_OFFER:
        # The same link lets the tenant arrange it alone, within policy (rule 13).
        ctx["arrangement_link"] = f"{ctx['pay_link']}/regeling"
    # Evidence is recorded when the message is actually sent (messaging/dispatch.py),
    # dated that day: a letter held over a Sunday or a catch-up proves its real date.
    ctx[EVIDENCE_KEY] = [{"kind": kind, "note": _record_note(kind, sd, ctx)}
                         for kind in sd.step.records]
    if sd.step.action == FOURTEEN_DAY_LETTER:
        ctx[EVIDENCE_KEY].append({"kind": Evidence.Kind.FOURTEEN_DAY_LETTER,
                                  "note": "veertiendagenbrief per post / 14-day letter by post"})
    rendered = render(sd.step.template, sd.channel, household.language, ctx)
    msg = Message.objects.create(
        household=household, tenancy=tenancy, case=case, step=sd.step.id,
        template=sd.step.template, channel=sd.channel, language=household.language,
        recipient=recipient(household, sd.channel, ctx), subject=rendered.subject,
        body_text=rendered.text, context=jsonable_context(ctx), decided_on=run_on,
        send_after=send_after, idempotency_key=key)
    result.messages[sd.channel] += 1
    return msg


def _record_note(kind: str, sd: StepDecision, ctx: dict[str, Any]) -> str:
    what = f"{sd.step.template} per {sd.channel}"
    if kind == "debt_help_referral":
        return f"{what}: schuldhulp van de gemeente / municipal debt help: {ctx['debt_help']}"
    if kind == "objection_offer":
        return (f"{what}: aanbod gegevens door te geven aan de gemeente, bezwaar mogelijk tot "
                f"{ctx['object_by']} / offer to pass details, objection possible until "
                f"{ctx['object_by']}")
    return f"{what} / {kind}"


def _task(sd: StepDecision, case: Case, household: Household, tenancy: Tenancy, run_on: date,
          result: Applied) -> None:
    kind = sd.step.task_kind
    title = TASK_TITLES.get(kind, sd.step.title)
    if household.needs_interpreter and kind in ("call", "visit", "arrangement_call"):
        # A person talks to the tenant: book the interpreter in their language first.
        title = f"{title} - tolk nodig ({household.language}) / interpreter needed"
    Task.objects.create(
        kind=kind, title=title[:200], team=sd.step.task_team,
        household=household, tenancy=tenancy, case=case, created_on=run_on,
        due_on=task_due_on(sd.step, run_on), reason=sd.reason[:300],
        idempotency_key=f"task:{case.pk}:{sd.reaction_key or sd.step.id}")
    result.tasks[kind] += 1


def apply_decision(household: Household, decision: Decision, facts: Facts,
                   signals: list[tuple[int, SignalFact]], run_on: date, now: datetime,
                   flow: Flow, result: Applied) -> None:
    snaps = {t.tenancy_id: t for t in facts.households[household.pk].tenancies}
    segments = dict(decision.segments)
    audit: list[AuditEvent] = []
    with transaction.atomic():
        Signal.objects.bulk_create([
            Signal(tenancy_id=tid, kind=f.kind, key=f.key, detected_on=run_on, reason=f.reason)
            for tid, f in signals])
        for _tid, f in signals:
            result.signals[f.kind] += 1
        _end_broken_arrangements(facts, signals, run_on, audit)
        cases: dict[int, Case] = {tid: c for tid, c in facts.open_cases.items() if tid in snaps}
        for tid in decision.open_cases:
            case = Case.objects.create(tenancy_id=tid, flow=flow.id, opened_on=run_on,
                                       segment=segments.get(tid, ""))
            cases[tid] = case
            result.cases_opened += 1
            audit.append(AuditEvent(
                actor=ACTOR, action="case.open", object_type="collection.case",
                object_id=str(case.pk),
                summary=f"achterstand / arrears {snaps[tid].arrears} sinds / since "
                        f"{snaps[tid].oldest_due_on}; segment {segments.get(tid, '')}"))
        by_id = {c.pk: c for c in cases.values()}
        for case_id, reason in decision.close_cases:
            case = by_id[case_id]
            move_case(case, cs.BALANCE_SETTLED, actor=ACTOR, reason=reason, on=run_on)
            Task.objects.filter(case_id=case_id, status=Task.Status.OPEN).update(
                status=Task.Status.CANCELLED, reason=reason)
            _close_side_effects(case, reason, run_on)
            result.cases_closed += 1
        for sd in decision.steps:
            case = cases[sd.tenancy_id]
            _apply_step(sd, case, household, facts.tenancies[sd.tenancy_id],
                        snaps[sd.tenancy_id], flow, run_on, now, result, audit)
        for tid, seg in segments.items():
            open_case = cases.get(tid)
            if open_case is not None and open_case.segment != seg:
                Case.objects.filter(pk=open_case.pk).update(segment=seg)
        AuditEvent.objects.bulk_create(audit)


def _end_broken_arrangements(facts: Facts, signals: list[tuple[int, SignalFact]],
                             run_on: date, audit: list[AuditEvent]) -> None:
    """A second missed instalment ends the arrangement (rule 14: a new 14-day letter,
    and the ladder goes on); later instalments no longer count as misses."""
    from vroeg.domain.signals import BROKEN_ARRANGEMENT_AGAIN

    for tid, f in signals:
        case = facts.open_cases.get(tid)
        if f.kind != BROKEN_ARRANGEMENT_AGAIN or case is None:
            continue
        arrangement = facts.arrangements.get(case.pk)
        if arrangement is None:
            continue
        Arrangement.objects.filter(pk=arrangement.pk).update(
            status=Arrangement.Status.BROKEN, closed_on=run_on)
        why = ("afgelopen met een termijn niet betaald / ran out with an instalment unpaid"
               if f.detail == "end" else "tweede termijn gemist / second instalment missed")
        if cs.allowed(case.state, cs.ARRANGEMENT_BROKEN):
            move_case(case, cs.ARRANGEMENT_BROKEN, actor=ACTOR, on=run_on,
                      reason=f"regeling {arrangement.pk}: {why}")
        audit.append(AuditEvent(
            actor=ACTOR, action="arrangement.broken", object_type="collection.arrangement",
            object_id=str(arrangement.pk),
            summary=f"regeling {arrangement.pk}: {why} ({f.key})"))


def _close_side_effects(case: Case, reason: str, on: date) -> None:
    """A settled case needs no signal or hand-over any more; its arrangement is done."""
    from vroeg.handover.actions import withdraw_open_proposals
    from vroeg.municipal.actions import withdraw_signal
    from vroeg.municipal.models import MunicipalSignal

    Arrangement.objects.filter(case=case, status=Arrangement.Status.ACTIVE).update(
        status=Arrangement.Status.COMPLETED, closed_on=on)
    withdraw_open_proposals(case, actor=ACTOR, reason=reason, on=on)
    for signal in MunicipalSignal.objects.filter(case=case,
                                                 status=MunicipalSignal.Status.READY):
        withdraw_signal(signal, actor=ACTOR, reason=reason, on=on)


def _apply_step(sd: StepDecision, case: Case, household: Household, tenancy: Tenancy,
                snap: TenancySnapshot, flow: Flow, run_on: date, now: datetime,
                result: Applied, audit: list[AuditEvent]) -> None:
    step_key = sd.reaction_key or sd.step.id
    if sd.kind == SKIP:
        CaseStep.objects.create(case=case, step=step_key, taken_on=run_on, action="skipped",
                                reason=sd.reason[:300])
        result.skipped[sd.step.id] += 1
        audit.append(AuditEvent(actor=ACTOR, action="step.skipped",
                                object_type="collection.case", object_id=str(case.pk),
                                summary=f"{sd.step.id}: {sd.reason}"[:300]))
        return
    event = sd.step.case_event
    if sd.step.action in (MUNICIPAL_SIGNAL,):
        event = ""  # the case moves to `signalled` when the signal is delivered
    if event and not cs.allowed(case.state, event):
        result.refused.append(f"{sd.step.id} in {case.state}")
        audit.append(AuditEvent(actor=ACTOR, action="step.refused",
                                object_type="collection.case", object_id=str(case.pk),
                                summary=f"{sd.step.id}: niet toegestaan in fase / not allowed "
                                        f"in state {case.state}"))
        return
    CaseStep.objects.create(case=case, step=step_key, taken_on=run_on, action=sd.step.action,
                            reason=sd.reason[:300])
    Case.objects.filter(pk=case.pk).update(stage=sd.step.id)
    if sd.step.is_communication:
        _send_message(sd, case, household, tenancy, snap, flow, run_on, now, result)
    elif sd.step.action == TASK:
        _task(sd, case, household, tenancy, run_on, result)
    elif sd.step.action == MUNICIPAL_SIGNAL:
        from vroeg.municipal.actions import create_signal

        create_signal(case, day=run_on, actor=ACTOR, preconditions=sd.gate)
        result.municipal_signals += 1
    elif sd.step.action == HANDOVER_PROPOSAL:
        from vroeg.handover.actions import propose_handover

        propose_handover(case, day=run_on, actor=ACTOR, gate=sd.gate, arrears=snap.arrears,
                         months_in_arrears=snap.months_owed)
        result.handover_proposals += 1
        event = ""  # propose_handover moves the case itself
    if event:
        move_case(case, event, actor=ACTOR, reason=f"{sd.step.id}: {sd.reason}", on=run_on)
    audit.append(AuditEvent(actor=ACTOR, action=f"step.{sd.step.action}",
                            object_type="collection.case", object_id=str(case.pk),
                            summary=f"{step_key}: {sd.reason}"[:300],
                            details={"channel": sd.channel, "segment": sd.segment,
                                     "fallbacks": list(sd.fallbacks)}))


__all__ = ["ACTOR", "Applied", "apply_decision", "message_context", "send_slot",
           "step_context"]
