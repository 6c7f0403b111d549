"""`vroeg sepa collect --date D [--version 001.02|001.08] [--json]`: the day's pain.008 file.

The date is today (Europe/Amsterdam) or later, at most ``MAX_DAYS_AHEAD`` days ahead: a
file for a past day would ask the bank for debits on dates that have gone, and one far
ahead for rent that is not due. (The Python function ``collect(day)`` takes any day:
the simulator replays the past with it.)

`vroeg sepa returns --date D [--json]` handles direct-debit returns now (the daily run
does this itself after matching). Both take the run lock: not while a run is busy.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vroeg.directdebit.actions import CollectResult, DirectDebitError, collect, handle_returns
from vroeg.domain.direct_debit import VERSIONS
from vroeg.runs import clock
from vroeg.runs.lock import RunLocked, run_lock

MAX_LINES = 50  # skipped collections and mandate problems shown; --json has them all
MAX_DAYS_AHEAD = 40  # a file is made at most this many days before its day


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def check_collect_date(day: date, today: date) -> None:
    """Refuse a collection file for a past day or one too far ahead (module text)."""
    if day < today:
        raise CommandError(
            f"--date {day}: ligt in het verleden (vandaag is {today}); een incassobestand "
            f"wordt gemaakt voor vandaag of later / is in the past (today is {today}); a "
            "collection file is made for today or later")
    if (day - today).days > MAX_DAYS_AHEAD:
        raise CommandError(
            f"--date {day}: meer dan {MAX_DAYS_AHEAD} dagen vooruit (vandaag is {today}) / "
            f"more than {MAX_DAYS_AHEAD} days ahead (today is {today})")


def summary(r: CollectResult) -> str:
    lines = []
    if r.status == "written":
        lines += [
            f"SEPA-incassobestand geschreven / direct-debit file written: {r.file}",
            f"  incassodatum / collection date: {r.collect_on}",
            f"  aantal / count: {r.count} (FRST {r.frst}, RCUR {r.rcur}), "
            f"totaal / total: EUR {r.total}",
            f"  pad / path: {r.path}",
        ]
    elif r.status == "already_written":
        lines += [
            f"Geen nieuw bestand: {r.note} / {r.file}",
            f"  aantal / count: {r.count} (FRST {r.frst}, RCUR {r.rcur}), "
            f"totaal / total: EUR {r.total}",
            f"  pad / path: {r.path}",
        ]
    else:
        lines.append(f"Geen bestand: niets te innen op {r.day} / no file: nothing to collect "
                     f"on {r.day}")
    m = r.mandates
    if m.created or m.updated or m.ended:
        lines.append(f"Machtigingen / mandates: {m.created} nieuw/new, {m.updated} "
                     f"gewijzigd/updated, {m.ended} beëindigd/ended")
    if r.cancelled_retries:
        lines.append(f"Herhalingen vervallen / retries cancelled: {r.cancelled_retries}")
    for problem in m.problems[:MAX_LINES]:
        lines.append(f"  machtiging / mandate: {problem}")
    if r.skipped:
        lines.append(f"Overgeslagen / skipped: {len(r.skipped)}")
        for reason, n in r.skipped_by_reason.items():
            lines.append(f"  {n} x {reason}")
        lines.append("  per huurovereenkomst / by tenancy:")
        for s in r.skipped[:MAX_LINES]:
            after = f" (vanaf / from {s['not_before']})" if s.get("not_before") else ""
            lines.append(f"  {s['tenancy']} {s['period']}: {s['reason']}{after}")
    more = max(0, len(r.skipped) - MAX_LINES) + max(0, len(m.problems) - MAX_LINES)
    if more:
        lines.append(f"  ... en nog {more} / and {more} more (--json)")
    return "\n".join(lines)


def _bank_is_current(today: date) -> None:
    """What was collected already is read from the bank statements: without the latest
    ones a month could be debited twice. Refused, as the run holds its steps."""
    from vroeg.collection.evaluate import latest_booking_day
    from vroeg.collection.flows import active_flow
    from vroeg.domain.flow import bank_hold

    why = bank_hold(latest_booking_day(today), today, active_flow())
    if why:
        raise DirectDebitError(f"{why}. Lees eerst de bankafschriften in (vroeg import of "
                               f"inbox/, dan vroeg run) / import the bank statements first")


class Command(BaseCommand):
    help = "SEPA-incasso / SEPA direct debit: pain.008-bestand maken, retouren verwerken."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("collect", help="pain.008-bestand van de dag / the day's pain.008 "
                                           "file")
        c.add_argument("--date", default=None,
                       help="dag van het bestand / day of the file, YYYY-MM-DD (default today)")
        c.add_argument("--version", choices=VERSIONS, default="001.02",
                       help="pain.008-versie / version (default 001.02)")
        c.add_argument("--json", action="store_true", help="JSON output")
        c.add_argument("--actor", default="system:sepa")
        r = sub.add_parser("returns", help="retouren verwerken / handle returns")
        r.add_argument("--date", default=None, help="YYYY-MM-DD (default today)")
        r.add_argument("--json", action="store_true", help="JSON output")
        r.add_argument("--actor", default="system:sepa")

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.core.management import call_command

        try:
            day = _date(opts["date"]) if opts["date"] else clock.today()
        except ValueError:
            raise CommandError(f"--date {opts['date']!r}: geen datum / not a date "
                               "(YYYY-MM-DD)") from None
        if opts["action"] == "collect":
            check_collect_date(day, clock.today())
        call_command("migrate", verbosity=0, interactive=False)
        try:
            with run_lock():
                if opts["action"] == "collect":
                    _bank_is_current(clock.today())
                    result = collect(day, opts["version"], actor=opts["actor"])
                    out = (json.dumps(result.as_json(), indent=2, ensure_ascii=False)
                           if opts["json"] else summary(result))
                else:
                    returns = handle_returns(day, actor=opts["actor"])
                    out = (json.dumps(returns.as_json(), indent=2, ensure_ascii=False)
                           if opts["json"] else
                           f"Incasso-retouren / direct-debit returns {day}: {returns.handled} "
                           f"verwerkt/handled, {returns.retries_planned} nieuwe poging/retry "
                           f"planned, {returns.stopped} gestopt/stopped, {returns.refunded} "
                           f"terugboeking/refund, {returns.settled} ontvangen/settled")
        except (DirectDebitError, RunLocked) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(out)
