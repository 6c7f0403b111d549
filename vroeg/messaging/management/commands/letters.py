"""`vroeg letters batch [--date D]`: (re)build the day's print batch for the print
house, outbox/letters/<D>/print-batch-<D>.pdf and .csv (messaging/print_batch.py).
The daily run builds it after dispatch; run it again after a later dispatch to add
the letters sent since. Default date: today. Exit code 2 when it cannot be built.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Brieven voor de drukker / letters for the print house."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        batch = sub.add_parser("batch", help="maak de printbatch van een dag / build a day's "
                                             "print batch")
        batch.add_argument("--date", default=None,
                           help="dag (standaard vandaag) / day (default today), YYYY-MM-DD")

    def handle(self, *args: Any, **opts: Any) -> None:
        from vroeg.messaging.print_batch import PrintBatchError, build_print_batch
        from vroeg.runs.clock import today

        if opts.get("date"):
            try:
                day = date.fromisoformat(opts["date"].strip())
            except ValueError:
                self.stderr.write(f"FOUT / ERROR: --date: geen datum (JJJJ-MM-DD) / not a date "
                                  f"(YYYY-MM-DD): {opts['date']!r}")
                sys.exit(2)
        else:
            day = today()
        try:
            pdf, manifest, count = build_print_batch(day)
        except PrintBatchError as exc:
            self.stderr.write(f"FOUT / ERROR: {exc}")
            sys.exit(2)
        if not count or pdf is None or manifest is None:
            self.stdout.write(f"{day}: geen brieven verstuurd / no letters sent")
            return
        home = settings.VROEG_HOME
        self.stdout.write(f"{day}: {count} brief/brieven / letter(s)")
        for path in (pdf, manifest):
            try:
                shown = path.relative_to(home)
            except ValueError:
                shown = path
            self.stdout.write(f"  {shown}")
