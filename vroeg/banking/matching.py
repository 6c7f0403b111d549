"""Match stored bank transactions to tenancies and post them to the ledger.

Gathers facts (references, known payer IBANs), asks the pure matcher, and applies
the result for the whole batch in one transaction: transaction status plus ledger
entry together, so a crash leaves either both or neither.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.db import update_rows
from vroeg.domain.matching import MatchIndex, TxnFacts, ledger_kind, match
from vroeg.domain.money import ZERO
from vroeg.domain.reference import find_betalingskenmerken
from vroeg.ledger.actions import insert_entries, not_yet_booked
from vroeg.ledger.models import LedgerEntry
from vroeg.portfolio.models import KnownPayer, Tenancy


@dataclass
class MatchRun:
    matched: int = 0
    matched_amount: Decimal = ZERO
    unmatched: int = 0
    unmatched_amount: Decimal = ZERO
    ignored: int = 0
    reversals: int = 0
    reversed_amount: Decimal = ZERO  # debits undoing earlier payments (returns), positive
    by_rule: Counter[str] = field(default_factory=Counter)
    tenancies: set[int] = field(default_factory=set)  # touched today


def build_index() -> MatchIndex:
    refs: dict[str, int] = {}
    rent: dict[int, Decimal] = {}
    for pk, ref, net, svc in Tenancy.objects.values_list(
            "pk", "payment_reference", "net_rent", "service_costs"):
        refs["".join(ch for ch in ref if ch.isdigit()) or ref] = pk
        rent[pk] = net + svc
    ibans: dict[str, list[int]] = defaultdict(list)
    for iban, tid in KnownPayer.objects.values_list("iban", "tenancy_id"):
        ibans[iban.replace(" ", "").upper()].append(tid)
    return MatchIndex(by_reference=refs, by_iban={k: tuple(v) for k, v in ibans.items()},
                      monthly_rent=rent)


def facts(txn: BankTransaction) -> TxnFacts:
    return TxnFacts(amount=txn.amount, creditor_reference=txn.creditor_reference,
                    remittance=txn.remittance, counterparty_iban=txn.counterparty_iban,
                    return_reason=txn.return_reason, reversal=txn.reversal)


def ledger_entry(txn: BankTransaction, tenancy_id: int) -> LedgerEntry:
    kind = ledger_kind(facts(txn))
    label = {"payment": "Betaling / payment", "reversal": "Storno / reversal",
             "adjustment": "Terugbetaling / refund"}[kind]
    return LedgerEntry(tenancy_id=tenancy_id, kind=kind, amount=-txn.amount,
                       booked_on=txn.booked_on, return_reason=txn.return_reason,
                       description=f"{label} {txn.counterparty_name}"[:200],
                       source_key=f"bank:{txn.pk}")


def match_and_post(through: date, actor: str = "system:run") -> MatchRun:
    """Match every new (and still unmatched) EUR transaction booked on or before `through`."""
    result = MatchRun()
    pending = list(BankTransaction.objects.filter(
        status__in=[TxnStatus.NEW, TxnStatus.UNMATCHED], booked_on__lte=through, currency="EUR",
        # Notifications (camt.054) and status reports (pain.002) are not bookings on the
        # account: the statement that books them is what reaches the ledger.
        booked=True,
    ).order_by("booked_on", "pk"))
    if not pending:
        return result
    index = build_index()
    entries: list[LedgerEntry] = []
    changed: list[BankTransaction] = []
    for txn in pending:
        outcome = match(facts(txn), index, find_betalingskenmerken)
        if outcome.tenancy_id is not None:
            txn.status, txn.tenancy_id = TxnStatus.MATCHED, outcome.tenancy_id
            txn.match_reason, txn.matched_by, txn.matched_on = outcome.reason, actor, through
            entries.append(ledger_entry(txn, outcome.tenancy_id))
            result.by_rule[outcome.rule] += 1
            result.tenancies.add(outcome.tenancy_id)
            if entries[-1].kind == "reversal":
                result.reversals += 1
                result.reversed_amount -= txn.amount
            else:
                result.matched += 1
                result.matched_amount += txn.amount
        elif outcome.rule == "outgoing":
            txn.status, txn.match_reason = TxnStatus.IGNORED, outcome.reason
            result.ignored += 1
        else:
            was_new = txn.status == TxnStatus.NEW
            txn.status, txn.match_reason = TxnStatus.UNMATCHED, outcome.reason
            if was_new:  # report each payment once, on the day it entered the queue
                result.unmatched += 1
                result.unmatched_amount += txn.amount
            else:
                continue
        changed.append(txn)
    with transaction.atomic():
        update_rows(BankTransaction, changed,
                    ["status", "tenancy", "match_reason", "matched_by", "matched_on"])
        insert_entries(not_yet_booked(entries))
    return result


