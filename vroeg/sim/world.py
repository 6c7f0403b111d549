"""The closed loop: simulated households and staff around the real vroeg.

Runs in its own process, with its own VROEG_HOME and database (vroeg/sim/child.py
sets them up), so a simulation never touches an installation's data. Day by day:

1. households pay: their bank entries of the day come in as a camt.053 statement in
   the inbox, the direct debits vroeg asked for (its pain.008 files) are credited or
   returned (AM04) by the simulated bank, payment-link payments go through the payment
   provider's checkout and webhook (the built-in fake provider), whose payout arrives
   on the next day's statement;
2. the real daily run (`run_day`): import, ledger, match, signals, decisions, dispatch;
3. `vroeg sepa collect`: the next direct debits;
4. staff work the queues like a collection team: calls and visits with the outcome the
   household gives, arrangements and debt help agreed through vroeg's own actions,
   unmatched payments matched by hand, hand-over proposals decided;
5. households read what vroeg sent today and act on it in the days after.

An eviction ends the tenancy through the ERP's next tenancy file (einddatum).
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from vroeg.sim.behaviour import DEBT_HELP_ORG, LINK, Household, Payment, Population, SimTenancy
from vroeg.sim.params import Params

STAFF = "staff:sim"
PLAN_DAY = 20  # the day of the month households plan the next month's rent
TEAM_LEAD = "staff:sim-teamleider"
_PAIN_NS = "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.02}"


@dataclass
class SimConfig:
    tenancies: int
    months: int
    seed: int = 1
    start: date | None = None         # first simulated day (default: 1st of the month
    warmup_months: int = 1            # `months` + warmup before last month)
    flow_file: str = ""
    progress: Callable[[str], None] | None = None


@dataclass
class DayFacts:
    day: date
    report: dict[str, Any]
    payments: int = 0
    link_payments: int = 0
    staff_tasks: int = 0
    manual_matches: int = 0


@dataclass
class SimRun:
    config: SimConfig
    days: list[DayFacts] = field(default_factory=list)
    seconds: float = 0.0
    measured_from: date | None = None


def _months_back(today: date, months: int) -> date:
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(y, m + 1, 1)


class World:
    def __init__(self, config: SimConfig, params: Params) -> None:
        self.config = config
        self.params = params
        self.pop = Population(params, config.seed)
        self.home = Path(settings.VROEG_HOME)
        self.inbox = self.home / "inbox"
        self.by_code: dict[str, tuple[Household, int]] = {}  # tenancy code -> household
        self.iban: dict[str, str] = {}
        self.name: dict[str, str] = {}
        self.reference: dict[str, str] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self.bank_truth: dict[str, str] = {}  # bank reference -> tenancy code
        self.collections: dict[date, list[dict[str, str]]] = defaultdict(list)
        self.returns: dict[date, list[dict[str, str]]] = defaultdict(list)  # AM04 ahead
        self.debt_help_iban = "NL56INGB0001234567"
        self.sequence = 0
        self.balance = Decimal("1000000.00")
        self.ended_codes: set[str] = set()
        self.task_due: dict[int, date] = {}
        self.unmatched_due: dict[int, date] = {}
        self.entries_made = 0

    # --- the corporation ---------------------------------------------------------------

    def build(self, start: date) -> None:
        from vroeg.demo.population import generate

        portfolio = generate(self.config.tenancies, seed=self.config.seed, today=start,
                             history_months=1, window_days=1)
        households: dict[str, list[Any]] = defaultdict(list)
        for t in portfolio.tenancies:
            households[t.household_code].append(t)
        for code, ts in households.items():
            sim_ts = [SimTenancy(t.code, t.monthly_cents, t.due_day,
                                 t.method == "incasso" and bool(t.mandate_id)) for t in ts]
            h = self.pop.add(code, sim_ts)
            opening = self.pop.opening_arrears(h)
            for i, t in enumerate(ts):
                self.by_code[t.code] = (h, i)
                row = t.csv_row()
                if t.start_on >= start:
                    # The demo generator lets ~1.5% of tenancies start during its history,
                    # which here lies after the start: they moved in last month instead.
                    moved_in = (start - timedelta(days=1)).replace(day=1)
                    row["ingangsdatum"] = moved_in.isoformat()
                    if row.get("machtiging_datum"):
                        row["machtiging_datum"] = (moved_in - timedelta(days=10)).isoformat()
                row["beginsaldo"] = f"{(opening if i == 0 else 0) / 100:.2f}"
                row["beginsaldo_datum"] = (start - timedelta(days=1)).isoformat()
                if h.payday_known:
                    row["betaaldag"] = str(h.payday)
                self.rows[t.code] = row
                self.iban[t.code] = t.iban or t.payer_iban
                self.name[t.code] = t.household_name
        self._write_tenancies()

    def _write_tenancies(self) -> None:
        from vroeg.domain.tenancy_columns import ALL

        path = self.inbox / f"huurcontracten-{self.sequence:04d}.csv"
        self.sequence += 1
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(ALL))
            w.writeheader()
            w.writerows(self.rows.values())

    def load_references(self) -> None:
        from vroeg.portfolio.models import Tenancy

        self.reference = dict(Tenancy.objects.values_list("code", "payment_reference"))

    # --- one day -------------------------------------------------------------------------

    def day(self, day: date) -> DayFacts:
        from vroeg.runs.daily import run_day

        facts = DayFacts(day, {})
        if day.day == PLAN_DAY:
            # Households plan next month's rent now: some pay it before the 1st.
            first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            for h in self.pop.households:
                self.pop.start_month(h, first)
        for h in self.pop.households:
            for i, t in enumerate(h.tenancies):
                if not t.ended and day.day == min(t.due_day, 28):
                    self.pop.charge(h, i)
            if self.pop.settle_debt_help(h, day):
                self._end_debt_help_pause(h, day)
            if self.pop.court(h, day):
                self._evict(h, day)
        entries = self._bank_entries(day, facts)
        self._write_statement(day, entries)
        facts.report = run_day(day)
        if day.day >= 20 or day.day <= 5:
            # `vroeg sepa collect` runs daily in an installation; only these days can
            # hold a collection (the rent due around the 1st, retries after payday).
            self._collect(day)
        self._staff(day, facts)
        self._read_messages(day)
        return facts

    # --- money in ------------------------------------------------------------------------

    def _entry(self, code: str, day: date, cents: int, *, structured: float = 0.8,
               via: str = "transfer") -> Any:
        """One bank entry: mostly with the structured reference, some typed in the text,
        some with nothing but the payer's known IBAN."""
        from vroeg.domain.bank.model import BankEntry

        h, _ = self.by_code[code]
        ref = self.reference.get(code, "")
        r = h.rng.random()
        self.entries_made += 1
        bank_ref = f"SIM{day:%Y%m%d}{self.entries_made:07d}"
        self.bank_truth[bank_ref] = code
        if via == DEBT_HELP_ORG:
            return BankEntry(amount=Decimal(cents) / 100, currency="EUR", booked_on=day,
                             value_on=day, counterparty_name="Stichting Schuldhulp Regio",
                             counterparty_iban=self.debt_help_iban, creditor_reference=ref,
                             remittance=f"schuldregeling {self.name[code]}",
                             bank_reference=bank_ref)
        creditor, text = (ref, "huur") if r < structured else (
            ("", f"huur {ref}") if r < structured + 0.1 else ("", "huur"))
        return BankEntry(amount=Decimal(cents) / 100, currency="EUR", booked_on=day,
                         value_on=day, counterparty_name=self.name[code],
                         counterparty_iban=self.iban.get(code, ""), creditor_reference=creditor,
                         remittance=text, bank_reference=bank_ref)

    def _bank_entries(self, day: date, facts: DayFacts) -> list[Any]:
        from vroeg.domain.bank.model import BankEntry
        from vroeg.payments.providers import fake

        entries: list[BankEntry] = []
        for p in self.pop.due_payments(day):
            h = self.pop.households[p.household]
            code = h.tenancies[p.tenancy].code
            if p.via == LINK and self._pay_by_link(h, code, p, day):
                facts.link_payments += 1
                continue
            entries.append(self._entry(code, day, p.cents, via=p.via))
            self.pop.paid(h, p.tenancy, p.cents)
            facts.payments += 1
        # The payment provider pays yesterday's link payments out today.
        entries += fake.bank_entries(day)
        # The bank executes vroeg's direct debits due today: credited (and returned a
        # few days later, AM04, when the money was not there).
        for c in self.collections.pop(day, []):
            h, i = self.by_code[c["code"]]
            entries.append(BankEntry(
                amount=Decimal(c["amount"]), currency="EUR", booked_on=day, value_on=day,
                counterparty_name=c["name"], counterparty_iban=c["iban"],
                end_to_end_id=c["e2e"], mandate_id=c["mandate"],
                remittance=c["remittance"], bank_reference=f"DD{c['e2e']}"[:35]))
            self.pop.paid(h, i, int(Decimal(c["amount"]) * 100))
            if not self.pop.collect_succeeds(h):
                self.returns[day + timedelta(days=h.rng.randint(2, 4))].append(c)
        for c in self.returns.pop(day, []):
            h, i = self.by_code[c["code"]]
            entries.append(BankEntry(
                amount=-Decimal(c["amount"]), currency="EUR", booked_on=day, value_on=day,
                counterparty_name=c["name"], counterparty_iban=c["iban"],
                end_to_end_id=c["e2e"], mandate_id=c["mandate"], return_reason="AM04",
                reversal=True, remittance="terugboeking / return AM04",
                bank_reference=f"RT{c['e2e']}"[:35]))
            self.pop.paid(h, i, -int(Decimal(c["amount"]) * 100))
        return entries

    def _pay_by_link(self, h: Household, code: str, p: Payment, day: date) -> bool:
        """The tenant clicks the link in vroeg's latest message and pays it there."""
        from vroeg.payments import actions as pay
        from vroeg.payments.models import PaymentLink
        from vroeg.payments.providers import fake

        link = (PaymentLink.objects.filter(tenancy__code=code, status="open")
                .order_by("-created_at").first())
        if link is None:
            return False
        now = dt.datetime.combine(day, dt.time(19, 30), tzinfo=dt.UTC)
        checkout = pay.start_payment(link, now=now)
        payment = fake.open_payment(link.token)
        if checkout.kind != "redirect" or payment is None:
            return False
        fake.finish(payment, pay=True, now=now)
        pay.handle_webhook(payment.id, provider=fake.NAME)
        self.pop.paid(h, 0, int(link.amount * 100))
        return True

    def _write_statement(self, day: date, entries: list[Any]) -> None:
        from vroeg.domain.bank.camt_writer import write_camt053
        from vroeg.domain.bank.model import Statement
        from vroeg.domain.calendar import is_business_day

        if not entries and not is_business_day(day):
            return  # a bank sends a statement every working day, also an empty one
        total = sum((e.amount for e in entries), Decimal("0"))
        iban = settings.VROEG_CORPORATION["iban"].replace(" ", "")
        stmt = Statement(account_iban=iban, currency="EUR", opening_balance=self.balance,
                         closing_balance=self.balance + total, opening_on=day, closing_on=day,
                         statement_id=f"SIM-{day:%Y%m%d}", entries=tuple(entries))
        self.balance += total
        data = write_camt053([stmt], message_id=f"SIM{day:%Y%m%d}",
                             created_at=dt.datetime(day.year, day.month, day.day, 6, 0),
                             pretty=False)
        (self.inbox / f"camt053-{day.isoformat()}.xml").write_bytes(data)

    def _collect(self, day: date) -> None:
        """`vroeg sepa collect` for the day; the bank executes the file on its date."""
        from lxml import etree

        from vroeg.directdebit.actions import DirectDebitError, collect

        try:
            result = collect(day)
        except DirectDebitError:
            return
        if result.status != "written":
            return
        root = etree.parse(result.path).getroot()
        q = _PAIN_NS
        for info in root.iter(f"{q}PmtInf"):
            on = date.fromisoformat(info.findtext(f"{q}ReqdColltnDt") or day.isoformat())
            for tx in info.iter(f"{q}DrctDbtTxInf"):
                e2e = tx.findtext(f"{q}PmtId/{q}EndToEndId") or ""
                code = e2e.rsplit("-", 1)[0]
                if e2e.count("-") >= 2 and code not in self.by_code:
                    code = e2e.rsplit("-", 2)[0]
                if code not in self.by_code:
                    continue
                self.collections[on].append({
                    "code": code, "e2e": e2e, "amount": tx.findtext(f"{q}InstdAmt") or "0",
                    "mandate": tx.findtext(f"{q}DrctDbtTx/{q}MndtRltdInf/{q}MndtId") or "",
                    "name": tx.findtext(f"{q}Dbtr/{q}Nm") or "",
                    "iban": tx.findtext(f"{q}DbtrAcct/{q}Id/{q}IBAN") or "",
                    "remittance": tx.findtext(f"{q}RmtInf/{q}Ustrd") or ""})

    # --- staff ---------------------------------------------------------------------------

    def _staff(self, day: date, facts: DayFacts) -> None:
        from vroeg.banking.models import BankTransaction, TxnStatus
        from vroeg.collection.actions import ActionError, complete_task
        from vroeg.collection.models import Task

        lo, hi = self.params.span("staff", "days_to_task")
        for task in Task.objects.filter(status=Task.Status.OPEN).select_related(
                "case__tenancy", "tenancy").order_by("id"):
            code = task.tenancy.code if task.tenancy else ""
            if code not in self.by_code:
                continue
            h, _ = self.by_code[code]
            when = self.task_due.setdefault(task.pk, task.created_on + timedelta(
                days=h.rng.randint(int(lo), int(hi))))
            if when > day:
                continue
            if task.kind == "handover_decision":
                self._decide_handover(task, day)
                facts.staff_tasks += 1
                continue
            outcome = "other"
            if task.kind in ("call", "visit", "arrangement_call"):
                outcome = self.pop.call(h, day, task.kind)
            try:
                complete_task(task, outcome=outcome, actor=STAFF, on=day)
            except ActionError:
                continue
            facts.staff_tasks += 1
            if outcome == "arrangement":
                self._agree_arrangement(h, task, day)
            elif outcome == "debt_help":
                self._start_debt_help(h, code, day)
        mlo, mhi = self.params.span("staff", "days_to_match_unmatched")
        for txn in BankTransaction.objects.filter(status=TxnStatus.UNMATCHED).order_by("id"):
            code = self.bank_truth.get(txn.bank_reference, "")
            if not code:
                continue
            when = self.unmatched_due.setdefault(txn.pk, txn.booked_on + timedelta(
                days=self.by_code[code][0].rng.randint(int(mlo), int(mhi))))
            if when <= day and self._manual_match(txn, code):
                facts.manual_matches += 1

    def _manual_match(self, txn: Any, code: str) -> bool:
        from vroeg.banking.matching_actions import ManualMatchError, manual_match
        from vroeg.portfolio.models import Tenancy

        class Person:  # manual_match records who did it
            username = "sim"
            is_authenticated = True

            def get_username(self) -> str:
                return "sim"

        try:
            manual_match(txn, Tenancy.objects.get(code=code), Person(), remember=True)
        except ManualMatchError:
            return False
        return True

    def _agree_arrangement(self, h: Household, task: Any, day: date) -> None:
        from vroeg.collection.actions import ActionError, agree_arrangement, open_case_of
        from vroeg.domain import arrangements as arr
        from vroeg.ledger.queries import balance_of

        case = task.case or open_case_of(task.tenancy_id)
        if case is None:
            return
        owed = balance_of(case.tenancy_id, day)
        if owed <= 0:
            return
        first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
        proposal = arr.propose(owed, case.tenancy.monthly_rent, first,
                               self.pop.arrangement_terms(h), agreed_on=day,
                               policy=arr.ArrangementPolicy())
        if isinstance(proposal, arr.Refusal):
            return
        schedule = [(i.due_on, i.amount) for i in proposal.schedule.instalments]
        try:
            agree_arrangement(case, schedule=schedule, actor=STAFF, on=day,
                              note="gesprek / call")
        except (ActionError, ValueError):
            return
        self.pop.agree(h, [(on, int(a * 100)) for on, a in schedule])

    def _arrange_online(self, h: Household, tenancy: Any, day: date) -> None:
        """The tenant follows the offer's link and picks the number of parts."""
        from vroeg.collection.actions import (
            ActionError,
            self_service_arrangement,
            self_service_options,
        )

        _owed, allowed, _why = self_service_options(tenancy, day)
        if not allowed:
            return  # outside the policy: the household waits for the call
        wanted = self.pop.arrangement_terms(h)
        terms = min(allowed, key=lambda n: abs(n - wanted))
        try:
            arr = self_service_arrangement(tenancy, terms=terms, on=day,
                                           actor=f"tenant:{tenancy.code}")
        except ActionError:
            return
        self.pop.agree(h, [(i.due_on, int(i.amount * 100)) for i in arr.instalments.all()])

    def _start_debt_help(self, h: Household, code: str, day: date) -> None:
        from vroeg.collection.actions import set_pause
        from vroeg.portfolio.models import Tenancy

        tenancy = Tenancy.objects.get(code=code)
        set_pause(reason="schuldhulptraject gemeente / municipal debt help", kind="debt_help",
                  starts_on=day, actor=STAFF, household_id=tenancy.household_id)
        self.pop.start_debt_help(h, day)

    def _end_debt_help_pause(self, h: Household, day: date) -> None:
        from vroeg.collection.actions import end_pause
        from vroeg.collection.models import Pause
        from vroeg.portfolio.models import Household as HouseholdRow

        household = HouseholdRow.objects.filter(code=h.code).first()
        if household is None:
            return
        for pause in Pause.objects.filter(household=household, kind="debt_help",
                                          ends_on__isnull=True):
            end_pause(pause, on=day, actor=STAFF, reason="schuldregeling getroffen / settled")
        self.pop.end_debt_help(h)

    def _decide_handover(self, task: Any, day: date) -> None:
        from vroeg.handover.actions import approve, reject
        from vroeg.handover.models import HandoverProposal

        proposal = HandoverProposal.objects.filter(case=task.case, status="proposed").first()
        if proposal is None:
            return
        code = proposal.tenancy.code
        h, _ = self.by_code[code]
        try:
            if h.rng.random() < self.params.chance("staff", "approves_handover"):
                approve(proposal, actor=TEAM_LEAD, on=day, note="alle stappen gezet")
                self.pop.handed_over(h, day)
            else:
                reject(proposal, actor=TEAM_LEAD, on=day, note="eerst nog een huisbezoek")
        except ValueError:
            return

    def _evict(self, h: Household, day: date) -> None:
        for t in h.tenancies:
            self.rows[t.code]["einddatum"] = day.isoformat()
            self.ended_codes.add(t.code)
        self._write_tenancies()

    # --- households read what vroeg sent ---------------------------------------------------

    def _read_messages(self, day: date) -> None:
        from vroeg.collection.actions import record_objection
        from vroeg.messaging.models import Message
        from vroeg.municipal.actions import record_feedback
        from vroeg.municipal.models import MunicipalSignal

        start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC) - timedelta(hours=2)
        sent = (Message.objects.filter(status=Message.Status.SENT, sent_at__gte=start,
                                       sent_at__lt=start + timedelta(days=1))
                .select_related("tenancy", "case").order_by("id"))
        for m in sent:
            if m.tenancy.code not in self.by_code:
                continue
            h, _ = self.by_code[m.tenancy.code]
            if self.pop.message(h, day, m.channel, m.step) == "arrange":
                self._arrange_online(h, m.tenancy, day)
            if m.step == "written_reminder" and m.case is not None \
                    and self.pop.offered_signal(h):
                record_objection(m.case, on=day + timedelta(days=2), actor=STAFF,
                                 note="huurder belde: wil geen signaal / objected by phone")
        for signal in MunicipalSignal.objects.filter(sent_on=day).select_related("tenancy"):
            code = signal.tenancy.code
            if code not in self.by_code:
                continue
            h, _ = self.by_code[code]
            if self.pop.signalled(h, day):
                record_feedback(signal, kind="help_accepted", on=day, actor=STAFF)
                record_feedback(signal, kind="plan_made", on=day, actor=STAFF)


def simulate(config: SimConfig, params: Params) -> SimRun:
    """Build the corporation and run the days; the KPIs come from kpis.py afterwards."""
    from vroeg.runs.daily import run_day

    say = config.progress or (lambda _m: None)
    today = dt.date.today()
    start = config.start or _months_back(today, config.months + config.warmup_months)
    end = _months_back(start, -(config.months + config.warmup_months)) - timedelta(days=1)
    if end >= today:
        raise ValueError("de simulatie moet in het verleden liggen / the simulated period "
                         "must lie in the past (choose an earlier --start)")
    run = SimRun(config, measured_from=_months_back(start, -config.warmup_months))
    t0 = time.perf_counter()
    world = World(config, params)
    say(f"sim: {config.tenancies} huurovereenkomsten / tenancies, seed {config.seed}, "
        f"{start} .. {end}")
    world.build(start)
    run_day(start - timedelta(days=1))  # the ERP file and the opening balances
    world.load_references()
    for h in world.pop.households:  # the first month's plans (later ones on PLAN_DAY)
        world.pop.start_month(h, start.replace(day=1))
        for on in [d for d in h.scheduled if d < start]:  # paid early: on the first day
            h.scheduled.setdefault(start, []).extend(h.scheduled.pop(on))
    day = start
    while day <= end:
        facts = world.day(day)
        run.days.append(facts)
        if day.day == 1 or day == end:
            say(f"sim {day}: {facts.report['arrears']['percent_of_rent_roll']}% achterstand / "
                f"arrears, {facts.report['cases']['open']} open dossiers / cases")
        day += timedelta(days=1)
    run.seconds = time.perf_counter() - t0
    run.population = world.pop  # type: ignore[attr-defined]
    run.world = world  # type: ignore[attr-defined]
    return run


__all__ = ["SimConfig", "SimRun", "World", "simulate"]
