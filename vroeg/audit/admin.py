"""Staff workspace: the audit log, read-only for everyone."""

from __future__ import annotations

from django.contrib import admin

from vroeg.audit.admin_mixins import ReadOnlyAdminMixin
from vroeg.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id", "summary")
    list_filter = ("action", "actor", "object_type")
    date_hierarchy = "at"
    search_fields = ("=object_id", "actor", "summary")
    show_full_result_count = False
