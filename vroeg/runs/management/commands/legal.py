"""`vroeg legal ...`: the Dutch law calculators (no database).

`vroeg legal costs AMOUNT [--on DATE] [--monthly AMOUNT] [--charged AMOUNT] [--vat] [--json]`
`vroeg legal interest AMOUNT --from DATE --to DATE [--json]`
`vroeg legal deadline --sent DATE [--delivery-days N] [--json]`

Amounts are euros ("1234.56" or "1234,56"); dates are YYYY-MM-DD. Without --json the
output is the readable explanation, Dutch first, English second. Bad input prints one
line naming the argument and exits with code 2.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from vroeg.domain.calendar import AMSTERDAM
from vroeg.domain.legal import collection_costs, fourteen_day_deadline, statutory_interest
from vroeg.domain.money import parse_amount

NEGATIVE = re.compile(r"^-\d")
DATE_OPTIONS = ("--on", "--from", "--to", "--sent")
AMOUNT_OPTIONS = ("--monthly", "--charged")


class BadInput(Exception):
    """One line for the user: which argument, and what is wrong with it."""


def _amount(value: str | None, name: str, *, required: bool = True) -> Decimal | None:
    if value is None:
        if required:
            raise BadInput(f"{name}: ontbreekt / missing")
        return None
    try:
        amount = parse_amount(value)
    except ValueError:
        raise BadInput(f"{name}: geen bedrag / not an amount: {value!r}") from None
    if amount < 0:
        raise BadInput(f"{name}: negatief bedrag / negative amount: {value!r}")
    if -int(amount.as_tuple().exponent) > 2:
        # "1.000" is one euro in parse_amount; refuse rather than guess a thousand.
        raise BadInput(f"{name}: hoogstens 2 decimalen / at most 2 decimals: {value!r}")
    return amount


def _required_amount(value: str | None, name: str) -> Decimal:
    amount = _amount(value, name)
    assert amount is not None
    return amount


def _date(value: str | None, name: str) -> date:
    if value is None:
        raise BadInput(f"{name}: ontbreekt / missing (JJJJ-MM-DD / YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"{name}: geen datum (JJJJ-MM-DD) / not a date (YYYY-MM-DD): "
                       f"{value!r}") from None


def _delivery_days(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 2:
        raise BadInput(f"--delivery-days: een geheel getal ≥ 2 / a whole number >= 2: {value!r}")
    return int(value)


def _money(value: Decimal) -> str:
    return str(value)


class Command(BaseCommand):
    help = ("Wettelijke berekeningen / legal calculators: incassokosten (WIK), wettelijke rente, "
            "termijn veertiendagenbrief / collection costs, statutory interest, 14-day deadline.")
    requires_system_checks: list[str] = []  # pure calculators: no database, no apps

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("costs", help="incassokosten / collection costs (WIK)")
        c.add_argument("amount", metavar="AMOUNT", nargs="?", help="hoofdsom / principal")
        c.add_argument("--on", help="datum van de kosten / date of the costs (default: today)")
        c.add_argument("--monthly", help="maandbedrag bij terugkerende vordering / monthly "
                                         "amount of a recurring claim")
        c.add_argument("--charged", help="al berekende kosten in de laatste 6 maanden / costs "
                                         "already charged in the last 6 months")
        c.add_argument("--vat", action="store_true",
                       help="btw erbij (niet verrekenbaar) / add VAT (not reclaimable)")
        c.add_argument("--json", action="store_true", help="JSON output")
        i = sub.add_parser("interest", help="wettelijke rente / statutory interest")
        i.add_argument("amount", metavar="AMOUNT", nargs="?", help="hoofdsom / principal")
        i.add_argument("--from", dest="from_on", help="begin verzuim / first day of default")
        i.add_argument("--to", dest="to_on", help="dag van betaling / day of payment")
        i.add_argument("--json", action="store_true", help="JSON output")
        d = sub.add_parser("deadline", help="termijn veertiendagenbrief / 14-day letter deadline")
        d.add_argument("--sent", help="verzenddatum / date sent")
        d.add_argument("--delivery-days", default="2",
                       help="aangenomen bezorging in werkdagen / assumed delivery, working days")
        d.add_argument("--json", action="store_true", help="JSON output")

    def run_from_argv(self, argv: list[str]) -> None:
        # argparse takes "-12,50" for an option; name it as the negative amount it is.
        for before, arg in zip(argv[2:], argv[3:], strict=False):
            if not NEGATIVE.match(arg):
                continue
            try:
                if before in DATE_OPTIONS:
                    _date(arg, before)
                elif before == "--delivery-days":
                    _delivery_days(arg)
                else:
                    _amount(arg, before if before in AMOUNT_OPTIONS else "AMOUNT")
            except BadInput as exc:
                self._fail(str(exc))
        super().run_from_argv(argv)

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(message)
        sys.exit(2)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "costs":
                out, text = self._costs(options)
            elif action == "interest":
                out, text = self._interest(options)
            else:
                out, text = self._deadline(options)
        except BadInput as exc:
            self._fail(str(exc))
        if options["json"]:
            self.stdout.write(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(text)

    def _costs(self, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
        principal = _required_amount(options["amount"], "AMOUNT")
        on = (_date(options["on"], "--on") if options["on"] is not None
              else datetime.now(AMSTERDAM).date())
        monthly = _amount(options["monthly"], "--monthly", required=False)
        charged = _amount(options["charged"], "--charged", required=False) or Decimal(0)
        try:
            r = collection_costs(principal, on, monthly_amount=monthly, vat=options["vat"],
                                 charged_last_6_months=charged)
        except ValueError as exc:  # a date before the table (the WIK started 2012-07-01)
            raise BadInput(f"--on: {exc}") from None
        return ({"principal": _money(r.principal), "costs": _money(r.costs),
                 "vat": _money(r.vat), "total": _money(r.total),
                 "costs_with_vat": _money(r.costs_with_vat),
                 "scale_costs": _money(r.scale_costs), "capped": r.capped,
                 "on": on.isoformat(), "explanation": r.explanation}, r.explanation)

    def _interest(self, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
        principal = _required_amount(options["amount"], "AMOUNT")
        from_on = _date(options["from_on"], "--from")
        to_on = _date(options["to_on"], "--to")
        if to_on < from_on:
            raise BadInput(f"--to: {to_on.isoformat()} ligt vóór --from / is before --from "
                           f"{from_on.isoformat()}")
        try:
            r = statutory_interest(principal, from_on, to_on)
        except ValueError as exc:  # before the rate table's first row
            raise BadInput(f"--from: {exc}") from None
        periods = [{"from": p.from_on.isoformat(), "to": p.to_on.isoformat(), "days": p.days,
                    "rate": str(p.rate), "base": _money(p.base), "interest": _money(p.interest),
                    "year": p.year} for p in r.periods]
        return ({"principal": _money(r.principal), "from": from_on.isoformat(),
                 "to": to_on.isoformat(), "interest": _money(r.interest),
                 "total": _money(r.total), "periods": periods,
                 "explanation": r.explanation}, r.explanation)

    def _deadline(self, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
        sent_on = _date(options["sent"], "--sent")
        d = fourteen_day_deadline(sent_on, _delivery_days(str(options["delivery_days"])))
        return ({"sent_on": sent_on.isoformat(), "received_on": d.received_on.isoformat(),
                 "deadline": d.deadline.isoformat(), "explanation": d.explanation},
                d.explanation)
