"""SEPA direct debit: mandates, collections, the pain.008 files, and the returns handled.

Written only by vroeg/directdebit/actions.py. Status values and the rules behind them
are in vroeg/domain/direct_debit.py.
"""

from __future__ import annotations

from django.db import models

from vroeg.banking.models import BankTransaction
from vroeg.domain import direct_debit as dd
from vroeg.portfolio.models import Tenancy


class Mandate(models.Model):
    """Machtiging: the tenant's SEPA Core mandate to collect the rent."""

    class Status(models.TextChoices):
        ACTIVE = "active", "actief / active"
        ENDED = "ended", "beëindigd / ended"

    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="mandates",
                                verbose_name="huurovereenkomst / tenancy")
    reference = models.CharField("machtigingskenmerk / mandate id", max_length=35, unique=True)
    signed_on = models.DateField("getekend / signed on", null=True, blank=True)
    debtor_name = models.CharField("rekeninghouder / account holder", max_length=200)
    debtor_iban = models.CharField("IBAN", max_length=34)
    debtor_bic = models.CharField("BIC", max_length=11, blank=True)
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    # A collection under it was sent and not rejected before settlement: next is RCUR.
    used = models.BooleanField("gebruikt (volgende RCUR) / used (next is RCUR)", default=False)
    ended_on = models.DateField("beëindigd op / ended on", null=True, blank=True)
    end_reason = models.CharField("reden einde / end reason", max_length=300, blank=True)
    created_at = models.DateTimeField("aangemaakt / created at", auto_now_add=True)
    updated_at = models.DateTimeField("gewijzigd / updated at", auto_now=True)

    class Meta:
        verbose_name = "machtiging / mandate"
        verbose_name_plural = "machtigingen / mandates"
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(fields=["tenancy"], condition=models.Q(status="active"),
                                    name="one_active_mandate_per_tenancy"),
        ]

    def __str__(self) -> str:
        return self.reference


class CollectionFile(models.Model):
    """One pain.008 file written to outbox/sepa/ (at most one per day)."""

    file_name = models.CharField("bestand / file", max_length=255, unique=True)
    created_on = models.DateField("dag / day", unique=True)
    version = models.CharField("versie / version", max_length=8)
    message_id = models.CharField("bericht-id / message id", max_length=35, unique=True)
    sha256 = models.CharField("SHA-256", max_length=64)
    collect_on = models.DateField("incassodatum / collection date")
    count = models.PositiveIntegerField("aantal / count")
    total = models.DecimalField("totaal / total", max_digits=14, decimal_places=2)
    frst_count = models.PositiveIntegerField("FRST", default=0)
    rcur_count = models.PositiveIntegerField("RCUR", default=0)
    created_at = models.DateTimeField("gemaakt / created at", auto_now_add=True)

    class Meta:
        verbose_name = "incassobestand / collection file"
        verbose_name_plural = "incassobestanden / collection files"
        ordering = ["-created_on"]

    def __str__(self) -> str:
        return self.file_name


class Collection(models.Model):
    """Incasso-opdracht: one rent month collected under a mandate (attempt 1 or its retry)."""

    class Status(models.TextChoices):
        PLANNED = dd.PLANNED, "gepland / planned"
        EXPORTED = dd.EXPORTED, "verstuurd / exported"
        SETTLED = dd.SETTLED, "ontvangen / settled"
        REJECTED = dd.REJECTED, "geweigerd / rejected"
        RETURNED = dd.RETURNED, "gestorneerd / returned"
        REFUNDED = dd.REFUNDED, "teruggeboekt door betaler / refunded"
        CANCELLED = dd.CANCELLED, "vervallen / cancelled"

    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT,
                                related_name="dd_collections",
                                verbose_name="huurovereenkomst / tenancy")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="collections",
                                verbose_name="machtiging / mandate")
    period = models.DateField("huurmaand / rent month")  # first day of the month
    due_on = models.DateField("vervaldatum / due on")
    attempt = models.PositiveSmallIntegerField("poging / attempt", default=1)
    amount = models.DecimalField("bedrag / amount", max_digits=12, decimal_places=2)
    end_to_end_id = models.CharField("end-to-end-id / end-to-end id", max_length=35,
                                     unique=True)
    sequence_type = models.CharField("volgorde / sequence type", max_length=4, blank=True)
    collect_on = models.DateField("incassodatum / collection date")
    status = models.CharField("status", max_length=10, choices=Status.choices, db_index=True)
    return_reason = models.CharField("retourreden / return reason", max_length=8, blank=True)
    settled_on = models.DateField("ontvangen op / settled on", null=True, blank=True)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="retries", verbose_name="herhaling van / retry of")
    file = models.ForeignKey(CollectionFile, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="collections", verbose_name="bestand / file")
    created_at = models.DateTimeField("aangemaakt / created at", auto_now_add=True)
    updated_at = models.DateTimeField("gewijzigd / updated at", auto_now=True)

    class Meta:
        verbose_name = "incasso-opdracht / collection"
        verbose_name_plural = "incasso-opdrachten / collections"
        ordering = ["-collect_on", "end_to_end_id"]
        constraints = [
            models.UniqueConstraint(fields=["tenancy", "period", "attempt"],
                                    name="one_collection_per_month_and_attempt"),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id


class CollectionReturn(models.Model):
    """A return (storno) of a collection as handled: one per collection and bank entry,
    so handling is idempotent; the same return told twice is recorded as such."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="returns",
                                   verbose_name="incasso-opdracht / collection")
    bank_transaction = models.ForeignKey(BankTransaction, on_delete=models.PROTECT,
                                         related_name="dd_returns",
                                         verbose_name="banktransactie / bank transaction")
    reason = models.CharField("retourreden / return reason", max_length=8)
    action = models.CharField("actie / action", max_length=30)
    after_settlement = models.BooleanField("na bijschrijving / after settlement", default=True)
    handled_on = models.DateField("verwerkt op / handled on")
    note = models.CharField("toelichting / note", max_length=300, blank=True)
    created_at = models.DateTimeField("aangemaakt / created at", auto_now_add=True)

    class Meta:
        verbose_name = "incassoretour / direct-debit return"
        verbose_name_plural = "incassoretouren / direct-debit returns"
        ordering = ["-handled_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "bank_transaction"],
                                    name="one_return_per_collection_and_entry"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.collection.end_to_end_id}"
