"""The built-in fake provider, for the demo and for installs without a real provider.

Its payments live in the database (FakePayment). Its checkout page is served by vroeg
itself at ``/betalen/<link token>/`` (vroeg/payments/views.py): the amount, a button
"Betalen / pay" and one "Annuleren / cancel". Either then calls our own webhook handling
with the payment id, as Mollie would, and sends the tenant back to the redirect URL.
No money moves: never configure it where tenants pay for real.

Its "bank": :func:`bank_entries` gives the statement entries a payout of the fake
provider would make, one credit per paid payment, counterparty ``PAYER_NAME`` and
remittance ``vroeg <link token>`` (``REMITTANCE_PREFIX``), for the demo's bank files;
vroeg/payments/settlements.py recognises them as already booked.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from vroeg.domain.bank.model import BankEntry
from vroeg.domain.calendar import AMSTERDAM
from vroeg.payments.models import FakePayment
from vroeg.payments.providers.base import (
    NewPayment,
    PaymentProviderError,
    PaymentStatus,
    ProviderPayment,
    Settlement,
)

NAME = "fake"
PAYER_NAME = "vroeg testbetaalprovider"
REMITTANCE_PREFIX = "vroeg"
METHOD = "test"


def _payment(row: FakePayment) -> ProviderPayment:
    return ProviderPayment(
        id=row.id, status=PaymentStatus(row.status), amount=row.amount, paid_at=row.paid_at,
        method=row.method, checkout_url=reverse("payments-fake", args=[row.link_token]),
        metadata={str(k): str(v) for k, v in row.metadata.items()})


class FakeProvider:
    name = NAME

    def create_payment(self, new: NewPayment) -> ProviderPayment:
        token = new.metadata.get("link", "")
        if new.amount <= 0 or not token:
            raise PaymentProviderError("testprovider: bedrag of link ontbreekt / amount or link "
                                       "missing", status=422)
        row = FakePayment.objects.create(
            id=f"fake_{secrets.token_hex(12)}", link_token=token, amount=new.amount,
            description=new.description, redirect_url=new.redirect_url,
            webhook_url=new.webhook_url, metadata=dict(new.metadata))
        return _payment(row)

    def get_payment(self, payment_id: str) -> ProviderPayment:
        row = FakePayment.objects.filter(pk=payment_id).first()
        if row is None:
            raise PaymentProviderError("testprovider: onbekende betaling / unknown payment",
                                       status=404)
        return _payment(row)

    def settlement(self, reference: str) -> Settlement | None:
        return None  # pays out per payment, recognised by the link token


def open_payment(link_token: str) -> FakePayment | None:
    """The payment the fake checkout page shows for a link: its latest open one."""
    return (FakePayment.objects.filter(link_token=link_token, status=PaymentStatus.OPEN)
            .order_by("-created_at").first())


def finish(payment: FakePayment, *, pay: bool, now: datetime | None = None) -> None:
    """The tenant pressed a button on the fake checkout page."""
    with transaction.atomic():
        row = FakePayment.objects.select_for_update().get(pk=payment.pk)
        if row.status != PaymentStatus.OPEN:
            return  # a second press (or an old tab) changes nothing
        row.status = PaymentStatus.PAID if pay else PaymentStatus.CANCELED
        if pay:
            row.paid_at, row.method = now or timezone.now(), METHOD
        row.save(update_fields=["status", "paid_at", "method"])
    payment.refresh_from_db()


def bank_entries(on: date) -> list[BankEntry]:
    """The fake provider's payouts booked on `on`: one per payment paid the day before
    (Amsterdam), like a next-day payout, with remittance ``vroeg <link token>``."""
    day = on - timedelta(days=1)
    start = datetime.combine(day, datetime.min.time(), AMSTERDAM)
    rows = FakePayment.objects.filter(status=PaymentStatus.PAID, paid_at__gte=start,
                                      paid_at__lt=start + timedelta(days=1)).order_by("paid_at")
    return [BankEntry(amount=r.amount, currency="EUR", booked_on=on, value_on=on,
                      counterparty_name=PAYER_NAME,
                      remittance=f"{REMITTANCE_PREFIX} {r.link_token}", bank_reference=r.id)
            for r in rows]
