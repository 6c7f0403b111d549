"""Staff workspace: bailiff hand-over proposals (voorstellen overdracht deurwaarder).

Proposals are written by the daily run and decided by a team lead: read-only here,
with the actions "goedkeuren / approve" and "afwijzen / reject" (a small form for the
note; a rejection needs one), which go through vroeg.handover.actions. The dossier
files are served from outbox/handover/<id>/; every view of a proposal or of a dossier
file is audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

import vroeg.handover.dossier as dossier
from vroeg.audit.actions import audit
from vroeg.audit.admin_mixins import (
    AuditViewMixin,
    ReadOnlyAdminMixin,
    euro,
    form_action,
    staff_actor,
)
from vroeg.collection.actions import ActionError
from vroeg.handover.actions import approve, build_dossier, reject
from vroeg.handover.models import HandoverProposal

CONTENT_TYPES = {dossier.PDF: "application/pdf", dossier.CSV: "text/csv; charset=utf-8",
                 dossier.JSON: "application/json"}


class DecisionForm(forms.Form):
    note = forms.CharField(label="toelichting / note", max_length=300, required=False,
                           widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class RejectForm(DecisionForm):
    note = forms.CharField(label="toelichting (verplicht) / note (required)", max_length=300,
                           widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


APPROVE_INTRO = (
    "Bij goedkeuren gaat het dossier naar de deurwaarder. Het dossier (PDF, grootboek en "
    "VERA-bestand) wordt gemaakt. Incassokosten (WIK) worden alleen berekend als de termijn "
    "van de veertiendagenbrief voorbij is. Ze worden niet in het huurdersgrootboek geboekt: "
    "de deurwaarder brengt ze in rekening.\nApproving hands the case to the bailiff and "
    "writes the dossier. Collection costs (WIK) are computed only after the 14-day letter's "
    "deadline; they are not booked to the tenant ledger: the bailiff charges them.")
REJECT_INTRO = (
    "Bij afwijzen gaat het dossier niet naar de deurwaarder. Het dossier gaat terug naar de "
    "fase veertiendagenbrief. Schrijf op waarom: dat is verplicht.\nA rejection keeps the "
    "case from the bailiff; it returns to the 14-day letter stage. Write down why: a note is "
    "required.")


@admin.register(HandoverProposal)
class HandoverProposalAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "proposed_on", "tenancy", "household_name", "arrears_display",
                    "months_in_arrears", "status", "decided_on", "decided_by", "dossier_links")
    list_display_links = ("id", "tenancy")
    list_select_related = ("tenancy__household",)
    list_filter = ("status", "decided_by")
    date_hierarchy = "proposed_on"
    search_fields = ("tenancy__code", "tenancy__household__name", "tenancy__household__code",
                     "tenancy__postcode", "=case__id")
    fields = ("case", "tenancy", "status", "proposed_on", "arrears", "months_in_arrears",
              "gate_checks", "decided_on", "decided_by", "decision_note", "principal",
              "collection_costs", "collection_costs_vat", "costs_explanation",
              "dossier_links")
    readonly_fields = ("gate_checks", "dossier_links")
    actions = ("approve_selected", "reject_selected", "build_selected")

    @admin.display(description="huishouden / household", ordering="tenancy__household__name")
    def household_name(self, obj: HandoverProposal) -> str:
        return obj.tenancy.household.name

    @admin.display(description="achterstand / arrears", ordering="arrears")
    def arrears_display(self, obj: HandoverProposal) -> str:
        return euro(obj.arrears)

    @admin.display(description="poortcontroles / gate checks")
    def gate_checks(self, obj: HandoverProposal) -> str:
        texts = [str(t) for t in (obj.gate or [])]
        if not texts:
            return "-"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>",
                                                            ((t,) for t in texts)))

    @admin.display(description="dossier")
    def dossier_links(self, obj: HandoverProposal) -> str:
        if not obj.dossier_folder:
            return "nog niet gemaakt / not built yet"
        return format_html_join(" · ", '<a href="{}">{}</a>', (
            (reverse("admin:handover_handoverproposal_dossier", args=[obj.pk, name]), name)
            for name in dossier.FILES))

    # --- permissions ---------------------------------------------------------------------

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("handover.change_handoverproposal")

    # --- dossier files -----------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        extra = [path("<path:object_id>/dossier/<str:name>/",
                      self.admin_site.admin_view(self.dossier_file_view),
                      name="handover_handoverproposal_dossier")]
        return extra + super().get_urls()

    def dossier_file_view(self, request: HttpRequest, object_id: str,
                          name: str) -> FileResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj) or name not in dossier.FILES:
            raise Http404("geen dossierbestand / no dossier file")
        file = dossier.folder_for(obj) / name
        if not file.is_file():
            raise Http404("dossier nog niet gemaakt / dossier not built yet")
        audit(staff_actor(request), "view", obj, summary=f"dossier {name} bekeken / viewed",
              path=request.path)
        return FileResponse(file.open("rb"), content_type=CONTENT_TYPES[name],
                            as_attachment=name != dossier.PDF, filename=f"overdracht-{obj.pk}-"
                                                                       f"{name}")

    # --- actions ------------------------------------------------------------------------

    @admin.action(description="goedkeuren (naar deurwaarder) / approve (to the bailiff)",
                  permissions=["decide"])
    def approve_selected(self, request: HttpRequest,
                         queryset: QuerySet[HandoverProposal]) -> HttpResponse | None:
        return self._decide(request, queryset, "approve_selected")

    @admin.action(description="afwijzen / reject", permissions=["decide"])
    def reject_selected(self, request: HttpRequest,
                        queryset: QuerySet[HandoverProposal]) -> HttpResponse | None:
        return self._decide(request, queryset, "reject_selected")

    @admin.action(description="dossier (opnieuw) maken / (re)build dossier",
                  permissions=["view"])
    def build_selected(self, request: HttpRequest,
                       queryset: QuerySet[HandoverProposal]) -> None:
        actor = staff_actor(request)
        for proposal in queryset:
            try:
                build_dossier(proposal)
            except OSError:
                self.message_user(request, f"voorstel {proposal.pk}: dossier niet geschreven / "
                                           f"dossier not written", messages.ERROR)
                continue
            audit(actor, "handover.dossier", proposal, summary=f"dossier {proposal.pk} "
                                                               f"gemaakt / built")
            self.message_user(request, f"voorstel {proposal.pk}: dossier gemaakt / dossier "
                                       f"built", messages.SUCCESS)

    def _decide(self, request: HttpRequest, queryset: QuerySet[HandoverProposal],
                action_name: str) -> HttpResponse | None:
        rejecting = action_name == "reject_selected"
        open_ones = queryset.filter(status=HandoverProposal.Status.PROPOSED) \
            .select_related("tenancy")
        actor, on = staff_actor(request), timezone.localdate()

        def apply(p: HandoverProposal, data: dict[str, Any]) -> str:
            try:
                (reject if rejecting else approve)(p, actor=actor, on=on, note=data["note"])
            except ActionError as exc:
                raise ValueError(str(exc)) from None
            return "afgewezen / rejected" if rejecting else "goedgekeurd / approved"

        return form_action(
            self, request, open_ones, form_class=RejectForm if rejecting else DecisionForm,
            action_name=action_name, apply=apply,
            title=("Overdracht afwijzen / reject hand-over" if rejecting
                   else "Overdracht goedkeuren / approve hand-over"),
            submit_label="Afwijzen / reject" if rejecting else "Goedkeuren / approve",
            intro=REJECT_INTRO if rejecting else APPROVE_INTRO,
            items=[f"voorstel {p.pk}: {p.tenancy.code}, {euro(p.arrears)}, "
                   f"{p.months_in_arrears} maanden / months" for p in open_ones])
