"""Staff workspace: day runs and their reports, read-only."""

from __future__ import annotations

from django.contrib import admin

from vroeg.audit.admin_mixins import ReadOnlyAdminMixin
from vroeg.runs.models import DayRun


@admin.register(DayRun)
class DayRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("run_on", "status", "stage", "attempts", "started_at", "finished_at")
    list_filter = ("status",)
    date_hierarchy = "run_on"
