"""The VROEG_HOME folder and its layout."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    from django.conf import settings

    return Path(settings.VROEG_HOME)


def ensure_home() -> Path:
    """Create VROEG_HOME and its sub-folders if missing (before Django opens the DB)."""
    root = Path(os.environ.get("VROEG_HOME", "var")).resolve()
    for sub in ("inbox", "inbox/done", "inbox/rejected", "outbox/email", "outbox/sms",
                "outbox/letters", "reports"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def inbox() -> Path:
    return home() / "inbox"


def outbox() -> Path:
    return home() / "outbox"


def reports() -> Path:
    return home() / "reports"
