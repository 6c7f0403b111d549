"""Cases, the steps taken in them, early-warning signals, staff tasks and pauses."""

from __future__ import annotations

from django.db import models

from vroeg.portfolio.models import Household, Tenancy


class Case(models.Model):
    """Incassodossier: one arrears episode of a tenancy, from opening to settled."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        CLOSED = "closed", "gesloten / closed"

    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="cases",
                                verbose_name="huurovereenkomst / tenancy")
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    stage = models.CharField("fase / stage", max_length=40, default="opened")
    flow = models.CharField("beleid / flow", max_length=80)
    opened_on = models.DateField("geopend / opened on")
    closed_on = models.DateField("gesloten / closed on", null=True, blank=True)
    close_reason = models.CharField("reden sluiting / close reason", max_length=120, blank=True)

    class Meta:
        verbose_name = "dossier / case"
        verbose_name_plural = "dossiers / cases"
        ordering = ["-opened_on", "id"]
        constraints = [
            # At most one open case per tenancy.
            models.UniqueConstraint(fields=["tenancy"], condition=models.Q(status="open"),
                                    name="one_open_case_per_tenancy"),
        ]

    def __str__(self) -> str:
        return f"dossier {self.pk} {self.tenancy.code} ({self.stage})"


class CaseStep(models.Model):
    """A flow step taken in a case; each step is taken at most once per case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps",
                             verbose_name="dossier / case")
    step = models.CharField("stap / step", max_length=40)
    taken_on = models.DateField("gezet op / taken on")
    action = models.CharField("actie / action", max_length=20)
    reason = models.CharField("reden / reason", max_length=300, blank=True)

    class Meta:
        verbose_name = "stap / case step"
        verbose_name_plural = "stappen / case steps"
        constraints = [models.UniqueConstraint(fields=["case", "step"], name="uniq_case_step")]


class Signal(models.Model):
    """An early-warning fact about a tenancy, with a reason a person can read."""

    tenancy = models.ForeignKey(Tenancy, on_delete=models.CASCADE, related_name="signals",
                                verbose_name="huurovereenkomst / tenancy")
    kind = models.CharField("soort / kind", max_length=40)
    key = models.CharField("sleutel / key", max_length=40)  # what makes it unique, e.g. the month
    detected_on = models.DateField("gezien op / detected on")
    reason = models.CharField("reden / reason", max_length=300)

    class Meta:
        verbose_name = "signaal / signal"
        verbose_name_plural = "signalen / signals"
        ordering = ["-detected_on"]
        constraints = [models.UniqueConstraint(fields=["tenancy", "kind", "key"],
                                               name="uniq_signal")]

    def __str__(self) -> str:
        return f"{self.kind} {self.tenancy.code}"


class Task(models.Model):
    """Work for a person: a call, a visit, a payment to match."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        DONE = "done", "afgehandeld / done"
        CANCELLED = "cancelled", "vervallen / cancelled"

    kind = models.CharField("soort / kind", max_length=30)
    title = models.CharField("titel / title", max_length=200)
    team = models.CharField("team", max_length=40, default="incasso")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="tasks",
                                  verbose_name="huishouden / household")
    tenancy = models.ForeignKey(Tenancy, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="tasks", verbose_name="huurovereenkomst / tenancy")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="tasks", verbose_name="dossier / case")
    created_on = models.DateField("aangemaakt / created on")
    due_on = models.DateField("uiterlijk / due on")
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    reason = models.CharField("reden / reason", max_length=300, blank=True)
    idempotency_key = models.CharField("idempotentiesleutel / idempotency key", max_length=120,
                                       unique=True)

    class Meta:
        verbose_name = "taak / task"
        verbose_name_plural = "taken / tasks"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


class Pause(models.Model):
    """No automated steps for a tenancy (or its whole household) within the period."""

    tenancy = models.ForeignKey(Tenancy, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="pauses", verbose_name="huurovereenkomst / tenancy")
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="pauses", verbose_name="huishouden / household")
    reason = models.CharField("reden / reason", max_length=200)
    starts_on = models.DateField("vanaf / from")
    ends_on = models.DateField("tot en met / until", null=True, blank=True)
    set_by = models.CharField("ingesteld door / set by", max_length=100)

    class Meta:
        verbose_name = "pauze / pause"
        verbose_name_plural = "pauzes / pauses"
        constraints = [models.CheckConstraint(
            condition=models.Q(tenancy__isnull=False) | models.Q(household__isnull=False),
            name="pause_has_subject")]

    def __str__(self) -> str:
        return f"{self.reason} {self.starts_on}..{self.ends_on or ''}"
