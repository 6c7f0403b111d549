"""Payment links and the built-in fake provider's payments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from vroeg.portfolio.models import Tenancy


class PaymentLink(models.Model):
    """Our link in a message: /betaal/<token>. The provider payment is made on a click.

    `status` is the link's own life (open, paid, expired); `provider_status` that of
    the last payment at the provider. A failed or canceled payment leaves the link open:
    the tenant can click again and a new provider payment is made.
    """

    class Status(models.TextChoices):
        OPEN = "open", "open / open"
        PAID = "paid", "betaald / paid"
        EXPIRED = "expired", "verlopen / expired"

    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="payment_links",
                                verbose_name="huurovereenkomst / tenancy")
    amount = models.DecimalField("bedrag / amount", max_digits=12, decimal_places=2)
    description = models.CharField("omschrijving / description", max_length=255)
    provider = models.CharField("betaalprovider / provider", max_length=20)
    # Random and unguessable (128 bits, lower-case hex: survives banks that upper-case).
    token = models.CharField("token", max_length=32, unique=True)
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    provider_payment_id = models.CharField("betaling bij provider / provider payment id",
                                           max_length=80, blank=True, db_index=True)
    provider_status = models.CharField("status bij provider / provider status", max_length=12,
                                       blank=True)
    checkout_url = models.CharField("betaalpagina / checkout URL", max_length=500, blank=True)
    created_at = models.DateTimeField("aangemaakt / created at", default=timezone.now)
    expires_at = models.DateTimeField("verloopt / expires at")
    paid_at = models.DateTimeField("betaald op / paid at", null=True, blank=True)
    paid_amount = models.DecimalField("betaald bedrag / paid amount", max_digits=12,
                                      decimal_places=2, null=True, blank=True)
    method = models.CharField("betaalmethode / method", max_length=40, blank=True)
    settlement_id = models.CharField("uitbetaling / settlement id", max_length=40, blank=True)
    # The ledger entry's source key once booked: "pay:<provider>:<payment id>".
    ledger_source_key = models.CharField("bronsleutel boeking / ledger source key",
                                         max_length=120, blank=True)
    # The idempotency key of the message the link was first made for.
    message_key = models.CharField("bericht / message key", max_length=120, blank=True)

    class Meta:
        verbose_name = "betaallink / payment link"
        verbose_name_plural = "betaallinks / payment links"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenancy", "amount"], condition=Q(status="open"),
                                    name="payments_one_open_link_per_amount"),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.tenancy.code} {self.amount} {self.status}"


class FakePayment(models.Model):
    """A payment at the built-in fake provider: its side of the world, kept in our DB.

    Written by vroeg/payments/providers/fake.py only, as Mollie writes its own.
    """

    id = models.CharField("id", max_length=40, primary_key=True)  # "fake_<hex>"
    link_token = models.CharField("token betaallink / link token", max_length=32,
                                  db_index=True)
    amount = models.DecimalField("bedrag / amount", max_digits=12, decimal_places=2)
    description = models.CharField("omschrijving / description", max_length=255)
    redirect_url = models.CharField("terug naar / redirect URL", max_length=500)
    webhook_url = models.CharField("webhook", max_length=500)
    metadata = models.JSONField("metadata", default=dict)
    status = models.CharField("status", max_length=12, default="open")
    method = models.CharField("betaalmethode / method", max_length=40, blank=True)
    created_at = models.DateTimeField("aangemaakt / created at", default=timezone.now)
    paid_at = models.DateTimeField("betaald op / paid at", null=True, blank=True)

    class Meta:
        verbose_name = "testbetaling / fake payment"
        verbose_name_plural = "testbetalingen / fake payments"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id
