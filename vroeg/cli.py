"""The `vroeg` command: Django management commands with vroeg's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
    from django.core.management import execute_from_command_line

    from vroeg.home import ensure_home

    ensure_home()
    execute_from_command_line(["vroeg", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
