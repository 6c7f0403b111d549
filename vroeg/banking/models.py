"""Bank files and the transactions they carry."""

from __future__ import annotations

from django.db import models

from vroeg.portfolio.models import Tenancy


class BankFile(models.Model):
    class Status(models.TextChoices):
        IMPORTED = "imported", "ingelezen / imported"
        REFUSED = "refused", "geweigerd / refused"
        # Balances do not add up: nothing is booked until a person accepts the file.
        HELD = "held", "wacht op controle / awaiting review"
        REJECTED = "rejected", "afgewezen door medewerker / rejected by staff"

    name = models.CharField("bestand / file", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    format = models.CharField("formaat / format", max_length=40, blank=True)
    status = models.CharField("status", max_length=10, choices=Status.choices)
    reason = models.TextField("reden / reason", blank=True)
    received_at = models.DateTimeField("ontvangen / received", auto_now_add=True)
    statements = models.PositiveIntegerField("afschriften / statements", default=0)
    entries = models.PositiveIntegerField("boekingen / entries", default=0)
    new_entries = models.PositiveIntegerField("nieuw / new entries", default=0)
    duplicate_entries = models.PositiveIntegerField("dubbel / duplicate entries", default=0)
    # Balances that do not add up, batches not split, pending entries left out.
    warnings = models.TextField("waarschuwingen / warnings", blank=True)
    # The last day a statement in this file covers (its closing date, else its last
    # booking): a statement without entries still tells that nothing came in.
    covers_until = models.DateField("afschrift t/m / statement covers until", null=True,
                                    blank=True)
    reviewed_by = models.CharField("beoordeeld door / reviewed by", max_length=100, blank=True)
    reviewed_at = models.DateTimeField("beoordeeld op / reviewed at", null=True, blank=True)

    class Meta:
        verbose_name = "bankbestand / bank file"
        verbose_name_plural = "bankbestanden / bank files"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.name


class TxnStatus(models.TextChoices):
    NEW = "new", "nieuw / new"
    MATCHED = "matched", "gekoppeld / matched"
    UNMATCHED = "unmatched", "niet gekoppeld / unmatched"
    IGNORED = "ignored", "genegeerd / ignored"


class BankTransaction(models.Model):
    """One booked bank entry (credit positive). Unique by entry_key across files."""

    file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="transactions",
                             verbose_name="bankbestand / bank file")
    entry_key = models.CharField("boekingssleutel / entry key", max_length=64, unique=True)
    account_iban = models.CharField("rekening / account", max_length=34)
    statement_id = models.CharField("afschrift / statement", max_length=80, blank=True)
    # False for notifications and status reports (camt.054, pain.002): they tell about
    # a booking (a return and its reason) but are not the booking; post from statements.
    booked = models.BooleanField("geboekt (afschrift) / booked (statement)", default=True)
    amount = models.DecimalField("bedrag / amount", max_digits=14, decimal_places=2)
    currency = models.CharField("valuta / currency", max_length=3, default="EUR")
    booked_on = models.DateField("boekdatum / booked on", db_index=True)
    value_on = models.DateField("valutadatum / value date", null=True, blank=True)
    counterparty_name = models.CharField("tegenpartij / counterparty", max_length=200, blank=True)
    counterparty_iban = models.CharField("IBAN tegenpartij / counterparty IBAN", max_length=34,
                                         blank=True, db_index=True)
    counterparty_bic = models.CharField("BIC tegenpartij / counterparty BIC", max_length=11,
                                        blank=True)
    remittance = models.TextField("omschrijving / remittance", blank=True)
    creditor_reference = models.CharField("betalingskenmerk / reference", max_length=40,
                                          blank=True, db_index=True)
    end_to_end_id = models.CharField("end-to-end-id / end-to-end id", max_length=80, blank=True)
    mandate_id = models.CharField("machtigingskenmerk / mandate id", max_length=80, blank=True)
    bank_reference = models.CharField("bankreferentie / bank reference", max_length=80,
                                      blank=True)
    reversal = models.BooleanField("storno / reversal", default=False)
    return_reason = models.CharField("retourreden / return reason", max_length=8, blank=True)
    bank_code = models.CharField("transactiecode / bank code", max_length=40, blank=True)
    status = models.CharField("status", max_length=10, choices=TxnStatus.choices,
                              default=TxnStatus.NEW, db_index=True)
    tenancy = models.ForeignKey(Tenancy, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="bank_transactions",
                                verbose_name="huurovereenkomst / tenancy")
    match_reason = models.CharField("koppelreden / match reason", max_length=300, blank=True)
    match_rule = models.CharField("koppelregel / match rule", max_length=20, blank=True)
    # The best tenancies the matcher found when it could not decide: for the person who does.
    candidates = models.JSONField("kandidaten / candidates", default=list, blank=True)
    matched_by = models.CharField("gekoppeld door / matched by", max_length=100, blank=True)
    matched_on = models.DateField("gekoppeld op / matched on", null=True, blank=True)

    class Meta:
        verbose_name = "banktransactie / bank transaction"
        verbose_name_plural = "banktransacties / bank transactions"
        ordering = ["-booked_on", "id"]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.counterparty_name}"
