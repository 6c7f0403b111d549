"""`vroeg message preview STEP --tenancy CODE [--lang L] [--channel C] [--date D]
[--html FILE | --pdf FILE]`: exactly what the daily run would send for a flow step to
one tenancy today (or on --date).

The context is built the way the run builds it (collection/apply.py step_context:
the arrears of that day, the step's extras such as the 14-day letter's figures, the
staff's own texts); the channel is the step's first channel the household can be
reached on, the language the household's, unless --channel or --lang say otherwise.
Prints the subject and the text; --html writes the HTML (email or letter), --pdf the
letter as PDF. Nothing is written to the database except the audit row of the view
(the preview shows a tenant's data). Bad input: one line, exit code 2.
"""

from __future__ import annotations

import getpass
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from vroeg.messaging.render import CHANNELS, RenderError


class BadInput(Exception):
    pass


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"--date: geen datum (JJJJ-MM-DD) / not a date (YYYY-MM-DD): "
                       f"{value!r}") from None


class Command(BaseCommand):
    help = ("Berichten bekijken zoals ze verstuurd worden / preview messages as they "
            "would be sent.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        preview = sub.add_parser(
            "preview", help="wat een stap vandaag naar een huurder stuurt / what a step "
                            "would send to a tenancy today")
        preview.add_argument("step", help="stap-id uit het beleid / step id in the flow")
        preview.add_argument("--tenancy", required=True,
                             help="overeenkomstcode / tenancy code")
        preview.add_argument("--lang", default=None,
                             help="taal (standaard: die van het huishouden) / language "
                                  "(default: the household's)")
        preview.add_argument("--channel", choices=CHANNELS, default=None,
                             help="kanaal (standaard: het eerste bruikbare van de stap) / "
                                  "channel (default: the step's first usable one)")
        preview.add_argument("--date", default=None,
                             help="dag van de run (standaard vandaag) / run day (default "
                                  "today), YYYY-MM-DD")
        out = preview.add_mutually_exclusive_group()
        out.add_argument("--html", metavar="FILE", help="schrijf de HTML / write the HTML")
        out.add_argument("--pdf", metavar="FILE",
                         help="schrijf de brief als PDF / write the letter as PDF")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            self._preview(opts)
        except BadInput as exc:
            self._fail(str(exc))
        except RenderError as exc:
            self._fail(f"sjabloon / template: {exc}")

    def _fail(self, text: str) -> NoReturn:
        self.stderr.write(f"FOUT / ERROR: {text}")
        sys.exit(2)

    def _preview(self, opts: dict[str, Any]) -> None:
        from vroeg.audit.actions import audit
        from vroeg.collection.apply import send_slot, step_context
        from vroeg.collection.flows import active_flow
        from vroeg.collection.snapshots import gather
        from vroeg.domain.calendar import AMSTERDAM
        from vroeg.domain.flow import FlowError, choose_channels
        from vroeg.messaging.render import channels_of, language_used, render
        from vroeg.portfolio.models import Tenancy
        from vroeg.runs.clock import run_clock, today

        run_on = _date(opts.get("date")) or today()
        try:
            flow = active_flow()
        except FlowError as exc:
            raise BadInput(str(exc)) from None
        try:
            step = flow.step(opts["step"])
        except (KeyError, StopIteration):
            raise BadInput(f"onbekende stap / unknown step {opts['step']!r}; berichtstappen / "
                           f"message steps: {', '.join(_message_steps(flow))}") from None
        if not step.is_communication or not step.template:
            raise BadInput(f"stap / step {step.id!r} ({step.action}) stuurt geen bericht / "
                           f"sends no message; berichtstappen / message steps: "
                           f"{', '.join(_message_steps(flow))}")
        tenancy = Tenancy.objects.select_related("household").filter(
            code=opts["tenancy"]).first()
        if tenancy is None:
            raise BadInput(f"onbekende overeenkomst / unknown tenancy {opts['tenancy']!r}")
        household = tenancy.household
        facts = gather(run_on, [tenancy.pk])
        hsnap = facts.households[household.pk]
        snap = next(t for t in hsnap.tenancies if t.tenancy_id == tenancy.pk)
        if snap.arrears <= 0 or snap.oldest_due_on is None:
            raise BadInput(f"{tenancy.code} heeft op {run_on.isoformat()} geen achterstand: er "
                           f"zou geen bericht gaan; kies een andere --date of overeenkomst / "
                           f"has no arrears on {run_on.isoformat()}: no message would be sent; "
                           f"choose another --date or tenancy")

        channel = opts.get("channel")
        if channel is None:
            usable = [c for c in choose_channels(step, hsnap.contact)
                      if c in channels_of(step.template)]
            if not usable:
                raise BadInput(f"het huishouden is via geen kanaal van stap {step.id!r} te "
                               f"bereiken; geef --channel / the household cannot be reached "
                               f"on any channel of step {step.id!r}; pass --channel")
            channel = usable[0]
        elif channel not in channels_of(step.template):
            raise BadInput(f"--channel: {step.template} bestaat niet als / has no {channel} "
                           f"(wel / only: {', '.join(channels_of(step.template))})")
        if (opts.get("pdf") and channel != "letter") or (opts.get("html") and channel == "sms"):
            raise BadInput(f"--{'pdf' if opts.get('pdf') else 'html'}: niet voor kanaal / not "
                           f"for channel {channel}")
        language = (opts.get("lang") or household.language or "nl").strip().lower()

        now = run_clock(run_on)
        send_after = send_slot(flow, run_on, now)
        ctx = step_context(step, flow, household, snap, tenancy, run_on,
                           send_after.astimezone(AMSTERDAM).date(), language=language)
        link_note = _pay_link(ctx, tenancy, snap.arrears, now)
        rendered = render(step.template, channel, language, ctx)
        audit(f"cli:{getpass.getuser()}", "message.preview", tenancy,
              summary=f"voorbeeld / preview {step.id} {channel} {language}"[:300],
              step=step.id, channel=channel, language=language, run_on=run_on.isoformat())

        used = language_used(step.template, language)
        self.stdout.write(
            f"stap / step: {step.id} ({step.template}), kanaal / channel: {channel}, "
            f"taal / language: {used}"
            + (f" (gevraagd / asked {language}: niet vertaald / not translated)"
               if used not in (language, language.split("-")[0]) else "")
            + f", vanaf / from: {send_after.astimezone(AMSTERDAM):%Y-%m-%d %H:%M}")
        if link_note:
            self.stdout.write(link_note)
        if snap.arrears <= 0:
            self.stdout.write("let op: geen achterstand op deze dag / note: no arrears on "
                              "this day")
        if opts.get("html"):
            Path(opts["html"]).write_text(rendered.html, encoding="utf-8")
            self.stdout.write(f"HTML: {opts['html']}")
        if opts.get("pdf"):
            from vroeg.messaging.channels import LetterChannel

            LetterChannel().write_pdf(rendered.html, Path(opts["pdf"]))
            self.stdout.write(f"PDF: {opts['pdf']}")
        if rendered.subject:
            self.stdout.write(f"Onderwerp / Subject: {rendered.subject}")
        self.stdout.write("")
        self.stdout.write(rendered.text.rstrip("\n"))


def _pay_link(ctx: dict[str, Any], tenancy: Any, amount: Any, now: Any) -> str:
    """The payment link the run would put in (vroeg/payments), without making one: the
    open link for this tenancy and amount when there is one, else a stand-in of the
    same length (the run makes the link, with its own token, when it takes the step).
    Returns a note for the stand-in, else ""."""
    try:
        from decimal import ROUND_HALF_UP, Decimal

        from vroeg.payments.actions import url_of
        from vroeg.payments.models import PaymentLink
    except ImportError:  # no payment links: the run's link is message_context's
        return ""
    if not isinstance(amount, Decimal) or amount <= 0:
        return ""
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    link = PaymentLink.objects.filter(tenancy=tenancy, amount=amount,
                                      status=PaymentLink.Status.OPEN,
                                      expires_at__gt=now).first()
    if link is not None:
        ctx["pay_link"] = url_of(link)
        return ""
    ctx["pay_link"] = url_of(PaymentLink(token="0" * 32))
    return ("let op: nog geen betaallink; de run maakt er een (hier een voorbeeld) / note: no "
            "payment link yet; the run makes one (a stand-in here)")


def _message_steps(flow: Any) -> list[str]:
    return [s.id for s in flow.all_steps() if s.is_communication and s.template]
