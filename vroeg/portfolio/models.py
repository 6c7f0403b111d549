"""Households, tenancies and the payers known for them (VERA: Relatie, Overeenkomst, Eenheid)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "e-mail"
    SMS = "sms", "sms"
    WHATSAPP = "whatsapp", "WhatsApp"
    LETTER = "letter", "brief / letter"


class Household(models.Model):
    """Huishouden: the people; one household may hold several tenancies."""

    code = models.CharField("relatiecode / party code", max_length=40, unique=True)
    name = models.CharField("naam / name", max_length=200)
    email = models.EmailField("e-mail", blank=True)
    mobile = models.CharField("mobiel (E.164) / mobile", max_length=20, blank=True)
    postal_street = models.CharField("straat / street", max_length=120, blank=True)
    postal_house_number = models.CharField("huisnummer / number", max_length=20, blank=True)
    postal_postcode = models.CharField("postcode", max_length=10, blank=True)
    postal_city = models.CharField("plaats / city", max_length=80, blank=True)
    language = models.CharField("taal / language", max_length=5, default="nl")
    preferred_channel = models.CharField("voorkeurskanaal / preferred channel", max_length=10,
                                         choices=Channel.choices, default=Channel.EMAIL)
    letter_only = models.BooleanField("alleen brief / letter only", default=False)
    no_sms = models.BooleanField("geen sms / no SMS", default=False)
    no_email = models.BooleanField("geen e-mail / no email", default=False)
    needs_interpreter = models.BooleanField("tolk nodig / needs interpreter", default=False)
    # WhatsApp only with the tenant's own opt-in (WhatsApp Business policy); STOP on
    # WhatsApp clears it, STOP by SMS sets no_sms (messaging/webhooks.py).
    whatsapp_opt_in_on = models.DateField("WhatsApp toestemming / WhatsApp opt-in on",
                                          null=True, blank=True)
    # The tenant's own STOP by SMS. Apart from no_sms (the ERP's restriction, which
    # the tenancy import sets on every changed row): an import never undoes an opt-out.
    sms_opt_out_on = models.DateField("sms afgemeld / SMS opt-out on", null=True, blank=True)
    no_automated_calls = models.BooleanField("geen automatische oproepen / no automated calls",
                                             default=False)
    # Day of the month the household's income arrives (1-31; 29-31: the month's last
    # day). Unknown: settings.VROEG_DEFAULT_PAYDAY. A failed direct debit is retried
    # after it (RULES-NL rule 18/19).
    # Set by staff, never from profiling (RULES-NL rule 20): a vulnerable household gets
    # a person first (the flow's segment); children mean extra care before a summons.
    vulnerable = models.BooleanField("kwetsbaar huishouden / vulnerable household",
                                     default=False)
    has_children = models.BooleanField("kinderen in huishouden / children in household",
                                       null=True, blank=True)
    payday = models.PositiveSmallIntegerField(
        "betaaldag (inkomen) / payday", null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)])
    # SHA-256 of the household's columns in the last imported tenancy file: the import
    # updates the household only when the ERP's data for it changed.
    row_hash = models.CharField("rij-hash / row hash", max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "huishouden / household"
        verbose_name_plural = "huishoudens / households"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", "overboeking / transfer"
    DIRECT_DEBIT = "direct_debit", "automatische incasso / direct debit"


class Tenancy(models.Model):
    """Huurovereenkomst (VERA Overeenkomst) for one unit (VERA Eenheid)."""

    code = models.CharField("overeenkomstcode / tenancy code", max_length=40, unique=True)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="tenancies",
                                  verbose_name="huishouden / household")
    unit_code = models.CharField("eenheidcode / unit code", max_length=40)
    street = models.CharField("straat / street", max_length=120)
    house_number = models.CharField("huisnummer / number", max_length=20)
    postcode = models.CharField("postcode", max_length=10)
    city = models.CharField("plaats / city", max_length=80)
    start_on = models.DateField("ingangsdatum / start")
    end_on = models.DateField("einddatum / end", null=True, blank=True)
    net_rent = models.DecimalField("kale huur / net rent", max_digits=10, decimal_places=2)
    service_costs = models.DecimalField("servicekosten / service costs", max_digits=10,
                                        decimal_places=2, default=Decimal("0.00"))
    due_day = models.PositiveSmallIntegerField("vervaldag / due day", default=1)
    payment_method = models.CharField("betaalwijze / payment method", max_length=20,
                                      choices=PaymentMethod.choices, default=PaymentMethod.TRANSFER)
    mandate_reference = models.CharField("machtigingskenmerk / mandate id", max_length=35,
                                         blank=True)
    mandate_signed_on = models.DateField("machtiging getekend / mandate signed", null=True,
                                         blank=True)
    payment_reference = models.CharField("betalingskenmerk / payment reference", max_length=16,
                                         unique=True)
    # Huurtoeslag, as the ERP knows it (None: not known). A change from yes to no is
    # recorded as a TenancyEvent: a stopped benefit is an early-warning signal.
    housing_benefit = models.BooleanField("huurtoeslag / housing benefit", null=True,
                                          blank=True)
    opening_balance = models.DecimalField("beginsaldo / opening balance", max_digits=12,
                                          decimal_places=2, default=Decimal("0.00"))
    opening_balance_on = models.DateField("beginsaldo per / opening balance on", null=True,
                                          blank=True)
    row_hash = models.CharField("rij-hash / row hash", max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = "huurovereenkomst / tenancy"
        verbose_name_plural = "huurovereenkomsten / tenancies"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.street} {self.house_number}"

    @property
    def monthly_rent(self) -> Decimal:
        return self.net_rent + self.service_costs


class KnownPayer(models.Model):
    """An IBAN known to pay for a tenancy: the tenant's own, or a linked third party."""

    tenancy = models.ForeignKey(Tenancy, on_delete=models.CASCADE, related_name="known_payers",
                                verbose_name="huurovereenkomst / tenancy")
    iban = models.CharField("IBAN", max_length=34, db_index=True)
    name = models.CharField("naam / name", max_length=200, blank=True)
    third_party = models.BooleanField("derde / third party", default=False)
    linked_by = models.CharField("gekoppeld door / linked by", max_length=100, default="import")

    class Meta:
        verbose_name = "bekende betaler / known payer"
        verbose_name_plural = "bekende betalers / known payers"
        constraints = [models.UniqueConstraint(fields=["tenancy", "iban"], name="uniq_payer")]

    def __str__(self) -> str:
        return f"{self.iban} -> {self.tenancy.code}"


class ImportBatch(models.Model):
    """One imported tenancy file: what it did."""

    file_name = models.CharField("bestand / file", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    imported_at = models.DateTimeField("ingelezen / imported at", auto_now_add=True)
    rows = models.PositiveIntegerField("regels / rows", default=0)
    created = models.PositiveIntegerField("nieuw / created", default=0)
    updated = models.PositiveIntegerField("gewijzigd / updated", default=0)
    unchanged = models.PositiveIntegerField("ongewijzigd / unchanged", default=0)

    class Meta:
        verbose_name = "import huurcontracten / tenancy import"
        verbose_name_plural = "imports huurcontracten / tenancy imports"


class TenancyEvent(models.Model):
    """Something the ERP file told about a tenancy that matters for early warning:
    housing benefit stopped, the rent changed (the yearly increase). Recorded by the
    tenancy import when a row changes; read by the signal detection."""

    class Kind(models.TextChoices):
        BENEFIT_STOPPED = "benefit_stopped", "huurtoeslag gestopt / housing benefit stopped"
        BENEFIT_STARTED = "benefit_started", "huurtoeslag gestart / housing benefit started"
        RENT_CHANGED = "rent_changed", "huurprijs gewijzigd / rent changed"

    tenancy = models.ForeignKey(Tenancy, on_delete=models.CASCADE, related_name="events",
                                verbose_name="huurovereenkomst / tenancy")
    kind = models.CharField("soort / kind", max_length=20, choices=Kind.choices)
    on = models.DateField("datum / date")
    details = models.JSONField("details", default=dict, blank=True)
    source = models.CharField("bron / source", max_length=255, blank=True)

    class Meta:
        verbose_name = "gebeurtenis / tenancy event"
        verbose_name_plural = "gebeurtenissen / tenancy events"
        ordering = ["on", "id"]
        constraints = [models.UniqueConstraint(fields=["tenancy", "kind", "on"],
                                               name="uniq_tenancy_event")]
