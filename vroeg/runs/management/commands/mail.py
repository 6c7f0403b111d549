"""`vroeg mail bounces PATH...`: read bounce reports (DSN) from files or a Maildir.

Each permanent bounce marks its message bounced and hands it to the step's next
channel (or a staff task when none is left). The daily run does the same for the
Maildir in VROEG_BOUNCE_MAILDIR. Prints the counts; exit code 2 on unreadable input.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from vroeg.messaging.bounces import read_bounces


class Command(BaseCommand):
    help = "E-mailbounces verwerken / process email bounces (DSN)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        bounces = sub.add_parser("bounces", help="lees bouncemeldingen / read bounce reports")
        bounces.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        missing = [p for p in opts["paths"] if not p.exists()]
        if missing:
            self.stderr.write(f"FOUT / ERROR: niet gevonden / not found: {missing[0]}")
            sys.exit(2)
        r = read_bounces(opts["paths"])
        self.stdout.write(
            f"{r.read} gelezen / read: {r.bounced} onbestelbaar / bounced, {r.delayed} "
            f"vertraagd / delayed, {r.unknown} onbekend bericht / unknown message, "
            f"{r.not_reports} geen bouncemelding / not a bounce report")
        for e in r.errors:
            self.stderr.write(f"let op / note: {e}")
