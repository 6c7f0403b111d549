"""A tenant's story in a small ledger notation, played through the real daily run.

One story is one tenancy (OVK-00001, rent 700.00 due on the 1st, paid up to 31
October 2026, unless the header says otherwise) from its first late payment to its
end. Lines, in date order:

    tenancy voorkeurskanaal=sms betaalwijze=incasso   columns of the ERP file (header)
    2026-11-09  pays 700                 a transfer with the payment reference
    2026-11-09  pays 700 from NL..., Naam    from an unknown account, no reference
    2026-11-02  collected 700            our direct debit credited (mandate, e2e id)
    2026-11-05  returned 700 AM04        that direct debit returned, with its reason
    2026-11-09  pays 200 by link         through the payment link of the last message
    2027-01-10  erp einddatum=2027-01-31 the ERP's next tenancy file changes the row
    2026-11-27  staff call reached       a person closes the open call/visit with an outcome
    2026-11-27  staff arrangement 4 from 2026-12-15   agreed: 4 instalments
    2026-11-27  staff pause debt_help "Schuldhulp Amsterdam"   [until DATE]
    2026-11-27  staff end pause "schuldregeling getroffen"
    2026-11-27  staff correction -50 "servicekosten te hoog"
    2026-11-27  staff links payer        the unmatched payment is this tenant's (remembered)
    2026-11-27  staff marks vulnerable   the household needs a person first
    2026-11-27  staff approves handover / staff rejects handover
    2026-11-27  tenant objects           to the municipal signal (rule 4)
    2026-11-06  expect reminder_friendly [by sms]   a step taken that day
    2026-11-07  expect nothing           no step, message or task that day
    2026-11-09  expect closed | expect open | expect state S | expect task K
    2026-11-09  expect signal K | expect balance 0 | expect no case | expect no S
    2026-11-09  expect municipal signal | expect no municipal signal | expect skipped S
    2026-11-09  expect no signal K | expect no task K | expect arrangement completed
    2026-11-09  expect letter to Nieuwstraat   a letter that day, to this postal street
    steps: reminder_friendly, reminder_second      every step of the story, in order

Inputs of a day (payments, ERP rows) are in that morning's files, then `vroeg run`
runs the day (and catches up the days before it; the bank sends a statement every
working day), then what staff and the tenant do that day, then the expectations.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from tests.builders import iban, ref, tenancy_row, write_statement, write_tenancies
from vroeg.domain.bank.model import BankEntry
from vroeg.domain.calendar import is_business_day

CODE = "OVK-00001"
_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(.*)$")


class StoryError(AssertionError):
    pass


@dataclass
class Line:
    on: date
    words: list[str]
    text: str
    number: int


@dataclass
class Story:
    title: str
    row: dict[str, str]
    lines: list[Line]
    steps: list[str] | None
    start: date


def _credit(day: date, amount: str, bank_ref: str, **kw: str) -> BankEntry:
    return BankEntry(amount=Decimal(amount).quantize(Decimal("0.01")), currency="EUR",
                     booked_on=day, value_on=day, counterparty_name="Fam. Test 1",
                     counterparty_iban=iban(1), bank_reference=bank_ref, **kw)


def _named(step: str, want: str) -> str:
    """A reaction step is "<reaction>:<event key>"; a story may name the reaction only
    (the key holds database ids)."""
    return step if ":" in want else step.split(":", 1)[0]


def parse(text: str) -> Story:
    rows = [r.strip() for r in text.strip().splitlines()]
    title, body = rows[0], rows[1:]
    over: dict[str, str] = {}
    lines: list[Line] = []
    steps: list[str] | None = None
    for n, raw in enumerate(body, start=2):
        if not raw or raw.startswith("#"):
            continue
        if raw.startswith("tenancy"):
            over.update(dict(kv.split("=", 1) for kv in shlex.split(raw)[1:]))
        elif raw.startswith("steps:"):
            steps = [s.strip() for s in raw.split(":", 1)[1].split(",") if s.strip()]
        elif m := _LINE.match(raw):
            lines.append(Line(date.fromisoformat(m[1]), shlex.split(m[2]), raw, n))
        else:
            raise StoryError(f"{title}, line {n}: not a story line: {raw!r}")
    if any(b.on < a.on for a, b in zip(lines, lines[1:], strict=False)):
        raise StoryError(f"{title}: lines are not in date order")
    over.setdefault("beginsaldo_datum", "2026-10-31")  # paid up to November, unless told
    row = tenancy_row(1, **over)
    start = date.fromisoformat(row["beginsaldo_datum"])
    return Story(title, row, lines, steps, start)


@dataclass
class Player:
    story: Story
    home: Path
    written_through: date
    entries: dict[date, list[BankEntry]] = field(default_factory=dict)
    files: int = 0
    reports: dict[date, dict] = field(default_factory=dict)

    # --- inputs -----------------------------------------------------------------------

    def _input(self, line: Line) -> bool:
        verb, *args = line.words
        day = line.on
        n = len(self.entries.setdefault(day, []))
        if verb == "pays" and len(args) >= 3 and args[1] == "from":
            payer, name = args[2].rstrip(","), " ".join(args[3:]) or "Onbekend"
            self.entries[day].append(BankEntry(
                amount=Decimal(args[0]), currency="EUR", booked_on=day, value_on=day,
                counterparty_name=name, counterparty_iban=payer, remittance="huur",
                bank_reference=f"S-{day:%m%d}-{n}"))
        elif verb == "pays" and args[1:] == ["by", "link"]:
            return False  # after the run: the link is in the message of that day or before
        elif verb == "pays":
            self.entries[day].append(_credit(day, args[0], f"P-{day:%m%d}-{n}",
                                             creditor_reference=ref(1)))
        elif verb == "collected":
            self.entries[day].append(_credit(
                day, args[0], f"DD-{day:%m%d}", remittance="huur incasso",
                mandate_id=self.story.row["machtigingskenmerk"],
                end_to_end_id=f"{CODE}-{day:%Y%m}-VR1"))
        elif verb == "returned":
            self.entries[day].append(BankEntry(
                amount=-Decimal(args[0]), currency="EUR", booked_on=day, value_on=day,
                counterparty_name="Fam. Test 1", counterparty_iban=iban(1),
                return_reason=args[1], mandate_id=self.story.row["machtigingskenmerk"],
                end_to_end_id=f"{CODE}-{self._collected_month(day)}-VR1",
                bank_reference=f"RT-{day:%m%d}", reversal=True))
        elif verb == "erp":
            self.story.row.update(dict(kv.split("=", 1) for kv in args))
            self.files += 1
            write_tenancies(self.home / "inbox" / f"erp-{self.files}.csv", [self.story.row])
        else:
            return False
        return True

    def _collected_month(self, day: date) -> str:
        for on in sorted(self.entries, reverse=True):
            for e in self.entries[on]:
                if e.end_to_end_id and e.amount > 0 and on <= day:
                    return f"{on:%Y%m}"
        return f"{day:%Y%m}"

    def _statements_through(self, day: date) -> None:
        d = self.written_through + timedelta(days=1)
        while d <= day:
            entries = self.entries.get(d, [])
            if entries or is_business_day(d):
                write_statement(self.home / "inbox" / f"camt-{d}.xml", d, entries)
            d += timedelta(days=1)
        self.written_through = day

    def run(self, day: date) -> dict:
        self._statements_through(day)
        out = StringIO()
        call_command("run", date=day.isoformat(), json=True, max_catch_up=400, stdout=out)
        report = json.loads(out.getvalue())
        self.reports[day] = report
        return report

    # --- what people do -----------------------------------------------------------------

    def _act(self, line: Line) -> bool:
        from vroeg.collection import actions
        from vroeg.collection.models import Pause, Task

        verb, *args = line.words
        day = line.on
        if verb == "pays" and args[1:] == ["by", "link"]:
            self._pay_by_link(Decimal(args[0]), day)
        elif verb == "tenant" and args == ["objects"]:
            actions.record_objection(self._case(), on=day, actor="tenant:phone",
                                     note="wil geen signaal / objects to the signal")
        elif verb != "staff":
            return False
        elif args[0] == "call":
            task = Task.objects.filter(tenancy__code=CODE, status=Task.Status.OPEN,
                                       kind__in=("call", "visit", "arrangement_call",
                                                 "debt_help_check")).order_by("id").first()
            if task is None:
                raise StoryError(f"line {line.number}: no open call or visit to close")
            actions.complete_task(task, outcome=args[1], actor="staff:anna", on=day)
        elif args[0] == "arrangement":
            terms, first = int(args[1]), date.fromisoformat(args[3])
            self._arrangement(terms, first, day)
        elif args[0] == "pause":
            until = date.fromisoformat(args[args.index("until") + 1]) if "until" in args \
                else None
            actions.set_pause(reason=args[2], kind=args[1], starts_on=day, ends_on=until,
                              actor="staff:anna", household_id=self._tenancy().household_id)
        elif args[:2] == ["end", "pause"]:
            for p in Pause.objects.filter(household_id=self._tenancy().household_id,
                                          ends_on__isnull=True):
                actions.end_pause(p, on=day, actor="staff:anna", reason=args[2])
        elif args[0] == "correction":
            from vroeg.ledger.actions import post_adjustment

            post_adjustment(self._tenancy(), amount=Decimal(args[1]), on=day, reason=args[2],
                            actor="staff:anna", key=f"story:{line.number}")
        elif args[:2] == ["marks", "vulnerable"]:
            from vroeg.portfolio.actions import set_care_flags

            set_care_flags(self._tenancy().household, actor="staff:anna", vulnerable=True,
                           reason="wijkconsulent: kwetsbaar / vulnerable")
        elif args[:2] == ["links", "payer"]:
            self._link_payer()
        elif args[1] == "handover":
            from vroeg.handover import actions as handover
            from vroeg.handover.models import HandoverProposal

            proposal = HandoverProposal.objects.get(case=self._case(), status="proposed")
            decide = handover.approve if args[0] == "approves" else handover.reject
            decide(proposal, actor="staff:teamleider", on=day, note="besproken / discussed")
        else:
            raise StoryError(f"line {line.number}: unknown staff action {line.text!r}")
        return True

    def _tenancy(self):  # type: ignore[no-untyped-def]
        from vroeg.portfolio.models import Tenancy

        return Tenancy.objects.get(code=CODE)

    def _case(self):  # type: ignore[no-untyped-def]
        from vroeg.collection.models import Case

        return Case.objects.filter(tenancy__code=CODE).order_by("-opened_on", "-id").first()

    def _arrangement(self, terms: int, first: date, day: date) -> None:
        from vroeg.collection import actions
        from vroeg.domain import arrangements as arr
        from vroeg.ledger.queries import balance_of

        tenancy = self._tenancy()
        owed = balance_of(tenancy.pk, day)
        proposal = arr.propose(owed, tenancy.monthly_rent, first, terms, agreed_on=day)
        if isinstance(proposal, arr.Refusal):
            raise StoryError(f"arrangement refused: {proposal.reasons}")
        actions.agree_arrangement(self._case(), schedule=[
            (i.due_on, i.amount) for i in proposal.schedule.instalments],
            actor="staff:anna", on=day)

    def _pay_by_link(self, amount: Decimal, day: date) -> None:
        import datetime as dt

        from vroeg.payments import actions as pay
        from vroeg.payments.providers import fake

        now = dt.datetime.combine(day, dt.time(18, 0), tzinfo=dt.UTC)
        link = pay.link_for(self._tenancy(), amount, now=now)  # the message's own link
        pay.start_payment(link, now=now)
        payment = fake.open_payment(link.token)
        assert payment is not None
        fake.finish(payment, pay=True, now=now)
        pay.handle_webhook(payment.id, provider=fake.NAME)

    def _link_payer(self) -> None:
        from vroeg.banking.matching_actions import manual_match
        from vroeg.banking.models import BankTransaction, TxnStatus

        class Anna:
            is_authenticated = True
            username = "anna"

            def get_username(self) -> str:
                return "anna"

        txn = BankTransaction.objects.filter(status=TxnStatus.UNMATCHED).order_by("-id").first()
        if txn is None:
            raise StoryError("no unmatched payment to link")
        manual_match(txn, self._tenancy(), Anna(), remember=True)

    # --- expectations -------------------------------------------------------------------

    def _expect(self, line: Line) -> None:
        from vroeg.collection.models import Case, CaseStep, Signal, Task
        from vroeg.ledger.queries import balance_of
        from vroeg.messaging.models import Message

        what = line.words[1:]
        day = line.on
        where = f"{self.story.title}, line {line.number} ({line.text})"
        steps = CaseStep.objects.filter(case__tenancy__code=CODE, taken_on=day)
        taken = list(steps.exclude(action="skipped").values_list("step", flat=True))
        if what == ["nothing"]:
            made = (Message.objects.filter(tenancy__code=CODE, decided_on=day).count()
                    + Task.objects.filter(tenancy__code=CODE, created_on=day).count())
            if taken or made:
                raise StoryError(f"{where}: expected nothing, got steps {taken}, {made} "
                                 "messages/tasks")
        elif what == ["closed"]:
            if not Case.objects.filter(tenancy__code=CODE, closed_on=day).exists():
                raise StoryError(f"{where}: no case closed that day; cases "
                                 f"{list(Case.objects.values_list('status', 'closed_on'))}")
        elif what == ["open"]:
            if not Case.objects.filter(tenancy__code=CODE, status="open").exists():
                raise StoryError(f"{where}: no open case")
        elif what == ["no", "case"]:
            if Case.objects.filter(tenancy__code=CODE).exists():
                raise StoryError(f"{where}: a case was opened")
        elif what[0] == "state":
            case = self._case()
            if case is None or case.state != what[1]:
                raise StoryError(f"{where}: state {case.state if case else None}")
        elif what[0] == "task":
            kinds = list(Task.objects.filter(tenancy__code=CODE, created_on=day)
                         .values_list("kind", flat=True))
            if what[1] not in kinds:
                raise StoryError(f"{where}: tasks that day {kinds}")
        elif what[0] == "signal":
            kinds = list(Signal.objects.filter(tenancy__code=CODE, detected_on=day)
                         .values_list("kind", flat=True))
            if what[1] not in kinds:
                raise StoryError(f"{where}: signals that day {kinds}")
        elif what[0] == "balance":
            got = balance_of(self._tenancy().pk, day)
            if got != Decimal(what[1]):
                raise StoryError(f"{where}: balance {got}")
        elif what == ["no", "municipal", "signal"]:
            from vroeg.municipal.models import MunicipalSignal

            sent = list(MunicipalSignal.objects.filter(tenancy__code=CODE)
                        .values_list("status", flat=True))
            if sent:
                raise StoryError(f"{where}: municipal signals {sent}")
        elif what[:2] == ["municipal", "signal"]:
            from vroeg.municipal.models import MunicipalSignal

            if not MunicipalSignal.objects.filter(tenancy__code=CODE, sent_on=day,
                                                  status="sent").exists():
                raise StoryError(f"{where}: no municipal signal sent that day")
        elif what[:2] == ["letter", "to"]:
            letters = Message.objects.filter(tenancy__code=CODE, channel="letter",
                                             decided_on=day)
            streets = [m.context.get("postal", {}).get("street") for m in letters]
            if what[2] not in streets:
                raise StoryError(f"{where}: letters that day went to {streets}")
        elif what[:2] in (["no", "signal"], ["no", "task"]):
            model, field = (Signal, "kind") if what[1] == "signal" else (Task, "kind")
            if model.objects.filter(tenancy__code=CODE, **{field: what[2]}).exists():
                raise StoryError(f"{where}: there is a {what[1]} {what[2]}")
        elif what[0] == "no" and len(what) == 2:
            if what[1] in [_named(t, what[1]) for t in self.all_steps()]:
                raise StoryError(f"{where}: {what[1]} was taken")
        elif what[0] == "skipped":
            skipped = list(steps.filter(action="skipped").values_list("step", flat=True))
            if what[1] not in skipped:
                raise StoryError(f"{where}: skipped that day {skipped}")
        elif what[0] == "arrangement":
            from vroeg.collection.models import Arrangement

            statuses = list(Arrangement.objects.filter(tenancy__code=CODE).order_by("id")
                            .values_list("status", flat=True))
            if not statuses or statuses[-1] != what[1]:
                raise StoryError(f"{where}: arrangements {statuses}")
        else:
            step = what[0]
            if step not in [_named(t, step) for t in taken]:
                raise StoryError(f"{where}: steps that day {taken}; all "
                                 f"{self.all_steps()}")
            if "by" in what:
                channel = what[what.index("by") + 1]
                channels = list(Message.objects.filter(tenancy__code=CODE, step=step,
                                                       decided_on=day)
                                .values_list("channel", flat=True))
                if channel not in channels:
                    raise StoryError(f"{where}: sent by {channels}")

    def all_steps(self) -> list[str]:
        from vroeg.collection.models import CaseStep

        return list(CaseStep.objects.filter(case__tenancy__code=CODE)
                    .exclude(action="skipped").order_by("taken_on", "id")
                    .values_list("step", flat=True))

    # --- the story ----------------------------------------------------------------------

    def play(self) -> None:
        by_day: dict[date, list[Line]] = {}
        for line in self.story.lines:
            by_day.setdefault(line.on, []).append(line)
        last = self.story.start
        for day in sorted(by_day):
            lines = by_day[day]
            if any(ln.words[0] == "erp" for ln in lines) and day - timedelta(days=1) > last:
                # The ERP file comes in that morning: the days before it run without it.
                self.run(day - timedelta(days=1))
            last = day
            later = [ln for ln in lines if not self._input(ln)]
            self.run(day)
            for line in later:
                if line.words[0] == "expect":
                    continue
                if not self._act(line):
                    raise StoryError(f"{self.story.title}, line {line.number}: unknown "
                                     f"{line.text!r}")
            for line in later:
                if line.words[0] == "expect":
                    self._expect(line)
        steps = self.all_steps()
        expected = self.story.steps
        if expected is not None and (len(steps) != len(expected) or any(
                _named(got, want) != want for got, want in zip(steps, expected, strict=True))):
            raise StoryError(f"{self.story.title}: steps {steps}")


def play(text: str, home: Path) -> Player:
    story = parse(text)
    write_tenancies(home / "inbox" / "erp-0.csv", [story.row])
    player = Player(story, home, written_through=story.start)
    out = StringIO()
    call_command("run", date=story.start.isoformat(), json=True, stdout=out)
    player.play()
    return player


__all__ = ["CODE", "Player", "StoryError", "parse", "play", "ref"]
