"""Recognising a payment provider's payout on the bank statement, so money is booked once.

Payments through links are booked when they are paid (vroeg/payments/actions.py). The
same money reaches the corporation's account later, as a payout from the provider:

* **Mollie**: one credit from "Stichting Mollie Payments" for many payments (less
  Mollie's costs), the remittance holding the settlement's bank reference
  (``1234567.2611.01``). The Settlements API (organization access token, see
  VROEG_MOLLIE_ACCESS_TOKEN) says which payments it carries.
* **the fake provider**: one credit per payment, remittance ``vroeg <link token>``
  (vroeg/payments/providers/fake.py, ``bank_entries``).

The rule (:func:`recognise`, called by the matcher before matching each entry):

1. A payout whose payments were all booked through links is ignored, reason
   ``IGNORED_REASON``.
2. A payment in it that the links know but did not book yet (a webhook that never came)
   is booked now, with its own source key ``pay:<provider>:<payment id>``: the same key
   a late webhook would use, so nothing is lost and nothing is doubled.
3. Anything else (a payment that is not from a link, a payout whose contents cannot be
   fetched, an amount that does not fit) goes to a person in the unmatched-payments
   queue with the reason; it is never matched to a tenant by the ordinary rules, and is
   looked at again by the next run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from vroeg.audit.actions import audit
from vroeg.domain.matching import MatchResult, TxnFacts, fold
from vroeg.ledger.models import LedgerEntry
from vroeg.payments.actions import apply_payment, source_key
from vroeg.payments.models import FakePayment, PaymentLink
from vroeg.payments.providers import get_provider
from vroeg.payments.providers.base import PaymentProviderError, PaymentStatus
from vroeg.payments.providers.fake import REMITTANCE_PREFIX
from vroeg.payments.providers.fake import _payment as fake_payment

log = logging.getLogger("vroeg.payments")

ACTOR = "system:run"
#: Match rule of a recognised payout (status ignored) ...
PAYOUT_RULE = "payout"
#: ... and of one a person has to look at (status unmatched).
CHECK_RULE = "payout_check"
IGNORED_REASON = ("uitbetaling betaalprovider, al geboekt via betaallinks / payment provider "
                  "payout, already booked through payment links")
_MOLLIE_REFERENCE = re.compile(r"(?<![\d.])(\d{4,}\.\d{4}\.\d{2})(?![\d.])")
_FAKE_REMITTANCE = re.compile(rf"\b{REMITTANCE_PREFIX}\s+([0-9a-f]{{32}})\b")
# Mollie's own names; a tenant called Mollie only counts with a settlement reference.
_MOLLIE_NAMES = ("mollie payments", "mollie b.v", "mollie bv")


@dataclass(frozen=True)
class Recognition(MatchResult):
    """A matcher outcome for a provider's payout: never a tenancy."""

    provider: str = ""
    payments: tuple[str, ...] = ()  # the provider payment ids the payout carries
    booked_now: tuple[str, ...] = ()  # of those, booked only now (a missed webhook)

    @property
    def ignored(self) -> bool:
        return self.rule == PAYOUT_RULE


def _to_person(provider: str, reason: str, payments: tuple[str, ...] = (),
               booked_now: tuple[str, ...] = ()) -> Recognition:
    return Recognition(None, CHECK_RULE, reason[:300], score=0, provider=provider,
                       payments=payments, booked_now=booked_now)


def recognise(txn: TxnFacts) -> Recognition | None:
    """A payout of a payment provider, or None for every other bank entry (cheap)."""
    if txn.amount <= 0:
        return None
    if txn.remittance and (found := _FAKE_REMITTANCE.search(fold(txn.remittance))):
        return _fake(txn, found.group(1))
    name = fold(txn.counterparty_name)
    if "mollie" in name and (any(n in name for n in _MOLLIE_NAMES) or _mollie_reference(txn)):
        return _mollie(txn)
    return None


def _mollie_reference(txn: TxnFacts) -> str:
    text = " ".join((txn.remittance, txn.creditor_reference, txn.end_to_end_id))
    found = _MOLLIE_REFERENCE.search(text)
    return found.group(1) if found else ""


def _done(provider: str, summary: str, payments: tuple[str, ...],
          booked_now: tuple[str, ...]) -> Recognition:
    audit(ACTOR, "payments.payout_recognised", object_type="banking.banktransaction",
          summary=summary, provider=provider, payments=len(payments),
          booked_now=list(booked_now))
    return Recognition(None, PAYOUT_RULE, IGNORED_REASON, provider=provider, payments=payments,
                       booked_now=booked_now)


def _fake(txn: TxnFacts, token: str) -> Recognition:
    link = PaymentLink.objects.filter(token=token).first()
    if link is None:
        return _to_person("fake", "uitbetaling testbetaalprovider voor onbekende betaallink / "
                                  "fake provider payout for an unknown payment link")
    booked_now: tuple[str, ...] = ()
    paid = FakePayment.objects.filter(link_token=token, status=PaymentStatus.PAID).first()
    if paid is not None and apply_payment(link, fake_payment(paid), actor=ACTOR):
        booked_now = (paid.id,)
    link.refresh_from_db()
    if link.status != PaymentLink.Status.PAID or link.paid_amount != txn.amount:
        return _to_person("fake", "uitbetaling testbetaalprovider past niet bij een betaalde "
                                  "betaallink / fake provider payout does not fit a paid link")
    return _done("fake", f"uitbetaling testbetaalprovider / fake provider payout "
                         f"{link.provider_payment_id}", (link.provider_payment_id,), booked_now)


def _mollie(txn: TxnFacts) -> Recognition:
    reference = _mollie_reference(txn)
    if not reference:
        return _to_person("mollie", "uitbetaling van Mollie zonder uitbetalingsreferentie: kijk "
                                    "of de betalingen al via betaallinks zijn geboekt / Mollie "
                                    "payout without settlement reference: check whether its "
                                    "payments were booked through payment links")
    try:
        provider = get_provider("mollie")
        settlement = provider.settlement(reference) if provider is not None else None
    except PaymentProviderError as exc:
        log.warning("Mollie settlement %s: %s", reference, exc)
        return _to_person("mollie", f"uitbetaling van Mollie {reference}: inhoud niet op te "
                                    f"halen, volgende run opnieuw / contents could not be "
                                    f"fetched, next run tries again: {exc}")
    if settlement is None:
        return _to_person("mollie", f"uitbetaling van Mollie {reference}: inhoud onbekend "
                                    f"(VROEG_MOLLIE_ACCESS_TOKEN ontbreekt); kijk of de "
                                    f"betalingen al via betaallinks zijn geboekt / contents "
                                    f"unknown (no access token): check the payments")
    payments = {p.id: p for p in settlement.payments}
    ids = tuple(payments)
    booked = set(LedgerEntry.objects.filter(
        source_key__in=[source_key("mollie", i) for i in ids]).values_list("source_key",
                                                                            flat=True))
    links = {link.provider_payment_id: link for link in PaymentLink.objects.filter(
        provider="mollie", provider_payment_id__in=ids)}
    booked_now: list[str] = []
    foreign: list[str] = []
    for pid, payment in payments.items():
        if source_key("mollie", pid) in booked:
            continue
        link = links.get(pid) or PaymentLink.objects.filter(
            provider="mollie", token=payment.metadata.get("link", ""),
            tenancy__code=payment.metadata.get("tenancy", "")).first()
        if link is None or payment.status != PaymentStatus.PAID:
            foreign.append(pid)
        elif apply_payment(link, payment, actor=ACTOR):
            booked_now.append(pid)
    if foreign or not ids:
        return _to_person("mollie", f"uitbetaling van Mollie {reference}: {len(foreign)} van "
                                    f"{len(ids)} betalingen niet via betaallinks; "
                                    f"{len(booked_now)} nu geboekt / {len(foreign)} of "
                                    f"{len(ids)} payments not through payment links; "
                                    f"{len(booked_now)} booked now",
                          payments=ids, booked_now=tuple(booked_now))
    return _done("mollie", f"uitbetaling van Mollie / Mollie payout {reference}: {len(ids)} "
                           f"betalingen / payments", ids, tuple(booked_now))
