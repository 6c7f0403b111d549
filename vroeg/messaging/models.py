"""Outgoing messages (the outbox). Written in the decision transaction, sent later."""

from __future__ import annotations

from django.db import models

from vroeg.collection.models import Case
from vroeg.portfolio.models import Household, Tenancy


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "klaar om te versturen / pending"
        # Claimed by a dispatcher that is handing it to the channel right now; one
        # left in this state by a crash is recovered (looked up at the provider)
        # before it is ever sent again.
        SENDING = "sending", "wordt verstuurd / sending"
        SENT = "sent", "verstuurd / sent"
        CANCELLED = "cancelled", "geannuleerd / cancelled"
        FAILED = "failed", "mislukt / failed"

    class Delivery(models.TextChoices):
        """What the provider reports after sending (webhooks, bounces)."""

        UNKNOWN = "", "onbekend / unknown"
        ACCEPTED = "accepted", "aangenomen / accepted"
        DELIVERED = "delivered", "afgeleverd / delivered"
        READ = "read", "gelezen / read"
        UNDELIVERED = "undelivered", "niet afgeleverd / undelivered"
        BOUNCED = "bounced", "onbestelbaar / bounced"

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
    provider = models.CharField("aanbieder / provider", max_length=30, blank=True)
    # The provider's own id (SMS/WhatsApp message id, SMTP Message-ID): status webhooks
    # and bounces find the message by it; a retry after a crash looks it up first.
    provider_id = models.CharField("id bij aanbieder / provider id", max_length=120,
                                   blank=True, db_index=True)
    claimed_at = models.DateTimeField("opgepakt / claimed at", null=True, blank=True)
    delivery = models.CharField("aflevering / delivery", max_length=12,
                                choices=Delivery.choices, blank=True, default="")
    delivery_at = models.DateTimeField("aflevering gemeld / delivery reported at", null=True,
                                       blank=True)
    # A message on the next channel of the step, after this one could not be delivered.
    fallback_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="fallback",
                                       verbose_name="vervangt / replaces")
    idempotency_key = models.CharField("idempotentiesleutel / idempotency key", max_length=120,
                                       unique=True)

    class Meta:
        verbose_name = "bericht / message"
        verbose_name_plural = "berichten / messages"
        ordering = ["-decided_on", "id"]

    def __str__(self) -> str:
        return f"{self.channel} {self.template} {self.tenancy.code}"


class MessageText(models.Model):
    """A paragraph staff write themselves for one template and language: after the
    greeting (intro) or before the signature (closing). It adds to the message; the
    content the law requires stays in the template. The text may use only the
    variables of messaging.render.staff_variables() and is rendered in jinja2's
    sandbox; anything else is refused when it is saved (clean())."""

    class Part(models.TextChoices):
        INTRO = "intro", "opening (na de aanhef) / intro (after the greeting)"
        CLOSING = "closing", "afsluiting (voor de groet) / closing (before the signature)"

    template = models.CharField("sjabloon / template", max_length=60)
    language = models.CharField("taal / language", max_length=5)
    part = models.CharField("deel / part", max_length=10, choices=Part.choices)
    text = models.TextField("tekst / text", help_text=(
        "Gewone tekst; een lege regel begint een nieuwe alinea. Variabelen zoals "
        "{{ name }}, {{ amount }}, {{ corp.phone }} / Plain text; a blank line starts a new "
        "paragraph. Variables such as {{ name }}, {{ amount }}, {{ corp.phone }}"))
    updated_by = models.CharField("gewijzigd door / updated by", max_length=150, blank=True)
    updated_at = models.DateTimeField("gewijzigd / updated at", auto_now=True)

    class Meta:
        verbose_name = "berichttekst / message text"
        verbose_name_plural = "berichtteksten / message texts"
        ordering = ["template", "language", "part"]
        constraints = [models.UniqueConstraint(fields=["template", "language", "part"],
                                               name="messagetext_one_per_part")]

    def __str__(self) -> str:
        return f"{self.template} {self.language} {self.part}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from vroeg.messaging.render import (
            StaffTextError,
            channels_of,
            languages_of,
            template_names,
            validate_staff_text,
        )

        errors: dict[str, str] = {}
        if self.template not in template_names():
            errors["template"] = (f"onbekend sjabloon / unknown template {self.template!r}; "
                                  f"bekend / known: {', '.join(template_names())}")
        elif self.language not in languages_of(self.template):
            errors["language"] = (
                f"{self.template} bestaat niet in taal / does not exist in language "
                f"{self.language!r} ({', '.join(languages_of(self.template))})")
        elif not {"email", "letter"} & set(channels_of(self.template)):
            errors["template"] = ("alleen sms: geen ruimte voor eigen tekst / SMS only: no room "
                                  "for own text")
        if not (self.text or "").strip():
            errors["text"] = "tekst is leeg / text is empty"
        elif "template" not in errors:
            try:
                validate_staff_text(self.template, self.text)
            except StaffTextError as exc:
                errors["text"] = str(exc)
        if errors:
            raise ValidationError(errors)
