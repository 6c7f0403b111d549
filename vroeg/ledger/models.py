"""The tenant ledger: append-only. Corrections are new entries, never edits."""

from __future__ import annotations

from django.db import models

from vroeg.portfolio.models import Tenancy


class EntryKind(models.TextChoices):
    OPENING = "opening", "beginsaldo / opening balance"
    CHARGE = "charge", "huur / rent charge"
    PAYMENT = "payment", "betaling / payment"
    REVERSAL = "reversal", "storno / reversal"
    ADJUSTMENT = "adjustment", "correctie / adjustment"
    COSTS = "costs", "incassokosten / collection costs"


class LedgerEntry(models.Model):
    """amount > 0: the tenant owes more (charge, reversal); amount < 0: paid or credited."""

    # No index of its own: the indexes below start with the tenancy.
    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="ledger",
                                verbose_name="huurovereenkomst / tenancy", db_index=False)
    kind = models.CharField("soort / kind", max_length=12, choices=EntryKind.choices)
    amount = models.DecimalField("bedrag / amount", max_digits=12, decimal_places=2)
    booked_on = models.DateField("boekdatum / booked on", db_index=True)
    due_on = models.DateField("vervaldatum / due on", null=True, blank=True)
    description = models.CharField("omschrijving / description", max_length=200, blank=True)
    return_reason = models.CharField("retourreden / return reason", max_length=8, blank=True)
    # Idempotency: every entry has a key from its source ("charge:<tenancy>:<due_on>",
    # "bank:<transaction id>"); posting the same fact twice hits this constraint.
    source_key = models.CharField("bronsleutel / source key", max_length=120, unique=True)
    created_at = models.DateTimeField("aangemaakt / created at", auto_now_add=True)

    class Meta:
        verbose_name = "boeking / ledger entry"
        verbose_name_plural = "grootboek huurders / ledger"
        ordering = ["tenancy_id", "booked_on", "id"]
        indexes = [models.Index(fields=["tenancy", "booked_on"]),
                   # Each tenancy's last charge, read every day (post_charges), from the
                   # index alone: a third of the time of reading the ledger for it.
                   models.Index(fields=["tenancy", "kind", "due_on"],
                                name="ledger_tenancy_kind_due_idx")]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.kind} {self.amount}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise ValueError("ledger entries are append-only; post a correction instead")
        super().save(*args, **kwargs)
