"""`vroeg bank parse FILE [--json]`: show what a bank file contains (no database).

`vroeg bank import FILE...` stores files like the daily run does (without moving them).
`vroeg bank held`, `vroeg bank accept ID [--note]`, `vroeg bank reject ID --reason`:
statements whose balances do not add up wait for a person.
Errors print one line naming the file and the element or line, and exit with code 2.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vroeg.domain.bank.model import BankEntry, BankFileError, ParsedFile, Statement
from vroeg.domain.bank.parse import parse_bank_file


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _text(value: str) -> str | None:
    return value or None


def entry_json(e: BankEntry) -> dict[str, Any]:
    return {
        "amount": _money(e.amount),
        "booked_on": e.booked_on.isoformat(),
        "value_on": e.value_on.isoformat() if e.value_on else None,
        "counterparty_name": _text(e.counterparty_name),
        "counterparty_iban": _text(e.counterparty_iban),
        "remittance": _text(e.remittance),
        "creditor_reference": _text(e.creditor_reference),
        "end_to_end_id": _text(e.end_to_end_id),
        "mandate_id": _text(e.mandate_id),
        "bank_reference": _text(e.bank_reference),
        "reversal": e.reversal,
        "return_reason": _text(e.return_reason),
    }


def statement_json(s: Statement) -> dict[str, Any]:
    return {
        "account_iban": _text(s.account_iban),
        "currency": _text(s.currency),
        "opening_balance": _money(s.opening_balance),
        "closing_balance": _money(s.closing_balance),
        "entries": [entry_json(e) for e in s.entries],
    }


def parsed_json(parsed: ParsedFile) -> dict[str, Any]:
    return {"format": parsed.format,
            "statements": [statement_json(s) for s in parsed.statements],
            "warnings": list(parsed.warnings)}


def _cut(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def table(parsed: ParsedFile) -> str:
    kind = "afschrift / statement" if parsed.is_statement else "melding / notification"
    lines = [f"Formaat / format: {parsed.format} ({kind}), "
             f"{len(parsed.statements)} afschrift(en) / statement(s)"]
    for s in parsed.statements:
        lines.append("")
        lines.append(f"Rekening / account {s.account_iban} {s.currency}  {s.statement_id}")
        lines.append(f"  beginsaldo / opening {_money(s.opening_balance) or '-'}"
                     f"   eindsaldo / closing {_money(s.closing_balance) or '-'}"
                     f"   {len(s.entries)} boeking(en) / entries")
        for e in s.entries:
            flag = f" STORNO {e.return_reason}".rstrip() if e.reversal else ""
            who = e.counterparty_name or e.counterparty_iban
            what = e.creditor_reference or e.remittance
            lines.append(f"  {e.booked_on.isoformat()} {e.amount:>13} {_cut(who, 28):<28} "
                         f"{_cut(what, 40)}{flag}")
    for w in parsed.warnings:
        lines.append(f"Let op / note: {w}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Bankbestanden lezen / read bank files (camt.052/053/054, pain.002, MT940)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("parse", help="toon de inhoud / show the contents (no database)")
        p.add_argument("file", type=Path)
        p.add_argument("--json", action="store_true", help="JSON output")
        i = sub.add_parser("import", help="inlezen in de database / import into the database")
        i.add_argument("files", type=Path, nargs="+")
        i.add_argument("--actor", default="staff:cli")
        sub.add_parser("held", help="bestanden die wachten op controle / files awaiting review")
        a = sub.add_parser("accept", help="accepteer een vastgehouden bestand / accept a held file")
        a.add_argument("id", type=int)
        a.add_argument("--note", default="")
        a.add_argument("--actor", default="staff:cli")
        r = sub.add_parser("reject", help="wijs een vastgehouden bestand af / reject a held file")
        r.add_argument("id", type=int)
        r.add_argument("--reason", required=True)
        r.add_argument("--actor", default="staff:cli")

    def _fail(self, message: str) -> None:
        self.stderr.write(message)
        sys.exit(2)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "parse":
            self._parse(options["file"], as_json=options["json"])
        elif action == "import":
            self._import(options["files"], actor=options["actor"])
        else:
            self._review(action, options)

    def _review(self, action: str, options: dict[str, Any]) -> None:
        from vroeg.banking.actions import ReviewError, accept_held, reject_held
        from vroeg.banking.models import BankFile

        if action == "held":
            for f in BankFile.objects.filter(status=BankFile.Status.HELD).order_by("pk"):
                self.stdout.write(f"#{f.pk} {f.name} ({f.format}, {f.entries} boekingen / "
                                  f"entries)\n  {f.reason}")
            return
        bank_file = BankFile.objects.filter(pk=options["id"]).first()
        if bank_file is None:
            self._fail(f"bankbestand / bank file #{options['id']}: niet gevonden / not found")
            return
        actor = options["actor"]
        try:
            if action == "accept":
                r = accept_held(bank_file, actor, options["note"])
                self.stdout.write(f"#{bank_file.pk} {bank_file.name}: geaccepteerd / accepted, "
                                  f"{r.new_entries} nieuw / new, {r.duplicate_entries} dubbel / "
                                  "duplicate; de volgende run koppelt ze / "
                                  "the next run matches them")
            else:
                reject_held(bank_file, actor, options["reason"])
                self.stdout.write(f"#{bank_file.pk} {bank_file.name}: afgewezen / rejected")
        except ReviewError as exc:
            self._fail(str(exc))

    def _parse(self, path: Path, *, as_json: bool) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._fail(f"{path}: niet te lezen / cannot read: {exc.strerror}")
            return
        try:
            parsed = parse_bank_file(data, str(path))
        except BankFileError as exc:
            self._fail(str(exc))
            return
        if as_json:
            self.stdout.write(json.dumps(parsed_json(parsed), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(table(parsed))

    def _import(self, paths: list[Path], *, actor: str) -> None:
        from vroeg.banking.actions import import_bank_file

        failed = False
        for path in paths:
            if not path.is_file():
                self.stderr.write(f"{path}: niet gevonden / not found")
                failed = True
                continue
            r = import_bank_file(path, actor=actor)
            if r.status == "refused":
                self.stderr.write(r.reason)
                failed = True
                continue
            if r.status == "held":
                self.stdout.write(f"{r.name}: wacht op controle / held (#{r.file_id}): {r.reason}")
                continue
            self.stdout.write(f"{r.name}: {r.status} {r.format}, {r.new_entries} nieuw / new, "
                              f"{r.duplicate_entries} dubbel / duplicate")
            for w in r.warnings:
                self.stdout.write(f"  let op / note: {w}")
        if failed:
            sys.exit(2)
