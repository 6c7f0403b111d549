"""How simulated households pay and how they answer contact. Pure: no Django, no I/O.

Each household has a habit (on time, forgetful, late by habit), a money state that
changes month by month (ok, tight, crisis: a Markov chain calibrated so that about
5-6% of households are in arrears), and its own random stream (seed and household
number), so the same seed gives the same population and the same choices.

The world (world.py) tells the model what vroeg did (a message on a channel, a call,
a signal, an arrangement) and asks it, day by day, which payments the households make.
Money is integer cents; the model keeps its own truth of what each tenancy owes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from vroeg.domain.calendar import due_date
from vroeg.sim.params import MONEY_STATES, Params

LINK = "link"
TRANSFER = "transfer"
DEBT_HELP_ORG = "debt_help_org"


@dataclass
class Payment:
    household: int
    tenancy: int  # index into Household.tenancies
    on: date
    cents: int
    via: str = TRANSFER  # transfer, link (payment link), debt_help_org (a third party)
    rent: bool = False  # the month's own rent (may be paid in advance); else what is owed


@dataclass
class SimTenancy:
    code: str
    rent_cents: int
    due_day: int
    direct_debit: bool
    owed_cents: int = 0  # the truth: charged minus paid
    ended: bool = False


@dataclass
class Household:
    number: int
    code: str
    tenancies: list[SimTenancy]
    habit: str
    money: str
    payday: int
    rng: random.Random
    forgot: bool = False
    payday_known: bool = False
    objected: bool = False
    in_debt_help: bool = False
    settle_on: date | None = None
    arrangement: list[tuple[date, int]] = field(default_factory=list)  # instalments left
    handed_over_on: date | None = None
    court_on: date | None = None
    evicted_on: date | None = None
    scheduled: dict[date, list[Payment]] = field(default_factory=dict)

    @property
    def owed(self) -> int:
        return sum(t.owed_cents for t in self.tenancies if not t.ended)

    @property
    def rent(self) -> int:
        return sum(t.rent_cents for t in self.tenancies if not t.ended)

    @property
    def gone(self) -> bool:
        return self.evicted_on is not None


@dataclass
class Stats:
    """What the model itself observed (the truth), for the KPIs the database cannot tell."""

    evictions: list[tuple[date, str]] = field(default_factory=list)
    paid_after_bailiff: int = 0
    court_cases: int = 0
    dissolutions: int = 0
    debt_help_started: int = 0
    objections: int = 0


class Population:
    def __init__(self, params: Params, seed: int) -> None:
        self.params = params
        self.seed = seed
        self.households: list[Household] = []
        self.stats = Stats()
        self._transitions = params.transitions()
        self._stationary = params.stationary()

    # --- building ----------------------------------------------------------------------

    def add(self, code: str, tenancies: list[SimTenancy]) -> Household:
        """A household; its habit, money state and payday come from its own stream."""
        n = len(self.households)
        rng = random.Random(f"vroeg-sim:{self.seed}:{n}")
        p = self.params
        habits = p.get("households", "habits")
        habit = rng.choices(list(habits), [float(v) for v in habits.values()])[0]
        stationary = self._stationary
        money = rng.choices(list(stationary), list(stationary.values()))[0]
        pay = p.get("households", "payday")
        payday = max(1, min(28, round(rng.gauss(float(pay["mean"]), float(pay["spread"])))))
        h = Household(n, code, tenancies, habit, money, payday, rng)
        # Whether the tenant told the corporation the payday: its own stream, so the
        # share can change without changing any household's behaviour.
        known = random.Random(f"vroeg-sim-payday:{self.seed}:{n}").random()
        h.payday_known = known < p.chance("households", "payday_known")
        self.households.append(h)
        return h

    def opening_arrears(self, h: Household) -> int:
        """Arrears at the start, so the simulation starts near its long-run state."""
        months = {"ok": 0.0, "tight": h.rng.uniform(0.0, 1.2),
                  "crisis": h.rng.uniform(1.0, 3.5)}[h.money]
        cents = int(h.rent * months)
        if cents:
            h.tenancies[0].owed_cents += cents
        return cents

    # --- the month ----------------------------------------------------------------------

    def start_month(self, h: Household, first: date) -> None:
        """The money state moves on; the household plans its own rent payments for the
        month starting `first` (called some days before it: some pay in advance)."""
        if h.gone:
            return
        row = self._transitions[h.money]
        r = h.rng.random()
        acc = 0.0
        for to, chance in row.items():
            acc += chance
            if r < acc:
                h.money = to
                break
        h.forgot = h.habit == "forgetful" and h.rng.random() < float(
            self.params.get("households", "forget_rate"))
        for i, t in enumerate(h.tenancies):
            if t.ended:
                continue
            due = due_date(first.year, first.month, t.due_day)
            plan = self._own_payment(h, t, due)
            if plan is not None:
                on, cents = plan
                self._schedule(h, Payment(h.number, i, on, cents, rent=True))

    def _own_payment(self, h: Household, t: SimTenancy, due: date) -> tuple[date, int] | None:
        if h.in_debt_help:
            # A budget manager pays current rent; the arrears wait for the settlement.
            keep = self.params.chance("contact", "debt_help", "pays_current_rent")
            return (due, t.rent_cents) if h.rng.random() < keep else None
        if t.direct_debit and h.money != "crisis":
            return None  # vroeg collects it (the bank may return it: collect_succeeds)
        payday = due_date(due.year, due.month, h.payday)
        if h.money == "crisis":
            return None
        if h.money == "tight":
            lo, hi = self.params.span("households", "tight", "pays_share")
            dlo, dhi = self.params.span("households", "tight", "pays_after_payday_days")
            on = max(due, payday) + timedelta(days=h.rng.randint(int(dlo), int(dhi)))
            return on, int(t.rent_cents * h.rng.uniform(lo, hi))
        if h.habit == "late_by_habit":
            return max(due, payday) + timedelta(days=h.rng.randint(1, 5)), t.rent_cents
        if h.forgot:
            return None
        return due + timedelta(days=h.rng.randint(-3, 2)), t.rent_cents

    def collect_succeeds(self, h: Household) -> bool:
        """Does a direct debit of this household's rent go through (else AM04)?"""
        if h.in_debt_help:
            return True
        if h.money == "ok":
            return True
        if h.money == "tight":
            return h.rng.random() < 0.55
        return False

    def _schedule(self, h: Household, p: Payment) -> None:
        h.scheduled.setdefault(p.on, []).append(p)

    def charge(self, h: Household, index: int) -> None:
        t = h.tenancies[index]
        if not t.ended:
            t.owed_cents += t.rent_cents

    def paid(self, h: Household, index: int, cents: int) -> None:
        h.tenancies[index].owed_cents -= cents

    def due_payments(self, on: date) -> list[Payment]:
        """Every payment households make on `on` (the day's bank entries)."""
        out: list[Payment] = []
        for h in self.households:
            planned = h.scheduled.pop(on, None)
            if not planned or h.gone:
                continue
            for p in planned:
                t = h.tenancies[p.tenancy]
                # The month's rent may be paid before it is charged; anything else never
                # more than what is owed by then (a reminder and the own plan crossing).
                cap = max(0, t.owed_cents) + (t.rent_cents if p.rent else 0)
                cents = min(p.cents, cap) if p.via != DEBT_HELP_ORG else p.cents
                if cents > 0:
                    out.append(Payment(p.household, p.tenancy, on, cents, p.via))
        return out

    # --- answering contact --------------------------------------------------------------

    def _state(self, h: Household) -> str:
        if h.money == "ok":
            return "forgetful"  # ok but late: forgot or by habit; a nudge is enough
        return h.money

    def _pay_owed(self, h: Household, on: date, days: tuple[int, int], via: str) -> None:
        owed = h.owed
        if owed <= 0:
            return
        if h.money == "tight":
            owed = int(owed * h.rng.uniform(0.5, 1.0))
        left = owed
        for i, t in enumerate(h.tenancies):
            if t.ended or left <= 0:
                continue
            part = min(left, max(0, t.owed_cents))
            if part > 0:
                self._schedule(h, Payment(h.number, i, on + timedelta(days=h.rng.randint(*days)),
                                          part, via))
                left -= part

    def message(self, h: Household, on: date, channel: str, step: str) -> str:
        """A message reached the household: "pay" (it will), "arrange" (it wants to pay in
        parts, online) or "" (nothing yet)."""
        if h.gone or h.in_debt_help or h.owed <= 0:
            return ""
        if step == "arrangement_offer" and channel != "letter" and h.rng.random() < float(
                self.params.get("contact", "arranges_online").get(self._state(h), 0.0)):
            return "arrange"
        chance = float(self.params.get("contact", "pay_after_message", self._state(h), channel))
        chance = min(1.0, chance * (1.0 + float(
            self.params.get("contact", "offer_helps").get(step, 0.0))))
        if on.weekday() >= 5:
            chance = min(1.0, chance * float(self.params.get("contact", "weekend_factor")))
        if h.rng.random() >= chance:
            return ""
        via = LINK if channel != "letter" and h.rng.random() < self.params.chance(
            "contact", "via_payment_link") else TRANSFER
        self._pay_owed(h, on, (1, 4), via)
        return "pay"

    def call(self, h: Household, on: date, kind: str) -> str:
        """A person called (or visited): a task outcome (collection.models.TASK_OUTCOMES)."""
        if h.gone:
            return "other"
        if h.owed <= 0:
            return "paid"
        key = "visit_found_home" if kind == "visit" else "call_answered"
        if h.rng.random() >= self.params.chance("contact", key):
            return "not_home" if kind == "visit" else "no_answer"
        after = self.params.get("contact", "after_call", self._state(h))
        r, acc = h.rng.random(), 0.0
        for outcome, chance in after.items():
            acc += float(chance)
            if r < acc:
                if outcome == "pays":
                    self._pay_owed(h, on, (0, 3), TRANSFER)
                    return "promise_to_pay"
                return outcome  # arrangement | debt_help: the world acts on it
        return "reached"

    def arrangement_terms(self, h: Household) -> int:
        lo, hi = self.params.span("arrangements", "terms")
        months = h.owed / h.rent if h.rent else 1
        return int(max(lo, min(hi, round(months * 3))))

    def agree(self, h: Household, schedule: list[tuple[date, int]]) -> None:
        """An arrangement was agreed: the household pays its instalments (or not)."""
        keep = float(self.params.get("arrangements", "keeps_instalment", self._state(h)))
        for on, cents in schedule:
            if h.rng.random() < keep:
                self._schedule(h, Payment(h.number, 0, on + timedelta(days=h.rng.randint(0, 3)),
                                          cents))
        # The arrangement means the household gets its money in order a little.
        if h.money == "crisis" and h.rng.random() < 0.3:
            h.money = "tight"

    def offered_signal(self, h: Household) -> bool:
        """The written reminder offered the municipal signal; True: the tenant objects."""
        if h.objected:
            return False
        if h.rng.random() < self.params.chance("contact", "objects_to_signal"):
            h.objected = True
            self.stats.objections += 1
            return True
        return False

    def signalled(self, h: Household, on: date) -> bool:
        """The municipality offered help; True when the household takes it up."""
        if h.gone or h.in_debt_help or h.money == "ok":
            return False
        if h.rng.random() < self.params.chance("contact", "debt_help_after_signal"):
            self.start_debt_help(h, on)
            return True
        return False

    def start_debt_help(self, h: Household, on: date) -> None:
        h.in_debt_help = True
        lo, hi = self.params.span("contact", "debt_help", "settles_arrears_after_months")
        h.settle_on = on + timedelta(days=int(30 * h.rng.uniform(lo, hi)))
        self.stats.debt_help_started += 1

    def settle_debt_help(self, h: Household, on: date) -> bool:
        """The debt-help organisation pays the arrears off (a schuldregeling)."""
        if not h.in_debt_help or h.settle_on is None or on < h.settle_on:
            return False
        h.settle_on = None
        if h.owed > 0:
            self._schedule(h, Payment(h.number, 0, on, h.owed, DEBT_HELP_ORG))
        h.money = "tight" if h.rng.random() < 0.7 else "ok"
        return True

    def end_debt_help(self, h: Household) -> None:
        h.in_debt_help = False

    def handed_over(self, h: Household, on: date) -> None:
        """The bailiff takes over: some pay, the rest goes to court months later."""
        h.handed_over_on = on
        if h.rng.random() < self.params.chance("court", "pays_after_bailiff"):
            self._pay_owed(h, on, (5, 30), TRANSFER)
            self.stats.paid_after_bailiff += 1
            return
        lo, hi = self.params.span("court", "months_to_court")
        h.court_on = on + timedelta(days=int(30 * h.rng.uniform(lo, hi)))

    def court(self, h: Household, on: date) -> bool:
        """The court date has come; True when the household is evicted."""
        if h.court_on is None or on < h.court_on or h.gone:
            return False
        h.court_on = None
        if h.owed <= 0:
            return False
        self.stats.court_cases += 1
        if h.rng.random() >= self.params.chance("court", "dissolution_granted"):
            return False
        self.stats.dissolutions += 1
        if h.rng.random() >= self.params.chance("court", "eviction_executed"):
            self._pay_owed(h, on, (1, 10), TRANSFER)  # settled before the date
            return False
        h.evicted_on = on
        for t in h.tenancies:
            t.ended = True
        self.stats.evictions.append((on, h.code))
        return True

    # --- observations --------------------------------------------------------------------

    def in_arrears_share(self, grace_cents: int = 1000) -> float:
        live = [h for h in self.households if not h.gone]
        return sum(1 for h in live if h.owed > grace_cents) / len(live) if live else 0.0

    def owed_total_cents(self) -> int:
        """What the households owe in the simulated world (tenancies still running):
        vroeg's books should show the same."""
        return sum(max(t.owed_cents, 0) for h in self.households for t in h.tenancies
                   if not t.ended)

    def money_shares(self) -> dict[str, float]:
        live = [h for h in self.households if not h.gone]
        return {s: sum(1 for h in live if h.money == s) / len(live) for s in MONEY_STATES} \
            if live else {}


__all__ = ["DEBT_HELP_ORG", "LINK", "TRANSFER", "Household", "Payment", "Population",
           "SimTenancy", "Stats"]
