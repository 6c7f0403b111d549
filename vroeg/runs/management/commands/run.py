"""vroeg run [--date D] [--json]: the day's work, catching up missed days in order."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vroeg.domain.flow import FlowError
from vroeg.runs.clock import today
from vroeg.runs.daily import RunError, run_through
from vroeg.runs.lock import RunLocked, run_lock
from vroeg.runs.report import format_report


def business_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"geen datum (JJJJ-MM-DD) / not a date (YYYY-MM-DD): "
                                         f"{text!r}") from None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A large day holds a few hundred thousand long-lived objects (match's index of the
    portfolio, the day's rows): with the default thresholds the garbage collector walks
    them again and again, a fifth of match's time at 100,000 tenancies. During the run
    what is loaded before it (Django, the apps) is left out of its walks, and it runs
    less often; reference cycles are still collected. Restored afterwards (the demo and
    the tests run more than once in one process)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


class Command(BaseCommand):
    help = "De dagelijkse run / the daily collection run (ingest, match, decide, send, report)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", type=business_date, default=None,
                            help="business date YYYY-MM-DD (default: today, Europe/Amsterdam)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--replay", action="store_true",
                            help="play missed days as if each ran on its own date, sending "
                                 "its messages then (demo, simulation); default: a catch-up "
                                 "to today sends only each case's latest message, today")
        parser.add_argument("--max-catch-up", type=int, default=62, metavar="DAYS",
                            help="refuse to catch up more missed days than this (default 62)")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        target = opts["date"] or today()
        if isinstance(target, str):  # call_command() passes options unparsed
            try:
                target = business_date(target)
            except argparse.ArgumentTypeError as exc:
                raise CommandError(f"--date: {exc}") from None
        try:
            with run_lock(), fewer_collections():
                reports = run_through(target, progress=lambda m: print(m, file=sys.stderr),
                                      max_catch_up=opts["max_catch_up"],
                                      replay=opts["replay"])
        except (RunError, FlowError, RunLocked) as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            last = reports[-1]
            if len(reports) > 1:
                last = {**last, "caught_up": [r["date"] for r in reports[:-1]]}
            self.stdout.write(json.dumps(last, indent=2, ensure_ascii=False))
            return
        if len(reports) > 1:
            done = reports[:-1]
            charges = sum(r["ledger"]["charges"] for r in done)
            paid = sum(r["payments"]["matched"] for r in done)
            messages = sum(sum(r["messages"]["decided"].values()) for r in done)
            tasks = sum(sum(r["tasks"]["created"].values()) for r in done)
            self.stdout.write(
                f"Ingehaald / caught up: {done[0]['date']} .. {done[-1]['date']} "
                f"({len(done)} dagen/days): {charges} huurregels/rent charges, {paid} "
                f"betalingen gekoppeld/payments matched, {messages} berichten/messages, "
                f"{tasks} taken/tasks (per dag in / per day in reports/)\n")
        self.stdout.write(format_report(reports[-1]))
