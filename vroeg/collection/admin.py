"""Staff workspace: cases (with their steps), signals, tasks and pauses.

Cases, steps and signals are written by the daily run: read-only here. Staff mark
tasks done (an action, audited) and set pauses (audited; set_by is filled in).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.http import HttpRequest
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.audit.admin_mixins import (
    AuditViewMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    euro,
    staff_actor,
)
from vroeg.collection.models import Case, CaseStep, Pause, Signal, Task
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.models import Message
from vroeg.portfolio.admin import MONEY


class CaseStepInline(ReadOnlyInline):
    model = CaseStep
    fields = ("taken_on", "step", "action", "reason")
    ordering = ("taken_on", "id")
    show_change_link = False


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


@admin.register(Case)
class CaseAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "tenancy", "household_name", "stage", "status", "balance_display",
                    "flow", "opened_on", "closed_on")
    list_display_links = ("id", "tenancy")
    list_select_related = ("tenancy__household",)
    list_filter = ("status", "stage", "flow")
    date_hierarchy = "opened_on"
    search_fields = ("tenancy__code", "tenancy__household__name", "tenancy__household__code",
                     "tenancy__postcode")
    readonly_fields = ("balance_display",)
    inlines = (CaseStepInline, CaseTaskInline, CaseMessageInline)

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


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("due_on", "kind", "title", "status", "team", "household", "tenancy", "case")
    list_select_related = ("household", "tenancy", "case__tenancy")
    list_filter = ("status", OverdueFilter, "team", "kind")
    date_hierarchy = "due_on"
    search_fields = ("title", "reason", "household__name", "household__code", "tenancy__code")
    actions = ("mark_done",)

    def has_complete_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("collection.change_task")

    @admin.action(description="markeer als afgehandeld / mark done", permissions=["complete"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        actor = staff_actor(request)
        ids = list(queryset.values_list("pk", flat=True))
        done = 0
        with transaction.atomic():
            for task in Task.objects.select_for_update().filter(pk__in=ids,
                                                                status=Task.Status.OPEN):
                task.status = Task.Status.DONE
                task.save(update_fields=["status"])
                audit(actor, "task_done", task, summary=f"taak {task.pk} afgehandeld / done",
                      kind=task.kind)
                done += 1
        skipped = len(ids) - done
        text = f"{done} ta(a)k(en) afgehandeld / task(s) marked done"
        if skipped > 0:
            text += f"; {skipped} was/waren al gesloten / already closed"
        self.message_user(request, text, messages.SUCCESS if done else messages.WARNING)


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    """Staff set pauses (no automated steps). Ended by setting 'until', never deleted."""

    list_display = ("tenancy", "household", "reason", "starts_on", "ends_on", "set_by",
                    "active")
    list_select_related = ("tenancy", "household")
    list_filter = ("set_by",)
    date_hierarchy = "starts_on"
    search_fields = ("tenancy__code", "household__name", "household__code", "reason")
    autocomplete_fields = ("tenancy", "household")
    readonly_fields = ("set_by",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="actief / active", boolean=True)
    def active(self, obj: Pause) -> bool:
        today = timezone.localdate()
        return obj.starts_on <= today and (obj.ends_on is None or obj.ends_on >= today)

    def save_model(self, request: HttpRequest, obj: Pause, form: Any, change: bool) -> None:
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
