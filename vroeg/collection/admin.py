"""Staff workspace: cases (with their state, steps, evidence), signals, tasks, pauses
and arrangements.

Cases, steps and signals are written by the daily run: read-only here. Staff close
tasks with their outcome, record an objection or a contact attempt, agree an
arrangement, set and end pauses: each through collection/actions.py, audited.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.http import HttpRequest
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.audit.admin_mixins import (
    AuditViewMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    euro,
    form_action,
    staff_actor,
)
from vroeg.collection import actions
from vroeg.collection.models import (
    TASK_OUTCOMES,
    Arrangement,
    Case,
    CaseStep,
    CaseTransition,
    Evidence,
    Instalment,
    Pause,
    Signal,
    Task,
)
from vroeg.domain import arrangements as arr
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.models import Message
from vroeg.portfolio.admin import MONEY


class CaseStepInline(ReadOnlyInline):
    model = CaseStep
    fields = ("taken_on", "step", "action", "reason")
    ordering = ("taken_on", "id")
    show_change_link = False


class CaseTransitionInline(ReadOnlyInline):
    model = CaseTransition
    fields = ("on", "before", "after", "event", "actor", "reason")
    ordering = ("on", "id")
    show_change_link = False


class CaseEvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = ("on", "kind", "note", "source", "actor")
    ordering = ("on", "id")
    show_change_link = False


class CaseArrangementInline(ReadOnlyInline):
    model = Arrangement
    fields = ("agreed_on", "status", "total", "terms", "missed", "created_by")
    ordering = ("agreed_on", "id")


class CaseTaskInline(ReadOnlyInline):
    model = Task
    fk_name = "case"
    fields = ("due_on", "kind", "title", "team", "status", "reason")
    ordering = ("due_on", "id")


class CaseMessageInline(ReadOnlyInline):
    model = Message
    fk_name = "case"
    fields = ("decided_on", "step", "channel", "template", "status", "sent_at")
    ordering = ("decided_on", "id")


class OverdueFilter(admin.SimpleListFilter):
    title = "termijn / due"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("overdue", "te laat (open) / overdue"), ("today", "vandaag / today"),
                ("later", "later")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(status=Task.Status.OPEN, due_on__lt=today)
        if self.value() == "today":
            return queryset.filter(due_on=today)
        if self.value() == "later":
            return queryset.filter(due_on__gt=today)
        return queryset


class DatedNoteForm(forms.Form):
    on = forms.DateField(label="datum / date", initial=timezone.localdate,
                         widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="toelichting / note", max_length=300,
                           widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class ArrangementForm(forms.Form):
    terms = forms.IntegerField(label="termijnen / instalments", min_value=1,
                               max_value=arr.ArrangementPolicy().max_terms, initial=6)
    start_on = forms.DateField(label="eerste termijn / first instalment",
                               widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="toelichting / note", max_length=300, required=False)


@admin.register(Case)
class CaseAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "tenancy", "household_name", "state", "stage", "segment", "status",
                    "balance_display", "flow", "opened_on", "closed_on")
    list_display_links = ("id", "tenancy")
    list_select_related = ("tenancy__household",)
    list_filter = ("status", "state", "segment", "stage", "flow")
    date_hierarchy = "opened_on"
    search_fields = ("tenancy__code", "tenancy__household__name", "tenancy__household__code",
                     "tenancy__postcode")
    readonly_fields = ("balance_display",)
    inlines = (CaseTransitionInline, CaseStepInline, CaseEvidenceInline, CaseArrangementInline,
               CaseTaskInline, CaseMessageInline)
    actions = ("record_objection", "record_contact_attempt", "agree_arrangement")

    def has_record_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("collection.change_case")

    @admin.action(description="bezwaar tegen vroegsignaal vastleggen / record an objection to "
                              "the municipal signal", permissions=["record"])
    def record_objection(self, request: HttpRequest, queryset: QuerySet[Case]) -> Any:
        actor = staff_actor(request)

        def apply(case: Case, data: dict[str, Any]) -> str:
            actions.record_objection(case, on=data["on"], actor=actor, note=data["note"])
            return "bezwaar vastgelegd: geen vroegsignaal / objection recorded: no signal"

        return form_action(self, request, queryset.filter(status=Case.Status.OPEN),
                           form_class=DatedNoteForm, action_name="record_objection",
                           title="Bezwaar vastleggen / record an objection",
                           submit_label="Vastleggen / record", apply=apply,
                           intro="De huurder wil niet dat wij zijn gegevens aan de gemeente "
                                 "doorgeven (Wgs). Er gaat dan geen signaal. / The tenant does "
                                 "not want the details passed to the municipality: no signal.")

    @admin.action(description="contactpoging vastleggen / record a contact attempt",
                  permissions=["record"])
    def record_contact_attempt(self, request: HttpRequest, queryset: QuerySet[Case]) -> Any:
        actor = staff_actor(request)

        def apply(case: Case, data: dict[str, Any]) -> str:
            actions.record_evidence(case, Evidence.Kind.CONTACT_ATTEMPT, on=data["on"],
                                    actor=actor, note=data["note"],
                                    source=f"staff:{data['on'].isoformat()}")
            return "contactpoging vastgelegd / contact attempt recorded"

        return form_action(self, request, queryset.filter(status=Case.Status.OPEN),
                           form_class=DatedNoteForm, action_name="record_contact_attempt",
                           title="Contactpoging vastleggen / record a contact attempt",
                           submit_label="Vastleggen / record", apply=apply,
                           intro="Gebeld, langs geweest of gechat om de achterstand op te "
                                 "lossen: wanneer en wat (voorwaarde a, Wgs). / Called, visited "
                                 "or chatted to solve the arrears: when and what.")

    @admin.action(description="betalingsregeling afspreken / agree an arrangement",
                  permissions=["record"])
    def agree_arrangement(self, request: HttpRequest, queryset: QuerySet[Case]) -> Any:
        from vroeg.ledger.queries import balance_of

        actor = staff_actor(request)
        today = timezone.localdate()

        def apply(case: Case, data: dict[str, Any]) -> str:
            owed = balance_of(case.tenancy_id, today)
            proposal = arr.propose(owed, case.tenancy.monthly_rent, data["start_on"],
                                   data["terms"], agreed_on=today)
            if isinstance(proposal, arr.Refusal):
                raise ValueError("; ".join(proposal.reasons))
            schedule = [(i.due_on, i.amount) for i in proposal.schedule.instalments]
            a = actions.agree_arrangement(case, schedule=schedule, actor=actor, on=today,
                                          note=data["note"])
            return f"regeling {a.pk}: {a.terms} termijnen / instalments, EUR {a.total}"

        return form_action(self, request, queryset.filter(status=Case.Status.OPEN),
                           form_class=ArrangementForm, action_name="agree_arrangement",
                           title="Betalingsregeling afspreken / agree an arrangement",
                           submit_label="Afspreken / agree", apply=apply,
                           intro="De achterstand in gelijke maandtermijnen, naast de huur; "
                                 "buiten het beleid (regel 13) weigert vroeg met de reden. / "
                                 "The arrears in equal monthly instalments on top of rent.")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        ledger_total = (
            LedgerEntry.objects.filter(tenancy=OuterRef("tenancy"))
            .order_by().values("tenancy").annotate(total=Round(Sum("amount"), 2)).values("total")
        )
        return super().get_queryset(request).annotate(
            balance=Coalesce(Subquery(ledger_total, output_field=MONEY),
                             Value(Decimal("0.00")), output_field=MONEY))

    @admin.display(description="huishouden / household", ordering="tenancy__household__name")
    def household_name(self, obj: Case) -> str:
        return obj.tenancy.household.name

    @admin.display(description="saldo huurovereenkomst / tenancy balance", ordering="balance")
    def balance_display(self, obj: Case) -> str:
        return euro(getattr(obj, "balance", None))


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("detected_on", "tenancy", "kind", "reason")
    list_select_related = ("tenancy",)
    list_filter = ("kind",)
    date_hierarchy = "detected_on"
    search_fields = ("tenancy__code", "tenancy__household__name", "kind", "reason")


class TaskOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label="uitkomst / outcome", choices=TASK_OUTCOMES)
    note = forms.CharField(label="notitie / note", max_length=300, required=False,
                           widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_select_related = ("household", "tenancy", "case__tenancy")
    list_filter = ("status", OverdueFilter, "team", "kind")
    date_hierarchy = "due_on"
    search_fields = ("title", "reason", "household__name", "household__code", "tenancy__code")
    list_display = ("due_on", "kind", "title", "status", "outcome", "team", "household",
                    "tenancy", "case")
    actions = ("complete",)

    def has_complete_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("collection.change_task")

    @admin.action(description="afhandelen met uitkomst / close with the outcome",
                  permissions=["complete"])
    def complete(self, request: HttpRequest, queryset: QuerySet[Task]) -> Any:
        actor = staff_actor(request)
        today = timezone.localdate()

        def apply(task: Task, data: dict[str, Any]) -> str:
            actions.complete_task(task, outcome=data["outcome"], actor=actor, on=today,
                                  note=data["note"])
            return "afgehandeld / done"

        return form_action(self, request, queryset.filter(status=Task.Status.OPEN),
                           form_class=TaskOutcomeForm, action_name="complete",
                           title="Taak afhandelen / close a task",
                           submit_label="Afhandelen / close", apply=apply,
                           intro="Een gesprek of huisbezoek, ook zonder gehoor, telt als "
                                 "poging tot persoonlijk contact (Wgs). / A call or visit, "
                                 "answered or not, counts as a contact attempt.")


class EndPauseForm(forms.Form):
    note = forms.CharField(label="reden / reason", max_length=200)


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    """Staff set pauses (no automated steps). Ended by setting 'until', never deleted."""

    list_display = ("tenancy", "household", "kind", "reason", "starts_on", "ends_on",
                    "set_by", "active")
    list_select_related = ("tenancy", "household")
    list_filter = ("kind", "set_by")
    date_hierarchy = "starts_on"
    search_fields = ("tenancy__code", "household__name", "household__code", "reason")
    autocomplete_fields = ("tenancy", "household")
    readonly_fields = ("set_by", "ended_reason")
    actions = ("end_now",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_end_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("collection.change_pause")

    @admin.action(description="nu beëindigen (met reden) / end now (with a reason)",
                  permissions=["end"])
    def end_now(self, request: HttpRequest, queryset: QuerySet[Pause]) -> Any:
        actor = staff_actor(request)
        today = timezone.localdate()

        def apply(pause: Pause, data: dict[str, Any]) -> str:
            actions.end_pause(pause, on=today, actor=actor, reason=data["note"])
            return "beëindigd / ended"

        active = queryset.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        return form_action(self, request, active, form_class=EndPauseForm,
                           action_name="end_now", title="Pauze beëindigen / end a pause",
                           submit_label="Beëindigen / end", apply=apply,
                           intro="Schuldhulp en een moratorium eindigen alleen bij een "
                                 "vastgelegde reden, zoals een tekortkoming (regel 9). / Debt "
                                 "help and a moratorium end only with a recorded reason.")

    def save_model(self, request: HttpRequest, obj: Pause, form: Any, change: bool) -> None:
        if not change and obj.kind not in ("debt_help", "moratorium") and obj.ends_on is None:
            obj.ends_on = obj.starts_on + timedelta(days=30)
            self.message_user(request, "Geen einddatum: 30 dagen gezet; een pauze vergeet "
                                       "zichzelf niet / no end date: set to 30 days",
                              messages.WARNING)
        self._save_pause(request, obj, form, change)

    @admin.display(description="actief / active", boolean=True)
    def active(self, obj: Pause) -> bool:
        today = timezone.localdate()
        return obj.starts_on <= today and (obj.ends_on is None or obj.ends_on >= today)

    def _save_pause(self, request: HttpRequest, obj: Pause, form: Any, change: bool) -> None:
        actor = staff_actor(request)
        what = "gewijzigd / changed" if change else "ingesteld / set"
        with transaction.atomic():
            if not change:
                obj.set_by = actor
            super().save_model(request, obj, form, change)
            audit(actor, "pause_change" if change else "pause_set", obj,
                  summary=f"pauze {obj.pk} {what}",
                  changed=list(form.changed_data) if change else [],
                  starts_on=obj.starts_on.isoformat() if obj.starts_on else None,
                  ends_on=obj.ends_on.isoformat() if obj.ends_on else None,
                  tenancy_id=obj.tenancy_id, household_id=obj.household_id)


class InstalmentInline(ReadOnlyInline):
    model = Instalment
    fields = ("number", "due_on", "amount")
    ordering = ("number",)
    show_change_link = False


@admin.register(Arrangement)
class ArrangementAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "tenancy", "status", "agreed_on", "total", "terms", "missed",
                    "created_by")
    list_select_related = ("tenancy",)
    list_filter = ("status",)
    date_hierarchy = "agreed_on"
    search_fields = ("tenancy__code", "tenancy__household__name")
    inlines = (InstalmentInline,)


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("on", "kind", "case", "note", "source", "actor")
    list_select_related = ("case__tenancy",)
    list_filter = ("kind",)
    date_hierarchy = "on"
    search_fields = ("case__tenancy__code", "note")
