"""vroeg import FILE...: tenancy CSVs and bank files, the kind detected from content.

Bank entries booked up to today are matched straight away, so each file's result
says how many entries were matched, went to the staff queue, or were ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from vroeg.banking.matching import match_and_post
from vroeg.banking.models import BankTransaction
from vroeg.runs.clock import today
from vroeg.runs.ingest import FileOutcome, import_file
from vroeg.runs.lock import RunLocked, run_lock


class Command(BaseCommand):
    help = "Lees bestanden in / import files (tenancy CSV, camt.053, MT940, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--no-match", action="store_true",
                            help="only store bank entries; the next run matches them")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        outcomes: list[tuple[Path, FileOutcome]] = []
        try:
            # Not while the daily run is busy: it reads the same tenancies and entries.
            with run_lock():
                for path in opts["files"]:
                    path = Path(path)
                    paths = sorted(p for p in path.rglob("*") if p.is_file()) \
                        if path.is_dir() else [path]
                    outcomes += [(p, import_file(p, actor="cli:import")) for p in paths]
                if not opts["no_match"]:
                    match_and_post(today(), actor="cli:import")
        except RunLocked as exc:
            raise CommandError(f"{exc}; probeer het straks opnieuw / try again later") from None
        results = []
        for p, outcome in outcomes:
            row = {"file": str(p), "kind": outcome.kind, "status": outcome.status,
                   "detail": outcome.detail, "warnings": list(outcome.warnings),
                   **outcome.counts}
            if outcome.file_id is not None:
                row.update(dict(BankTransaction.objects.filter(file_id=outcome.file_id)
                                .values("status").annotate(n=Count("id"))
                                .values_list("status", "n")))
            results.append(row)
            if not opts["json"]:
                counts = ", ".join(f"{k} {v}" for k, v in row.items()
                                   if isinstance(v, int) and k != "statements")
                detail = outcome.detail if outcome.status in ("refused", "held") else counts
                self.stdout.write(f"{outcome.status:15} {p}: {detail}")
                for warning in outcome.warnings:
                    self.stdout.write(f"{'':15} let op / note: {warning}")
        if opts["json"]:
            self.stdout.write(json.dumps(results, indent=2, ensure_ascii=False))
        if any(r["status"] == "held" for r in results):
            self.stderr.write("Wacht op controle: accepteer of wijs af met `vroeg bank accept|"
                              "reject ID` of in Bankbestanden / awaiting review: accept or "
                              "reject with `vroeg bank accept|reject ID` or under Bank files")
        if any(r["status"] == "refused" for r in results):
            raise SystemExit(1)
