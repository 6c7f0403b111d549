"""The daily decision for every tenancy that may need one.

Gathers snapshots in a few bulk queries, runs the pure signal detection and flow
decision, and applies each household's decision in its own atomic, audited
transaction: case changes, steps, messages and tasks land together or not at all.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q

from vroeg.audit.models import AuditEvent
from vroeg.collection.debt_help import debt_help_for
from vroeg.collection.models import Case, CaseStep, Pause, Signal, Task
from vroeg.domain.calendar import next_send_slot
from vroeg.domain.flow import (
    Contact,
    Decision,
    Flow,
    HouseholdSnapshot,
    OpenCase,
    TenancySnapshot,
    decide,
    task_due_on,
)
from vroeg.domain.ledger import Posting, age
from vroeg.domain.signals import SignalFact, detect
from vroeg.ledger.models import LedgerEntry
from vroeg.ledger.queries import owing_balances
from vroeg.messaging.models import Message
from vroeg.messaging.render import base_context, jsonable_context, render
from vroeg.portfolio.models import Household, Tenancy

ACTOR = "system:run"
# Days the written reminder gives to object to the municipal signal (RULES-NL rule 5).
SIGNAL_OBJECTION_DAYS = 14
TASK_TITLES = {
    "call": "Bel de huurder over de achterstand / Call the tenant about the arrears",
    "no_channel": "Geen kanaal om de huurder te bereiken / No channel to reach the tenant",
}


@dataclass
class EvaluationResult:
    evaluated: int = 0
    households: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    signals: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    paused: int = 0


def _chunks(ids: list[int], size: int = 900) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def tenancies_to_evaluate(run_on: date, touched: Iterable[int]) -> set[int]:
    """In arrears, with an open case, or with ledger activity today: the rest has nothing to do."""
    ids = set(owing_balances(run_on))
    ids.update(Case.objects.filter(status=Case.Status.OPEN).values_list("tenancy_id", flat=True))
    ids.update(LedgerEntry.objects.filter(booked_on=run_on).values_list("tenancy_id", flat=True))
    ids.update(touched)
    return ids


def _postings(ids: list[int], run_on: date) -> dict[int, list[Posting]]:
    out: dict[int, list[Posting]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = (LedgerEntry.objects.filter(tenancy_id__in=chunk, booked_on__lte=run_on)
                .values_list("tenancy_id", "kind", "amount", "booked_on", "due_on",
                             "return_reason", "source_key"))
        for tid, kind, amount, booked_on, due_on, reason, key in rows:
            out[tid].append(Posting(kind, amount, booked_on, due_on, reason, key))
    return out


def evaluate(run_on: date, now: datetime, flow: Flow,
             touched: Iterable[int] = ()) -> EvaluationResult:
    result = EvaluationResult()
    ids = sorted(tenancies_to_evaluate(run_on, touched))
    if not ids:
        return result
    tenancies = {t.pk: t for chunk in _chunks(ids)
                 for t in Tenancy.objects.filter(pk__in=chunk).select_related("household")}
    postings = _postings(ids, run_on)
    open_cases = {c.tenancy_id: c for chunk in _chunks(ids)
                  for c in Case.objects.filter(tenancy_id__in=chunk, status=Case.Status.OPEN)}
    steps_taken: dict[int, dict[str, date]] = defaultdict(dict)
    for chunk in _chunks([c.pk for c in open_cases.values()]):
        for case_id, step, taken_on in CaseStep.objects.filter(case_id__in=chunk).values_list(
                "case_id", "step", "taken_on"):
            steps_taken[case_id][step] = taken_on
    known_signals: set[tuple[int, str, str]] = set()
    for chunk in _chunks(ids):
        known_signals.update(Signal.objects.filter(tenancy_id__in=chunk)
                             .values_list("tenancy_id", "kind", "key"))
    active_pauses = list(Pause.objects.filter(starts_on__lte=run_on).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=run_on)))
    pause_by_tenancy = {p.tenancy_id: p.reason for p in active_pauses if p.tenancy_id}
    pause_by_household = {p.household_id: p.reason for p in active_pauses if p.household_id}
    messaged_today = set(Message.objects.filter(decided_on=run_on)
                         .values_list("household_id", flat=True))

    by_household: dict[int, list[TenancySnapshot]] = defaultdict(list)
    new_signals: dict[int, list[tuple[int, SignalFact]]] = defaultdict(list)
    for tid in ids:
        t = tenancies[tid]
        ps = postings.get(tid, [])
        monthly = t.net_rent + t.service_costs
        ageing = age(ps, run_on, monthly)
        facts = detect(ps, run_on)
        for f in facts:
            if (tid, f.kind, f.key) not in known_signals:
                new_signals[t.household_id].append((tid, f))
        case = open_cases.get(tid)
        by_household[t.household_id].append(TenancySnapshot(
            tenancy_id=tid, monthly_rent=monthly, balance=ageing.balance,
            arrears=ageing.arrears, oldest_due_on=ageing.oldest_due_on,
            days_overdue=ageing.days_overdue, months_owed=ageing.months_owed,
            signals=frozenset(f.kind for f in facts),
            open_case=OpenCase(case.pk, steps_taken.get(case.pk, {})) if case else None,
            pause_reason=pause_by_tenancy.get(tid)))
        result.evaluated += 1

    fault_after = _fault_point()
    for n, (hid, snaps) in enumerate(sorted(by_household.items()), start=1):
        household = tenancies[snaps[0].tenancy_id].household
        snapshot = HouseholdSnapshot(
            household_id=hid, contact=_contact(household), tenancies=tuple(snaps),
            messaged_on=frozenset({run_on}) if hid in messaged_today else frozenset(),
            paused_reason=pause_by_household.get(hid))
        decision = decide(flow, snapshot, run_on)
        signals = new_signals.get(hid, [])
        if decision.open_cases or decision.close_cases or decision.steps or signals:
            _apply(household, decision, snapshot, signals, tenancies, run_on, now, flow, result)
            result.households += 1
        result.paused += sum(1 for note in decision.notes if note.startswith("pauze"))
        if fault_after is not None and n >= fault_after:
            os._exit(3)  # fault injection for the crash-and-resume test
    return result


def _fault_point() -> int | None:
    spec = os.environ.get("VROEG_FAULT", "")
    return int(spec.split(":", 1)[1]) if spec.startswith("evaluate:") else None


def _contact(h: Household) -> Contact:
    return Contact(preferred_channel=h.preferred_channel, has_email=bool(h.email),
                   has_mobile=bool(h.mobile), has_postal=True, letter_only=h.letter_only,
                   no_email=h.no_email, no_sms=h.no_sms)


def _recipient(h: Household, t: Tenancy, channel: str, ctx: dict) -> str:
    if channel == "email":
        return h.email
    if channel == "sms":
        return h.mobile
    p = ctx["postal"]
    return f"{h.name}, {p['street']} {p['house_number']}, {p['postcode']} {p['city']}"


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


def _apply(household: Household, decision: Decision, snapshot: HouseholdSnapshot,
           signals: list[tuple[int, SignalFact]], tenancies: dict[int, Tenancy], run_on: date,
           now: datetime, flow: Flow, result: EvaluationResult) -> None:
    snaps = {t.tenancy_id: t for t in snapshot.tenancies}
    audit: list[AuditEvent] = []
    flow_id = f"{flow.name}@{flow.version}"
    with transaction.atomic():
        Signal.objects.bulk_create([
            Signal(tenancy_id=tid, kind=f.kind, key=f.key, detected_on=run_on, reason=f.reason)
            for tid, f in signals])
        for _tid, f in signals:
            result.signals[f.kind] += 1
        cases: dict[int, Case] = {}
        for tid in decision.open_cases:
            case = Case.objects.create(tenancy_id=tid, flow=flow_id, opened_on=run_on)
            cases[tid] = case
            result.cases_opened += 1
            audit.append(AuditEvent(
                actor=ACTOR, action="case.open", object_type="collection.case",
                object_id=str(case.pk),
                summary=f"achterstand / arrears {snaps[tid].arrears} "
                        f"sinds / since {snaps[tid].oldest_due_on}"))
        for case_id, reason in decision.close_cases:
            Case.objects.filter(pk=case_id).update(status=Case.Status.CLOSED, closed_on=run_on,
                                                   stage="closed", close_reason=reason)
            Task.objects.filter(case_id=case_id, status=Task.Status.OPEN).update(
                status=Task.Status.CANCELLED, reason=reason)
            result.cases_closed += 1
            audit.append(AuditEvent(actor=ACTOR, action="case.close",
                                    object_type="collection.case", object_id=str(case_id),
                                    summary=reason))
        for sd in decision.steps:
            case_id = sd.case_id if sd.case_id is not None else cases[sd.tenancy_id].pk
            tenancy = tenancies[sd.tenancy_id]
            CaseStep.objects.create(case_id=case_id, step=sd.step.id, taken_on=run_on,
                                    action=sd.step.action, reason=sd.reason)
            Case.objects.filter(pk=case_id).update(stage=sd.step.id)
            if sd.step.action == "message":
                ctx = message_context(household, snaps[sd.tenancy_id], tenancy, run_on)
                if "signal_offer" in sd.step.records:
                    # Rule 3d/4: the tenant may object before the signal goes out.
                    ctx["object_by"] = run_on + timedelta(days=SIGNAL_OBJECTION_DAYS)
                rendered = render(sd.step.template, sd.channel, household.language, ctx)
                Message.objects.create(
                    household=household, tenancy=tenancy, case_id=case_id, step=sd.step.id,
                    template=sd.step.template, channel=sd.channel, language=household.language,
                    recipient=_recipient(household, tenancy, sd.channel, ctx),
                    subject=rendered.subject, body_text=rendered.text,
                    context=jsonable_context(ctx), decided_on=run_on,
                    send_after=next_send_slot(run_on, now),
                    idempotency_key=f"msg:{case_id}:{sd.step.id}")
                result.messages[sd.channel] += 1
            else:
                kind = sd.step.task_kind
                Task.objects.create(
                    kind=kind, title=TASK_TITLES.get(kind, sd.step.title), team=sd.step.task_team,
                    household=household, tenancy=tenancy, case_id=case_id, created_on=run_on,
                    due_on=task_due_on(sd.step, run_on), reason=sd.reason,
                    idempotency_key=f"task:{case_id}:{sd.step.id}")
                result.tasks[kind] += 1
            audit.append(AuditEvent(actor=ACTOR, action=f"step.{sd.step.action}",
                                    object_type="collection.case", object_id=str(case_id),
                                    summary=f"{sd.step.id}: {sd.reason}"[:300],
                                    details={"channel": sd.channel}))
        AuditEvent.objects.bulk_create(audit)
