"""Outgoing messages (the outbox). Written in the decision transaction, sent later."""

from __future__ import annotations

from django.db import models

from vroeg.collection.models import Case
from vroeg.portfolio.models import Household, Tenancy


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "klaar om te versturen / pending"
        SENT = "sent", "verstuurd / sent"
        CANCELLED = "cancelled", "geannuleerd / cancelled"
        FAILED = "failed", "mislukt / failed"

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="messages",
                                  verbose_name="huishouden / household")
    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="messages",
                                verbose_name="huurovereenkomst / tenancy")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="messages", verbose_name="dossier / case")
    step = models.CharField("stap / step", max_length=40)
    template = models.CharField("sjabloon / template", max_length=60)
    channel = models.CharField("kanaal / channel", max_length=10)
    language = models.CharField("taal / language", max_length=5, default="nl")
    recipient = models.CharField("ontvanger / recipient", max_length=300)
    subject = models.CharField("onderwerp / subject", max_length=200, blank=True)
    body_text = models.TextField("tekst / text")
    # The facts the message was rendered from.
    context = models.JSONField("gegevens / context", default=dict)
    decided_on = models.DateField("besloten op / decided on", db_index=True)
    send_after = models.DateTimeField("niet voor / not before")
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.PENDING, db_index=True)
    sent_at = models.DateTimeField("verstuurd / sent at", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("pogingen / attempts", default=0)
    last_error = models.CharField("laatste fout / last error", max_length=300, blank=True)
    delivery_ref = models.CharField("bestand of provider-id / delivery ref", max_length=300,
                                    blank=True)
    idempotency_key = models.CharField("idempotentiesleutel / idempotency key", max_length=120,
                                       unique=True)

    class Meta:
        verbose_name = "bericht / message"
        verbose_name_plural = "berichten / messages"
        ordering = ["-decided_on", "id"]

    def __str__(self) -> str:
        return f"{self.channel} {self.template} {self.tenancy.code}"
