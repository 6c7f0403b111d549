"""Read side of direct debit: the facts the pure planner needs, and look-ups for others.

`collections_by_end_to_end_id` is the interface for the matcher and screens: our own
collections by end-to-end id (the matcher currently reads the Collection model's
``end_to_end_id`` and ``tenancy_id`` directly, which stays supported).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum

from vroeg.banking.models import BankTransaction
from vroeg.directdebit.models import Collection, CollectionReturn, Mandate
from vroeg.domain.direct_debit import (
    DEFAULT_CATCH_UP_DAYS,
    DEFAULT_PAYDAY,
    EARLY_COLLECTION_DAYS,
    RETRY_HORIZON_DAYS,
    BankDebit,
    MandateFacts,
    PlannedRetry,
    TenancyFacts,
    bank_debit_period,
    period_in_end_to_end_id,
)
from vroeg.domain.money import cents
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.portfolio.models import PaymentMethod

_CHUNK = 900  # ids per IN (...): under SQLite's oldest variable limit


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


@dataclass(frozen=True)
class CollectionRef:
    collection_id: int
    tenancy_id: int
    mandate_reference: str
    period: date
    attempt: int
    status: str


def collections_by_end_to_end_id(ids: Iterable[str]) -> dict[str, CollectionRef]:
    """Our collections with these end-to-end ids (unknown ids are left out)."""
    wanted = sorted({i for i in ids if i})
    out: dict[str, CollectionRef] = {}
    for i in range(0, len(wanted), _CHUNK):
        rows = Collection.objects.filter(end_to_end_id__in=wanted[i:i + _CHUNK]).values_list(
            "pk", "end_to_end_id", "tenancy_id", "mandate__reference", "period", "attempt",
            "status")
        for pk, e2e, tid, ref, period, attempt, status in rows:
            out[e2e] = CollectionRef(pk, tid, ref, period, attempt, status)
    return out


def _since(day: date, catch_up_days: int) -> date:
    """How far back the planner's facts reach: the catch-up window, the retry horizon,
    a month for the payday, and a week for a collection made early."""
    return day - timedelta(days=catch_up_days + RETRY_HORIZON_DAYS + 31 + EARLY_COLLECTION_DAYS)


def _other_payments(day: date, ids: list[int], since: date
                    ) -> dict[int, list[tuple[date, Decimal]]]:
    """Money received by each tenancy since `since` other than by direct debit (ledger
    payments whose bank entry has no mandate id: transfers, payment links)."""
    dd_credits = set(BankTransaction.objects.filter(booked_on__gte=since, amount__gt=0)
                     .exclude(mandate_id="").values_list("pk", flat=True))
    out: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for chunk in _chunks(ids):
        for tid, booked_on, amount, key in LedgerEntry.objects.filter(
                tenancy_id__in=chunk, kind=EntryKind.PAYMENT, amount__lt=0,
                booked_on__gte=since, booked_on__lte=day).values_list(
                "tenancy_id", "booked_on", "amount", "source_key"):
            if key.startswith("bank:"):
                pk = key[5:].split("/", 1)[0]
                if pk.isdigit() and int(pk) in dd_credits:
                    continue
            out[tid].append((booked_on, cents(-Decimal(amount))))
    return out


def _bank_debits(day: date, mandates: list[Mandate], catch_up_days: int
                 ) -> dict[int, list[BankDebit]]:
    """The direct debits on the bank files that are not ours (the previous system's),
    for each tenancy in `mandates`: credits under a mandate id, returns, rejects and
    refunds. An entry belongs to every tenancy it points to: by mandate id (any of the
    tenancy's mandates, also ended ones), by the tenancy code in its end-to-end id, or
    by the tenancy it was matched to. Recent ones only: enough for the months the
    planner looks at (the catch-up window and the retry horizon)."""
    tenancies = {m.tenancy_id: m.tenancy for m in mandates}
    by_ref: dict[str, set[int]] = defaultdict(set)
    for ref, tid in Mandate.objects.values_list("reference", "tenancy_id"):
        if tid in tenancies:
            by_ref[ref].add(tid)
    for tid, t in tenancies.items():
        if t.mandate_reference:
            by_ref[t.mandate_reference].add(tid)
    by_code = {t.code: tid for tid, t in tenancies.items()}
    rows = (BankTransaction.objects.filter(booked_on__gte=_since(day, catch_up_days))
            .filter((Q(amount__gt=0) & ~Q(mandate_id=""))
                    | (Q(amount__lt=0) & (~Q(mandate_id="") | ~Q(return_reason=""))))
            .exclude(end_to_end_id__in=Collection.objects.values("end_to_end_id"))
            .values_list("tenancy_id", "mandate_id", "end_to_end_id", "booked_on", "amount",
                         "return_reason"))
    out: dict[int, list[BankDebit]] = defaultdict(list)
    for matched_to, mandate_id, e2e, booked_on, amount, reason in rows:
        owners = set(by_ref.get(mandate_id, ()))
        if matched_to in tenancies:
            owners.add(matched_to)
        for i, ch in enumerate(e2e if not owners else ""):
            # Only without a known mandate, and only an id that names the month too
            # (<code>-<yyyymm>): another system's ids may start with anything.
            if ch != "-":
                continue
            prefix = e2e[:i]
            owner: int | None = by_code.get(prefix)
            if owner is None and prefix[:1] == "T" and prefix[1:].isdigit() \
                    and int(prefix[1:]) in tenancies:
                owner = int(prefix[1:])
            if owner is not None and period_in_end_to_end_id(e2e, tenancies[owner].code,
                                                              owner) is not None:
                owners.add(owner)
        for tid in owners:
            t = tenancies[tid]
            out[tid].append(BankDebit(booked_on=booked_on, amount=cents(Decimal(amount)),
                                      period=period_in_end_to_end_id(e2e, t.code, tid),
                                      return_reason=reason, end_to_end_id=e2e))
    return out


def planning_facts(day: date, catch_up_days: int = DEFAULT_CATCH_UP_DAYS,
                   default_payday: int = DEFAULT_PAYDAY
                   ) -> tuple[list[TenancyFacts], list[PlannedRetry]]:
    """Every tenancy paying by direct debit with an active mandate, and the planned
    retries (of any tenancy: the planner cancels those without an active mandate)."""
    mandates = list(Mandate.objects.filter(
        status=Mandate.Status.ACTIVE, tenancy__payment_method=PaymentMethod.DIRECT_DEBIT)
        .select_related("tenancy__household"))
    ids = [m.tenancy_id for m in mandates]
    window_start = day - timedelta(days=catch_up_days)
    bank = _bank_debits(day, mandates, catch_up_days)
    paid_otherwise = _other_payments(day, ids, _since(day, catch_up_days))
    # Months with a collection of ours: from the catch-up window, or from the oldest month
    # the bank history names (so a month collected by us is never retried for it).
    due_days = {m.tenancy_id: m.tenancy.due_day for m in mandates}
    first_month = min([window_start.replace(day=1),
                       *(bank_debit_period(b, due_days[tid])
                         for tid, debits in bank.items() for b in debits)])
    charges: dict[int, dict[date, Decimal]] = defaultdict(dict)
    balances: dict[int, Decimal] = {}
    collected: dict[int, set[date]] = defaultdict(set)
    for chunk in _chunks(ids):
        for tid, due_on, amount in LedgerEntry.objects.filter(
                tenancy_id__in=chunk, kind=EntryKind.CHARGE, booked_on__lte=day,
                due_on__gt=window_start).values_list("tenancy_id", "due_on", "amount"):
            if due_on is not None:
                charges[tid][due_on] = charges[tid].get(due_on, Decimal("0")) + amount
        for tid, total in (LedgerEntry.objects.filter(tenancy_id__in=chunk, booked_on__lte=day)
                           .values("tenancy_id").annotate(b=Sum("amount"))
                           .values_list("tenancy_id", "b")):
            # SQLite sums decimals as floats: round to cents (see ledger/queries.py).
            balances[tid] = cents(Decimal(total))
        for tid, period in Collection.objects.filter(
                tenancy_id__in=chunk, period__gte=first_month).values_list(
                "tenancy_id", "period"):
            collected[tid].add(period)
    facts = []
    for m in mandates:
        t = m.tenancy
        facts.append(TenancyFacts(
            tenancy_id=t.pk, code=t.code, due_day=t.due_day, start_on=t.start_on,
            end_on=t.end_on, monthly_rent=t.net_rent + t.service_costs,
            mandate=MandateFacts(m.pk, m.reference, m.signed_on, m.debtor_name,
                                 m.debtor_iban, m.debtor_bic, m.used),
            charges=charges.get(t.pk, {}), balance=balances.get(t.pk, Decimal("0.00")),
            collected_periods=frozenset(collected.get(t.pk, ())),
            bank_debits=tuple(bank.get(t.pk, ())),
            payday=t.household.payday or default_payday,
            other_payments=tuple(paid_otherwise.get(t.pk, ()))))
    planned = list(Collection.objects.filter(status=Collection.Status.PLANNED))
    # When the return that asked for each retry was booked (the first telling of it).
    returned_on: dict[int, date] = {}
    for cid, booked_on in CollectionReturn.objects.filter(
            collection_id__in=Collection.objects.filter(status=Collection.Status.PLANNED)
            .values("retry_of_id")).values_list("collection_id", "bank_transaction__booked_on"):
        returned_on[cid] = min(booked_on, returned_on.get(cid, booked_on))
    retries = [PlannedRetry(c.pk, c.tenancy_id, c.period, c.amount, c.collect_on,
                            c.end_to_end_id, c.attempt,
                            returned_on.get(c.retry_of_id) if c.retry_of_id else None)
               for c in planned]
    # A retry of a tenancy not in `facts` (no active mandate) is cancelled by the
    # planner without looking at money.
    return facts, retries


__all__ = ["CollectionRef", "collections_by_end_to_end_id", "planning_facts"]
