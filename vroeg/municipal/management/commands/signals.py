"""`vroeg signals ...`: municipal signals (vroegsignalen) from the command line.

    vroeg signals list [--status S] [--json]
    vroeg signals deliver [--date D] [--json]
    vroeg signals feedback SIGNAL_ID KIND [--on D] [--note TEXT] [--actor A]
    vroeg signals export --date D [--municipality M]

`list` shows no names or addresses (tenancy code, municipality and amounts only).
`deliver` takes the run lock, like the daily run. Bad input or a refused request
prints one line and exits with code 2.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from vroeg.domain.legal.wgs import signal_is_stale
from vroeg.municipal.actions import (
    DeliveryResult,
    SignalError,
    deliver_signals,
    export_day,
    record_feedback,
)
from vroeg.municipal.adapters import AdapterError
from vroeg.municipal.models import MunicipalFeedback, MunicipalSignal
from vroeg.runs.clock import today
from vroeg.runs.lock import RunLocked, run_lock


class BadInput(Exception):
    """One line for the user."""


def _date(value: str | None, name: str) -> date:
    if value is None:
        raise BadInput(f"{name}: ontbreekt / missing (JJJJ-MM-DD / YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"{name}: geen datum (JJJJ-MM-DD) / not a date (YYYY-MM-DD): "
                       f"{value!r}") from None


def _row(s: MunicipalSignal, on: date) -> dict[str, Any]:
    return {
        "id": s.pk, "case": s.case_id, "tenancy": s.tenancy.code,
        "municipality": s.municipality, "status": s.status,
        "created_on": s.created_on.isoformat(),
        "sent_on": s.sent_on.isoformat() if s.sent_on else None,
        "arrears": str(s.arrears), "months_in_arrears": str(s.months_in_arrears),
        "adapter": s.adapter, "reference": s.external_reference, "proof_file": s.proof_file,
        "attempts": s.attempts, "last_error": s.last_error,
        "stale": signal_is_stale(s.sent_on, on) if s.sent_on else False,
        "feedback": [f.kind for f in s.feedback.all()],
    }


def delivery_summary(r: DeliveryResult) -> str:
    lines = [f"Vroegsignalen {r.day.isoformat()}: {r.sent} verstuurd / sent, {r.failed} "
             f"mislukt / failed, {r.withdrawn} ingetrokken / withdrawn"]
    for municipality, c in sorted(r.by_municipality.items()):
        lines.append(f"  {municipality}: {c['sent']} verstuurd / sent, {c['failed']} mislukt / "
                     f"failed" + (f", {c['withdrawn']} ingetrokken / withdrawn"
                                  if c["withdrawn"] else ""))
    lines += [f"  fout / error: {e}" for e in r.errors]
    lines += [f"  bestand / file: {f}" for f in r.files]
    return "\n".join(lines)


class Command(BaseCommand):
    help = ("Vroegsignalen gemeente / municipal signals: tonen, versturen, terugmelding "
            "vastleggen, bestanden opnieuw schrijven / list, deliver, record feedback, export.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="signalen tonen / list signals")
        ls.add_argument("--status", choices=MunicipalSignal.Status.values,
                        help="alleen deze status / only this status")
        ls.add_argument("--json", action="store_true", help="JSON output")
        d = sub.add_parser("deliver", help="klaarstaande signalen versturen / send ready signals")
        d.add_argument("--date", help="verzenddag / delivery day, YYYY-MM-DD (default today)")
        d.add_argument("--json", action="store_true", help="JSON output")
        d.add_argument("--actor", default="system:signals")
        f = sub.add_parser("feedback", help="terugmelding gemeente vastleggen / record the "
                                            "municipality's feedback")
        f.add_argument("signal_id", metavar="SIGNAL_ID")
        f.add_argument("kind", metavar="KIND",
                       help="soort / kind: " + ", ".join(MunicipalFeedback.Kind.values))
        f.add_argument("--on", help="datum terugmelding / date, YYYY-MM-DD (default today)")
        f.add_argument("--note", default="", help="toelichting / note")
        f.add_argument("--actor", default=None, help="door / by (default cli:<user>)")
        e = sub.add_parser("export", help="bestanden van een dag opnieuw schrijven / write a "
                                          "day's files again")
        e.add_argument("--date", help="verzenddag / day sent, YYYY-MM-DD")
        e.add_argument("--municipality", help="alleen deze gemeente / only this municipality")
        e.add_argument("--actor", default=None)

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(message.splitlines()[0] if message else "fout / error")
        sys.exit(2)

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except (BadInput, SignalError, AdapterError, RunLocked) as exc:
            self._fail(str(exc))

    def _actor(self, opts: dict[str, Any]) -> str:
        if opts.get("actor"):
            return str(opts["actor"])
        try:
            return f"cli:{getpass.getuser()}"
        except (KeyError, OSError):
            return "cli:unknown"

    def _list(self, opts: dict[str, Any]) -> None:
        qs = (MunicipalSignal.objects.select_related("tenancy").prefetch_related("feedback")
              .order_by("id"))
        if opts["status"]:
            qs = qs.filter(status=opts["status"])
        on = today()
        rows = [_row(s, on) for s in qs]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("Geen signalen / no signals")
            return
        for r in rows:
            flags = " VEROUDERD/STALE" if r["stale"] else ""
            error = f"  fout / error: {r['last_error']}" if r["last_error"] else ""
            self.stdout.write(
                f"{r['id']:>6}  {r['status']:<9}  {r['created_on']}  {r['sent_on'] or '-':<10}  "
                f"{r['municipality']:<20}  {r['tenancy']:<12}  EUR {r['arrears']:>10}"
                f"{flags}{error}")

    def _deliver(self, opts: dict[str, Any]) -> None:
        day = _date(opts["date"], "--date") if opts["date"] else today()
        with run_lock():
            result = deliver_signals(day, actor=opts["actor"])
        self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=2)
                          if opts["json"] else delivery_summary(result))

    def _feedback(self, opts: dict[str, Any]) -> None:
        raw = str(opts["signal_id"]).strip()
        if not raw.isdigit():
            raise BadInput(f"SIGNAL_ID: geen nummer / not a number: {raw!r}")
        signal = MunicipalSignal.objects.filter(pk=int(raw)).first()
        if signal is None:
            raise BadInput(f"signaal {raw} bestaat niet / signal {raw} does not exist")
        kind = str(opts["kind"]).strip()
        if kind not in MunicipalFeedback.Kind.values:
            raise BadInput(f"KIND: onbekend / unknown {kind!r} (known: "
                           f"{', '.join(MunicipalFeedback.Kind.values)})")
        on = _date(opts["on"], "--on") if opts["on"] else today()
        fb = record_feedback(signal, kind=kind, on=on, note=opts["note"] or "",
                             actor=self._actor(opts))
        self.stdout.write(f"Terugmelding {fb.pk} vastgelegd / feedback recorded: signaal "
                          f"{signal.pk}, {kind}, {on.isoformat()}"
                          + (f"\n  {fb.effect}" if fb.effect else ""))

    def _export(self, opts: dict[str, Any]) -> None:
        day = _date(opts["date"], "--date")
        files = export_day(day, actor=self._actor(opts), municipality=opts["municipality"])
        if not files:
            raise BadInput(f"geen verstuurde signalen op {day.isoformat()} / no signals sent on "
                           f"that day" + (f" to {opts['municipality']}"
                                          if opts["municipality"] else ""))
        self.stdout.write(f"{len(files)} bestanden geschreven / files written:")
        for f in files:
            self.stdout.write(f"  {f}")
