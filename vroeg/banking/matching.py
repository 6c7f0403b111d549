"""Match stored bank transactions to tenancies and post them to the ledger.

Gathers facts (references, known payer IBANs), asks the pure matcher, and applies
the result for the whole batch in one transaction: transaction status plus ledger
entry together, so a crash leaves either both or neither.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import transaction

from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.db import update_rows, values_rows
from vroeg.domain.ledger import Posting, debts
from vroeg.domain.matching import (
    Allocation,
    Candidate,
    MatchIndex,
    TenancyFacts,
    TxnFacts,
    address_key,
    ledger_kind,
    match,
    name_tokens,
    only_digits,
)
from vroeg.domain.money import ZERO
from vroeg.domain.reference import find_betalingskenmerken
from vroeg.ledger.actions import insert_new_rows
from vroeg.ledger.models import LedgerEntry
from vroeg.ledger.queries import owing_balances
from vroeg.payments.settlements import PAYOUT_RULE, recognise
from vroeg.portfolio.models import Household, KnownPayer, Tenancy


@dataclass
class MatchRun:
    matched: int = 0
    matched_amount: Decimal = ZERO
    unmatched: int = 0
    unmatched_amount: Decimal = ZERO
    ignored: int = 0
    reversals: int = 0
    reversed_amount: Decimal = ZERO  # debits undoing earlier payments (returns), positive
    split: int = 0  # payments spread over several tenancies of one household
    by_rule: Counter[str] = field(default_factory=Counter)
    tenancies: set[int] = field(default_factory=set)  # touched today


def _oldest_due(ids: list[int], through: date) -> dict[int, str]:
    """The oldest unpaid due date per tenancy (ISO), for paying the oldest debt first."""
    out: dict[int, str] = {}
    postings: dict[int, list[Posting]] = defaultdict(list)
    for i in range(0, len(ids), 900):
        for tid, kind, amount, booked_on, due_on in LedgerEntry.objects.filter(
                tenancy_id__in=ids[i:i + 900], booked_on__lte=through).values_list(
                "tenancy_id", "kind", "amount", "booked_on", "due_on"):
            postings[tid].append(Posting(kind, amount, booked_on, due_on))
    for tid, rows in postings.items():
        open_debts = [d.due_on for d in debts(rows, through) if d.open_amount > 0]
        if open_debts:
            out[tid] = min(open_debts).isoformat()
    return out


def _end_to_end_ids() -> dict[str, int]:
    """End-to-end ids of our own direct debits (the directdebit app, when installed)."""
    if not apps.is_installed("vroeg.directdebit"):
        return {}
    app_label, model_name = "directdebit", "Collection"
    model = apps.get_model(app_label, model_name)
    return dict(model.objects.values_list("end_to_end_id", "tenancy_id"))


def build_index(through: date | None = None) -> MatchIndex:
    """Everything the pure matcher needs, read in a handful of queries."""
    owing = owing_balances(through) if through is not None else {}
    tenancies: dict[int, TenancyFacts] = {}
    refs: dict[str, int] = {}
    rent: dict[int, Decimal] = {}
    codes: dict[str, int] = {}
    households: dict[int, list[int]] = defaultdict(list)
    tokens: dict[str, list[int]] = defaultdict(list)
    postcodes: dict[str, list[int]] = defaultdict(list)
    addresses: dict[str, list[int]] = defaultdict(list)
    unit_count: Counter[str] = Counter()
    # values_rows: every tenancy of the portfolio, without Django's per-row cost.
    household_names = dict(values_rows(Household.objects.all(), ("pk", "name")))
    rows = list(values_rows(Tenancy.objects.all(), (
        "pk", "payment_reference", "net_rent", "service_costs", "household_id", "code",
        "unit_code", "street", "house_number", "postcode")))
    for row in rows:
        unit_count[row[6].upper()] += 1
    for pk, ref, net, svc, hh, code, unit, street, number, postcode in rows:
        name = household_names.get(hh, "")  # a household added since its read
        refs[only_digits(ref) or ref] = pk
        rent[pk] = net + svc
        pc = postcode.replace(" ", "").upper()
        tenancies[pk] = TenancyFacts(
            id=pk, household_id=hh, code=code, unit_code=unit, name=name, street=street,
            house_number=number, postcode=pc, monthly_rent=net + svc,
            open_amount=owing.get(pk, ZERO))
        households[hh].append(pk)
        codes[code.upper()] = pk
        if unit and unit_count[unit.upper()] == 1:  # a unit let twice is no identity
            codes.setdefault(unit.upper(), pk)
        for token in name_tokens(name):
            tokens[token].append(pk)
        if pc:
            postcodes[pc].append(pk)
        if key := address_key(street, number):
            addresses[key].append(pk)
    # Oldest debt first only matters where a household holds several tenancies.
    shared = [t for ids in households.values() if len(ids) > 1 for t in ids if t in owing]
    if shared and through is not None:
        for tid, oldest in _oldest_due(shared, through).items():
            tenancies[tid] = replace(tenancies[tid], oldest_due=oldest)
    ibans: dict[str, list[int]] = defaultdict(list)
    third: set[str] = set()
    for iban, tid, is_third in KnownPayer.objects.values_list("iban", "tenancy_id",
                                                              "third_party"):
        key = iban.replace(" ", "").upper()
        ibans[key].append(tid)
        if is_third:
            third.add(key)
    by_amount: dict[Decimal, set[int]] = defaultdict(set)
    for t in tenancies.values():
        by_amount[t.monthly_rent].add(t.id)
        if t.open_amount > 0:
            by_amount[t.open_amount].add(t.id)
    return MatchIndex(
        by_reference=refs, by_iban={k: tuple(v) for k, v in ibans.items()},
        monthly_rent=rent, tenancies=tenancies, by_end_to_end=_end_to_end_ids(),
        third_party_ibans=frozenset(third),
        by_name_token={k: frozenset(v) for k, v in tokens.items()},
        by_postcode={k: tuple(v) for k, v in postcodes.items()}, by_code=codes,
        by_household={k: tuple(v) for k, v in households.items()},
        by_address={k: tuple(v) for k, v in addresses.items()}, by_amount=by_amount)


@dataclass(slots=True)
class Pending:
    """A bank entry waiting for a match: the columns match_and_post reads and writes.
    Plain rows, not model instances: a large day has 50,000, and building instances cost
    a sixth of the match stage."""

    pk: int
    status: str
    booked_on: date
    amount: Decimal
    creditor_reference: str
    remittance: str
    counterparty_iban: str
    counterparty_name: str
    return_reason: str
    reversal: bool
    end_to_end_id: str
    tenancy_id: int | None
    match_reason: str
    match_rule: str
    matched_by: str
    matched_on: date | None
    candidates: list[dict[str, object]] = field(default_factory=list)


def pending_entries(through: date) -> list[Pending]:
    """Every new and still unmatched EUR entry booked on or before `through`, oldest first.

    Notifications (camt.054) and status reports (pain.002) are not bookings on the
    account: the statement that books them is what reaches the ledger."""
    queryset = BankTransaction.objects.filter(
        status__in=[TxnStatus.NEW, TxnStatus.UNMATCHED], booked_on__lte=through,
        currency="EUR", booked=True).order_by("booked_on", "pk")
    names = [f.name for f in fields(Pending) if f.name != "candidates"]
    rows = [Pending(*row) for row in values_rows(queryset, names)]
    # Candidates (JSON) only where there are any (the unmatched of earlier days).
    listed = dict(queryset.exclude(candidates=[]).values_list("pk", "candidates"))
    for row in rows:
        row.candidates = listed.get(row.pk) or []
    return rows


def facts(txn: Pending) -> TxnFacts:
    return TxnFacts(amount=txn.amount, creditor_reference=txn.creditor_reference,
                    remittance=txn.remittance, counterparty_iban=txn.counterparty_iban,
                    return_reason=txn.return_reason, reversal=txn.reversal,
                    counterparty_name=txn.counterparty_name, end_to_end_id=txn.end_to_end_id)


_LABELS = {"payment": "Betaling / payment", "reversal": "Storno / reversal",
           "adjustment": "Terugbetaling / refund"}


def ledger_rows(txn: Pending, seen: TxnFacts, tenancy_id: int,
                allocations: tuple[Allocation, ...] = ()) -> list[dict[str, Any]]:
    """The ledger entries of a matched bank transaction (rows for insert_rows: a model
    instance each cost a day's match a twentieth of its time): one, or one per tenancy
    of a split.

    The first (the tenancy the payment was matched to) keeps source key "bank:<pk>",
    the other parts "bank:<pk>/<tenancy id>": unique, so posting twice is impossible.
    """
    kind = ledger_kind(seen)
    label = _LABELS[kind]
    parts = allocations or (Allocation(tenancy_id, txn.amount),)
    out = []
    for part in parts:
        key = f"bank:{txn.pk}" if part.tenancy_id == tenancy_id else \
            f"bank:{txn.pk}/{part.tenancy_id}"
        note = "" if len(parts) == 1 else " (deel / part)"
        out.append({"tenancy_id": part.tenancy_id, "kind": kind, "amount": -part.amount,
                    "booked_on": txn.booked_on, "return_reason": txn.return_reason,
                    "description": f"{label}{note} {txn.counterparty_name}"[:200],
                    "source_key": key})
    return out


def _candidates_json(found: tuple[Candidate, ...], index: MatchIndex) -> list[dict[str, object]]:
    return [{"tenancy_id": c.tenancy_id, "code": index.tenancies[c.tenancy_id].code
             if c.tenancy_id in index.tenancies else "", "score": c.score, "why": c.why}
            for c in found]


def _paid(index: MatchIndex, parts: list[dict[str, Any]]) -> None:
    """Later payments in the same batch see what earlier ones already paid."""
    tenancies, by_amount = index.tenancies, index.by_amount
    assert isinstance(tenancies, dict) and isinstance(by_amount, dict)
    for e in parts:
        t = tenancies.get(e["tenancy_id"])
        if t is not None:
            new = replace(t, open_amount=max(ZERO, t.open_amount + e["amount"]))
            tenancies[t.id] = new
            if t.open_amount != t.monthly_rent:
                by_amount.get(t.open_amount, set()).discard(t.id)
            if new.open_amount > 0:
                by_amount.setdefault(new.open_amount, set()).add(t.id)


def match_and_post(through: date, actor: str = "system:run") -> MatchRun:
    """Match every new (and still unmatched) EUR transaction booked on or before `through`.

    Only NEW and UNMATCHED transactions are looked at: a staff member's manual match
    (or "not rent") is never undone by automation, and neither is an earlier match.
    """
    result = MatchRun()
    pending = pending_entries(through)
    if not pending:
        return result
    index = build_index(through)
    entries: list[dict[str, Any]] = []
    changed: list[Pending] = []
    for txn in pending:
        # A payment provider's payout of payments booked through payment links first.
        seen = facts(txn)
        outcome = recognise(seen) or match(seen, index, find_betalingskenmerken)
        if outcome.tenancy_id is not None:
            txn.status, txn.tenancy_id = TxnStatus.MATCHED, outcome.tenancy_id
            txn.match_reason, txn.matched_by, txn.matched_on = outcome.reason, actor, through
            txn.match_rule, txn.candidates = outcome.rule, []
            parts = ledger_rows(txn, seen, outcome.tenancy_id, outcome.allocations)
            _paid(index, parts)
            entries.extend(parts)
            result.by_rule[outcome.rule] += 1
            result.tenancies.update(p["tenancy_id"] for p in parts)
            if len(parts) > 1:
                result.split += 1
            if parts[0]["kind"] == "reversal":
                result.reversals += 1
                result.reversed_amount -= txn.amount
            else:
                result.matched += 1
                result.matched_amount += txn.amount
        elif outcome.rule in ("outgoing", PAYOUT_RULE):
            txn.status, txn.match_reason, txn.match_rule = (TxnStatus.IGNORED, outcome.reason,
                                                            outcome.rule)
            result.ignored += 1
        else:
            was_new = txn.status == TxnStatus.NEW
            found = _candidates_json(outcome.candidates, index)
            if not was_new and txn.match_reason == outcome.reason and txn.candidates == found:
                continue
            txn.status, txn.match_reason, txn.match_rule = (TxnStatus.UNMATCHED, outcome.reason,
                                                            outcome.rule)
            txn.candidates = found
            if was_new:  # report each payment once, on the day it entered the queue
                result.unmatched += 1
                result.unmatched_amount += txn.amount
        changed.append(txn)
    with transaction.atomic():
        update_rows(BankTransaction, changed,
                    ["status", "tenancy", "match_reason", "match_rule", "candidates",
                     "matched_by", "matched_on"])
        # A pending entry has no posting yet (its status and posting are written
        # together): insert_new_rows looks keys up only if one is booked after all.
        insert_new_rows(entries, "match_and_post")
    return result
