"""Early signals to the municipality (vroegsignalering, Wgs) and its feedback.

A signal is created by the daily run only when the legal gate is open (all four
preconditions on record, no objection: RULES-NL rules 3-5), in the transaction of
that household's decision (status READY). After the decisions it is delivered
through the adapter for the municipality's platform (municipal/adapters.py): the
baseline writes CSV and JSON files plus a PDF proof per signal, because courts want
proof the signal was sent (rule 6). Only then (status SENT) is the evidence recorded
and the case moved to `signalled`. The municipality's feedback (help accepted, plan
made, ...) is recorded here and changes the flow (rule 7). Everything is written by
municipal/actions.py, nowhere else.
"""

from __future__ import annotations

from django.db import models

from vroeg.collection.models import Case
from vroeg.portfolio.models import Household, Tenancy


class MunicipalSignal(models.Model):
    class Status(models.TextChoices):
        READY = "ready", "klaar om te versturen / ready to send"
        SENT = "sent", "verstuurd / sent"
        # Refused by the platform for good (a transient failure stays READY and is
        # retried on the next run): a person looks at last_error.
        FAILED = "failed", "geweigerd / refused"
        WITHDRAWN = "withdrawn", "ingetrokken / withdrawn"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="municipal_signals",
                             verbose_name="dossier / case")
    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT,
                                related_name="municipal_signals",
                                verbose_name="huurovereenkomst / tenancy")
    household = models.ForeignKey(Household, on_delete=models.PROTECT,
                                  related_name="municipal_signals",
                                  verbose_name="huishouden / household")
    # The municipality where the tenant lives (rule 5): the unit's place.
    municipality = models.CharField("gemeente / municipality", max_length=80, db_index=True)
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.READY, db_index=True)
    created_on = models.DateField("aangemaakt / created on")
    sent_on = models.DateField("verstuurd op / sent on", null=True, blank=True)
    sent_at = models.DateTimeField("verstuurd om / sent at", null=True, blank=True)
    arrears = models.DecimalField("achterstand / arrears", max_digits=12, decimal_places=2)
    arrears_since = models.DateField("achterstand sinds / arrears since", null=True,
                                     blank=True)
    months_in_arrears = models.DecimalField("maanden achterstand / months in arrears",
                                            max_digits=6, decimal_places=2)
    monthly_rent = models.DecimalField("maandhuur / monthly rent", max_digits=10,
                                       decimal_places=2)
    # The signal's content as sent (rule 6: minimum contact details and the arrears;
    # never a BSN, health or household notes), frozen at creation.
    payload = models.JSONField("inhoud / content", default=dict)
    # The four preconditions (rule 3) with the evidence rows on record when the
    # signal was made: [{"code", "label", "evidence": [{"on", "note", "source"}]}].
    preconditions = models.JSONField("voorwaarden / preconditions", default=list)
    # The legal gate's checks as the daily run passed them (readable lines).
    gate_checks = models.JSONField("poortcontroles / gate checks", default=list)
    adapter = models.CharField("platform", max_length=40, blank=True)
    external_reference = models.CharField("kenmerk platform / platform reference",
                                          max_length=100, blank=True)
    proof_file = models.CharField("bewijs (PDF) / proof (PDF)", max_length=300, blank=True)
    last_error = models.CharField("laatste fout / last error", max_length=300, blank=True)
    attempts = models.PositiveIntegerField("verzendpogingen / delivery attempts", default=0)
    withdrawn_on = models.DateField("ingetrokken op / withdrawn on", null=True, blank=True)
    withdrawn_reason = models.CharField("reden intrekking / why withdrawn", max_length=200,
                                        blank=True)

    class Meta:
        verbose_name = "vroegsignaal / municipal signal"
        verbose_name_plural = "vroegsignalen / municipal signals"
        ordering = ["-created_on", "id"]
        constraints = [models.UniqueConstraint(fields=["case"], name="one_signal_per_case")]

    def __str__(self) -> str:
        return f"signaal {self.pk} {self.tenancy.code} ({self.get_status_display()})"


class MunicipalFeedback(models.Model):
    """What the municipality reports back about a signal (rule 7)."""

    class Kind(models.TextChoices):
        CONTACT_MADE = "contact_made", "contact gelegd / contact made"
        NO_CONTACT = "no_contact", "geen contact gekregen / no contact"
        HELP_ACCEPTED = "help_accepted", "hulp geaccepteerd / help accepted"
        HELP_DECLINED = "help_declined", "hulp afgewezen / help declined"
        PLAN_MADE = "plan_made", "plan gemaakt / plan made"
        PROGRAMME_STARTED = "programme_started", "schuldhulptraject gestart / debt help started"
        CLOSED = "closed", "afgesloten door gemeente / closed by the municipality"

    signal = models.ForeignKey(MunicipalSignal, on_delete=models.CASCADE,
                               related_name="feedback", verbose_name="signaal / signal")
    kind = models.CharField("soort / kind", max_length=20, choices=Kind.choices)
    on = models.DateField("datum / date")
    note = models.CharField("toelichting / note", max_length=300, blank=True)
    recorded_by = models.CharField("vastgelegd door / recorded by", max_length=100)
    recorded_at = models.DateTimeField("vastgelegd / recorded at", auto_now_add=True)
    # What vroeg did with it (pause set, task made, ...), for the staff screen.
    effect = models.CharField("gevolg / effect", max_length=300, blank=True)

    class Meta:
        verbose_name = "terugmelding gemeente / municipal feedback"
        verbose_name_plural = "terugmeldingen gemeente / municipal feedback"
        ordering = ["on", "id"]
        # The same report entered twice (by hand or from a platform) is one row.
        constraints = [models.UniqueConstraint(fields=["signal", "kind", "on"],
                                               name="uniq_municipal_feedback")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"
