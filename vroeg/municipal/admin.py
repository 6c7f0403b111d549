"""Staff workspace: municipal signals (vroegsignalen) and the municipality's feedback.

Signals are decided and sent by the daily run: read-only here, with their content,
the preconditions and a link to the PDF proof. Staff record the municipality's
feedback in the table under a sent signal (it goes through
municipal.actions.record_feedback, which sets pauses and tasks), withdraw a signal
that was not sent yet, or queue a refused one again. Every page that shows a
tenant's data (a signal, a feedback row, a proof) is audited.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from vroeg.audit.actions import audit
from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin, euro, staff_actor
from vroeg.domain.legal.wgs import signal_is_stale
from vroeg.home import home
from vroeg.municipal.actions import (
    SignalError,
    check_feedback,
    record_feedback,
    retry_signal,
    withdraw_signal,
)
from vroeg.municipal.models import MunicipalFeedback, MunicipalSignal
from vroeg.municipal.proof import PAYLOAD_LABELS
from vroeg.runs.clock import today


class FeedbackForm(forms.ModelForm):
    class Meta:
        model = MunicipalFeedback
        fields = ("kind", "on", "note")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, on = data.get("kind"), data.get("on")
        signal = getattr(self.instance, "signal", None)
        if kind and isinstance(on, date) and signal is not None:
            try:
                check_feedback(signal, kind=kind, on=on)
            except SignalError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


class FeedbackFormSet(BaseInlineFormSet):
    pass


class MunicipalFeedbackInline(admin.TabularInline):
    """Existing feedback is read-only; a new row is recorded through record_feedback."""

    model = MunicipalFeedback
    form = FeedbackForm
    formset = FeedbackFormSet
    fields = ("kind", "on", "note", "effect", "recorded_by", "recorded_at")
    readonly_fields = ("effect", "recorded_by", "recorded_at")
    can_delete = False
    extra = 0

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return (obj is not None and obj.status == MunicipalSignal.Status.SENT
                and request.user.has_perm("municipal.add_municipalfeedback"))

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if self.has_add_permission(request, obj) else 0


class StaleFilter(admin.SimpleListFilter):
    """Rule 8: a signal older than 6 months is stale."""

    title = "verouderd / stale"
    parameter_name = "stale"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "ouder dan 6 maanden / older than 6 months")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            from vroeg.domain.calendar import add_months

            return queryset.filter(status=MunicipalSignal.Status.SENT,
                                   sent_on__lt=add_months(today(), -6))
        return queryset


@admin.register(MunicipalSignal)
class MunicipalSignalAdmin(AuditViewMixin, admin.ModelAdmin):
    list_display = ("id", "created_on", "sent_on", "municipality", "tenancy", "household_name",
                    "status", "arrears_display", "stale", "attempts")
    list_display_links = ("id", "tenancy")
    list_select_related = ("tenancy", "household")
    list_filter = ("status", "municipality", "adapter", StaleFilter)
    date_hierarchy = "created_on"
    search_fields = ("tenancy__code", "household__name", "household__code", "municipality",
                     "external_reference")
    fields = ("case", "tenancy", "household", "municipality", "status", "created_on",
              "sent_on", "sent_at", "arrears_display", "arrears_since", "months_in_arrears",
              "monthly_rent_display", "payload_table", "preconditions_list", "gate_checks_list",
              "adapter", "external_reference", "proof_link", "attempts", "last_error",
              "withdrawn_on", "withdrawn_reason")
    readonly_fields = fields
    inlines = (MunicipalFeedbackInline,)
    actions = ("withdraw", "retry")

    # Nothing here edits a signal itself; "change" only lets staff add feedback.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: MunicipalSignal, form: Any,
                   change: bool) -> None:
        pass  # all fields are read-only: the signal is written by municipal.actions only

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        created = []
        for f in formset.forms:
            if f.instance.pk is not None or not f.has_changed() or not f.is_valid():
                continue
            data = f.cleaned_data
            try:
                created.append(record_feedback(form.instance, kind=data["kind"], on=data["on"],
                                               note=data.get("note") or "",
                                               actor=staff_actor(request)))
            except SignalError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        # What Django's change message reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = created, [], []

    @admin.display(description="huishouden / household", ordering="household__name")
    def household_name(self, obj: MunicipalSignal) -> str:
        return obj.household.name

    @admin.display(description="achterstand / arrears", ordering="arrears")
    def arrears_display(self, obj: MunicipalSignal) -> str:
        return euro(obj.arrears)

    @admin.display(description="maandhuur / monthly rent")
    def monthly_rent_display(self, obj: MunicipalSignal) -> str:
        return euro(obj.monthly_rent)

    @admin.display(description="verouderd / stale", boolean=True)
    def stale(self, obj: MunicipalSignal) -> bool | None:
        if obj.sent_on is None:
            return None
        return signal_is_stale(obj.sent_on, today())

    @admin.display(description="inhoud (zoals verstuurd) / content (as sent)")
    def payload_table(self, obj: MunicipalSignal) -> str:
        payload = obj.payload or {}
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>",
                                ((label, payload.get(key, "") or "-")
                                 for key, label in PAYLOAD_LABELS.items()))
        return format_html("<table>{}</table>", rows)

    @admin.display(description="voorwaarden (Wgs) / preconditions")
    def preconditions_list(self, obj: MunicipalSignal) -> str:
        items = []
        for item in obj.preconditions or []:
            evidence = "; ".join(f"{e.get('on')}: {e.get('note')}"
                                 + (f" [{e.get('source')}]" if e.get("source") else "")
                                 for e in item.get("evidence", [])) or "-"
            items.append((item.get("label", item.get("code", "")), evidence))
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li><strong>{}</strong>: {}</li>", items))

    @admin.display(description="poortcontroles / gate checks")
    def gate_checks_list(self, obj: MunicipalSignal) -> str:
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{}</li>", ((line,) for line in obj.gate_checks or [])))

    @admin.display(description="bewijs (PDF) / proof (PDF)")
    def proof_link(self, obj: MunicipalSignal) -> str:
        if not obj.proof_file:
            return "-"
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_proof",
                      args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.proof_file)

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_proof"
        return [path("<path:object_id>/proof/", self.admin_site.admin_view(self.proof_view),
                     name=name),
                *super().get_urls()]

    def proof_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The PDF proof, from the outbox; a view of the tenant's data, so audited."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj) or not obj.proof_file:
            raise Http404("geen bewijs / no proof")
        root = home().resolve()
        file = (root / obj.proof_file).resolve()
        if not file.is_relative_to(root) or not file.is_file():
            raise Http404("bewijsbestand ontbreekt / proof file missing")
        audit(staff_actor(request), "view", obj, summary="bewijs vroegsignaal bekeken / proof "
                                                         "viewed", path=request.path)
        return FileResponse(Path(file).open("rb"), content_type="application/pdf",
                            filename=file.name)

    @admin.action(description="intrekken (nog niet verstuurd) / withdraw (not sent yet)",
                  permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[MunicipalSignal]) -> None:
        done, refused = 0, 0
        for signal in queryset:
            try:
                withdraw_signal(signal, actor=staff_actor(request),
                                reason="ingetrokken door medewerker / withdrawn by staff")
                done += 1
            except SignalError:
                refused += 1
        text = f"{done} signaal/signalen ingetrokken / withdrawn"
        if refused:
            text += f"; {refused} al verstuurd of ingetrokken / already sent or withdrawn"
        self.message_user(request, text, messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="opnieuw aanbieden (geweigerd) / queue again (refused)",
                  permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[MunicipalSignal]) -> None:
        done = 0
        for signal in queryset.filter(status=MunicipalSignal.Status.FAILED):
            retry_signal(signal, actor=staff_actor(request))
            done += 1
        self.message_user(request, f"{done} signaal/signalen opnieuw aangeboden / queued again",
                          messages.SUCCESS if done else messages.WARNING)


@admin.register(MunicipalFeedback)
class MunicipalFeedbackAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("on", "kind", "signal", "municipality", "effect", "recorded_by")
    list_select_related = ("signal__tenancy",)
    list_filter = ("kind", "signal__municipality")
    date_hierarchy = "on"
    search_fields = ("signal__tenancy__code", "signal__household__name", "note")

    @admin.display(description="gemeente / municipality", ordering="signal__municipality")
    def municipality(self, obj: MunicipalFeedback) -> str:
        return obj.signal.municipality
