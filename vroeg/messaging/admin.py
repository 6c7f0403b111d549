"""Staff workspace: outgoing messages (the outbox). Read-only: the run writes them."""

from __future__ import annotations

from django.contrib import admin

from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin
from vroeg.messaging.models import Message


@admin.register(Message)
class MessageAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("decided_on", "channel", "template", "status", "tenancy", "step",
                    "sent_at", "attempts")
    list_select_related = ("tenancy",)
    list_filter = ("status", "channel", "template", "language", "step")
    date_hierarchy = "decided_on"
    search_fields = ("tenancy__code", "household__name", "household__code", "recipient",
                     "subject", "idempotency_key", "delivery_ref")
    show_full_result_count = False
    # The body is shown read-only on the detail page (every field is, in this admin).
