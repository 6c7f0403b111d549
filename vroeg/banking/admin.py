"""Staff workspace: bank files, bank transactions and the unmatched payments queue.

Bank data is what the bank said: read-only. The one thing staff do here is link an
unmatched payment to a tenancy ("koppel aan huurovereenkomst / match to tenancy"),
which goes through vroeg.banking.matching_actions.manual_match.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin, euro
from vroeg.banking.actions import ReviewError, accept_held, reject_held
from vroeg.banking.admin_models import UnmatchedPayment
from vroeg.banking.matching_actions import (
    ManualMatchError,
    manual_match,
    mark_not_rent,
    staff_actor,
)
from vroeg.banking.models import BankFile, BankTransaction, TxnStatus
from vroeg.portfolio.models import KnownPayer, Tenancy

MATCH_TEMPLATE = "admin/banking/match_to_tenancy.html"
REASON_TEMPLATE = "admin/banking/reason_form.html"
MAX_SUGGESTIONS = 10


class MatchToTenancyForm(forms.Form):
    tenancy_code = forms.CharField(
        label="overeenkomstcode / tenancy code", max_length=40,
        help_text="Code van de huurovereenkomst, of het betalingskenmerk / "
                  "the tenancy's code, or its payment reference")

    def clean_tenancy_code(self) -> Tenancy:
        code = self.cleaned_data["tenancy_code"].strip()
        tenancies = Tenancy.objects.select_related("household")
        tenancy = (tenancies.filter(code=code).first()
                   or tenancies.filter(code__iexact=code).first()
                   or tenancies.filter(payment_reference=code.replace(" ", "")).first())
        if tenancy is None:
            raise forms.ValidationError(
                f"Geen huurovereenkomst met code {code!r} / no tenancy with code {code!r}")
        return tenancy

    remember = forms.BooleanField(
        label="onthoud deze betaler / remember this payer", required=False, initial=True,
        help_text="De IBAN wordt een bekende betaler van deze huurovereenkomst (ook een derde, "
                  "zoals de gemeente of een ouder); volgende betalingen worden dan vanzelf "
                  "gekoppeld / the IBAN becomes a known payer of this tenancy (a third party "
                  "too, such as the municipality or a parent); later payments match by "
                  "themselves")


class ReasonForm(forms.Form):
    reason = forms.CharField(label="reden / reason", max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


def suggestions(txns: list[BankTransaction]) -> list[tuple[Tenancy, str]]:
    """Tenancies that may be meant: known payer IBAN, or the payment reference quoted.

    Only a hint for the staff member; nothing is linked without their choice.
    """
    ibans = {t.counterparty_iban for t in txns if t.counterparty_iban}
    refs = {t.creditor_reference for t in txns if t.creditor_reference}
    found: dict[int, tuple[Tenancy, str]] = {}
    # The matcher's own candidates first: scored, with what they were scored on.
    scored = [c for t in txns for c in (t.candidates or [])]
    scored.sort(key=lambda c: -int(c.get("score", 0)))
    by_pk = Tenancy.objects.select_related("household").in_bulk(
        [c["tenancy_id"] for c in scored[:MAX_SUGGESTIONS]])
    for c in scored:
        ten = by_pk.get(c["tenancy_id"])
        if ten is not None:
            found.setdefault(ten.pk, (ten, f"score {c.get('score')}: {c.get('why', '')}"))
    if refs:
        for ten in Tenancy.objects.filter(payment_reference__in=refs).select_related(
                "household")[:MAX_SUGGESTIONS]:
            found.setdefault(ten.pk, (ten, "betalingskenmerk / payment reference"))
    if ibans:
        for payer in KnownPayer.objects.filter(iban__in=ibans).select_related(
                "tenancy__household")[:MAX_SUGGESTIONS]:
            found.setdefault(payer.tenancy_id, (payer.tenancy, "bekende betaler / known payer"))
    return list(found.values())[:MAX_SUGGESTIONS]


class BankFileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "name", "format", "status", "statements", "entries",
                    "new_entries", "duplicate_entries", "transactions_link")
    list_filter = ("status", "format")
    date_hierarchy = "received_at"
    search_fields = ("name", "sha256", "reason")
    actions = ("accept_files", "reject_files")
    readonly_fields = ("review_hint",)

    @admin.display(description="controle / review")
    def review_hint(self, obj: BankFile) -> str:
        if obj.status != BankFile.Status.HELD:
            return "-"
        return ("Het beginsaldo plus de boekingen is niet het eindsaldo. Vraag de bank om een "
                "volledig afschrift en wijs dit af, of accepteer het als u zeker weet dat het "
                "klopt. / Opening balance plus entries is not the closing balance. Ask the bank "
                "for a complete statement and reject this one, or accept it if you are sure.")

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("banking.change_bankfile")

    @admin.action(description="accepteer (saldo klopt niet) / accept (unbalanced)",
                  permissions=["review"])
    def accept_files(self, request: HttpRequest, queryset: QuerySet[BankFile]) -> None:
        for bank_file in queryset.filter(status=BankFile.Status.HELD):
            try:
                r = accept_held(bank_file, staff_actor(request.user))
            except ReviewError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{bank_file.name}: geaccepteerd, {r.new_entries} "
                                  f"boekingen / accepted, {r.new_entries} entries",
                                  messages.SUCCESS)

    @admin.action(description="wijs af / reject", permissions=["review"])
    def reject_files(self, request: HttpRequest,
                     queryset: QuerySet[BankFile]) -> HttpResponse | None:
        files = list(queryset.filter(status=BankFile.Status.HELD))
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                for bank_file in files:
                    try:
                        reject_held(bank_file, staff_actor(request.user),
                                    form.cleaned_data["reason"])
                    except ReviewError as exc:
                        self.message_user(request, str(exc), messages.ERROR)
                    else:
                        self.message_user(request, f"{bank_file.name}: afgewezen / rejected",
                                          messages.SUCCESS)
                return None
        else:
            form = ReasonForm()
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": "Bankbestand afwijzen / reject bank file", "form": form,
                   "items": [f"{f.name}: {f.reason}" for f in files],
                   "action_name": "reject_files",
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                   "pks": [f.pk for f in files], "media": self.media}
        return TemplateResponse(request, REASON_TEMPLATE, context)

    @admin.display(description="transacties / transactions")
    def transactions_link(self, obj: BankFile) -> str:
        url = reverse("admin:banking_banktransaction_changelist") + f"?file__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, "bekijk / view")


class BankTransactionAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("booked_on", "amount_display", "counterparty_name", "creditor_reference",
                    "status", "tenancy_code", "match_reason")
    list_select_related = ("tenancy",)
    list_filter = ("status", "reversal", "return_reason", "matched_by")
    date_hierarchy = "booked_on"
    search_fields = ("counterparty_name", "counterparty_iban", "creditor_reference",
                     "remittance", "end_to_end_id", "mandate_id", "tenancy__code")
    readonly_fields = ("match_action",)
    actions = ("match_to_tenancy", "not_rent")
    show_full_result_count = False

    @admin.display(description="koppelen / match")
    def match_action(self, obj: BankTransaction) -> str:
        if obj.status == TxnStatus.MATCHED:
            return "-"
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_match",
                      args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url,
                           "koppel aan huurovereenkomst / match to tenancy")

    @admin.display(description="bedrag / amount", ordering="amount")
    def amount_display(self, obj: BankTransaction) -> str:
        return euro(obj.amount)

    @admin.display(description="huurovereenkomst / tenancy", ordering="tenancy__code")
    def tenancy_code(self, obj: BankTransaction) -> str:
        return obj.tenancy.code if obj.tenancy is not None else "-"

    @admin.action(description="geen huurbetaling / not a rent payment", permissions=["match"])
    def not_rent(self, request: HttpRequest, queryset: QuerySet[BankTransaction]) -> None:
        done = sum(1 for txn in queryset if mark_not_rent(txn, request.user))
        self.message_user(request, f"{done} transactie(s) uit de wachtrij / "
                          f"{done} transaction(s) out of the queue", messages.SUCCESS)

    # --- manual matching --------------------------------------------------------------

    def has_match_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return user.has_perm("banking.change_banktransaction") or user.has_perm(
            "banking.change_unmatchedpayment")

    def get_urls(self) -> list[Any]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_match"
        return [
            path("<path:object_id>/match/", self.admin_site.admin_view(self.match_view),
                 name=name),
            *super().get_urls(),
        ]

    def match_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One transaction: the same form as the list action."""
        if not self.has_match_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        queryset = self.get_queryset(request).filter(pk=unquote(object_id))
        response = self._match(request, queryset)
        if response is None:
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        return response

    @admin.action(description="koppel aan huurovereenkomst / match to tenancy",
                  permissions=["match"])
    def match_to_tenancy(self, request: HttpRequest,
                         queryset: QuerySet[BankTransaction]) -> HttpResponse | None:
        return self._match(request, queryset)

    def _match(self, request: HttpRequest,
               queryset: QuerySet[BankTransaction]) -> HttpResponse | None:
        txns = list(queryset.select_related("tenancy").order_by("booked_on", "pk"))
        if not txns:
            self.message_user(request, "Geen transacties gekozen / no transactions selected",
                              messages.WARNING)
            return None
        if "apply" in request.POST:
            form = MatchToTenancyForm(request.POST)
            if form.is_valid():
                tenancy = form.cleaned_data["tenancy_code"]
                self._apply(request, txns, tenancy, remember=form.cleaned_data["remember"])
                return None
        else:
            form = MatchToTenancyForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Koppel aan huurovereenkomst / match to tenancy",
            "opts": self.opts,
            "form": form,
            "transactions": [(t, euro(t.amount)) for t in txns],
            "suggestions": suggestions(txns),
            "action_name": "match_to_tenancy",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, MATCH_TEMPLATE, context)

    def _apply(self, request: HttpRequest, txns: list[BankTransaction],
               tenancy: Tenancy, remember: bool = False) -> None:
        done = 0
        for txn in txns:
            try:
                manual_match(txn, tenancy, request.user, remember=remember)
            except ManualMatchError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                f"{done} transactie(s) gekoppeld aan {tenancy.code} en geboekt / "
                f"{done} transaction(s) matched to {tenancy.code} and posted",
                messages.SUCCESS)


class UnmatchedPaymentAdmin(BankTransactionAdmin):
    """The work queue: payments the matcher left for a person, oldest first."""

    ordering = ("booked_on", "id")

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        return ("booked_on", "amount_display", "match_link", "counterparty",
                "reference_or_remittance", "best_candidate", "match_reason")

    def get_list_filter(self, request: HttpRequest) -> tuple[str, ...]:
        return ("reversal", "return_reason")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BankTransaction]:
        return super().get_queryset(request).filter(status=TxnStatus.UNMATCHED)

    @admin.display(description="tegenpartij / counterparty", ordering="counterparty_name")
    def counterparty(self, obj: BankTransaction) -> str:
        return format_html("{}<br><small>{}</small>", obj.counterparty_name or "-",
                           obj.counterparty_iban)

    @admin.display(description="omschrijving / remittance")
    def reference_or_remittance(self, obj: BankTransaction) -> str:
        text = " ".join(obj.remittance.split())
        text = text if len(text) <= 90 else text[:89] + "…"
        if obj.creditor_reference:
            return format_html("<strong>{}</strong><br>{}", obj.creditor_reference, text)
        return text or "-"

    @admin.display(description="beste kandidaat / best candidate")
    def best_candidate(self, obj: BankTransaction) -> str:
        if not obj.candidates:
            return "-"
        best = obj.candidates[0]
        more = len(obj.candidates) - 1
        return format_html("<strong>{}</strong> ({})<br><small>{}</small>{}",
                           best.get("code", ""), best.get("score", ""), best.get("why", ""),
                           f" +{more}" if more else "")

    @admin.display(description="")
    def match_link(self, obj: BankTransaction) -> str:
        url = reverse("admin:banking_unmatchedpayment_match", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, "koppel / match")


admin.site.register(BankFile, BankFileAdmin)
admin.site.register(BankTransaction, BankTransactionAdmin)
admin.site.register(UnmatchedPayment, UnmatchedPaymentAdmin)
