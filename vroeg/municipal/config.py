"""Which municipalities get signals, and through which platform adapter.

Settings (vroeg/settings.py, from the environment):

- ``VROEG_MUNICIPAL_AGREEMENTS``: the places with a signed agreement (*convenant*,
  RULES-NL rule 5), e.g. "Utrecht,Amersfoort"; empty means every municipality has one.
- ``VROEG_MUNICIPAL_ADAPTERS``: municipality -> adapter name, e.g.
  "Utrecht=file,Amersfoort=file"; "*" names the adapter for all others. Default: "file".

Place names are compared without case and surrounding spaces ("utrecht" = "Utrecht").
"""

from __future__ import annotations

from django.conf import settings
from django.utils.text import slugify

DEFAULT_ADAPTER = "file"


def _key(municipality: str) -> str:
    return " ".join(municipality.split()).casefold()


def has_agreement(municipality: str) -> bool:
    """Does vroeg have a signed agreement with this municipality (rule 5)?"""
    agreed = getattr(settings, "VROEG_MUNICIPAL_AGREEMENTS", None) or []
    if not agreed:
        return True
    return _key(municipality) in {_key(m) for m in agreed}


def adapter_name_for(municipality: str) -> str:
    """The adapter configured for a municipality ("file" unless the settings say else)."""
    table = {_key(k): v.strip() for k, v in
             (getattr(settings, "VROEG_MUNICIPAL_ADAPTERS", None) or {}).items()}
    return table.get(_key(municipality)) or table.get("*") or DEFAULT_ADAPTER


def folder_name(municipality: str) -> str:
    """The municipality's folder in the outbox: "Den Haag" -> "den-haag",
    "'s-Hertogenbosch" -> "s-hertogenbosch", "Súdwest-Fryslân" -> "sudwest-fryslan"."""
    return slugify(municipality) or "onbekend"
