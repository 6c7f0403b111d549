"""The one place cases, evidence, tasks, pauses and arrangements are written by hand
or by other apps (the daily run's bulk decisions live in collection/evaluate.py and
use the same helpers for the state machine and the evidence).

Every write is audited with who did it and why, in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from vroeg.audit.actions import audit
from vroeg.collection.models import (
    CONTACT_OUTCOMES,
    Arrangement,
    Case,
    CaseTransition,
    Evidence,
    Instalment,
    Pause,
    Task,
)
from vroeg.domain import case_state as cs
from vroeg.domain.flow import snapshot as fs


class ActionError(ValueError):
    """A request that cannot be done; the text says why (Dutch / English)."""


def move_case(case: Case, event: str, *, actor: str, reason: str, on: date) -> cs.Transition:
    """Apply a state-machine event to a case (IllegalTransition if the table refuses).
    A transition that keeps the state is still recorded when asked for: it is what
    happened. Call inside the transaction that makes the change itself."""
    t = cs.transition(case.state, event)
    fields: dict[str, Any] = {"state": t.after}
    if t.after == cs.CLOSED:
        fields.update(status=Case.Status.CLOSED, closed_on=on, stage="closed",
                      close_reason=reason[:120])
    Case.objects.filter(pk=case.pk).update(**fields)
    for k, v in fields.items():
        setattr(case, k, v)
    CaseTransition.objects.create(case=case, before=t.before, after=t.after, event=event, on=on,
                                  actor=actor, reason=reason[:300])
    audit(actor, f"case.{event}", case, summary=f"{t.describe()}: {reason}"[:300],
          before=t.before, after=t.after)
    return t


def record_evidence(case: Case, kind: str, *, on: date, note: str, actor: str, source: str = "",
                    details: dict[str, Any] | None = None) -> Evidence:
    """A fact on record; the same (case, kind, source) is recorded once."""
    if not note.strip():
        raise ActionError("bewijs zonder omschrijving / evidence needs a note")
    ev, created = Evidence.objects.get_or_create(
        case=case, kind=kind, source=source,
        defaults={"on": on, "note": note[:300], "actor": actor, "details": details or {}})
    if created:
        audit(actor, f"evidence.{kind}", case, summary=f"{kind} {on}: {note}"[:300],
              source=source)
    return ev


def record_message_evidence(message: Any, sent_on: date, *, actor: str = "system:dispatch",
                            context: dict[str, Any] | None = None) -> int:
    """The evidence a sent message proves (its context's "_evidence" list), dated the
    day it went out. The 14-day letter also stores its figures (principal, costs,
    deadline as rendered). Returns how many were recorded."""
    items = (message.context or {}).get("_evidence") or []
    if not items or message.case_id is None:
        return 0
    ctx = context or message.context or {}
    case = Case.objects.get(pk=message.case_id)
    n = 0
    for item in items:
        details: dict[str, Any] = {"channel": message.channel, "template": message.template}
        note = str(item.get("note") or item["kind"])
        if item["kind"] == Evidence.Kind.FOURTEEN_DAY_LETTER:
            details.update({k: str(ctx[k]) for k in ("principal", "costs", "total", "sent_on",
                                                     "received_on", "deadline") if k in ctx})
            note = f"{note}; termijn tot en met / deadline {details.get('deadline', '?')}"
        record_evidence(case, item["kind"], on=sent_on, actor=actor,
                        source=f"message:{message.pk}", note=note, details=details)
        n += 1
    return n


def open_case_of(tenancy_id: int) -> Case | None:
    return Case.objects.filter(tenancy_id=tenancy_id, status=Case.Status.OPEN).first()


def complete_task(task: Task, *, outcome: str, actor: str, on: date, note: str = "") -> Task:
    """A person closes a task with its outcome. A call or a visit with any outcome but
    "paid" or "wrong number" is a documented attempt at personal contact (Wgs
    precondition (a))."""
    if outcome not in dict(Task._meta.get_field("outcome").choices or []):
        raise ActionError(f"onbekende uitkomst / unknown outcome {outcome!r}")
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.status != Task.Status.OPEN:
            raise ActionError(f"taak {task.pk} is al gesloten / task is already closed")
        locked.status, locked.outcome, locked.done_on, locked.done_by = (
            Task.Status.DONE, outcome, on, actor)
        locked.note = note[:300]
        locked.save(update_fields=["status", "outcome", "done_on", "done_by", "note"])
        audit(actor, "task_done", locked, summary=f"taak {locked.pk} afgehandeld / done: "
                                                  f"{outcome}", kind=locked.kind)
        case = locked.case or (open_case_of(locked.tenancy_id) if locked.tenancy_id else None)
        if case is not None and locked.kind in ("call", "visit", "no_channel") \
                and outcome in CONTACT_OUTCOMES:
            label = dict(Task._meta.get_field("outcome").choices or []).get(outcome, outcome)
            record_evidence(case, Evidence.Kind.CONTACT_ATTEMPT, on=on, actor=actor,
                            source=f"task:{locked.pk}",
                            note=f"{locked.kind} {on.isoformat()}: {label}"
                                 + (f"; {note}" if note else ""))
    return locked


def record_objection(case: Case, *, on: date, actor: str, note: str) -> Evidence:
    """The tenant objects to the municipal signal (rule 4): no signal, on record."""
    with transaction.atomic():
        return record_evidence(case, Evidence.Kind.OBJECTION, on=on, actor=actor, note=note,
                               source=f"objection:{on.isoformat()}")


def set_pause(*, reason: str, kind: str, starts_on: date, actor: str,
              ends_on: date | None = None, tenancy_id: int | None = None,
              household_id: int | None = None) -> Pause:
    """Pause automated steps. Debt help and a moratorium run until a person ends them
    (rule 9); other pauses need an end date, so that none is forgotten."""
    if kind not in fs.PAUSE_KINDS:
        raise ActionError(f"onbekende soort pauze / unknown pause kind {kind!r}")
    if tenancy_id is None and household_id is None:
        raise ActionError("pauze voor een huurovereenkomst of huishouden / a pause needs a "
                          "tenancy or a household")
    if kind not in fs.DEBT_HELP_KINDS and ends_on is None:
        raise ActionError("een pauze heeft een einddatum nodig (behalve schuldhulp en "
                          "moratorium) / a pause needs an end date (except debt help and a "
                          "moratorium)")
    if ends_on is not None and ends_on < starts_on:
        raise ActionError("einddatum voor begindatum / end date before start date")
    with transaction.atomic():
        pause = Pause.objects.create(reason=reason[:200], kind=kind, starts_on=starts_on,
                                     ends_on=ends_on, set_by=actor, tenancy_id=tenancy_id,
                                     household_id=household_id)
        audit(actor, "pause_set", pause, summary=f"pauze {pause.pk}: {kind}, {reason}"[:300],
              starts_on=starts_on.isoformat(),
              ends_on=ends_on.isoformat() if ends_on else None)
        if kind in fs.DEBT_HELP_KINDS:
            for case in _open_cases(tenancy_id, household_id):
                # No bailiff during debt help (rule 9): a waiting proposal lapses.
                _withdraw_proposals(case, actor=actor, reason=reason, on=starts_on)
                if cs.allowed(case.state, cs.DEBT_HELP_STARTED):
                    move_case(case, cs.DEBT_HELP_STARTED, actor=actor, reason=reason,
                              on=starts_on)
    return pause


def end_pause(pause: Pause, *, on: date, actor: str, reason: str) -> Pause:
    """End a pause today (a documented breach or the end of debt help): never deleted."""
    if not reason.strip():
        raise ActionError("reden nodig / a reason is needed")
    with transaction.atomic():
        pause.ends_on, pause.ended_reason = on, reason[:200]
        pause.save(update_fields=["ends_on", "ended_reason"])
        audit(actor, "pause_end", pause, summary=f"pauze {pause.pk} beëindigd / ended: "
                                                 f"{reason}"[:300])
        if pause.kind in fs.DEBT_HELP_KINDS:
            for case in _open_cases(pause.tenancy_id, pause.household_id):
                if cs.allowed(case.state, cs.DEBT_HELP_ENDED):
                    move_case(case, cs.DEBT_HELP_ENDED, actor=actor, reason=reason, on=on)
    return pause


def _withdraw_proposals(case: Case, *, actor: str, reason: str, on: date) -> None:
    from vroeg.handover.actions import withdraw_open_proposals

    withdraw_open_proposals(case, actor=actor, reason=reason, on=on)


def _open_cases(tenancy_id: int | None, household_id: int | None) -> list[Case]:
    qs = Case.objects.filter(status=Case.Status.OPEN)
    if tenancy_id is not None:
        return list(qs.filter(tenancy_id=tenancy_id))
    if household_id is None:
        return []
    return list(qs.filter(tenancy__household_id=household_id))


def agree_arrangement(case: Case, *, schedule: list[tuple[date, Decimal]], actor: str,
                      on: date, note: str = "") -> Arrangement:
    """Record an arrangement agreed with the tenant: the instalments on top of rent."""
    if not schedule:
        raise ActionError("een regeling heeft termijnen nodig / an arrangement needs "
                          "instalments")
    dues = [due for due, _ in schedule]
    if min(dues) < on:
        raise ActionError(f"eerste termijn {min(dues).isoformat()} ligt voor de afspraakdatum "
                          f"{on.isoformat()} / first instalment before the day it was agreed")
    if dues != sorted(dues) or len(set(dues)) != len(dues):
        raise ActionError("termijnen op volgorde, één per datum / instalments in date order, "
                          "one per date")
    if any(amount <= 0 for _, amount in schedule):
        raise ActionError("elke termijn is meer dan 0 / every instalment is more than 0")
    with transaction.atomic():
        for old in Arrangement.objects.filter(case=case, status=Arrangement.Status.ACTIVE):
            old.status, old.closed_on = Arrangement.Status.CANCELLED, on
            old.save(update_fields=["status", "closed_on"])
        total = sum((amount for _, amount in schedule), Decimal("0.00"))
        arr = Arrangement.objects.create(case=case, tenancy=case.tenancy, agreed_on=on,
                                         total=total, terms=len(schedule), created_by=actor,
                                         note=note[:300])
        Instalment.objects.bulk_create([
            Instalment(arrangement=arr, number=n, due_on=due, amount=amount)
            for n, (due, amount) in enumerate(schedule, start=1)])
        audit(actor, "arrangement.agree", arr, summary=f"{len(schedule)} termijnen / "
                                                       f"instalments, EUR {total}")
        _withdraw_proposals(case, actor=actor, reason=f"regeling / arrangement {arr.pk}", on=on)
        move_case(case, cs.ARRANGEMENT_AGREED, actor=actor, reason=f"regeling / arrangement "
                                                                   f"{arr.pk}", on=on)
    return arr


def self_service_options(tenancy: Any, on: date) -> tuple[Decimal, list[int], list[str]]:
    """What the tenant may arrange alone today: (what is owed, the allowed numbers of
    instalments, why not when none). Rule 13's self-service limits (ArrangementPolicy)."""
    from vroeg.domain import arrangements as arr
    from vroeg.ledger.queries import balance_of

    owed = balance_of(tenancy.pk, on)
    if owed <= 0 or open_case_of(tenancy.pk) is None:
        return owed, [], ["geen achterstand om te regelen / no arrears to arrange"]
    last = (Arrangement.objects.filter(tenancy=tenancy).order_by("-agreed_on")
            .values_list("agreed_on", flat=True).first())
    policy = arr.ArrangementPolicy()
    allowed: list[int] = []
    why: list[str] = []
    for terms in range(2, policy.self_service_max_terms + 1):
        ok, checks = arr.self_service_allowed(arr.SelfServiceFacts(
            tenancy_start_on=tenancy.start_on, today=on, arrears=owed,
            monthly_rent=tenancy.monthly_rent, terms=terms, last_arrangement_on=last), policy)
        if ok:
            allowed.append(terms)
        elif not why:
            why = [c.text for c in checks if not c.passed]
    return owed, allowed, why


def self_service_arrangement(tenancy: Any, *, terms: int, on: date, actor: str) -> Arrangement:
    """The tenant arranges the arrears alone (the link in a message), within policy:
    equal monthly instalments from next month, on top of the rent. Outside the policy:
    ActionError with the reasons, and a person decides."""
    from vroeg.domain import arrangements as arr

    owed, allowed, why = self_service_options(tenancy, on)
    if terms not in allowed:
        raise ActionError("; ".join(why) or f"{terms} termijnen kan niet zelf / cannot be "
                                              "arranged alone")
    first = (on.replace(day=1) + timedelta(days=32)).replace(day=min(tenancy.due_day, 28))
    proposal = arr.propose(owed, tenancy.monthly_rent, first, terms, agreed_on=on)
    if isinstance(proposal, arr.Refusal):
        raise ActionError("; ".join(proposal.reasons))
    case = open_case_of(tenancy.pk)
    assert case is not None  # self_service_options checked it
    return agree_arrangement(case, schedule=[(i.due_on, i.amount)
                                             for i in proposal.schedule.instalments],
                             actor=actor, on=on, note="zelf afgesproken via de link / "
                                                      "arranged by the tenant online")


__all__ = ["ActionError", "agree_arrangement", "self_service_arrangement",
           "self_service_options", "complete_task", "end_pause", "move_case",
           "open_case_of", "record_evidence", "record_objection", "set_pause"]
