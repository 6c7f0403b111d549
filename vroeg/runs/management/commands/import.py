"""vroeg import FILE...: tenancy CSVs and bank files, the kind detected from content."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from vroeg.runs.ingest import import_file


class Command(BaseCommand):
    help = "Lees bestanden in / import files (tenancy CSV, camt.053, MT940, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        results = []
        for path in opts["files"]:
            paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() \
                else [path]
            for p in paths:
                outcome = import_file(p, actor="cli:import")
                results.append({"file": str(p), "kind": outcome.kind, "status": outcome.status,
                                "detail": outcome.detail, **outcome.counts})
                if not opts["json"]:
                    counts = ", ".join(f"{k} {v}" for k, v in outcome.counts.items())
                    self.stdout.write(f"{outcome.status:15} {p}: {counts or outcome.detail}")
        if opts["json"]:
            self.stdout.write(json.dumps(results, indent=2, ensure_ascii=False))
        if any(r["status"] == "refused" for r in results):
            raise SystemExit(1)
