"""The one place hand-over proposals (deurwaarder; VERA ExterneIncasso) are written.

- `propose_handover`: the daily run, inside its own transaction, when the gate of
  RULES-NL rule 15 is open. One open proposal per case; a staff task for the team lead.
- `approve` / `reject`: always a person (an actor starting with "system:" is refused),
  only from "proposed". Approval writes the dossier and, when settings allow, the WIK
  collection costs the bailiff may charge (rules 10, 11): kept on the proposal and in the
  dossier JSON, never booked to the tenant ledger.
- `withdraw_open_proposals`: the case closed, or an arrangement or debt help started.
- `build_dossier`: the files for the bailiff in outbox/handover/<id>/ (see dossier.py).

The decision task is closed as *done* on approval and on rejection (the team lead made
the decision: that was the work) and *cancelled* on withdrawal (no decision is needed
any more). Every write is audited in the same transaction.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

import vroeg.handover.dossier as dossier
from vroeg.audit.actions import audit
from vroeg.collection.actions import ActionError, move_case
from vroeg.collection.models import Case, Evidence, Task
from vroeg.domain import case_state as cs
from vroeg.domain.calendar import add_business_days, add_months
from vroeg.domain.legal.costs import collection_costs, costs_allowed
from vroeg.domain.money import ZERO, cents
from vroeg.handover.models import HandoverProposal
from vroeg.ledger.queries import balance_of

logger = logging.getLogger(__name__)

SYSTEM_PREFIX = "system:"
TASK_KIND = "handover_decision"
TASK_TEAM = "teamleider"
TASK_DUE_WORKING_DAYS = 3
MONTHS = Decimal("0.01")


class HandoverError(ActionError):
    """A hand-over request that cannot be done; the text says why (Dutch / English) and
    never holds personal data."""


def task_key(proposal: HandoverProposal) -> str:
    return f"handover:{proposal.pk}"


def _person(actor: str) -> str:
    """The decision is a person's (rule 15): never the daily run or another system."""
    name = (actor or "").strip()
    if not name:
        raise HandoverError("wie besluit? een naam is nodig / who decides? a name is needed")
    if name.lower().startswith(SYSTEM_PREFIX):
        raise HandoverError("een persoon besluit over een overdracht, nooit het systeem / a "
                            "person decides a hand-over, never the system")
    return name[:100]


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name}: een Decimal, geen {type(value).__name__} / must be a Decimal")
    number = Decimal(value)
    if not number.is_finite():
        raise HandoverError(f"{name}: geen getal / not a number")
    return number


def _move(case: Case, event: str, *, actor: str, reason: str, on: date) -> None:
    try:
        move_case(case, event, actor=actor, reason=reason, on=on)
    except cs.IllegalTransition as exc:
        raise HandoverError(str(exc)) from None


# --- propose ---------------------------------------------------------------------------


def propose_handover(case: Case, *, day: date, actor: str, gate: Sequence[str],
                     arrears: Decimal, months_in_arrears: Decimal) -> HandoverProposal:
    """Propose handing `case` to the bailiff; the open proposal if there already is one.

    `gate` holds the readable checks and care flags of the open gate (stored as they
    stood). Creates the team lead's decision task (due in 3 working days) and moves the
    case to `handover_proposed`. Call inside the daily run's transaction."""
    if isinstance(gate, str) or not all(isinstance(text, str) for text in gate):
        raise HandoverError("gate: een lijst teksten / a list of texts")
    amount = cents(_decimal(arrears, "arrears"))
    months = _decimal(months_in_arrears, "months_in_arrears").quantize(MONTHS, ROUND_HALF_UP)
    if amount <= 0:
        raise HandoverError("geen achterstand: niets over te dragen / no arrears: nothing to "
                            "hand over")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        case.state, case.status = locked.state, locked.status
        existing = HandoverProposal.objects.filter(
            case=case, status=HandoverProposal.Status.PROPOSED).first()
        if existing is not None:
            return existing
        if case.status != Case.Status.OPEN:
            raise HandoverError(f"dossier {case.pk} is gesloten / case {case.pk} is closed")
        try:
            cs.transition(case.state, cs.HANDOVER_PROPOSED_EVENT)
        except cs.IllegalTransition as exc:
            raise HandoverError(str(exc)) from None
        try:
            with transaction.atomic():
                proposal = HandoverProposal.objects.create(
                    case=case, tenancy_id=case.tenancy_id, proposed_on=day, arrears=amount,
                    months_in_arrears=months, gate=list(gate))
        except IntegrityError:
            # Another run proposed it a moment ago: the unique constraint keeps one.
            return HandoverProposal.objects.get(case=case,
                                                status=HandoverProposal.Status.PROPOSED)
        tenancy = case.tenancy
        Task.objects.create(
            kind=TASK_KIND, team=TASK_TEAM, household_id=tenancy.household_id,
            tenancy=tenancy, case=case, created_on=day,
            due_on=add_business_days(day, TASK_DUE_WORKING_DAYS),
            title=f"Besluit overdracht deurwaarder / decide bailiff hand-over: {tenancy.code}",
            reason=(f"Voorstel {proposal.pk}: achterstand EUR {amount}, {months} maanden huur "
                    f"/ proposal {proposal.pk}: arrears EUR {amount}, {months} months' rent"),
            idempotency_key=task_key(proposal))
        _move(case, cs.HANDOVER_PROPOSED_EVENT, actor=actor, on=day,
              reason=f"voorstel overdracht / hand-over proposal {proposal.pk}")
        audit(actor, "handover.propose", proposal,
              summary=f"voorstel {proposal.pk}: EUR {amount}, {months} maanden / months",
              case_id=case.pk)
    return proposal


# --- decide ----------------------------------------------------------------------------


def _lock_proposed(proposal: HandoverProposal, on: date) -> HandoverProposal:
    p = HandoverProposal.objects.select_for_update().select_related(
        "tenancy__household").get(pk=proposal.pk)
    if p.status != HandoverProposal.Status.PROPOSED:
        raise HandoverError(f"voorstel {p.pk} is al {p.get_status_display()}: alleen een "
                            f"voorgesteld voorstel kan worden besloten / proposal {p.pk} is "
                            f"not open: only a proposed one can be decided")
    if on < p.proposed_on:
        raise HandoverError(f"besluitdatum {on.isoformat()} ligt vóór het voorstel "
                            f"({p.proposed_on.isoformat()}) / decision date before the "
                            f"proposal")
    return p


def _locked_case(p: HandoverProposal) -> Case:
    case = Case.objects.select_for_update().get(pk=p.case_id)
    if case.state != cs.HANDOVER_PROPOSED:
        raise HandoverError(
            f"dossier {case.pk} wacht niet (meer) op een besluit (fase: "
            f"{cs.STATES.get(case.state, case.state)}); trek het voorstel in / case {case.pk} "
            f"no longer awaits a decision; withdraw the proposal")
    return case


def _close_task(p: HandoverProposal, status: str, *, actor: str, on: date, note: str) -> None:
    for task in Task.objects.select_for_update().filter(idempotency_key=task_key(p),
                                                       status=Task.Status.OPEN):
        task.status, task.done_on, task.done_by = status, on, actor[:100]
        task.note = note[:300]
        task.save(update_fields=["status", "done_on", "done_by", "note"])
        what = "afgehandeld / done" if status == Task.Status.DONE else "vervallen / cancelled"
        audit(actor, "task_done" if status == Task.Status.DONE else "task_cancelled", task,
              summary=f"taak {task.pk} {what}", kind=task.kind)


def _costs(p: HandoverProposal, case: Case, on: date,
           principal: Decimal) -> tuple[Decimal | None, Decimal | None, str]:
    """The WIK costs the bailiff may charge from `on`, or why none (rules 10, 11)."""
    if not settings.VROEG_CHARGE_COSTS_AT_HANDOVER:
        return None, None, ("Geen incassokosten: de instelling VROEG_CHARGE_COSTS_AT_HANDOVER "
                            "staat uit / no collection costs: the setting "
                            "VROEG_CHARGE_COSTS_AT_HANDOVER is off")
    # The latest letter counts: a new 14-day letter gives the tenant a new term.
    letter = (Evidence.objects.filter(case=case, kind=Evidence.Kind.FOURTEEN_DAY_LETTER,
                                      on__lte=on).order_by("-on", "-id").first())
    if letter is None or not costs_allowed(letter.on, on):
        sent = letter.on.isoformat() if letter else "-"
        return None, None, (f"Geen incassokosten: de termijn van de veertiendagenbrief "
                            f"({sent}) is op {on.isoformat()} niet verstreken (regel 10) / no "
                            f"collection costs: the 14-day letter's deadline has not passed "
                            f"(rule 10)")
    # The cap for small recurring claims counts costs already charged in 6 months.
    charged = (HandoverProposal.objects.filter(
        tenancy_id=p.tenancy_id, status=HandoverProposal.Status.APPROVED,
        decided_on__gt=add_months(on, -6), decided_on__lte=on)
        .exclude(pk=p.pk).aggregate(s=Sum("collection_costs"))["s"])
    result = collection_costs(principal, on, monthly_amount=p.tenancy.monthly_rent,
                              charged_last_6_months=cents(Decimal(charged or ZERO)))
    return result.costs, result.vat, result.explanation


def _build_in_transaction(p: HandoverProposal) -> None:
    try:
        build_dossier(p)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        raise HandoverError(f"dossier kon niet worden geschreven ({name}) / could not write "
                            f"the dossier") from None


def approve(proposal: HandoverProposal, *, actor: str, on: date,
            note: str) -> HandoverProposal:
    """A person approves the hand-over on `on`: the case goes to the bailiff."""
    person = _person(actor)
    with transaction.atomic():
        p = _lock_proposed(proposal, on)
        case = _locked_case(p)
        principal = balance_of(p.tenancy_id, on)
        if principal <= 0:
            raise HandoverError(f"niets te vorderen op {on.isoformat()}: het saldo is voldaan "
                                f"/ nothing owed on {on.isoformat()}: the balance is settled")
        costs, vat, explanation = _costs(p, case, on, principal)
        text = (note or "").strip()
        _move(case, cs.HANDOVER_APPROVED, actor=person, on=on,
              reason=f"voorstel / proposal {p.pk}" + (f": {text}" if text else ""))
        p.status, p.decided_on, p.decided_by = HandoverProposal.Status.APPROVED, on, person
        p.decision_note, p.principal = text[:300], principal
        p.collection_costs, p.collection_costs_vat, p.costs_explanation = costs, vat, explanation
        p.save(update_fields=["status", "decided_on", "decided_by", "decision_note", "principal",
                              "collection_costs", "collection_costs_vat",
                              "costs_explanation"])
        _close_task(p, Task.Status.DONE, actor=person, on=on,
                    note="goedgekeurd / approved" + (f": {text}" if text else ""))
        audit(person, "handover.approve", p,
              summary=f"voorstel {p.pk} goedgekeurd / approved: hoofdsom / principal EUR "
                      f"{principal}, kosten / costs EUR {costs if costs is not None else '-'}",
              case_id=case.pk)
        _build_in_transaction(p)
    proposal.refresh_from_db()
    return proposal


def reject(proposal: HandoverProposal, *, actor: str, on: date,
           note: str) -> HandoverProposal:
    """A person rejects the hand-over, with a reason: the case returns to the 14-day
    letter stage (the flow goes on from there)."""
    person = _person(actor)
    text = (note or "").strip()
    if not text:
        raise HandoverError("een afwijzing heeft een toelichting nodig / a rejection needs a "
                            "note")
    with transaction.atomic():
        p = _lock_proposed(proposal, on)
        case = _locked_case(p)
        _move(case, cs.HANDOVER_REJECTED, actor=person, on=on,
              reason=f"voorstel / proposal {p.pk}: {text}")
        p.status, p.decided_on, p.decided_by = HandoverProposal.Status.REJECTED, on, person
        p.decision_note = text[:300]
        p.save(update_fields=["status", "decided_on", "decided_by", "decision_note"])
        _close_task(p, Task.Status.DONE, actor=person, on=on, note=f"afgewezen / rejected: "
                                                                  f"{text}")
        audit(person, "handover.reject", p, summary=f"voorstel {p.pk} afgewezen / rejected",
              case_id=case.pk)
        if p.dossier_folder:  # a dossier on disk must not still say "new"
            _build_in_transaction(p)
    proposal.refresh_from_db()
    return proposal


def withdraw_open_proposals(case: Case, *, actor: str, reason: str,
                            on: date | None = None) -> list[HandoverProposal]:
    """Withdraw the case's open proposal (the case closed, an arrangement or debt help
    started). The case's own move is the caller's (the event that caused this); the
    decision task is cancelled. `on` defaults to today (pass the run date)."""
    if not (reason or "").strip():
        raise HandoverError("reden nodig / a reason is needed")
    if on is None:
        from vroeg.runs.clock import today

        on = today()
    withdrawn: list[HandoverProposal] = []
    with transaction.atomic():
        for p in HandoverProposal.objects.select_for_update().filter(
                case_id=case.pk, status=HandoverProposal.Status.PROPOSED):
            day = max(on, p.proposed_on)
            p.status, p.decided_on = HandoverProposal.Status.WITHDRAWN, day
            p.decided_by, p.decision_note = actor[:100], reason.strip()[:300]
            p.save(update_fields=["status", "decided_on", "decided_by", "decision_note"])
            _close_task(p, Task.Status.CANCELLED, actor=actor, on=day, note=reason)
            audit(actor, "handover.withdraw", p, summary=f"voorstel {p.pk} vervallen / "
                                                         f"withdrawn: {reason}"[:300],
                  case_id=case.pk)
            withdrawn.append(p)
    for p in withdrawn:
        if p.dossier_folder:
            try:
                build_dossier(p)
            except OSError as exc:  # the daily run goes on; `vroeg handover dossier` redoes it
                logger.warning("hand-over dossier %s not rebuilt after withdrawal (%s)", p.pk,
                               errno.errorcode.get(exc.errno or 0, type(exc).__name__))
    return withdrawn


# --- the dossier -----------------------------------------------------------------------


def build_dossier(proposal: HandoverProposal) -> Path:
    """Write outbox/handover/<id>/ (dossier.pdf, ledger.csv, externe-incasso.json), each
    file whole or not at all; returns the folder. Rebuilding from the same data writes
    the same CSV and JSON (the PDF differs only in its generation time)."""
    p = HandoverProposal.objects.select_related("case", "tenancy__household").get(
        pk=proposal.pk)
    folder = dossier.write(p)
    relative = dossier.relative(folder)
    if p.dossier_folder != relative:
        HandoverProposal.objects.filter(pk=p.pk).update(dossier_folder=relative)
    proposal.dossier_folder = relative
    return folder


def build_missing_dossiers() -> int:
    """Dossiers for the open proposals that have none yet (the daily run, after its
    decisions): the team lead finds the dossier ready. Returns how many were built; a
    write error is logged and tried again on the next run."""
    built = 0
    for p in HandoverProposal.objects.filter(status=HandoverProposal.Status.PROPOSED).order_by(
            "id"):
        if p.dossier_folder and (dossier.folder_for(p) / dossier.PDF).is_file():
            continue
        try:
            build_dossier(p)
        except OSError as exc:
            logger.warning("hand-over dossier %s not built (%s)", p.pk,
                           errno.errorcode.get(exc.errno or 0, type(exc).__name__))
            continue
        built += 1
    return built


__all__ = ["HandoverError", "approve", "build_dossier", "build_missing_dossiers",
           "propose_handover", "reject", "task_key", "withdraw_open_proposals"]
