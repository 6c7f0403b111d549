"""`vroeg payments ...`: payment links (betaallinks).

`vroeg payments list [--status S] [--json]`
`vroeg payments check ID`      fetch the payment from the provider and apply it (a missed
                               webhook); ID is the link number, its token or the
                               provider's payment id
`vroeg payments expire`        mark links whose time is up as expired

Errors print one line and exit with code 2.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q

from vroeg.payments import actions
from vroeg.payments.models import PaymentLink
from vroeg.payments.providers.base import PaymentProviderError

STATUSES = [s.value for s in PaymentLink.Status]


class BadInput(Exception):
    """One line for the user: what is wrong."""


def _fail(message: str) -> NoReturn:
    sys.stderr.write(message.strip().splitlines()[0] + "\n")
    sys.exit(2)


class _OneLineParser(CommandParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"vroeg payments: {message}")


def _as_json(link: PaymentLink) -> dict[str, Any]:
    return {
        "id": link.pk, "tenancy": link.tenancy.code, "amount": f"{link.amount:f}",
        "status": link.status, "provider": link.provider,
        "provider_payment_id": link.provider_payment_id or None,
        "provider_status": link.provider_status or None,
        "created_at": link.created_at.isoformat(), "expires_at": link.expires_at.isoformat(),
        "paid_at": link.paid_at.isoformat() if link.paid_at else None,
        "paid_amount": f"{link.paid_amount:f}" if link.paid_amount is not None else None,
        "ledger_source_key": link.ledger_source_key or None, "url": actions.url_of(link),
    }


class Command(BaseCommand):
    help = ("Betaallinks / payment links: tonen, controleren bij de provider, laten verlopen "
            "/ list, check at the provider, expire.")

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", parser_class=_OneLineParser)
        ls = sub.add_parser("list", help="betaallinks / payment links")
        ls.add_argument("--status", help=f"alleen / only: {', '.join(STATUSES)}")
        ls.add_argument("--json", action="store_true", help="JSON output")
        c = sub.add_parser("check", help="controleren bij provider / check at provider")
        c.add_argument("id", nargs="?", metavar="ID")
        sub.add_parser("expire", help="verlopen links markeren / mark expired links")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get("action")
        try:
            if action == "list":
                self._list(options)
            elif action == "check":
                self._check(options.get("id") or "")
            elif action == "expire":
                n = actions.expire_links(actor="cli")
                self.stdout.write(f"{n} betaallinks verlopen / payment links expired")
            else:
                raise BadInput("vroeg payments: kies / choose list, check of/or expire")
        except (BadInput, PaymentProviderError) as exc:
            _fail(str(exc))

    def _list(self, options: dict[str, Any]) -> None:
        qs = PaymentLink.objects.select_related("tenancy").order_by("created_at", "id")
        status = options.get("status")
        if status:
            if status not in STATUSES:
                raise BadInput(f"--status: onbekend / unknown {status!r} (kies / choose "
                               f"{', '.join(STATUSES)})")
            qs = qs.filter(status=status)
        links = list(qs)
        if options.get("json"):
            self.stdout.write(json.dumps([_as_json(k) for k in links], indent=2,
                                         ensure_ascii=False))
            return
        if not links:
            self.stdout.write("Geen betaallinks / no payment links")
            return
        for k in links:
            self.stdout.write(f"{k.pk:>6} {k.tenancy.code:<14} {k.amount:>10} {k.status:<8} "
                              f"{k.provider:<7} {k.provider_status or '-':<9} "
                              f"{k.expires_at:%Y-%m-%d}")

    def _check(self, ident: str) -> None:
        if not ident:
            raise BadInput("vroeg payments check: geef een ID / give an ID")
        q = Q(token=ident) | Q(provider_payment_id=ident)
        if ident.isdigit():
            q |= Q(pk=int(ident))
        link = PaymentLink.objects.select_related("tenancy").filter(q).first()
        if link is None:
            raise BadInput(f"vroeg payments check: onbekende betaallink / unknown payment link "
                           f"{ident!r}")
        if not link.provider_payment_id:
            self.stdout.write(f"{link.pk}: nog niet aangeklikt, niets te controleren / not "
                              f"clicked yet, nothing to check")
            return
        actions.check(link, actor="cli")
        booked = f", geboekt / booked: {link.ledger_source_key}" if link.ledger_source_key else ""
        self.stdout.write(f"{link.pk}: {link.status} ({link.provider} "
                          f"{link.provider_status}){booked}")
