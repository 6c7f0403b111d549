"""vroeg demo [--tenancies N] [--seed S] [--date D] [--json] [--no-run]

Builds the demo corporation: a fictitious portfolio (default 15,000 tenancies) with a
year of varied payment behaviour, delivered into the inbox as its ERP and bank would
deliver it (tenancies.csv, a camt.053 statement per history month, one per business
day of the last 30 days). Then the daily job runs over it through the same import and
run code as real data: first for D-30 (imports everything, books the history), then
for D (catches up day by day), and prints the day report of D.

Idempotent: the same seed and date write the same bytes; the import recognises files
it has seen and the run finds nothing new.
"""

from __future__ import annotations

import io
import json
import time
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from vroeg.demo.build import write_portfolio
from vroeg.demo.population import ArrearsBook, behaviour_counts, generate
from vroeg.home import inbox
from vroeg.runs.clock import today

WINDOW_DAYS = 30


class Command(BaseCommand):
    help = ("Bouw de demo-corporatie en draai de dagelijkse run over de laatste 30 dagen / "
            "build the demo corporation and run the daily job over its last 30 days.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenancies", type=int, default=15_000,
                            help="number of tenancies (default 15000)")
        parser.add_argument("--seed", type=int, default=1,
                            help="random seed: the same seed gives the same files (default 1)")
        parser.add_argument("--date", type=date.fromisoformat, default=None,
                            help="the demo's today, YYYY-MM-DD (default: today, "
                                 "Europe/Amsterdam)")
        parser.add_argument("--json", action="store_true",
                            help="print the day report (or with --no-run the files) as JSON")
        parser.add_argument("--no-run", action="store_true",
                            help="only write the files into the inbox; do not run")

    def say(self, message: str) -> None:
        self.stderr.write(message)
        self.stderr.flush()

    def handle(self, *args: Any, **opts: Any) -> None:
        n = opts["tenancies"]
        if n < 1:
            raise CommandError("--tenancies moet minstens 1 zijn / must be at least 1")
        day: date = opts["date"] or today()
        if day > today() and not opts["no_run"]:
            raise CommandError(f"--date {day} ligt in de toekomst / is in the future "
                               "(the run cannot run a future date; use --no-run for files only)")
        iban = settings.VROEG_CORPORATION["iban"].replace(" ", "").upper()
        own = settings.VROEG_BANK_ACCOUNTS
        if own and iban not in own:
            raise CommandError(f"De rekening van de corporatie / the corporation's account "
                               f"{iban} staat niet in / is not in VROEG_BANK_ACCOUNTS: the "
                               "import would refuse the demo's statements")

        started = time.perf_counter()
        self.say(f"demo: {n} huurovereenkomsten / tenancies, seed {opts['seed']}, "
                 f"datum / date {day}")
        self.say("demo: genereren / generating population and payment history ...")
        t0 = time.perf_counter()
        portfolio = generate(n, seed=opts["seed"], today=day, corporation_iban=iban,
                             window_days=WINDOW_DAYS)
        period = portfolio.period
        counts = behaviour_counts(portfolio)
        self.say(f"demo: {portfolio.households()} huishoudens / households, "
                 f"{len(portfolio.entries)} bankboekingen / bank entries "
                 f"{period.history_start} .. {period.today} "
                 f"({time.perf_counter() - t0:.1f}s)")
        self.say("demo: gedrag / behaviour: "
                 + ", ".join(f"{k} {v}" for k, v in counts.items()))
        profile = ArrearsBook(portfolio).profile(day)
        # The generator's own count, for calibration: only charges more than 5 days
        # past due. The day report counts every unpaid euro past its due date.
        self.say(f"demo: kalibratie / calibration on {day}: {profile.share:.1%} van de "
                 f"huishoudens > 5 dagen achter / of households more than 5 days behind")

        folder = inbox()
        self.say(f"demo: bestanden schrijven / writing files into {folder} ...")
        t0 = time.perf_counter()
        written = write_portfolio(portfolio, folder, progress=self.say)
        size = sum(w.size for w in written)
        unchanged = sum(1 for w in written if not w.changed)
        self.say(f"demo: {len(written)} bestanden / files, {size / 1e6:.1f} MB"
                 + (f" ({unchanged} ongewijzigd / unchanged)" if unchanged else "")
                 + f" ({time.perf_counter() - t0:.1f}s)")

        if opts["no_run"]:
            summary = {"date": day.isoformat(), "seed": opts["seed"], "tenancies": n,
                       "households": portfolio.households(),
                       "history_start": period.history_start.isoformat(),
                       "window_start": period.window_start.isoformat(),
                       "bank_entries": len(portfolio.entries), "behaviour": counts,
                       "files": [{"name": w.path.name, "bytes": w.size, "changed": w.changed}
                                 for w in written]}
            if opts["json"]:
                self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            else:
                self.stdout.write(f"{len(written)} bestanden in / files in {folder}; "
                                  f"draai / run: vroeg run --date {day}")
            return

        first = day - timedelta(days=WINDOW_DAYS)
        self.say(f"demo: run {first}: inlezen en historie boeken / import and book the "
                 "history ...")
        t0 = time.perf_counter()
        call_command("run", f"--date={first.isoformat()}", stdout=io.StringIO(),
                     stderr=self.stderr)
        self.say(f"demo: run {first} klaar / done ({time.perf_counter() - t0:.1f}s)")
        self.say(f"demo: run {first + timedelta(days=1)} .. {day}, dag voor dag / day by day ...")
        t0 = time.perf_counter()
        # --replay: the demo plays its 30 days as if each had been run on its own day
        # (each day sends its own messages), not as a catch-up after an outage.
        run_args = [f"--date={day.isoformat()}", "--replay"] + (
            ["--json"] if opts["json"] else [])
        call_command("run", *run_args, stdout=self.stdout, stderr=self.stderr)
        self.say(f"demo: klaar / done ({time.perf_counter() - t0:.1f}s; totaal / total "
                 f"{time.perf_counter() - started:.1f}s)")
