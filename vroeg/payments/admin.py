"""Staff workspace: payment links (read-only; made by the daily run, paid by tenants).

A missed webhook is repaired with the action "controleren bij provider / check at
provider" (or `vroeg payments check ID`); every view of a link is audited.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin, euro, staff_actor
from vroeg.payments import actions
from vroeg.payments.models import PaymentLink
from vroeg.payments.providers.base import PaymentProviderError


@admin.register(PaymentLink)
class PaymentLinkAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "tenancy_code", "amount_display", "status", "provider",
                    "provider_status", "expires_at", "paid_at", "paid_display")
    list_filter = ("status", "provider", "provider_status", "method")
    search_fields = ("tenancy__code", "=provider_payment_id", "=token", "message_key")
    list_select_related = ("tenancy",)
    date_hierarchy = "created_at"
    readonly_fields = ("link",)
    actions = ["check_at_provider"]

    @admin.display(description="huurovereenkomst / tenancy", ordering="tenancy__code")
    def tenancy_code(self, obj: PaymentLink) -> str:
        return obj.tenancy.code

    @admin.display(description="bedrag / amount", ordering="amount")
    def amount_display(self, obj: PaymentLink) -> str:
        return euro(obj.amount)

    @admin.display(description="betaald / paid", ordering="paid_amount")
    def paid_display(self, obj: PaymentLink) -> str:
        return euro(obj.paid_amount)

    @admin.display(description="betaallink / link")
    def link(self, obj: PaymentLink) -> str:
        url = actions.url_of(obj)
        return format_html('<a href="{}" rel="noreferrer">{}</a>', url, url)

    @admin.action(description="Controleren bij provider / check at provider")
    def check_at_provider(self, request: HttpRequest, queryset: QuerySet[PaymentLink]) -> None:
        for link in queryset:
            try:
                actions.check(link, actor=staff_actor(request))
            except PaymentProviderError as exc:
                self.message_user(request, f"{link}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{link}: {link.get_status_display()}",
                                  messages.SUCCESS)
