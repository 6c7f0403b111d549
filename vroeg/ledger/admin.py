"""Staff workspace: the tenant ledger. Append-only, so read-only here.

Adding entries (also adjustments) is disabled in the admin on purpose: a correction is
money, and is posted by the ledger's own posting code (with its idempotency key and
an audit row), not by a free-form admin form.
"""

from __future__ import annotations

from django.contrib import admin

from vroeg.audit.admin_mixins import ReadOnlyAdminMixin, euro
from vroeg.ledger.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("booked_on", "tenancy", "kind", "amount_display", "due_on", "description",
                    "source_key")
    list_select_related = ("tenancy",)
    list_filter = ("kind",)
    date_hierarchy = "booked_on"
    search_fields = ("tenancy__code", "tenancy__household__name", "source_key", "description")
    ordering = ("-booked_on", "-id")
    show_full_result_count = False  # no second COUNT(*) over the whole ledger

    @admin.display(description="bedrag / amount", ordering="amount")
    def amount_display(self, obj: LedgerEntry) -> str:
        return euro(obj.amount)
