"""Staff workspace: mandates, collections, collection files and returns (read-only).

Direct-debit data is written by vroeg/directdebit/actions.py only (the ERP import,
`vroeg sepa collect` and the daily run); staff look it up here.
"""

from __future__ import annotations

from django.contrib import admin

from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin, ReadOnlyInline, euro
from vroeg.directdebit.models import Collection, CollectionFile, CollectionReturn, Mandate
from vroeg.domain.bank.return_reasons import meaning


class CollectionInline(ReadOnlyInline):
    model = Collection
    fk_name = "mandate"
    fields = ("period", "attempt", "amount", "sequence_type", "collect_on", "status",
              "return_reason", "end_to_end_id")
    ordering = ("-period", "-attempt")


class MandateAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "tenancy_code", "status", "used", "signed_on", "ended_on",
                    "end_reason")
    list_select_related = ("tenancy",)
    list_filter = ("status", "used")
    search_fields = ("reference", "tenancy__code", "debtor_name", "debtor_iban")
    inlines = (CollectionInline,)

    @admin.display(description="huurovereenkomst / tenancy", ordering="tenancy__code")
    def tenancy_code(self, obj: Mandate) -> str:
        return obj.tenancy.code


class ReturnInline(ReadOnlyInline):
    model = CollectionReturn
    fields = ("handled_on", "reason", "action", "after_settlement", "note")
    show_change_link = False


class CollectionAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("collect_on", "end_to_end_id", "tenancy_code", "period", "attempt",
                    "amount_display", "sequence_type", "status", "reason_display", "file")
    list_select_related = ("tenancy", "file")
    list_filter = ("status", "sequence_type", "attempt", "return_reason")
    date_hierarchy = "collect_on"
    search_fields = ("end_to_end_id", "tenancy__code", "mandate__reference", "file__file_name")
    inlines = (ReturnInline,)
    show_full_result_count = False

    @admin.display(description="huurovereenkomst / tenancy", ordering="tenancy__code")
    def tenancy_code(self, obj: Collection) -> str:
        return obj.tenancy.code

    @admin.display(description="bedrag / amount", ordering="amount")
    def amount_display(self, obj: Collection) -> str:
        return euro(obj.amount)

    @admin.display(description="retourreden / return reason", ordering="return_reason")
    def reason_display(self, obj: Collection) -> str:
        return meaning(obj.return_reason) if obj.return_reason else "-"


class CollectionFileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_on", "file_name", "version", "collect_on", "count",
                    "total_display", "frst_count", "rcur_count", "message_id")
    list_filter = ("version",)
    date_hierarchy = "created_on"
    search_fields = ("file_name", "message_id", "sha256")

    @admin.display(description="totaal / total", ordering="total")
    def total_display(self, obj: CollectionFile) -> str:
        return euro(obj.total)


class CollectionReturnAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("handled_on", "collection", "reason_display", "action",
                    "after_settlement", "note")
    list_select_related = ("collection",)
    list_filter = ("action", "reason", "after_settlement")
    date_hierarchy = "handled_on"
    search_fields = ("collection__end_to_end_id", "collection__tenancy__code", "reason")

    @admin.display(description="retourreden / return reason", ordering="reason")
    def reason_display(self, obj: CollectionReturn) -> str:
        return meaning(obj.reason)


admin.site.register(Mandate, MandateAdmin)
admin.site.register(Collection, CollectionAdmin)
admin.site.register(CollectionFile, CollectionFileAdmin)
admin.site.register(CollectionReturn, CollectionReturnAdmin)
