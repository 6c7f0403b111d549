"""Cases, the steps taken in them, early-warning signals, staff tasks and pauses."""

from __future__ import annotations

from django.db import models

from vroeg.domain import case_state as cs
from vroeg.domain.flow import snapshot as fs
from vroeg.portfolio.models import Household, Tenancy

CASE_STATES = [(k, v) for k, v in cs.STATES.items()]
CASE_EVENTS = [(k, v) for k, v in cs.EVENTS.items()]


class Case(models.Model):
    """Incassodossier: one arrears episode of a tenancy, from opening to settled."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        CLOSED = "closed", "gesloten / closed"

    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="cases",
                                verbose_name="huurovereenkomst / tenancy")
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    # The case's state in the state machine (vroeg/domain/case_state.py); only
    # collection.actions.move_case changes it, with a CaseTransition row.
    state = models.CharField("fase / state", max_length=30, choices=CASE_STATES,
                             default=cs.OPEN, db_index=True)
    stage = models.CharField("laatste stap / last step", max_length=40, default="opened")
    segment = models.CharField("segment", max_length=40, blank=True)
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
    # A ladder step's id, or "<reaction id>:<event key>" for a reaction.
    step = models.CharField("stap / step", max_length=80)
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


TASK_OUTCOMES = [
    ("reached", "gesproken / reached the tenant"),
    ("no_answer", "geen gehoor / no answer"),
    ("voicemail", "voicemail ingesproken / left a voicemail"),
    ("wrong_number", "onjuist nummer / wrong number"),
    ("not_home", "niet thuis (huisbezoek) / not at home (visit)"),
    ("promise_to_pay", "betaalbelofte / promise to pay"),
    ("arrangement", "betalingsregeling afgesproken / arrangement agreed"),
    ("debt_help", "doorverwezen naar schuldhulp / referred to debt help"),
    ("paid", "inmiddels betaald / paid meanwhile"),
    ("other", "anders / other"),
]
#: Outcomes of a call or visit that count as an attempt at personal contact.
# A documented attempt at personal contact (Wgs precondition (a)): not "paid", and not
# a wrong number, which never reached the tenant's phone.
CONTACT_OUTCOMES = frozenset(k for k, _ in TASK_OUTCOMES if k not in ("paid", "wrong_number"))


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
    # Filled in when a person closes the task (collection.actions.complete_task): a
    # call or visit with any outcome is a documented contact attempt (Wgs, rule 3a).
    outcome = models.CharField("uitkomst / outcome", max_length=30, blank=True,
                               choices=TASK_OUTCOMES)
    done_on = models.DateField("afgehandeld op / done on", null=True, blank=True)
    done_by = models.CharField("afgehandeld door / done by", max_length=100, blank=True)
    note = models.CharField("notitie / note", max_length=300, blank=True)

    class Meta:
        verbose_name = "taak / task"
        verbose_name_plural = "taken / tasks"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


PAUSE_KINDS = [
    (fs.PAUSE_MANUAL, "handmatig / manual"),
    (fs.PAUSE_DEBT_HELP, "schuldhulptraject / debt help"),
    (fs.PAUSE_MORATORIUM, "moratorium (rechter) / court moratorium"),
    (fs.PAUSE_MUNICIPAL_HELP, "hulp gemeente geaccepteerd / municipal help accepted"),
    (fs.PAUSE_DISPUTE, "geschil / dispute"),
]


class Pause(models.Model):
    """No automated steps for a tenancy (or its whole household) within the period.

    A pause ends by itself on `ends_on`. Debt help and a moratorium have no end date
    of their own (RULES-NL rule 9): they end only when a person records a breach or
    the end of the programme (`ended_reason`).
    """

    tenancy = models.ForeignKey(Tenancy, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="pauses", verbose_name="huurovereenkomst / tenancy")
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="pauses", verbose_name="huishouden / household")
    reason = models.CharField("reden / reason", max_length=200)
    starts_on = models.DateField("vanaf / from")
    ends_on = models.DateField("tot en met / until", null=True, blank=True)
    set_by = models.CharField("ingesteld door / set by", max_length=100)
    kind = models.CharField("soort / kind", max_length=20, choices=PAUSE_KINDS,
                            default=fs.PAUSE_MANUAL)
    ended_reason = models.CharField("reden einde / why it ended", max_length=200, blank=True)

    class Meta:
        verbose_name = "pauze / pause"
        verbose_name_plural = "pauzes / pauses"
        constraints = [models.CheckConstraint(
            condition=models.Q(tenancy__isnull=False) | models.Q(household__isnull=False),
            name="pause_has_subject")]

    def __str__(self) -> str:
        return f"{self.reason} {self.starts_on}..{self.ends_on or ''}"


class CaseTransition(models.Model):
    """One move of a case in its state machine: who or what made it, and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions",
                             verbose_name="dossier / case")
    before = models.CharField("van / from", max_length=30, choices=CASE_STATES)
    after = models.CharField("naar / to", max_length=30, choices=CASE_STATES)
    event = models.CharField("gebeurtenis / event", max_length=40, choices=CASE_EVENTS)
    on = models.DateField("datum / date")
    actor = models.CharField("door / by", max_length=100)
    reason = models.CharField("reden / reason", max_length=300, blank=True)
    at = models.DateTimeField("tijdstip / at", auto_now_add=True)

    class Meta:
        verbose_name = "faseovergang / case transition"
        verbose_name_plural = "faseovergangen / case transitions"
        ordering = ["on", "id"]


class Evidence(models.Model):
    """Bewijs: a fact on record for a case, with its date and where the proof is.

    The Wgs preconditions (RULES-NL rule 3), the objection (rule 4), the 14-day letter
    (rule 10) and the signal itself: courts ask for this, so it is kept, never edited
    (a correction is a new row), and pruned only by the retention rule (rule 21).
    """

    class Kind(models.TextChoices):
        CONTACT_ATTEMPT = "contact_attempt", "poging persoonlijk contact / contact attempt"
        DEBT_HELP_REFERRAL = "debt_help_referral", "gewezen op schuldhulp / debt help referral"
        WRITTEN_REMINDER = "written_reminder", "schriftelijke herinnering / written reminder"
        OBJECTION_OFFER = "objection_offer", "aanbod signaal + bezwaar / signal offer"
        OBJECTION = "objection", "bezwaar tegen signaal / objection to the signal"
        FOURTEEN_DAY_LETTER = "fourteen_day_letter", "veertiendagenbrief / 14-day letter"
        SIGNAL_SENT = "signal_sent", "vroegsignaal verstuurd / municipal signal sent"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence",
                             verbose_name="dossier / case")
    kind = models.CharField("soort / kind", max_length=30, choices=Kind.choices)
    on = models.DateField("datum / date")
    note = models.CharField("bewijs / evidence", max_length=300)
    # Where the proof is: "message:<id>", "task:<id>", "signal:<id>", or staff's words.
    source = models.CharField("bron / source", max_length=60, blank=True)
    actor = models.CharField("door / by", max_length=100)
    details = models.JSONField("details", default=dict, blank=True)
    created_at = models.DateTimeField("vastgelegd / recorded at", auto_now_add=True)

    class Meta:
        verbose_name = "bewijs / evidence"
        verbose_name_plural = "bewijs / evidence"
        ordering = ["on", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind", "source"],
                                               name="uniq_evidence_source")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"


class Arrangement(models.Model):
    """Betalingsregeling: the arrears of a case in instalments, on top of current rent."""

    class Status(models.TextChoices):
        ACTIVE = "active", "lopend / active"
        COMPLETED = "completed", "afgerond / completed"
        BROKEN = "broken", "niet nagekomen / broken"
        CANCELLED = "cancelled", "vervallen / cancelled"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="arrangements",
                             verbose_name="dossier / case")
    tenancy = models.ForeignKey(Tenancy, on_delete=models.PROTECT, related_name="arrangements",
                                verbose_name="huurovereenkomst / tenancy")
    status = models.CharField("status", max_length=10, choices=Status.choices,
                              default=Status.ACTIVE, db_index=True)
    agreed_on = models.DateField("afgesproken op / agreed on")
    total = models.DecimalField("bedrag / total", max_digits=12, decimal_places=2)
    terms = models.PositiveSmallIntegerField("termijnen / instalments")
    missed = models.PositiveSmallIntegerField("gemist / missed", default=0)
    created_by = models.CharField("door / by", max_length=100)
    note = models.CharField("toelichting / note", max_length=300, blank=True)
    closed_on = models.DateField("afgesloten / closed on", null=True, blank=True)

    class Meta:
        verbose_name = "betalingsregeling / arrangement"
        verbose_name_plural = "betalingsregelingen / arrangements"
        ordering = ["-agreed_on", "id"]

    def __str__(self) -> str:
        return f"regeling {self.pk} {self.tenancy.code} ({self.get_status_display()})"


class Instalment(models.Model):
    arrangement = models.ForeignKey(Arrangement, on_delete=models.CASCADE,
                                    related_name="instalments",
                                    verbose_name="regeling / arrangement")
    number = models.PositiveSmallIntegerField("nummer / number")
    due_on = models.DateField("vervaldag / due on")
    amount = models.DecimalField("bedrag / amount", max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = "termijn / instalment"
        verbose_name_plural = "termijnen / instalments"
        ordering = ["arrangement", "number"]
        constraints = [models.UniqueConstraint(fields=["arrangement", "number"],
                                               name="uniq_instalment")]
