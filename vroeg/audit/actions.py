"""The one place audit rows are written."""

from __future__ import annotations

from typing import Any

from django.db import models

from vroeg.audit.models import AuditEvent


def audit(actor: str, action: str, obj: models.Model | None = None, *, object_type: str = "",
          object_id: str = "", summary: str = "", **details: Any) -> AuditEvent:
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
    return AuditEvent.objects.create(actor=actor, action=action, object_type=object_type,
                                     object_id=object_id, summary=summary[:300], details=details)


def audit_many(rows: list[AuditEvent]) -> None:
    AuditEvent.objects.bulk_create(rows, batch_size=2000)
