"""Which debt-help contact a tenant is pointed to: their own municipality's."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "schuldhulp.yaml"


@lru_cache(maxsize=4)
def _table(path: str) -> dict[str, str]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {str(k).strip().casefold(): str(v) for k, v in data.items()}


def debt_help_for(city: str) -> str:
    """The local contact for `city`, else the corporation's general line."""
    path = getattr(settings, "VROEG_DEBT_HELP_FILE", "") or str(DEFAULT_FILE)
    return _table(path).get(city.strip().casefold()) or settings.VROEG_CORPORATION["debt_help"]
