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

from django.db.models import Sum

from vroeg.directdebit.models import Collection, Mandate
from vroeg.domain.direct_debit import (
    DEFAULT_CATCH_UP_DAYS,
    MandateFacts,
    PlannedRetry,
    TenancyFacts,
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


def planning_facts(day: date, catch_up_days: int = DEFAULT_CATCH_UP_DAYS
                   ) -> tuple[list[TenancyFacts], list[PlannedRetry]]:
    """Every tenancy paying by direct debit with an active mandate, and the planned
    retries (of any tenancy: the planner cancels those without an active mandate)."""
    mandates = list(Mandate.objects.filter(
        status=Mandate.Status.ACTIVE, tenancy__payment_method=PaymentMethod.DIRECT_DEBIT)
        .select_related("tenancy"))
    ids = [m.tenancy_id for m in mandates]
    window_start = day - timedelta(days=catch_up_days)
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
                tenancy_id__in=chunk, period__gte=window_start.replace(day=1)).values_list(
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
            collected_periods=frozenset(collected.get(t.pk, ()))))
    retries = [PlannedRetry(c.pk, c.tenancy_id, c.period, c.amount, c.collect_on,
                            c.end_to_end_id, c.attempt)
               for c in Collection.objects.filter(status=Collection.Status.PLANNED)]
    # A retry of a tenancy not in `facts` (no active mandate) is cancelled by the
    # planner without looking at money.
    return facts, retries


__all__ = ["CollectionRef", "collections_by_end_to_end_id", "planning_facts"]
