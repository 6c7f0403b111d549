"""The one place direct-debit data is written: mandates, collection files, returns.

- :func:`sync_mandates`: mandates follow the tenancies (payment method "incasso" with a
  mandate id, and the tenant's own IBAN from the ERP file). A new mandate id makes a
  new active mandate (the old one ends); a tenancy back on transfer ends its mandate.
  An ended mandate stays ended, even when the ERP still says "incasso": only a person
  or a new mandate restarts direct debit.
- :func:`collect`: the day's pain.008 file in ``outbox/sepa/`` (see
  vroeg/domain/direct_debit.py for what goes in: never a month collected already, by
  us or, on the bank files, by the previous system; never a month the payer had
  refunded (MD06); an AM04 retry once, after the payday). The XML is validated against the
  official XSD before it is written; the file appears atomically (a ``.part`` file
  renamed as the last step of the transaction that records it). One file per day:
  running the same day again writes nothing and says so; a collection is exported
  once. Should the commit fail after the rename, the next run writes the same file
  again under the same name and message id (the bank refuses a repeated message id).
- :func:`handle_returns`: collections credited on a statement become settled; each
  return (pain.002, camt.054, camt.053; booked or not) is handled once by its reason,
  in its own transaction with an audit row.

The ledger is not written here. A return after settlement is a debit on the bank
statement, which the matcher books as a reversal that reopens the arrears; a reject
in a pain.002 comes before settlement, so the rent was never credited and the charge
is still open: nothing to reverse.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vroeg.audit.actions import audit, audit_many
from vroeg.audit.models import AuditEvent
from vroeg.banking.models import BankTransaction
from vroeg.collection.models import Task
from vroeg.directdebit import notify
from vroeg.directdebit.models import Collection, CollectionFile, CollectionReturn, Mandate
from vroeg.directdebit.pain008 import (
    Debit,
    SepaFileError,
    build_pain008,
    creditor_from_settings,
    debtor_bic,
)
from vroeg.directdebit.queries import planning_facts
from vroeg.domain import direct_debit as dd
from vroeg.domain.bank.return_reasons import ReturnReason, reason_for
from vroeg.domain.calendar import add_business_days, next_send_slot
from vroeg.home import outbox
from vroeg.ledger.queries import balance_of
from vroeg.messaging.models import Message
from vroeg.portfolio.actions import IMPORT_LINK, switch_to_transfer
from vroeg.portfolio.models import KnownPayer, PaymentMethod, Tenancy

COLLECT_ACTOR = "system:sepa"
RUN_ACTOR = "system:run"
ZERO = Decimal("0.00")
STAFF_TASK_DAYS = 3  # business days to handle a stopped direct debit


class DirectDebitError(SepaFileError):
    """The collection file cannot be made; the text says what to fix."""


def _lead_days() -> int:
    return int(getattr(settings, "VROEG_SEPA_LEAD_DAYS", dd.DEFAULT_LEAD_DAYS))


def _default_payday() -> int:
    return int(getattr(settings, "VROEG_DEFAULT_PAYDAY", 25))


def sepa_folder() -> Path:
    return outbox() / "sepa"


def file_name(day: date, version: str) -> str:
    return f"pain.008-{day.isoformat()}-{version}.xml"


# --- mandates ------------------------------------------------------------------------------

@dataclass
class MandateSync:
    created: int = 0
    updated: int = 0
    ended: int = 0
    #: Tenancy codes with what stops them being collected (no personal data).
    problems: list[str] = field(default_factory=list)


def _end_mandate(m: Mandate, day: date, reason: str) -> int:
    """End an active mandate and cancel its planned retries. Returns 1 if it ended."""
    ended = Mandate.objects.filter(pk=m.pk, status=Mandate.Status.ACTIVE).update(
        status=Mandate.Status.ENDED, ended_on=day, end_reason=reason[:300])
    Collection.objects.filter(mandate_id=m.pk, status=Collection.Status.PLANNED).update(
        status=Collection.Status.CANCELLED)
    return ended


def sync_mandates(day: date, actor: str = COLLECT_ACTOR) -> MandateSync:
    """Bring the mandates in line with the tenancies (see the module text)."""
    result = MandateSync()
    tenancies = list(Tenancy.objects.filter(payment_method=PaymentMethod.DIRECT_DEBIT)
                     .exclude(mandate_reference="").select_related("household")
                     .order_by("code"))
    # The tenant's own account (not a third party's); the one from the ERP file first.
    payers: dict[int, tuple[str, str, bool]] = {}
    for tid, iban, name, linked_by in (KnownPayer.objects.filter(third_party=False)
                                       .order_by("id").values_list("tenancy_id", "iban", "name",
                                                                   "linked_by")):
        current = payers.get(tid)
        if current is None or (linked_by == IMPORT_LINK and not current[2]):
            payers[tid] = (iban, name, linked_by == IMPORT_LINK)
    mandates = {m.reference: m for m in Mandate.objects.select_related("tenancy")}
    # Mandates already collected before vroeg took over (a credit under the mandate id on
    # a statement) start as used: their next collection is RCUR, not FRST.
    collected_before = set(BankTransaction.objects.filter(booked=True, amount__gt=0).exclude(
        mandate_id="").values_list("mandate_id", flat=True).distinct())
    active = {m.tenancy_id: m for m in mandates.values() if m.status == Mandate.Status.ACTIVE}
    rows: list[AuditEvent] = []

    def note(action: str, m: Mandate, summary: str) -> None:
        rows.append(AuditEvent(actor=actor, action=action, object_type="directdebit.mandate",
                               object_id=str(m.pk), summary=summary[:300]))

    with transaction.atomic():
        on_dd: set[int] = set()
        for t in tenancies:
            on_dd.add(t.pk)
            ref = t.mandate_reference
            payer = payers.get(t.pk)
            m = mandates.get(ref)
            if m is not None and m.tenancy_id != t.pk:
                result.problems.append(
                    f"{t.code}: machtigingskenmerk hoort bij {m.tenancy.code} / mandate id "
                    f"belongs to {m.tenancy.code}")
                continue
            if m is not None and m.status == Mandate.Status.ENDED:
                result.problems.append(
                    f"{t.code}: machtiging {ref} is beëindigd; een nieuwe machtiging is nodig / "
                    f"mandate {ref} has ended; a new mandate is needed")
                continue
            if payer is None:
                result.problems.append(f"{t.code}: geen IBAN van de huurder (kolom iban) / no "
                                       "tenant IBAN (column iban)")
                continue
            iban, name, _ = payer
            name = (name or t.household.name)[:200]
            if m is not None:
                changed = [f for f, v in (("signed_on", t.mandate_signed_on),
                                          ("debtor_iban", iban), ("debtor_name", name))
                           if getattr(m, f) != v]
                if changed:
                    if "debtor_iban" in changed:
                        # Another account: FRST again (the conservative amendment rule).
                        m.used = False
                        m.debtor_bic = debtor_bic(iban)
                    m.signed_on, m.debtor_iban, m.debtor_name = t.mandate_signed_on, iban, name
                    m.save()
                    note("mandate.update", m, ", ".join(changed))
                    result.updated += 1
                continue
            old = active.get(t.pk)
            if old is not None:
                result.ended += _end_mandate(old, day, "vervangen door machtiging / replaced "
                                                       f"by mandate {ref}")
                note("mandate.end", old, f"vervangen / replaced by {ref}")
            m = Mandate.objects.create(tenancy=t, reference=ref, signed_on=t.mandate_signed_on,
                                       debtor_name=name, debtor_iban=iban,
                                       debtor_bic=debtor_bic(iban),
                                       used=ref in collected_before)
            mandates[ref] = m
            active[t.pk] = m
            note("mandate.create", m, f"{t.code}: {ref}")
            result.created += 1
        for tid, m in list(active.items()):
            if tid not in on_dd and _end_mandate(m, day, "betaalwijze is overboeking / "
                                                         "payment method is transfer"):
                result.ended += 1
                note("mandate.end", m, "betaalwijze overboeking / payment method transfer")
        audit_many(rows)
    return result


# --- the collection file -------------------------------------------------------------------

@dataclass
class CollectResult:
    status: str  # "written" | "already_written" | "nothing_to_collect"
    day: date
    version: str
    file: str = ""
    path: str = ""
    message_id: str = ""
    collect_on: date | None = None
    count: int = 0
    total: Decimal = ZERO
    frst: int = 0
    rcur: int = 0
    cancelled_retries: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: How many were left out for each reason (Dutch / English), most first.
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    mandates: MandateSync = field(default_factory=MandateSync)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["collect_on"] = self.collect_on.isoformat() if self.collect_on else None
        data["total"] = str(self.total)
        return data


def _already(existing: CollectionFile, day: date, version: str) -> CollectResult:
    path = sepa_folder() / existing.file_name
    note = ("al gemaakt voor deze dag, geen nieuw bestand / already made for this day, no new "
            "file")
    if not path.is_file():
        note += ("; LET OP: het bestand ontbreekt in de map / NOTE: the file is missing from "
                 "the folder")
    return CollectResult(
        status="already_written", day=day, version=existing.version, file=existing.file_name,
        path=str(path), message_id=existing.message_id, collect_on=existing.collect_on,
        count=existing.count, total=existing.total, frst=existing.frst_count,
        rcur=existing.rcur_count, note=note + ("" if version == existing.version else
                                                f" (versie / version {existing.version})"))


def _cancel(cancel: tuple[tuple[int, str], ...], actor: str) -> int:
    n = 0
    for pk, reason in cancel:
        if Collection.objects.filter(pk=pk, status=Collection.Status.PLANNED).update(
                status=Collection.Status.CANCELLED):
            audit(actor, "sepa.retry_cancelled", object_type="directdebit.collection",
                  object_id=str(pk), summary=reason)
            n += 1
    return n


def collect(day: date, version: str = "001.02", actor: str = COLLECT_ACTOR,
            now: datetime | None = None) -> CollectResult:
    """Write the day's pain.008 file (see the module text). Raises DirectDebitError
    (nothing written) when the settings or the data do not allow a valid file."""
    if version not in dd.VERSIONS:
        raise DirectDebitError(f"onbekende versie / unknown version {version!r} (kies uit/"
                               f"choose from {', '.join(dd.VERSIONS)})")
    try:
        creditor = creditor_from_settings(settings.VROEG_CREDITOR)
    except SepaFileError as exc:
        raise DirectDebitError(str(exc)) from None
    existing = CollectionFile.objects.filter(created_on=day).first()
    if existing is not None:
        return _already(existing, day, version)

    sync = sync_mandates(day, actor)
    lead = _lead_days()
    facts, retries = planning_facts(day, default_payday=_default_payday())
    plan = dd.plan_collections(day, facts, retries, lead_days=lead)
    skipped = [{"tenancy": s.code, "period": f"{s.period:%Y-%m}" if s.period else "",
                "reason": s.reason,
                **({"not_before": s.not_before.isoformat()} if s.not_before else {})}
               for s in plan.skipped]
    by_reason = dict(Counter(s.reason for s in plan.skipped).most_common())
    result = CollectResult(status="nothing_to_collect", day=day, version=version,
                           collect_on=plan.collect_on, skipped=skipped,
                           skipped_by_reason=by_reason, mandates=sync)
    if not plan.collections:
        with transaction.atomic():
            result.cancelled_retries = _cancel(plan.cancel, actor)
        result.note = "niets te innen / nothing to collect"
        return result

    mandates = {m.pk: m for m in Mandate.objects.filter(
        pk__in={c.mandate_id for c in plan.collections})}
    debits = []
    for c in plan.collections:
        m = mandates[c.mandate_id]
        assert m.signed_on is not None  # the planner skips mandates without a date
        debits.append(Debit(
            tenancy_code=c.code, end_to_end_id=c.end_to_end_id, amount=c.amount,
            sequence_type=c.sequence_type, collect_on=c.collect_on,
            mandate_reference=m.reference, signed_on=m.signed_on, debtor_name=m.debtor_name,
            debtor_iban=m.debtor_iban, debtor_bic=m.debtor_bic,
            remittance=dd.remittance(c.period, c.code)))
    msg_id = dd.message_id(day)
    try:
        data = build_pain008(debits, creditor, version, msg_id, now or timezone.now())
    except SepaFileError as exc:
        raise DirectDebitError(str(exc)) from None

    name = file_name(day, version)
    folder = sepa_folder()
    folder.mkdir(parents=True, exist_ok=True)
    final, part = folder / name, folder / f"{name}.part"
    with part.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    frst = sum(1 for c in plan.collections if c.sequence_type == dd.FRST)
    try:
        with transaction.atomic():
            cf = CollectionFile.objects.create(
                file_name=name, created_on=day, version=version, message_id=msg_id,
                sha256=hashlib.sha256(data).hexdigest(), collect_on=plan.collect_on,
                count=len(plan.collections), total=plan.total, frst_count=frst,
                rcur_count=len(plan.collections) - frst)
            Collection.objects.bulk_create([
                Collection(tenancy_id=c.tenancy_id, mandate_id=c.mandate_id, period=c.period,
                           due_on=c.due_on, attempt=c.attempt, amount=c.amount,
                           end_to_end_id=c.end_to_end_id, sequence_type=c.sequence_type,
                           collect_on=c.collect_on, status=Collection.Status.EXPORTED, file=cf)
                for c in plan.collections if c.retry_of is None], batch_size=2000)
            for c in plan.collections:
                if c.retry_of is None:
                    continue
                if not Collection.objects.filter(pk=c.retry_of, status=Collection.Status.PLANNED
                                                 ).update(status=Collection.Status.EXPORTED,
                                                          amount=c.amount, file=cf,
                                                          sequence_type=c.sequence_type,
                                                          collect_on=c.collect_on,
                                                          updated_at=timezone.now()):
                    raise DirectDebitError(f"herhaling {c.end_to_end_id} is intussen gewijzigd; "
                                           "probeer opnieuw / retry changed meanwhile; run "
                                           "again")
            Mandate.objects.filter(pk__in={c.mandate_id for c in plan.collections
                                           if c.sequence_type == dd.FRST}).update(used=True)
            result.cancelled_retries = _cancel(plan.cancel, actor)
            audit(actor, "sepa.collect", cf,
                  summary=(f"{name}: {cf.count} incasso's / collections, EUR {cf.total}, "
                           f"FRST {cf.frst_count}, RCUR {cf.rcur_count}"),
                  version=version, message_id=msg_id, collect_on=plan.collect_on.isoformat(),
                  count=cf.count, total=str(cf.total), skipped=len(skipped),
                  skipped_by_reason=by_reason)
            os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    result.status = "written"
    result.file, result.path, result.message_id = name, str(final), msg_id
    result.count, result.total = cf.count, cf.total
    result.frst, result.rcur = cf.frst_count, cf.rcur_count
    return result


# --- returns -------------------------------------------------------------------------------

@dataclass
class ReturnsResult:
    handled: int = 0
    settled: int = 0
    retries_planned: int = 0
    stopped: int = 0
    refunded: int = 0
    already_handled: int = 0
    tasks: int = 0
    messages: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_action: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["by_reason"] = dict(self.by_reason)
        data["by_action"] = dict(self.by_action)
        return data


def _mark_settled(day: date, actor: str) -> int:
    credits = list(BankTransaction.objects.filter(
        booked=True, amount__gt=0, booked_on__lte=day,
        end_to_end_id__in=Collection.objects.filter(status=Collection.Status.EXPORTED)
        .values("end_to_end_id")).values_list("end_to_end_id", "booked_on"))
    if not credits:
        return 0
    n = 0
    with transaction.atomic():
        for e2e, booked_on in credits:
            n += Collection.objects.filter(end_to_end_id=e2e, status=Collection.Status.EXPORTED
                                           ).update(status=Collection.Status.SETTLED,
                                                    settled_on=booked_on,
                                                    updated_at=timezone.now())
        ids = [e2e for e2e, _ in credits]
        for i in range(0, len(ids), 900):
            Mandate.objects.filter(collections__end_to_end_id__in=ids[i:i + 900]).update(
                used=True)
        audit(actor, "sepa.settled", object_type="directdebit.collection",
              summary=f"{n} incasso's bijgeschreven / collections settled", count=n)
    return n


def handle_returns(day: date, actor: str = RUN_ACTOR,
                   now: datetime | None = None) -> ReturnsResult:
    """Settle credited collections and handle every new return booked on or before `day`."""
    result = ReturnsResult()
    if not Collection.objects.exists():
        return result
    result.settled = _mark_settled(day, actor)
    sent = Collection.objects.exclude(
        status__in=[Collection.Status.PLANNED, Collection.Status.CANCELLED]).values(
        "end_to_end_id")
    txns = (BankTransaction.objects.filter(booked_on__lte=day, amount__lt=0,
                                           end_to_end_id__in=sent)
            .exclude(return_reason="")
            .exclude(pk__in=CollectionReturn.objects.values("bank_transaction_id"))
            .select_related("file").order_by("booked_on", "pk"))
    for txn in txns:
        _handle_one(txn, day, actor, now or timezone.now(), result)
    return result


def _handle_one(txn: BankTransaction, day: date, actor: str, now: datetime,
                result: ReturnsResult) -> None:
    with transaction.atomic():
        c = Collection.objects.select_related("mandate", "tenancy__household").get(
            end_to_end_id=txn.end_to_end_id)
        settled = c.settled_on is not None or BankTransaction.objects.filter(
            booked=True, amount__gt=0, end_to_end_id=c.end_to_end_id).exists()
        facts = dd.ReturnFacts(
            reason=txn.return_reason, attempt=c.attempt, status=c.status,
            previous_reason=c.return_reason, settled=settled,
            status_report=txn.file.format.lower().startswith("pain.002"),
            retry_exists=Collection.objects.filter(tenancy_id=c.tenancy_id, period=c.period,
                                                   attempt__gt=c.attempt).exists())
        decision = dd.decide_return(facts)
        info = reason_for(txn.return_reason)
        note = decision.note
        details: dict[str, Any] = {"reason": info.code, "bank_transaction": txn.pk,
                                   "after_settlement": decision.after_settlement}
        if decision.action == dd.ALREADY_HANDLED:
            result.already_handled += 1
        else:
            Collection.objects.filter(pk=c.pk).update(status=decision.status,
                                                      return_reason=info.code,
                                                      updated_at=timezone.now())
            if decision.status == dd.REJECTED:
                statuses = Collection.objects.filter(mandate_id=c.mandate_id).values_list(
                    "status", flat=True)
                Mandate.objects.filter(pk=c.mandate_id).update(used=dd.mandate_used(statuses))
            if decision.status == dd.REFUNDED:
                result.refunded += 1
            if decision.plan_retry:
                retry_on = _plan_retry(c, day)
                if retry_on is None:
                    note += ("; geen nieuwe poging: machtiging beëindigd / no retry: mandate "
                             "ended")
                else:
                    details["retry_on"] = retry_on.isoformat()
                    result.retries_planned += 1
            if decision.stop_direct_debit:
                _stop(c, info, day, actor, now, note, result)
            elif decision.staff_task:
                _task(c, notify.TASK_REVIEW, notify.review_task_title(info), note, day,
                      f"dd-review:{c.pk}:{info.code}", result)
            result.handled += 1
            result.by_reason[info.code] += 1
        result.by_action[decision.action] += 1
        CollectionReturn.objects.create(
            collection=c, bank_transaction=txn, reason=info.code, action=decision.action,
            after_settlement=decision.after_settlement, handled_on=day, note=note[:300])
        audit(actor, f"sepa.return.{decision.action}", c, summary=f"{c.end_to_end_id}: {note}",
              **details)


def _plan_retry(c: Collection, day: date) -> date | None:
    if c.mandate.status != Mandate.Status.ACTIVE:
        return None
    payday = c.tenancy.household.payday or _default_payday()
    retry_on = dd.retry_date(day, payday, _lead_days())
    attempt = c.attempt + 1
    Collection.objects.create(
        tenancy_id=c.tenancy_id, mandate_id=c.mandate_id, period=c.period, due_on=c.due_on,
        attempt=attempt, amount=c.amount,
        end_to_end_id=dd.end_to_end_id(c.tenancy.code, c.tenancy_id, c.period, attempt),
        collect_on=retry_on, status=Collection.Status.PLANNED, retry_of=c)
    return retry_on


def _task(c: Collection, kind: str, title: str, reason: str, day: date, key: str,
          result: ReturnsResult) -> None:
    _, created = Task.objects.get_or_create(idempotency_key=key, defaults={
        "kind": kind, "title": title, "team": "incasso", "household_id": c.tenancy.household_id,
        "tenancy_id": c.tenancy_id, "created_on": day,
        "due_on": add_business_days(day, STAFF_TASK_DAYS), "reason": reason[:300]})
    result.tasks += int(created)


def _stop(c: Collection, info: ReturnReason, day: date, actor: str, now: datetime, note: str,
          result: ReturnsResult) -> None:
    """End the mandate, switch the tenancy to transfer, a task, and a message asking the
    household for a new payment method (none after MD07)."""
    m = c.mandate
    if _end_mandate(m, day, note):
        result.stopped += 1
    switch_to_transfer(c.tenancy_id, actor=actor, reason=f"{info.code} {info.meaning}")
    tenancy = c.tenancy
    household = tenancy.household
    reason = note
    if info.message_tenant:
        msg = notify.stop_message(household, tenancy, info, c.amount, c.due_on,
                                  balance_of(tenancy.pk, day), day)
        if msg is None:
            reason += ("; geen bericht mogelijk (geen kanaal) / no message possible "
                       "(no channel)")
        else:
            _, created = Message.objects.get_or_create(
                idempotency_key=f"msg:dd-stop:{m.pk}", defaults={
                    "household": household, "tenancy": tenancy, "step": "dd_stopped",
                    "template": notify.TEMPLATE, "channel": msg.channel,
                    "language": household.language, "recipient": msg.recipient[:300],
                    "subject": msg.subject, "body_text": msg.body_text,
                    "context": msg.context, "decided_on": day,
                    "send_after": next_send_slot(day, now)})
            result.messages += int(created)
    _task(c, notify.TASK_STOPPED, notify.stop_task_title(info), reason, day,
          f"dd-stop:{m.pk}", result)


__all__ = ["CollectResult", "DirectDebitError", "MandateSync", "ReturnsResult", "collect",
           "file_name", "handle_returns", "sepa_folder", "sync_mandates"]
