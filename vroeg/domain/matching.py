"""Matching an incoming bank entry to a tenancy. Pure; every match carries its reason.

Order (issue 2's thin slice; issue 3 deepens it): the structured payment
reference, a valid reference typed in the free text, then a payer IBAN known for
the tenancy. Anything unsure stays unmatched for a person, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TxnFacts:
    amount: Decimal  # credit positive
    creditor_reference: str
    remittance: str
    counterparty_iban: str
    return_reason: str = ""
    reversal: bool = False


@dataclass(frozen=True)
class MatchIndex:
    by_reference: Mapping[str, int]  # payment reference -> tenancy id
    by_iban: Mapping[str, tuple[int, ...]]  # known payer IBAN -> tenancy ids
    monthly_rent: Mapping[int, Decimal]


@dataclass(frozen=True)
class MatchResult:
    tenancy_id: int | None
    rule: str  # reference, reference_in_text, known_iban, none, outgoing
    reason: str


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def match(txn: TxnFacts, index: MatchIndex,
          find_references: Callable[[str], tuple[str, ...]]) -> MatchResult:
    ref = _digits(txn.creditor_reference)
    if ref and ref in index.by_reference:
        return MatchResult(index.by_reference[ref], "reference",
                           "betalingskenmerk (gestructureerd) / structured payment reference")
    # Free text can hold other valid-looking numbers ("huur 2026 2000 0001 ..."): only
    # references we issued count, and two different ones are left to a person.
    typed = {index.by_reference[r] for r in find_references(txn.remittance)
             if r in index.by_reference} if txn.remittance else set()
    if len(typed) == 1:
        return MatchResult(typed.pop(), "reference_in_text",
                           "betalingskenmerk in omschrijving / payment reference in free text")
    if len(typed) > 1:
        return MatchResult(None, "none", "meerdere betalingskenmerken in omschrijving / "
                           "several payment references in the free text")
    iban = txn.counterparty_iban.replace(" ", "").upper()
    candidates = index.by_iban.get(iban, ()) if iban else ()
    if len(candidates) == 1:
        return MatchResult(candidates[0], "known_iban",
                           "bekende IBAN van de huurder / known payer IBAN")
    if len(candidates) > 1:
        fitting = [t for t in candidates if index.monthly_rent.get(t) == abs(txn.amount)]
        if len(fitting) == 1:
            return MatchResult(fitting[0], "known_iban",
                               "bekende IBAN en bedrag = maandhuur / known IBAN, amount = rent")
        return MatchResult(None, "none",
                           f"IBAN hoort bij {len(candidates)} huurovereenkomsten, bedrag past "
                           f"bij geen enkele / IBAN known for {len(candidates)} tenancies, "
                           "amount fits none")
    if txn.amount < 0 and not txn.return_reason and not txn.reversal:
        return MatchResult(None, "outgoing",
                           "uitgaande betaling, geen huurder / outgoing payment, not a tenant's")
    return MatchResult(None, "none",
                       "geen kenmerk en onbekende IBAN / no reference and unknown IBAN")


def ledger_kind(txn: TxnFacts) -> str:
    """How a matched bank entry lands in the tenant ledger."""
    if txn.amount > 0:
        return "payment"
    if txn.return_reason or txn.reversal:
        return "reversal"
    return "adjustment"  # e.g. a refund of credit to the tenant
