"""Staff workspace: households and tenancies (read-only: the housing ERP is the source)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Round
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin, ReadOnlyInline, euro
from vroeg.collection.models import Case, Pause, Task
from vroeg.ledger.models import LedgerEntry
from vroeg.ledger.queries import HALF_CENT
from vroeg.portfolio.models import Household, ImportBatch, KnownPayer, Tenancy, TenancyEvent

MONEY = DecimalField(max_digits=14, decimal_places=2)


def with_balance(queryset: QuerySet[Tenancy]) -> QuerySet[Tenancy]:
    """Annotate each tenancy with its balance, open case and monthly rent, in one query.

    balance: the sum of all ledger amounts (> 0: the tenant owes money).
    """
    ledger_total = (
        LedgerEntry.objects.filter(tenancy=OuterRef("pk"))
        .order_by()
        .values("tenancy")
        .annotate(total=Round(Sum("amount"), 2))  # SQLite sums decimals as floats
        .values("total")
    )
    open_cases = Case.objects.filter(tenancy=OuterRef("pk"), status=Case.Status.OPEN)
    return queryset.annotate(
        balance=Coalesce(Subquery(ledger_total, output_field=MONEY), Value(Decimal("0.00")),
                         output_field=MONEY),
        open_case_stage=Subquery(open_cases.order_by("-opened_on").values("stage")[:1]),
        open_case_id=Subquery(open_cases.order_by("-opened_on").values("pk")[:1]),
        has_open_case=Exists(open_cases),
        monthly=ExpressionWrapper(F("net_rent") + F("service_costs"), output_field=MONEY),
    )


def admin_link(obj: Any, text: Any = None) -> str:
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


class HasOpenCaseFilter(admin.SimpleListFilter):
    title = "open dossier / open case"
    parameter_name = "open_case"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "ja / yes"), ("no", "nee / no")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(has_open_case=True)
        if self.value() == "no":
            return queryset.filter(has_open_case=False)
        return queryset


class InArrearsFilter(admin.SimpleListFilter):
    title = "achterstand / in arrears"
    parameter_name = "arrears"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "ja (saldo > 0) / yes"), ("no", "nee / no"),
                ("credit", "tegoed (saldo < 0) / in credit")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(balance__gt=HALF_CENT)
        if self.value() == "no":
            return queryset.filter(balance__lte=HALF_CENT)
        if self.value() == "credit":
            return queryset.filter(balance__lt=-HALF_CENT)
        return queryset


# --- inlines ------------------------------------------------------------------------


class TenancyInline(ReadOnlyInline):
    model = Tenancy
    fields = ("code", "street", "house_number", "postcode", "city", "net_rent",
              "service_costs", "payment_method", "start_on", "end_on")
    verbose_name_plural = "huurovereenkomsten / tenancies"


class LedgerInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("booked_on", "kind", "amount", "due_on", "description", "source_key")
    ordering = ("-booked_on", "-id")
    show_change_link = False
    verbose_name_plural = "grootboek (nieuwste eerst) / ledger (latest first)"


class KnownPayerInline(ReadOnlyInline):
    model = KnownPayer
    fields = ("iban", "name", "third_party", "linked_by")
    show_change_link = False


class CaseInline(ReadOnlyInline):
    model = Case
    fields = ("status", "stage", "flow", "opened_on", "closed_on", "close_reason")
    ordering = ("-opened_on",)


class PauseInline(ReadOnlyInline):
    model = Pause
    fields = ("reason", "starts_on", "ends_on", "set_by")


class OpenTaskInline(ReadOnlyInline):
    model = Task
    fields = ("due_on", "kind", "title", "team", "status")
    fk_name = "household"
    verbose_name_plural = "open taken / open tasks"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        return super().get_queryset(request).filter(status=Task.Status.OPEN)


# --- admins -------------------------------------------------------------------------


@admin.register(Household)
class HouseholdAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "postal_address", "postal_city", "preferred_channel",
                    "tenancy_count", "letter_only", "needs_interpreter", "vulnerable")
    list_filter = ("preferred_channel", "language", "letter_only", "needs_interpreter",
                   "no_sms", "no_email", "vulnerable", "has_children")
    actions = ("mark_vulnerable", "unmark_vulnerable", "mark_children", "mark_no_children")

    def has_care_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("portfolio.change_household")

    def _care(self, request: HttpRequest, queryset: QuerySet[Household], **flags: Any) -> None:
        from vroeg.audit.admin_mixins import staff_actor
        from vroeg.portfolio.actions import set_care_flags

        n = sum(1 for h in queryset if set_care_flags(
            h, actor=staff_actor(request), reason="beheer / admin", **flags))
        self.message_user(request, f"{n} huishouden(s) bijgewerkt / household(s) updated")

    @admin.action(description="kwetsbaar: eerst persoonlijk contact / vulnerable: a person "
                              "first", permissions=["care"])
    def mark_vulnerable(self, request: HttpRequest, queryset: QuerySet[Household]) -> None:
        self._care(request, queryset, vulnerable=True)

    @admin.action(description="niet kwetsbaar / not vulnerable", permissions=["care"])
    def unmark_vulnerable(self, request: HttpRequest, queryset: QuerySet[Household]) -> None:
        self._care(request, queryset, vulnerable=False)

    @admin.action(description="kinderen in het huishouden / children in the household",
                  permissions=["care"])
    def mark_children(self, request: HttpRequest, queryset: QuerySet[Household]) -> None:
        self._care(request, queryset, has_children=True)

    @admin.action(description="geen kinderen / no children", permissions=["care"])
    def mark_no_children(self, request: HttpRequest, queryset: QuerySet[Household]) -> None:
        self._care(request, queryset, has_children=False)
    search_fields = ("code", "name", "postal_postcode", "email", "mobile", "tenancies__code",
                     "tenancies__postcode")
    inlines = (TenancyInline, OpenTaskInline, PauseInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        return super().get_queryset(request).annotate(n_tenancies=Count("tenancies"))

    @admin.display(description="adres / address", ordering="postal_postcode")
    def postal_address(self, obj: Household) -> str:
        parts = [f"{obj.postal_street} {obj.postal_house_number}".strip(), obj.postal_postcode]
        return ", ".join(p for p in parts if p) or "-"

    @admin.display(description="huurovereenkomsten / tenancies", ordering="n_tenancies")
    def tenancy_count(self, obj: Household) -> int:
        return getattr(obj, "n_tenancies", 0)


@admin.register(Tenancy)
class TenancyAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "household", "address", "current_balance", "open_case",
                    "monthly_rent", "payment_method")
    list_select_related = ("household",)
    list_filter = ("payment_method", "city", HasOpenCaseFilter, InArrearsFilter)
    search_fields = ("code", "household__name", "household__code", "postcode",
                     "payment_reference", "unit_code", "street")
    readonly_fields = ("current_balance", "open_case", "household_link")
    inlines = (LedgerInline, KnownPayerInline, CaseInline, PauseInline)
    actions = ("post_correction",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenancy]:
        return with_balance(super().get_queryset(request))

    def has_correct_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("ledger.add_ledgerentry")

    @admin.action(description="correctie boeken / post a correction", permissions=["correct"])
    def post_correction(self, request: HttpRequest, queryset: QuerySet[Tenancy]) -> Any:
        import hashlib

        from django import forms

        from vroeg.audit.admin_mixins import form_action, staff_actor
        from vroeg.ledger.actions import post_adjustment
        from vroeg.runs.clock import today as business_day

        class CorrectionForm(forms.Form):
            amount = forms.DecimalField(label="bedrag (negatief: minder te betalen) / amount "
                                              "(negative: less to pay)", decimal_places=2,
                                        max_digits=7)
            reason = forms.CharField(label="reden / reason", max_length=200)

        actor = staff_actor(request)

        def apply(tenancy: Tenancy, data: dict[str, Any]) -> str:
            today = business_day()
            # The same correction sent twice (a reload) is booked once.
            digest = hashlib.sha256(f"{data['amount']}|{data['reason']}".encode()).hexdigest()
            e, new = post_adjustment(tenancy, amount=data["amount"], on=today,
                                     reason=data["reason"], actor=actor,
                                     key=f"{tenancy.pk}:{today.isoformat()}:{digest[:16]}")
            if not new:
                return (f"deze correctie (EUR {e.amount}, zelfde reden) is vandaag al geboekt; "
                        f"niet nog eens / this correction was already posted today")
            return f"correctie / correction EUR {e.amount} geboekt / posted"

        return form_action(self, request, queryset, form_class=CorrectionForm,
                           action_name="post_correction",
                           title="Correctie boeken / post a correction",
                           submit_label="Boeken / post", apply=apply,
                           intro="Een correctie is een nieuwe boeking; de oude blijft staan. / "
                                 "A correction is a new entry; the old one stays.")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        """The summary first; then every field of the tenancy (new ones included)."""
        summary = ["household_link", "current_balance", "open_case"]
        rest = [f for f in self.get_fields(request, obj) if f not in summary and f != "household"]
        return [("Overzicht / summary", {"fields": summary}),
                ("Huurovereenkomst / tenancy", {"fields": rest})]

    @admin.display(description="huishouden / household")
    def household_link(self, obj: Tenancy) -> str:
        return admin_link(obj.household)

    @admin.display(description="adres / address", ordering="postcode")
    def address(self, obj: Tenancy) -> str:
        return f"{obj.street} {obj.house_number}, {obj.city}"

    @admin.display(description="maandhuur / monthly rent", ordering="monthly")
    def monthly_rent(self, obj: Tenancy) -> str:
        return euro(obj.monthly_rent)

    @admin.display(description="saldo / balance", ordering="balance")
    def current_balance(self, obj: Tenancy) -> str:
        return euro(getattr(obj, "balance", None))

    @admin.display(description="open dossier (fase) / open case (stage)",
                   ordering="open_case_stage")
    def open_case(self, obj: Tenancy) -> str:
        stage = getattr(obj, "open_case_stage", None)
        if not stage:
            return "-"
        url = reverse("admin:collection_case_change", args=[obj.open_case_id])  # type: ignore[attr-defined]
        return format_html('<a href="{}">{}</a>', url, stage)


@admin.register(KnownPayer)
class KnownPayerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("iban", "name", "tenancy", "third_party", "linked_by")
    list_select_related = ("tenancy",)
    list_filter = ("third_party", "linked_by")
    search_fields = ("iban", "name", "tenancy__code")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("imported_at", "file_name", "rows", "created", "updated", "unchanged")
    date_hierarchy = "imported_at"
    search_fields = ("file_name", "sha256")


@admin.register(TenancyEvent)
class TenancyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What the ERP file told about a tenancy: benefit stopped, a new rent."""

    list_display = ("on", "kind", "tenancy", "source")
    list_select_related = ("tenancy",)
    list_filter = ("kind",)
    date_hierarchy = "on"
    search_fields = ("tenancy__code", "source")
