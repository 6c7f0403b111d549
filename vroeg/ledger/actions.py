"""The one place ledger entries are written: opening balances, rent charges, bank postings,
corrections."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Max

from vroeg.db import insert_rows, values_rows
from vroeg.domain.calendar import due_dates_between
from vroeg.domain.money import ZERO
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.portfolio.models import Tenancy

MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december")


log = logging.getLogger(__name__)
CHARGE_CHUNK = 50_000  # tenancies whose charges are built and inserted at once


@dataclass(frozen=True)
class PostingResult:
    count: int
    amount: Decimal


def _booked(keys: list[str]) -> set[str]:
    """Those of these source keys already in the ledger."""
    existing: set[str] = set()
    for i in range(0, len(keys), 900):
        existing.update(LedgerEntry.objects.filter(source_key__in=keys[i:i + 900])
                        .values_list("source_key", flat=True))
    return existing


def not_yet_booked(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Drop entries whose source key is already booked (idempotent re-runs)."""
    existing = _booked([e.source_key for e in entries])
    return [e for e in entries if e.source_key not in existing]


_ENTRY_FIELDS = [f.attname for f in LedgerEntry._meta.concrete_fields
                 if not f.primary_key and f.attname != "created_at"]


def insert_entries(entries: list[LedgerEntry]) -> None:
    """Write new ledger entries in bulk (append-only: never an update)."""
    insert_rows(LedgerEntry, [{name: getattr(e, name) for name in _ENTRY_FIELDS}
                              for e in entries])


def insert_new_rows(rows: list[dict[str, Any]], what: str = "ledger") -> list[dict[str, Any]]:
    """Insert the rows (as for insert_rows) whose source key is not booked yet; returns
    those inserted.

    The keys are not looked up first: where the caller only makes rows that are not
    booked (each tenancy's charges after its last one, a day's new bank entries), the
    look-up cost a tenth of a large day's ledger and match stages. Were one booked some
    other way, its unique source key stops the insert, which is undone to a savepoint,
    and the rows are inserted again without the keys already booked."""
    try:
        with transaction.atomic():  # a savepoint: the rows, or none of them
            insert_rows(LedgerEntry, rows)
        return rows
    except IntegrityError:
        existing = _booked([r["source_key"] for r in rows])
        if not existing:
            raise  # not a key booked twice (a foreign key, a NULL): nothing to skip
        log.warning("%s: %d key(s) already booked, skipped", what, len(existing))
        fresh = [r for r in rows if r["source_key"] not in existing]
        insert_rows(LedgerEntry, fresh)
        return fresh


def _insert(entries: list[LedgerEntry]) -> PostingResult:
    fresh = not_yet_booked(entries)
    with transaction.atomic():
        insert_entries(fresh)
    return PostingResult(len(fresh), sum((e.amount for e in fresh), ZERO))


def post_opening_balances() -> PostingResult:
    """The opening balance of each imported tenancy, once, as of its date."""
    entries = [
        LedgerEntry(tenancy_id=t.pk, kind=EntryKind.OPENING, amount=t.opening_balance,
                    booked_on=t.opening_balance_on or t.start_on,
                    due_on=t.opening_balance_on or t.start_on,
                    description="Beginsaldo / opening balance", source_key=f"opening:{t.pk}")
        for t in Tenancy.objects.exclude(opening_balance=0).only(
            "pk", "opening_balance", "opening_balance_on", "start_on")
    ]
    return _insert(entries)


class ChargeRow(NamedTuple):
    """What charges_due reads of a tenancy (post_charges reads plain rows, not models)."""

    pk: int
    start_on: date
    end_on: date | None
    opening_balance_on: date | None
    due_day: int
    net_rent: Decimal
    service_costs: Decimal


def charges_due(tenancies: Iterable[Tenancy | ChargeRow], last_charged: dict[int, date],
                through: date, takeover_on: date) -> list[dict[str, Any]]:
    """Rent charges due after each tenancy's ledger start, through `through`, as rows
    for insert_rows (a model instance per charge cost more than the insert on the 1st,
    when every tenancy is charged).

    The ledger starts after the opening balance date (the opening balance covers
    everything due on or before it); without one, on the day vroeg took over
    (`takeover_on`, its first run): earlier rent is the ERP's, never billed again.
    """
    out: list[dict[str, Any]] = []
    kind = EntryKind.CHARGE.value  # a plain str: insert_rows passes it as it is
    # A day's charges share a handful of due dates: their texts are made once.
    texts: dict[date, tuple[str, str]] = {}
    for t in tenancies:
        start = max(t.start_on, takeover_on) - timedelta(days=1)
        if t.opening_balance_on is not None:
            start = max(t.start_on - timedelta(days=1), t.opening_balance_on)
        after = max(start, last_charged.get(t.pk, start))
        until = min(through, t.end_on) if t.end_on else through
        amount = t.net_rent + t.service_costs
        for due in due_dates_between(after, until, t.due_day):
            if (text := texts.get(due)) is None:
                text = texts[due] = (
                    f":{due.isoformat()}",
                    f"Huur {MONTHS_NL[due.month - 1]} {due.year} / rent {due:%Y-%m}")
            out.append({
                "tenancy_id": t.pk, "kind": kind, "amount": amount, "booked_on": due,
                "due_on": due, "source_key": f"charge:{t.pk}{text[0]}", "description": text[1]})
    return out


def post_charges(through: date, takeover_on: date) -> PostingResult:
    """Every rent charge due on or before `through` that is not booked yet.

    Only due dates after each tenancy's last charge are made, so a rerun makes none
    (insert_new_rows still skips a key booked some other way)."""
    last_charged = dict(LedgerEntry.objects.filter(kind=EntryKind.CHARGE)
                        .values("tenancy_id").annotate(last=Max("due_on"))
                        .values_list("tenancy_id", "last"))
    # Plain rows in the same order (by code), not Tenancy instances: every tenancy is read
    # every day, and building a million model instances took longer than the query.
    tenancies = [ChargeRow(*row) for row in values_rows(
        Tenancy.objects.filter(start_on__lte=through), ChargeRow._fields)]
    count, amount = 0, ZERO
    with transaction.atomic():  # all or nothing, as one insert; in parts to bound memory
        for i in range(0, len(tenancies), CHARGE_CHUNK):
            rows = charges_due(tenancies[i:i + CHARGE_CHUNK], last_charged, through,
                               takeover_on)
            rows = insert_new_rows(rows, "post_charges")
            count, amount = count + len(rows), sum((r["amount"] for r in rows), amount)
    return PostingResult(count, amount)


class AdjustmentError(ValueError):
    """A correction that cannot be booked (no reason, zero, too large)."""


def post_adjustment(tenancy: Tenancy, *, amount: Decimal, on: date, reason: str, actor: str,
                    key: str) -> tuple[LedgerEntry, bool]:
    """A correction by a person: a new entry, never an edit of an old one (a charge taken
    back is a negative amount). Idempotent by `key` (returns the entry and whether it
    is new); audited with who and why."""
    from vroeg.audit.actions import audit

    if not reason.strip():
        raise AdjustmentError("reden nodig / a reason is needed")
    if not isinstance(amount, Decimal) or amount == 0 or abs(amount) > Decimal("99999.99") \
            or amount != amount.quantize(Decimal("0.01")):
        raise AdjustmentError(f"bedrag / amount {amount!r}: niet 0, in centen, hoogstens "
                              "99.999,99 / not 0, in cents, at most 99,999.99")
    source_key = f"adjust:{key}"[:120]
    with transaction.atomic():
        entry, created = LedgerEntry.objects.get_or_create(source_key=source_key, defaults={
            "tenancy": tenancy, "kind": EntryKind.ADJUSTMENT, "amount": amount,
            "booked_on": on, "description": f"correctie / adjustment: {reason}"[:200]})
        if created:
            audit(actor, "ledger.adjustment", entry, summary=f"correctie / adjustment "
                  f"{tenancy.code}: EUR {amount}, {reason}"[:300], tenancy=tenancy.code,
                  amount=str(amount), reason=reason[:300])
    return entry, created
