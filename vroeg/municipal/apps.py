from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class MunicipalConfig(AppConfig):
    name = "vroeg.municipal"
    label = "municipal"
    verbose_name = "Vroegsignalering gemeente / Municipal signals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(check_adapters)


def check_adapters(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A municipality configured for an adapter that does not exist would never get its
    signals: say so at start-up rather than at the first delivery."""
    from django.conf import settings

    from vroeg.municipal.adapters import ADAPTERS

    errors: list[checks.CheckMessage] = []
    for municipality, name in (getattr(settings, "VROEG_MUNICIPAL_ADAPTERS", None) or {}).items():
        if name not in ADAPTERS:
            errors.append(checks.Error(
                f"VROEG_MUNICIPAL_ADAPTERS: {municipality}={name!r}: onbekend platform / "
                f"unknown adapter (known: {', '.join(sorted(ADAPTERS))})",
                id="municipal.E001"))
    return errors
