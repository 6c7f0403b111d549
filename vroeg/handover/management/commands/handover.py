"""`vroeg handover ...`: bailiff hand-over proposals (overdracht deurwaarder).

`vroeg handover list [--status S] [--json]`
`vroeg handover dossier ID`                      (re)build the dossier, print its folder
`vroeg handover approve ID --by NAME [--note TEXT] [--date YYYY-MM-DD]`
`vroeg handover reject ID --by NAME --note TEXT [--date YYYY-MM-DD]`

A decision is always a person's: --by names them (never "system:..."). Errors print
one line and exit with code 2.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

import vroeg.handover.dossier as dossier
from vroeg.audit.actions import audit
from vroeg.collection.actions import ActionError
from vroeg.handover.actions import approve, build_dossier, reject
from vroeg.handover.models import HandoverProposal
from vroeg.messaging.render import format_money

STATUSES = [s.value for s in HandoverProposal.Status]


class BadInput(Exception):
    """One line for the user: what is wrong."""


def _fail(message: str) -> NoReturn:
    sys.stderr.write(message.strip().splitlines()[0] + "\n")
    sys.exit(2)


class _OneLineParser(CommandParser):
    """argparse errors as one line (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        _fail(f"vroeg handover: {message}")


def _as_json(p: HandoverProposal) -> dict[str, Any]:
    return {
        "id": p.pk, "status": p.status, "case": p.case_id, "tenancy": p.tenancy.code,
        "proposed_on": p.proposed_on.isoformat(), "arrears": f"{p.arrears:f}",
        "months_in_arrears": f"{p.months_in_arrears:f}",
        "decided_on": p.decided_on.isoformat() if p.decided_on else None,
        "decided_by": p.decided_by or None,
        "collection_costs": f"{p.collection_costs:f}" if p.collection_costs is not None
        else None,
        "dossier_folder": p.dossier_folder or None,
    }


class Command(BaseCommand):
    help = ("Overdracht deurwaarder / bailiff hand-over: voorstellen tonen, dossier maken, "
            "goedkeuren of afwijzen / list proposals, build a dossier, approve or reject.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser  # the top level too: one line for a bad action
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", parser_class=_OneLineParser)
        ls = sub.add_parser("list", help="voorstellen / proposals")
        ls.add_argument("--status", help=f"alleen / only: {', '.join(STATUSES)}")
        ls.add_argument("--json", action="store_true", help="JSON output")
        d = sub.add_parser("dossier", help="dossier (opnieuw) maken / (re)build the dossier")
        d.add_argument("id", nargs="?", metavar="ID")
        for name, text in (("approve", "goedkeuren / approve"), ("reject", "afwijzen / reject")):
            a = sub.add_parser(name, help=text)
            a.add_argument("id", nargs="?", metavar="ID")
            a.add_argument("--by", help="wie besluit / who decides (a person)")
            a.add_argument("--note", default="", help="toelichting / note (required to reject)")
            a.add_argument("--date", help="besluitdatum / decision date, YYYY-MM-DD (default "
                                          "today)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get("action")
        try:
            if action == "list":
                self._list(options)
            elif action == "dossier":
                self._dossier(options)
            elif action in ("approve", "reject"):
                self._decide(action, options)
            else:
                raise BadInput("vroeg handover: kies / choose list, dossier, approve of/or "
                               "reject")
        except (BadInput, ActionError) as exc:
            _fail(str(exc))

    # --- sub-commands ----------------------------------------------------------------

    def _list(self, options: dict[str, Any]) -> None:
        qs = HandoverProposal.objects.select_related("tenancy").order_by("proposed_on", "id")
        status = options.get("status")
        if status:
            if status not in STATUSES:
                raise BadInput(f"--status: onbekend / unknown {status!r} (kies / choose "
                               f"{', '.join(STATUSES)})")
            qs = qs.filter(status=status)
        proposals = list(qs)
        if options.get("json"):
            self.stdout.write(json.dumps([_as_json(p) for p in proposals], indent=2,
                                         ensure_ascii=False))
            return
        if not proposals:
            self.stdout.write("Geen voorstellen / no proposals")
            return
        for p in proposals:
            decided = (f"{p.decided_on.isoformat()} {p.decided_by}" if p.decided_on else "-")
            self.stdout.write(
                f"{p.pk:>6}  {p.get_status_display():<28}  {p.proposed_on.isoformat()}  "
                f"{p.tenancy.code:<14}  {format_money(p.arrears):>12}  "
                f"{p.months_in_arrears} mnd/months  besloten/decided: {decided}")

    def _dossier(self, options: dict[str, Any]) -> None:
        p = self._proposal(options)
        try:
            folder = build_dossier(p)
        except OSError as exc:
            raise BadInput(f"dossier {p.pk} niet geschreven / not written "
                           f"({type(exc).__name__})") from None
        audit(_cli_actor(), "handover.dossier", p, summary=f"dossier {p.pk} gemaakt / built")
        self.stdout.write(f"Dossier overdracht / hand-over dossier {p.pk}: {folder}")
        for name in dossier.FILES:
            self.stdout.write(f"  {folder / name}")

    def _decide(self, action: str, options: dict[str, Any]) -> None:
        p = self._proposal(options)
        by = (options.get("by") or "").strip()
        if not by:
            raise BadInput(f"--by: wie besluit? / who decides? (vroeg handover {action} ID "
                           f"--by NAME)")
        note = options.get("note") or ""
        if action == "reject" and not note.strip():
            raise BadInput("--note: een afwijzing heeft een toelichting nodig / a rejection "
                           "needs a note")
        on = self._date(options.get("date"))
        if action == "approve":
            p = approve(p, actor=by, on=on, note=note)
            costs = (format_money(p.collection_costs) if p.collection_costs is not None
                     else "geen / none")
            self.stdout.write(f"Voorstel {p.pk} goedgekeurd / proposal {p.pk} approved "
                              f"({on.isoformat()}); incassokosten / collection costs: {costs}")
            self.stdout.write(f"Dossier: {dossier.folder_for(p)}")
        else:
            p = reject(p, actor=by, on=on, note=note)
            self.stdout.write(f"Voorstel {p.pk} afgewezen / proposal {p.pk} rejected "
                              f"({on.isoformat()})")

    # --- input -------------------------------------------------------------------------

    @staticmethod
    def _proposal(options: dict[str, Any]) -> HandoverProposal:
        raw = (options.get("id") or "").strip()
        if not raw:
            raise BadInput("ID: ontbreekt / missing (het nummer van het voorstel / the "
                           "proposal's number)")
        if not raw.isdigit():
            raise BadInput(f"ID: geen nummer / not a number: {raw!r}")
        p = HandoverProposal.objects.select_related("tenancy").filter(pk=int(raw)).first()
        if p is None:
            raise BadInput(f"voorstel {raw} bestaat niet / no proposal {raw}")
        return p

    @staticmethod
    def _date(value: str | None) -> date:
        if not value:
            from vroeg.runs.clock import today

            return today()
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise BadInput(f"--date: geen datum (JJJJ-MM-DD) / not a date (YYYY-MM-DD): "
                           f"{value!r}") from None


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
