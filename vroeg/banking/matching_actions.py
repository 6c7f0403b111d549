"""Staff actions on bank transactions: linking a payment to a tenancy by hand.

The one place where a person (not the matcher) links a bank transaction to a
tenancy. Linking, posting the ledger entry and writing the audit row happen in one
database transaction: either all three are there, or none is.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.domain.matching import name_tokens
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.portfolio.models import KnownPayer, Tenancy

MANUAL_REASON = "handmatig / manual"


class ManualMatchError(ValueError):
    """The transaction cannot be linked by hand (already linked elsewhere, zero amount)."""


def staff_actor(user: Any) -> str:
    """The audit actor for a staff member: "staff:<username>"."""
    username = user.get_username() if user is not None else ""
    return f"staff:{username or 'unknown'}"


def ledger_source_key(txn: BankTransaction) -> str:
    return f"bank:{txn.pk}"


def remember_payer(txn: BankTransaction, tenancy: Tenancy, actor: str) -> KnownPayer | None:
    """Link the payer's IBAN to the tenancy, so the matcher knows it next time.

    A payer whose name shares no family name with the household is a third party (a
    parent, the municipality, a debt-help organisation).
    """
    iban = txn.counterparty_iban.replace(" ", "").upper()
    if not iban:
        return None
    third = not (name_tokens(txn.counterparty_name) & name_tokens(tenancy.household.name))
    payer, created = KnownPayer.objects.get_or_create(
        tenancy=tenancy, iban=iban,
        defaults={"name": txn.counterparty_name[:200], "third_party": third,
                  "linked_by": actor[:100]})
    if created:
        audit(actor, "known_payer_linked", payer,
              summary=f"betaler gekoppeld aan {tenancy.code} / payer linked to tenancy",
              tenancy=tenancy.code, third_party=third)
    return payer


def mark_not_rent(txn: BankTransaction, user: Any, note: str = "") -> bool:
    """A person says a queued payment is not rent (a supplier's refund, a wrong transfer).

    It leaves the queue for good: the matcher never looks at it again. Only for
    transactions that are not matched; returns False when there was nothing to do.
    """
    actor = staff_actor(user)
    with transaction.atomic():
        locked = BankTransaction.objects.select_for_update().get(pk=txn.pk)
        if locked.status not in (TxnStatus.UNMATCHED, TxnStatus.NEW):
            return False
        locked.status = TxnStatus.IGNORED
        locked.match_reason = (f"geen huur volgens medewerker / not rent according to staff"
                               f"{': ' + note if note else ''}")[:300]
        locked.matched_by, locked.matched_on = actor, timezone.localdate()
        locked.save(update_fields=["status", "match_reason", "matched_by", "matched_on"])
        audit(actor, "bank.not_rent", locked, summary=f"banktransactie {locked.pk}: geen huur / "
              f"not rent", note=note, amount=str(locked.amount))
    _refresh(txn, locked)
    return True


def manual_match(txn: BankTransaction, tenancy: Tenancy, user: Any, *,
                 remember: bool = False) -> LedgerEntry:
    """Link `txn` to `tenancy` for staff member `user` and post its ledger entry.

    A credit (amount > 0) becomes a payment (ledger amount -txn.amount); a debit
    (amount < 0, e.g. a direct-debit return) becomes a reversal (ledger amount
    -txn.amount, so positive: the tenant owes it again).

    With `remember`, the payer's IBAN becomes a known payer of the tenancy (see
    remember_payer), so the next payment from it is matched without a person.

    Idempotent: linking a transaction again to the same tenancy returns the entry
    already posted and writes nothing. Linking one that is already linked to
    another tenancy raises ManualMatchError: that needs a correction, not a re-link.
    """
    actor = staff_actor(user)
    source_key = ledger_source_key(txn)
    with transaction.atomic():
        # Lock the row, and work from the stored state, not the caller's copy.
        locked = BankTransaction.objects.select_for_update().get(pk=txn.pk)
        existing = LedgerEntry.objects.filter(source_key=source_key).first()

        if locked.status == TxnStatus.MATCHED or existing is not None:
            linked_to = locked.tenancy_id if locked.tenancy_id is not None else (
                existing.tenancy_id if existing is not None else None)
            if linked_to == tenancy.pk and existing is not None:
                _refresh(txn, locked)
                return existing
            raise ManualMatchError(
                f"banktransactie {locked.pk} is al gekoppeld / bank transaction {locked.pk} "
                f"is already matched"
                + (f" (huurovereenkomst / tenancy id {linked_to})" if linked_to else ""))
        if locked.amount == 0:
            raise ManualMatchError(
                f"banktransactie {locked.pk} heeft bedrag 0 / bank transaction {locked.pk} "
                f"has amount 0")

        if locked.amount > 0:
            kind = EntryKind.PAYMENT
            description = "betaling, handmatig gekoppeld / payment, matched by hand"
        else:
            kind = EntryKind.REVERSAL
            description = "storno, handmatig gekoppeld / reversal, matched by hand"

        values: dict[str, Any] = {
            "tenancy": tenancy,
            "kind": kind,
            "amount": -locked.amount,
            "booked_on": locked.booked_on,
            "description": description,
            "source_key": source_key,
        }
        if locked.return_reason and _has_field(LedgerEntry, "return_reason"):
            values["return_reason"] = locked.return_reason
        entry = LedgerEntry.objects.create(**values)
        previous_status = locked.status
        locked.tenancy = tenancy
        locked.status = TxnStatus.MATCHED
        locked.matched_by = actor
        locked.match_reason = MANUAL_REASON
        locked.matched_on = timezone.localdate()
        locked.save(update_fields=["tenancy", "status", "matched_by", "match_reason",
                                   "matched_on"])
        audit(
            actor,
            "manual_match",
            locked,
            summary=f"banktransactie {locked.pk} gekoppeld aan {tenancy.code} / "
                    f"bank transaction matched to tenancy",
            tenancy=tenancy.code,
            tenancy_id=tenancy.pk,
            ledger_entry_id=entry.pk,
            ledger_kind=str(kind),
            amount=str(locked.amount),
            previous_status=previous_status,
        )
        if remember:
            remember_payer(locked, tenancy, actor)
        _refresh(txn, locked)
        return entry


def _refresh(txn: BankTransaction, stored: BankTransaction) -> None:
    """Bring the caller's instance in line with what is stored."""
    for field in ("tenancy_id", "status", "matched_by", "match_reason", "matched_on"):
        setattr(txn, field, getattr(stored, field))


def _has_field(model: Any, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())
