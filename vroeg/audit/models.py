"""Audit log: who or what did what, when, to which object. Append-only."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    at = models.DateTimeField("tijdstip / at", auto_now_add=True, db_index=True)
    actor = models.CharField("door / actor", max_length=100)  # "system:run", "staff:<username>"
    action = models.CharField("actie / action", max_length=60, db_index=True)
    object_type = models.CharField("soort object / object type", max_length=60)
    object_id = models.CharField("object-id", max_length=60, db_index=True)
    summary = models.CharField("samenvatting / summary", max_length=300, blank=True)
    details = models.JSONField("details", default=dict, blank=True)

    class Meta:
        verbose_name = "auditregel / audit event"
        verbose_name_plural = "auditlog / audit log"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return (f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} "
                f"{self.object_type}#{self.object_id}")
