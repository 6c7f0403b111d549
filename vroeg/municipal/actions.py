"""The one place municipal signals and the municipality's feedback are written.

- :func:`create_signal`: the daily run, inside its decision transaction, once the
  legal gate passed (RULES-NL rules 3-5). Freezes the payload (rule 6) and the
  evidence of the four preconditions. One signal per case.
- :func:`deliver_signals`: the daily run, after the decisions. Every READY signal
  goes through its municipality's adapter; sent -> evidence + case SIGNALLED.
- :func:`record_feedback`: what the municipality reported (rule 7).
- :func:`withdraw_signal`: a READY signal that must not go out after all.
- :func:`export_day`: write a day's files again from the database.

Arrears figures are computed here from the ledger (booked through the day, aged with
vroeg.domain.ledger.age exactly as collection/evaluate.py does), so the signal's
amount is the ledger's, not whatever a caller passes.

Every write is audited. Errors (SignalError) and stored delivery errors carry no
personal data: signal and case numbers, municipality and codes only.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.collection.actions import complete_task, end_pause, move_case, record_evidence, set_pause
from vroeg.collection.models import Case, Evidence, Pause, Task
from vroeg.domain import case_state as cs
from vroeg.domain.flow import snapshot as fs
from vroeg.domain.ledger import Ageing, Posting, age
from vroeg.domain.legal.wgs import PRECONDITIONS
from vroeg.home import outbox
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.render import format_postcode
from vroeg.municipal.adapters import (
    AdapterError,
    AdapterResult,
    FileAdapter,
    get_adapter,
)
from vroeg.municipal.config import adapter_name_for, folder_name, has_agreement
from vroeg.municipal.models import MunicipalFeedback, MunicipalSignal
from vroeg.runs.clock import today

log = logging.getLogger(__name__)

#: Rule 7: escalation pauses up to 30 days after "help accepted" ...
HELP_PAUSE_DAYS = 30
#: ... and a plan is expected within 4 weeks.
PLAN_EXPECTED_DAYS = 28
PLAN_TASK_KIND = "municipal_plan_check"

_PRECONDITION_KINDS = tuple(code for _, code, _ in PRECONDITIONS)
_FEEDBACK_KINDS = frozenset(MunicipalFeedback.Kind.values)
_Status = MunicipalSignal.Status
_Kind = MunicipalFeedback.Kind


class SignalError(ValueError):
    """A request that cannot be done; the text says why (Dutch / English), without
    personal data."""


# --- create -------------------------------------------------------------------------------


def _postings(tenancy_id: int, through: date) -> list[Posting]:
    rows = (LedgerEntry.objects.filter(tenancy_id=tenancy_id, booked_on__lte=through)
            .values_list("kind", "amount", "booked_on", "due_on", "return_reason", "source_key"))
    return [Posting(kind, amount, booked_on, due_on, reason, key)
            for kind, amount, booked_on, due_on, reason, key in rows]


def arrears_of(tenancy_id: int, monthly_rent: Decimal, on: date) -> Ageing:
    """The tenancy's arrears on `on`, from the ledger (oldest-first, rule 1)."""
    return age(_postings(tenancy_id, on), on, monthly_rent)


def _precondition_evidence(case: Case, day: date) -> list[dict[str, Any]]:
    rows = Evidence.objects.filter(case=case, kind__in=_PRECONDITION_KINDS,
                                   on__lte=day).order_by("on", "id")
    by_kind: dict[str, list[dict[str, str]]] = defaultdict(list)
    for ev in rows:
        by_kind[ev.kind].append({"on": ev.on.isoformat(), "note": ev.note, "source": ev.source})
    return [{"code": code, "label": label, "evidence": by_kind.get(code, [])}
            for _, code, label in PRECONDITIONS]


def build_payload(case: Case, ageing: Ageing, municipality: str) -> dict[str, str]:
    """The signal's content (rule 6), every value a string. Built from a fixed list of
    fields: the household's other facts (vulnerability, children, notes) and any BSN
    never go out, whatever the models hold."""
    tenancy = case.tenancy
    household = tenancy.household
    corp = settings.VROEG_CORPORATION
    return {
        "gemeente": municipality,
        "naam": household.name,
        # Where the tenant lives (rule 5: the municipality is that of the home).
        "straat": tenancy.street,
        "huisnummer": tenancy.house_number,
        "postcode": format_postcode(tenancy.postcode),
        "woonplaats": tenancy.city.strip(),
        "telefoon": household.mobile,
        "email": household.email,
        "achterstand": str(ageing.arrears.quantize(Decimal("0.01"))),
        "achterstand_sinds": ageing.oldest_due_on.isoformat() if ageing.oldest_due_on else "",
        "maanden_achterstand": str(ageing.months_owed),
        "maandhuur": str(tenancy.monthly_rent.quantize(Decimal("0.01"))),
        "kenmerk_verhuurder": tenancy.code,
        "verhuurder_naam": str(corp.get("name", "")),
        "verhuurder_telefoon": str(corp.get("phone", "")),
        "verhuurder_email": str(corp.get("email", "")),
    }


def create_signal(case: Case, *, day: date, actor: str,
                  preconditions: Sequence[str]) -> MunicipalSignal:
    """Decide the municipal signal for a case (status READY; delivered later).

    ``preconditions`` are the legal gate's checks as the caller passed them
    (``Eligibility.reasons``): stored as ``gate_checks`` and printed in the proof. The
    four preconditions themselves are taken from the case's Evidence rows dated on or
    before ``day``. Idempotent: a case has one signal; a second call returns it.

    Raises SignalError, so the caller's transaction rolls back, when the signal may
    not go out whatever the gate said: the case is closed, the tenant objected
    (rule 4), a precondition has no evidence on record (rule 3), the municipality has
    no agreement (rule 5), or the ledger shows no arrears.
    """
    existing = MunicipalSignal.objects.filter(case_id=case.pk).first()
    if existing is not None:
        return existing
    case = Case.objects.select_related("tenancy__household").get(pk=case.pk)
    if case.status != Case.Status.OPEN:
        raise SignalError(f"dossier {case.pk} is gesloten / case is closed")
    if Evidence.objects.filter(case=case, kind=Evidence.Kind.OBJECTION).exists():
        raise SignalError(f"dossier {case.pk}: huurder maakte bezwaar, geen signaal / tenant "
                          "objected, no signal")
    tenancy = case.tenancy
    municipality = " ".join(tenancy.city.split())
    if not municipality:
        raise SignalError(f"dossier {case.pk}: geen plaats bij de huurovereenkomst / tenancy "
                          "has no place")
    if not has_agreement(municipality):
        raise SignalError(f"geen convenant met gemeente {municipality} / no agreement with "
                          f"this municipality (dossier {case.pk})")
    evidence = _precondition_evidence(case, day)
    missing = [item["code"] for item in evidence if not item["evidence"]]
    if missing:
        raise SignalError(f"dossier {case.pk}: geen bewijs vastgelegd voor / no evidence on "
                          f"record for {', '.join(missing)}")
    monthly = tenancy.monthly_rent
    ageing = arrears_of(tenancy.pk, monthly, day)
    if ageing.arrears <= 0:
        raise SignalError(f"dossier {case.pk}: geen achterstand / no arrears")
    try:
        with transaction.atomic():  # a savepoint: a concurrent signal must not poison the caller
            signal = MunicipalSignal.objects.create(
                case=case, tenancy=tenancy, household=tenancy.household,
                municipality=municipality, created_on=day,
                arrears=ageing.arrears, arrears_since=ageing.oldest_due_on,
                months_in_arrears=ageing.months_owed, monthly_rent=monthly,
                payload=build_payload(case, ageing, municipality), preconditions=evidence,
                gate_checks=[str(line)[:500] for line in preconditions],
                adapter=adapter_name_for(municipality))
    except IntegrityError:
        return MunicipalSignal.objects.get(case_id=case.pk)
    audit(actor, "municipal.signal_created", signal,
          summary=f"vroegsignaal {signal.pk} besloten / decided: gemeente {municipality}, "
                  f"achterstand / arrears EUR {signal.arrears}",
          case_id=case.pk, municipality=municipality)
    return signal


# --- deliver ------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    """What one delivery did, for the day report."""

    day: date
    sent: int = 0
    failed: int = 0  # still READY (retried next run) or refused for good (FAILED)
    refused: int = 0  # of which refused for good
    withdrawn: int = 0  # not sent after all: objection or closed case
    by_municipality: dict[str, Counter[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "signal <id>: <error>", no personal data

    def count(self, municipality: str, what: str) -> None:
        self.by_municipality.setdefault(municipality, Counter())[what] += 1

    def as_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "sent": self.sent, "failed": self.failed,
                "refused": self.refused, "withdrawn": self.withdrawn,
                "by_municipality": {m: {"sent": c["sent"], "failed": c["failed"],
                                        "withdrawn": c["withdrawn"]}
                                    for m, c in sorted(self.by_municipality.items())},
                "files": self.files, "errors": self.errors}


def _safe_error(exc: BaseException) -> str:
    # Our adapters' errors are written to be safe; anything else may quote data.
    if isinstance(exc, AdapterError):
        return str(exc)[:300]
    if isinstance(exc, OSError):
        import errno

        return f"kon bestand niet schrijven / could not write a file " \
               f"({errno.errorcode.get(exc.errno or 0, type(exc).__name__)})"
    return f"onverwachte fout / unexpected error ({type(exc).__name__})"


def _why_not_send(signal: MunicipalSignal) -> str:
    """A reason to withdraw a READY signal instead of sending it, or ''."""
    if Evidence.objects.filter(case_id=signal.case_id, kind=Evidence.Kind.OBJECTION).exists():
        return "huurder maakte bezwaar voor verzending / tenant objected before sending"
    if signal.case.status != Case.Status.OPEN:
        return "dossier gesloten voor verzending / case closed before sending"
    return ""


def deliver_signals(day: date, *, actor: str = "system:run") -> DeliveryResult:
    """Send every READY signal decided on or before ``day`` through its adapter.

    Sent: status SENT, ``sent_on=day``, the platform's reference and proof; then, in
    one transaction, the ``signal_sent`` evidence (source ``signal:<id>``, the proof
    file in its details) and the case's move to SIGNALLED when its state allows.
    A failure keeps the signal READY with ``last_error`` (tried again next run); a
    platform's refusal for good marks it FAILED. A signal whose tenant objected
    meanwhile, or whose case closed, is withdrawn instead (rule 4). Running it again
    sends nothing twice: only READY signals are picked up.
    """
    result = DeliveryResult(day=day)
    ready = list(MunicipalSignal.objects.filter(status=_Status.READY, created_on__lte=day)
                 .select_related("case", "tenancy").order_by("id"))
    groups: dict[str, list[MunicipalSignal]] = defaultdict(list)
    for signal in ready:
        why = _why_not_send(signal)
        if why:
            withdraw_signal(signal, actor=actor, reason=why, on=day)
            result.withdrawn += 1
            result.count(signal.municipality, "withdrawn")
            continue
        groups[folder_name(signal.municipality)].append(signal)
    now = timezone.now()
    for slug, signals in sorted(groups.items()):
        municipality = signals[0].municipality
        name = adapter_name_for(municipality)
        folder = outbox() / "municipal" / day.isoformat() / slug
        for s in signals:  # what the adapter sees and the proof states; saved on success
            s.sent_on, s.sent_at = day, now
        try:
            results = get_adapter(name).deliver(signals, folder)
        except Exception as exc:  # one batch's failure must not stop the others
            error = _safe_error(exc)
            permanent = bool(getattr(exc, "permanent", False))
            results = [AdapterResult(signal_id=s.pk, ok=False, error=error, permanent=permanent)
                       for s in signals]
        by_id = {r.signal_id: r for r in results}
        for s in signals:
            r = by_id.get(s.pk) or AdapterResult(
                signal_id=s.pk, ok=False, error="platform gaf geen antwoord / adapter gave no "
                                                "result for this signal")
            if r.ok and _mark_sent(s, r, name, day, now, actor):
                result.sent += 1
                result.count(s.municipality, "sent")
                if r.proof_file:
                    result.files.append(r.proof_file)
            elif not r.ok:
                _mark_failed(s, r, name, actor)
                result.failed += 1
                result.refused += int(r.permanent)
                result.count(s.municipality, "failed")
                result.errors.append(f"signaal / signal {s.pk}: {r.error}")
        if any(r.ok for r in results) and name == FileAdapter.name:
            base = f"outbox/municipal/{day.isoformat()}/{slug}"
            result.files[:0] = [f"{base}/signals.csv", f"{base}/signals.json"]
    return result


def _mark_sent(signal: MunicipalSignal, r: AdapterResult, adapter: str, day: date,
               now: datetime, actor: str) -> bool:
    with transaction.atomic():
        locked = MunicipalSignal.objects.select_for_update().get(pk=signal.pk)
        if locked.status != _Status.READY:  # another delivery got there first
            return False
        locked.status, locked.sent_on, locked.sent_at = _Status.SENT, day, now
        locked.adapter, locked.external_reference = adapter, r.reference[:100]
        locked.proof_file, locked.last_error = r.proof_file[:300], ""
        locked.attempts += 1
        locked.save(update_fields=["status", "sent_on", "sent_at", "adapter",
                                   "external_reference", "proof_file", "last_error",
                                   "attempts"])
        case = Case.objects.select_for_update().get(pk=locked.case_id)
        record_evidence(
            case, Evidence.Kind.SIGNAL_SENT, on=day, actor=actor, source=f"signal:{locked.pk}",
            note=f"Vroegsignaal {locked.pk} verstuurd naar gemeente {locked.municipality} "
                 f"/ signal sent ({adapter}); bewijs / proof: {r.proof_file or r.reference}",
            details={"signal_id": locked.pk, "municipality": locked.municipality,
                     "adapter": adapter, "reference": r.reference,
                     "proof_file": r.proof_file})
        if case.status == Case.Status.OPEN and cs.allowed(case.state, cs.SIGNAL_SENT):
            move_case(case, cs.SIGNAL_SENT, actor=actor, on=day,
                      reason=f"vroegsignaal {locked.pk} verstuurd / signal sent")
        audit(actor, "municipal.signal_sent", locked,
              summary=f"vroegsignaal {locked.pk} verstuurd / sent: gemeente "
                      f"{locked.municipality} via {adapter}",
              reference=r.reference, proof_file=r.proof_file)
    signal.status, signal.proof_file = locked.status, locked.proof_file
    return True


def _mark_failed(signal: MunicipalSignal, r: AdapterResult, adapter: str, actor: str) -> None:
    error = (r.error or "onbekende fout / unknown error")[:300]
    status = _Status.FAILED if r.permanent else _Status.READY
    with transaction.atomic():
        MunicipalSignal.objects.filter(pk=signal.pk, status=_Status.READY).update(
            status=status, last_error=error, attempts=signal.attempts + 1, adapter=adapter,
            sent_on=None, sent_at=None)
        audit(actor, "municipal.delivery_failed", signal,
              summary=f"vroegsignaal {signal.pk} niet verstuurd / not sent: {error}"[:300],
              adapter=adapter, permanent=r.permanent)
    signal.status, signal.last_error, signal.sent_on, signal.sent_at = status, error, None, None
    signal.attempts += 1
    log.warning("municipal signal %s (%s) not sent via %s: %s", signal.pk,
                signal.municipality, adapter, error)


# --- withdraw, retry, export -------------------------------------------------------------


def withdraw_signal(signal: MunicipalSignal, *, actor: str, reason: str,
                    on: date | None = None) -> MunicipalSignal:
    """A READY (or refused) signal will not be sent: paid meanwhile, an objection, a
    mistake. A sent signal cannot be withdrawn: it went out."""
    if not reason.strip():
        raise SignalError("reden nodig / a reason is needed")
    on = on or today()
    with transaction.atomic():
        locked = MunicipalSignal.objects.select_for_update().get(pk=signal.pk)
        if locked.status not in (_Status.READY, _Status.FAILED):
            raise SignalError(f"signaal {locked.pk} is {locked.get_status_display()}: alleen "
                              "een signaal dat nog niet verstuurd is kan worden ingetrokken / "
                              "only an unsent signal can be withdrawn")
        locked.status, locked.withdrawn_on = _Status.WITHDRAWN, on
        locked.withdrawn_reason = reason.strip()[:200]
        locked.save(update_fields=["status", "withdrawn_on", "withdrawn_reason"])
        audit(actor, "municipal.signal_withdrawn", locked,
              summary=f"vroegsignaal {locked.pk} ingetrokken / withdrawn: {reason}"[:300])
    signal.status, signal.withdrawn_on, signal.withdrawn_reason = (
        locked.status, locked.withdrawn_on, locked.withdrawn_reason)
    return locked


def retry_signal(signal: MunicipalSignal, *, actor: str) -> MunicipalSignal:
    """A signal the platform refused (FAILED) goes back to READY, after a person fixed
    the cause: the next delivery tries it again."""
    with transaction.atomic():
        locked = MunicipalSignal.objects.select_for_update().get(pk=signal.pk)
        if locked.status != _Status.FAILED:
            raise SignalError(f"signaal {locked.pk} is niet geweigerd / was not refused")
        locked.status = _Status.READY
        locked.save(update_fields=["status"])
        audit(actor, "municipal.signal_retry", locked,
              summary=f"vroegsignaal {locked.pk} opnieuw aangeboden / queued again")
    return locked


def export_day(day: date, *, actor: str, municipality: str | None = None) -> list[str]:
    """Write the files of the signals sent on ``day`` again, from the database, in the
    file adapter's layout (for a municipality that lost them). The proofs are marked
    as copies. Returns the paths written (relative to VROEG_HOME)."""
    qs = MunicipalSignal.objects.filter(status=_Status.SENT, sent_on=day).order_by("id")
    signals = list(qs.select_related("case"))
    if municipality:
        signals = [s for s in signals if folder_name(s.municipality) == folder_name(municipality)]
    groups: dict[str, list[MunicipalSignal]] = defaultdict(list)
    if not signals:
        return []
    for s in signals:
        groups[folder_name(s.municipality)].append(s)
    adapter = FileAdapter()
    written: list[str] = []
    for slug, batch in sorted(groups.items()):
        written += adapter.export(batch, outbox() / "municipal" / day.isoformat() / slug)
    audit(actor, "municipal.export", None, object_type="municipal.municipalsignal",
          summary=f"vroegsignalen {day.isoformat()} opnieuw geschreven / written again: "
                  f"{len(signals)}", municipality=municipality or "", count=len(signals))
    return written


# --- feedback -----------------------------------------------------------------------------


def current_rent_paid(signal: MunicipalSignal, on: date) -> bool:
    """Is current rent paid since the signal (rule 7)?

    Defined as: the tenancy's arrears on ``on`` (aged from the ledger, rent due on
    ``on`` itself not yet late) are not higher than the arrears in the signal. In
    words: the payments since the signal cover every rent charge that fell due since.
    Totals, not lines: with oldest-first allocation (rule 1) a payment of this
    month's rent settles the oldest debt, so the new month's line would look unpaid
    even when the tenant paid it in full.
    """
    ageing = arrears_of(signal.tenancy_id, signal.monthly_rent, on)
    return ageing.arrears <= signal.arrears


def check_feedback(signal: MunicipalSignal, *, kind: str, on: date) -> None:
    """Raise SignalError when this feedback cannot be recorded (for forms)."""
    if kind not in _FEEDBACK_KINDS:
        raise SignalError(f"onbekende terugmelding / unknown feedback kind {kind!r} (known: "
                          f"{', '.join(sorted(_FEEDBACK_KINDS))})")
    if signal.status != _Status.SENT or signal.sent_on is None:
        raise SignalError(f"signaal {signal.pk} is niet verstuurd / signal was not sent")
    if on < signal.sent_on:
        raise SignalError(f"terugmelding van {on.isoformat()} is van voor het signaal "
                          f"({signal.sent_on.isoformat()}) / feedback dated before the signal")


def _active_pauses(tenancy_id: int, household_id: int, kinds: Sequence[str],
                   on: date) -> list[Pause]:
    return list(Pause.objects.filter(kind__in=kinds, starts_on__lte=on)
                .filter(Q(tenancy_id=tenancy_id) | Q(household_id=household_id))
                .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on)).order_by("id"))


def _plan_task(signal: MunicipalSignal, on: date, actor: str, paused: bool) -> tuple[Task, bool]:
    due = on + timedelta(days=PLAN_EXPECTED_DAYS)
    task, created = Task.objects.get_or_create(
        idempotency_key=f"{PLAN_TASK_KIND}:{signal.pk}",
        defaults={
            "kind": PLAN_TASK_KIND,
            "title": "Heeft de gemeente binnen 4 weken een plan? / Did the municipality make "
                     "a plan within 4 weeks?",
            "team": "incasso", "household_id": signal.household_id,
            "tenancy_id": signal.tenancy_id, "case_id": signal.case_id,
            "created_on": on, "due_on": due,
            "reason": (f"Vroegsignaal {signal.pk}: hulp geaccepteerd op {on.isoformat()}, plan "
                       f"verwacht uiterlijk {due.isoformat()}"
                       + ("" if paused else "; geen pauze: lopende huur niet betaald")
                       + " / help accepted, plan expected")[:300],
        })
    if created:
        audit(actor, "task_created", task, summary=f"taak {task.pk}: {PLAN_TASK_KIND}, "
                                                   f"uiterlijk / due {due.isoformat()}",
              kind=PLAN_TASK_KIND, signal_id=signal.pk)
    return task, created


def _help_accepted(signal: MunicipalSignal, on: date, actor: str) -> list[str]:
    effects = []
    paid = current_rent_paid(signal, on)
    earlier = Pause.objects.filter(kind=fs.PAUSE_MUNICIPAL_HELP, tenancy_id=signal.tenancy_id,
                                   starts_on__gte=signal.sent_on).exists()
    if not paid:
        effects.append("geen pauze: lopende huur niet betaald / no pause: current rent not paid")
    elif earlier:
        effects.append("pauze al eerder gezet voor dit signaal / pause already set for this "
                       "signal")
    else:
        ends = on + timedelta(days=HELP_PAUSE_DAYS)
        pause = set_pause(reason=f"Gemeente: hulp geaccepteerd (vroegsignaal {signal.pk}) / "
                                 "municipality: help accepted",
                          kind=fs.PAUSE_MUNICIPAL_HELP, starts_on=on, ends_on=ends, actor=actor,
                          tenancy_id=signal.tenancy_id)
        effects.append(f"pauze {pause.pk} tot en met / pause until {ends.isoformat()}")
    task, created = _plan_task(signal, on, actor, paused=paid and not earlier)
    effects.append(f"taak {task.pk} planbewaking / plan check"
                   + ("" if created else " (bestond al / existed)"))
    return effects


def _debt_help(signal: MunicipalSignal, kind: str, on: date, actor: str) -> list[str]:
    effects = []
    running = _active_pauses(signal.tenancy_id, signal.household_id,
                             sorted(fs.DEBT_HELP_KINDS), on)
    if running:
        effects.append(f"schuldhulppauze loopt al / debt-help pause already runs ({running[0].pk})")
    else:
        label = MunicipalFeedback.Kind(kind).label
        pause = set_pause(reason=f"Gemeente: {label} (vroegsignaal {signal.pk})"[:200],
                          kind=fs.PAUSE_DEBT_HELP, starts_on=on, actor=actor,
                          tenancy_id=signal.tenancy_id)
        effects.append(f"schuldhulppauze / debt-help pause {pause.pk}")
    task = Task.objects.filter(idempotency_key=f"{PLAN_TASK_KIND}:{signal.pk}",
                               status=Task.Status.OPEN).first()
    if task is not None:
        complete_task(task, outcome="debt_help", actor=actor, on=on,
                      note=f"gemeente meldt / municipality reports: {kind}")
        effects.append(f"taak {task.pk} afgehandeld / done")
    return effects


def _end_help_pause(signal: MunicipalSignal, kind: str, on: date, actor: str) -> list[str]:
    effects = []
    for pause in _active_pauses(signal.tenancy_id, signal.household_id,
                                [fs.PAUSE_MUNICIPAL_HELP], on):
        end_pause(pause, on=on, actor=actor,
                  reason=f"gemeente meldt / municipality reports: {kind} "
                         f"(vroegsignaal {signal.pk})")
        effects.append(f"pauze {pause.pk} beëindigd / ended")
    return effects


def record_feedback(signal: MunicipalSignal, *, kind: str, on: date, note: str = "",
                    actor: str) -> MunicipalFeedback:
    """Record what the municipality reported about a sent signal (rule 7) and act on it.

    - ``help_accepted``: when current rent is paid (:func:`current_rent_paid`),
      escalation pauses (``municipal_help``, ``ends_on = on + 30 days``; once per
      signal); always a staff task ``municipal_plan_check`` due 4 weeks later (one
      per signal) to check that a plan came.
    - ``plan_made`` / ``programme_started``: a debt-help pause without end date
      (rule 9; the case moves to DEBT_HELP), unless one runs already; the plan task
      is done.
    - ``help_declined`` / ``closed``: recorded; a running municipal_help pause ends.
    - ``contact_made`` / ``no_contact``: recorded only.

    The same kind on the same date for the same signal is recorded once: a second
    call returns the first row and does nothing more.
    """
    check_feedback(signal, kind=kind, on=on)
    with transaction.atomic():
        signal = MunicipalSignal.objects.select_for_update().get(pk=signal.pk)
        existing = MunicipalFeedback.objects.filter(signal=signal, kind=kind, on=on).first()
        if existing is not None:
            return existing
        effects: list[str] = []
        if kind == _Kind.HELP_ACCEPTED:
            effects = _help_accepted(signal, on, actor)
        elif kind in (_Kind.PLAN_MADE, _Kind.PROGRAMME_STARTED):
            effects = _debt_help(signal, kind, on, actor)
        elif kind in (_Kind.HELP_DECLINED, _Kind.CLOSED):
            effects = _end_help_pause(signal, kind, on, actor)
        feedback = MunicipalFeedback.objects.create(
            signal=signal, kind=kind, on=on, note=note.strip()[:300], recorded_by=actor,
            effect="; ".join(effects)[:300])
        audit(actor, "municipal.feedback", feedback,
              summary=f"vroegsignaal {signal.pk}: terugmelding / feedback {kind} "
                      f"{on.isoformat()}" + (f" ({'; '.join(effects)})" if effects else ""),
              signal_id=signal.pk, kind=kind)
    return feedback


__all__ = ["DeliveryResult", "SignalError", "arrears_of", "build_payload", "check_feedback",
           "create_signal", "current_rent_paid", "deliver_signals", "export_day",
           "has_agreement", "record_feedback", "retry_signal", "withdraw_signal"]
