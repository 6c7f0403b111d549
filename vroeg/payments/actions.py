"""The one place payment links are written: made, clicked, paid, expired.

A link is ours (``VROEG_PAY_URL/<token>``); the provider payment behind it is made only
when the tenant clicks (:func:`start_payment`), so a day of 15,000 reminders makes no
provider payments at all. A paid payment is booked to the tenant ledger at once, when
the provider's webhook arrives (:func:`handle_webhook`): the webhook only says *which*
payment changed; its status, amount and time are always fetched from the provider.
The ledger entry's source key ``pay:<provider>:<payment id>`` makes booking idempotent:
a second webhook, a manual check, or the provider's payout on the bank statement
(vroeg/payments/settlements.py) books nothing more.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.domain.calendar import AMSTERDAM
from vroeg.ledger.actions import insert_entries, not_yet_booked
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.payments.models import PaymentLink
from vroeg.payments.providers import NONE, configured, get_provider
from vroeg.payments.providers.base import (
    FINAL_UNPAID,
    NewPayment,
    PaymentProviderError,
    PaymentStatus,
    ProviderPayment,
)
from vroeg.portfolio.models import Tenancy

log = logging.getLogger("vroeg.payments")

ACTOR = "system:payments"
CENT = Decimal("0.01")
MAX_LINK_DAYS = 100  # Mollie's longest bank transfer due date
_PAYMENT_ID = re.compile(r"^[A-Za-z0-9_]{1,80}$")


class PaymentLinkError(ValueError):
    """A link cannot be made (no amount owed, a bad amount)."""


class UnknownPaymentError(LookupError):
    """A webhook named a payment that is not one of our links' (nothing is changed)."""


def link_days() -> int:
    return max(1, min(MAX_LINK_DAYS, int(getattr(settings, "VROEG_PAY_LINK_DAYS", 14))))


def _base() -> str:
    return str(getattr(settings, "VROEG_PAY_URL", "") or
               settings.VROEG_CORPORATION["pay_url"]).rstrip("/")


def url_of(link: PaymentLink) -> str:
    """The address the tenant clicks: VROEG_PAY_URL + "/<token>"."""
    return f"{_base()}/{link.token}"


def source_key(provider: str, payment_id: str) -> str:
    return f"pay:{provider}:{payment_id}"


def _description(tenancy: Tenancy) -> str:
    return f"Huur {tenancy.code} {settings.VROEG_CORPORATION['name']}"[:255]


def _new_payment(link: PaymentLink) -> NewPayment:
    if link.provider == "fake":  # its checkout page is ours: stay on this host
        redirect = reverse("payments-return", args=[link.token])
        webhook = reverse("payments-webhook", args=[link.provider])
    else:
        redirect = f"{_base()}/{link.token}/terug"
        webhook = f"{_base()}/webhook/{link.provider}"
    language = link.tenancy.household.language
    return NewPayment(
        amount=link.amount, description=link.description, redirect_url=redirect,
        webhook_url=webhook, metadata={"link": link.token, "tenancy": link.tenancy.code},
        expires_on=link.expires_at.astimezone(AMSTERDAM).date(),
        locale="en_US" if language == "en" else "nl_NL")


# --- making links -----------------------------------------------------------------------

def _open_link(tenancy: Tenancy, amount: Decimal, message_key: str,
               now: datetime) -> PaymentLink:
    """The open link for this tenancy and amount, made if there is none. Reused links are
    extended: each message's link works the full VROEG_PAY_LINK_DAYS from that message."""
    expires = now + timedelta(days=link_days())
    provider = configured()
    for attempt in range(2):
        with transaction.atomic():
            PaymentLink.objects.filter(tenancy=tenancy, amount=amount,
                                       status=PaymentLink.Status.OPEN,
                                       expires_at__lte=now).update(
                status=PaymentLink.Status.EXPIRED)
            link = (PaymentLink.objects.select_for_update()
                    .filter(tenancy=tenancy, amount=amount, status=PaymentLink.Status.OPEN)
                    .first())
            if link is not None:
                changed = []
                if link.expires_at < expires:
                    link.expires_at = expires
                    changed.append("expires_at")
                if not link.provider_payment_id and link.provider != provider:
                    link.provider = provider  # switched providers: the new one from now on
                    changed.append("provider")
                if changed:
                    link.save(update_fields=changed)
                return link
            try:
                with transaction.atomic():
                    return PaymentLink.objects.create(
                        tenancy=tenancy, amount=amount, description=_description(tenancy),
                        provider=provider, token=secrets.token_hex(16), created_at=now,
                        expires_at=expires, message_key=message_key[:120])
            except IntegrityError:
                if attempt:  # made by another process at the same moment: use that one
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


def link_for(tenancy: Tenancy, amount: Decimal, *, message_key: str = "",
             now: datetime | None = None, at_provider: bool = False) -> PaymentLink:
    """The open, unexpired payment link for `tenancy` and `amount`: made, or the same one
    again. With `at_provider` the provider payment is made now too (normally that waits
    for the click); if the provider refuses, PaymentProviderError and nothing is written."""
    if not isinstance(amount, Decimal) or amount <= 0:
        raise PaymentLinkError(f"betaallink: bedrag moet een positieve Decimal zijn / amount "
                               f"must be a positive Decimal: {amount!r}")
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    now = now or timezone.now()
    if not at_provider:
        return _open_link(tenancy, amount, message_key, now)
    provider = get_provider()
    if provider is None:
        raise PaymentProviderError("geen betaalprovider ingesteld / no payment provider "
                                   "configured (VROEG_PAYMENT_PROVIDER)")
    existing = PaymentLink.objects.filter(tenancy=tenancy, amount=amount,
                                          status=PaymentLink.Status.OPEN,
                                          expires_at__gt=now).first()
    if existing is not None and existing.provider_payment_id:
        return _open_link(tenancy, amount, message_key, now)
    # Ask the provider first, so a refusal leaves no link behind.
    draft = existing or PaymentLink(
        tenancy=tenancy, amount=amount, description=_description(tenancy),
        provider=provider.name, token=secrets.token_hex(16), created_at=now,
        expires_at=now + timedelta(days=link_days()), message_key=message_key[:120])
    draft.provider = provider.name
    payment = provider.create_payment(_new_payment(draft))
    with transaction.atomic():
        if existing is None:
            draft.provider_payment_id, draft.provider_status = payment.id, payment.status
            draft.checkout_url = payment.checkout_url[:500]
            draft.save()
            return draft
        link = _open_link(tenancy, amount, message_key, now)
        _attach(link, payment)
        return link


def pay_url(tenancy: Tenancy, amount: Decimal, *, message_key: str = "",
            now: datetime | None = None) -> str:
    """The URL to put in a message: ``VROEG_PAY_URL/<token>`` of the open link for this
    tenancy and amount (the same link for the same amount while it is open)."""
    return url_of(link_for(tenancy, amount, message_key=message_key, now=now))


def _attach(link: PaymentLink, payment: ProviderPayment) -> None:
    link.provider_payment_id, link.provider_status = payment.id, payment.status
    link.checkout_url = payment.checkout_url[:500]
    link.save(update_fields=["provider_payment_id", "provider_status", "checkout_url"])


# --- the click --------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkout:
    """What the tenant's click leads to."""

    kind: str  # redirect | paid | expired | pending | transfer | error
    link: PaymentLink
    url: str = ""  # for redirect: the provider's checkout page
    error: str = ""


def _expire_one(link: PaymentLink) -> None:
    if link.status == PaymentLink.Status.OPEN:
        PaymentLink.objects.filter(pk=link.pk, status=PaymentLink.Status.OPEN).update(
            status=PaymentLink.Status.EXPIRED)
        link.status = PaymentLink.Status.EXPIRED


def start_payment(link: PaymentLink, *, now: datetime | None = None) -> Checkout:
    """The tenant clicked the link: send them to the provider's checkout page, making the
    provider payment now (or again, after a failed, canceled or expired one)."""
    now = now or timezone.now()
    link.refresh_from_db()
    if link.status == PaymentLink.Status.PAID:
        return Checkout("paid", link)
    if link.status == PaymentLink.Status.EXPIRED or link.expires_at <= now:
        _expire_one(link)
        return Checkout("expired", link)
    provider = get_provider(link.provider)
    if provider is None or link.provider == NONE:
        return Checkout("transfer", link)
    try:
        if link.provider_payment_id and link.provider_status not in FINAL_UNPAID:
            payment = provider.get_payment(link.provider_payment_id)
            _apply(link, payment)
            if payment.status == PaymentStatus.PAID:
                return Checkout("paid", link)
            if payment.status == PaymentStatus.PENDING:
                return Checkout("pending", link)  # never a second payment while one runs
            if payment.status == PaymentStatus.OPEN and payment.checkout_url:
                return Checkout("redirect", link, url=payment.checkout_url)
        payment = provider.create_payment(_new_payment(link))
    except PaymentProviderError as exc:
        log.warning("payment link %s: %s", link.pk, exc)
        return Checkout("error", link, error=str(exc))
    with transaction.atomic():
        _attach(link, payment)
    return Checkout("redirect", link, url=payment.checkout_url)


# --- status from the provider -----------------------------------------------------------

def _apply(link: PaymentLink, payment: ProviderPayment, *, actor: str = ACTOR) -> bool:
    """Take over the provider's view of one payment of this link; book it when paid.

    Returns True when a ledger entry was written now."""
    booked = False
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update().get(pk=link.pk)
        fields: list[str] = []
        if payment.id == locked.provider_payment_id and locked.provider_status != payment.status:
            locked.provider_status = payment.status
            fields.append("provider_status")
        if payment.status == PaymentStatus.PAID:
            paid_at = payment.paid_at or timezone.now()
            key = source_key(locked.provider, payment.id)
            entry = LedgerEntry(
                tenancy_id=locked.tenancy_id, kind=EntryKind.PAYMENT, amount=-payment.amount,
                booked_on=paid_at.astimezone(AMSTERDAM).date(), source_key=key,
                description=(f"Betaling via betaallink / payment via payment link "
                             f"({payment.method or locked.provider})")[:200])
            fresh = not_yet_booked([entry])
            insert_entries(fresh)
            booked = bool(fresh)
            if locked.status != PaymentLink.Status.PAID:
                locked.status, locked.paid_at = PaymentLink.Status.PAID, paid_at
                locked.paid_amount, locked.ledger_source_key = payment.amount, key
                locked.method = payment.method[:40]
                locked.settlement_id = payment.settlement_id[:40]
                fields += ["status", "paid_at", "paid_amount", "ledger_source_key", "method",
                           "settlement_id"]
            elif payment.settlement_id and not locked.settlement_id:
                locked.settlement_id = payment.settlement_id[:40]
                fields.append("settlement_id")
            if booked:
                audit(actor, "payments.booked", locked,
                      summary=f"betaling via betaallink geboekt / payment via payment link "
                              f"booked: {payment.amount} ({locked.provider})",
                      provider=locked.provider, payment_id=payment.id,
                      amount=f"{payment.amount:f}", source_key=key,
                      link_amount=f"{locked.amount:f}")
        if fields:
            locked.save(update_fields=list(dict.fromkeys(fields)))
    link.refresh_from_db()
    return booked


def handle_webhook(provider_payment_id: str, *, provider: str | None = None) -> PaymentLink:
    """A provider says payment `provider_payment_id` changed. Fetch it and apply it.

    Never trusts the caller: only the id is used; status, amount and paid time come
    from the provider. Raises UnknownPaymentError when the payment is not one of our
    links', PaymentProviderError when the provider cannot be asked (try again later)."""
    payment_id = (provider_payment_id or "").strip()
    if not _PAYMENT_ID.match(payment_id):
        raise UnknownPaymentError("betaling onbekend / unknown payment")
    link = PaymentLink.objects.filter(provider_payment_id=payment_id).first()
    name = link.provider if link is not None else (provider or configured())
    source = get_provider(name)
    if source is None:
        raise UnknownPaymentError("betaling onbekend / unknown payment")
    payment = source.get_payment(payment_id)
    if payment.id != payment_id:
        raise UnknownPaymentError("betaling onbekend / unknown payment")
    if link is None:
        # An earlier attempt of a link (its id was replaced by a newer one): the
        # provider's own metadata names the link, and must name the same tenancy.
        link = (PaymentLink.objects.select_related("tenancy")
                .filter(token=payment.metadata.get("link", ""), provider=name).first())
        if link is None or link.tenancy.code != payment.metadata.get("tenancy"):
            raise UnknownPaymentError("betaling onbekend / unknown payment")
    _apply(link, payment)
    return link


def check(link: PaymentLink, *, actor: str = ACTOR) -> PaymentLink:
    """Fetch the link's provider payment and apply it (a missed webhook)."""
    source = get_provider(link.provider)
    if source is None or not link.provider_payment_id:
        return link
    _apply(link, source.get_payment(link.provider_payment_id), actor=actor)
    return link


def apply_payment(link: PaymentLink, payment: ProviderPayment, *, actor: str = ACTOR) -> bool:
    """Apply a payment the provider itself reported (e.g. inside a payout); True when
    it was booked now."""
    return _apply(link, payment, actor=actor)


def expire_links(*, now: datetime | None = None, actor: str = ACTOR) -> int:
    """Mark open links whose time is up as expired; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        count = PaymentLink.objects.filter(status=PaymentLink.Status.OPEN,
                                           expires_at__lte=now).update(
            status=PaymentLink.Status.EXPIRED)
        if count:
            audit(actor, "payments.expired", object_type="payments.paymentlink",
                  summary=f"{count} betaallinks verlopen / payment links expired", count=count)
    return count
