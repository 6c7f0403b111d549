"""Payment arrangements (betalingsregelingen): proposals, policy checks, compliance.

Pure: amounts are Decimal cents, dates are given; no clock, no I/O. The policy is data
(:class:`ArrangementPolicy`, defaults from RULES-NL rules 13 and 14); a landlord's
versioned policy overrides the defaults.

Proposal (:func:`propose`)
    Equal instalments (termijnen) in cents, one a month from ``start_on``; the
    remainder goes on the last one, so the instalments add up to the arrears exactly.
    Every policy check is returned with a readable text. Out of policy is a
    :class:`Refusal` with a route: ``staff`` (a person decides) or ``debt_help`` (the
    debt cannot be cleared in about 18 months, or there are other creditors: municipal
    debt help instead, rule 13).

How money counts for an arrangement (:func:`compliance`)
    The ledger settles every credit oldest first (rule 1), so a payment always pays the
    arrangement's old debt before current rent. Looking at the old debt alone would
    therefore be wrong: paying only the rent would look like paying instalments. So
    instalment n is *met* on day Y when, on Y, everything that fell due on or before
    its due date (old debt and current rent alike) is paid except what the schedule
    still leaves open after n::

        open on Y of all debts due <= due_on(n)  <=  arrears - (instalment 1 + ... + n)

    Money counts for the arrangement only beyond the current rent due: the tenant must
    pay both. The schedule is taken to cover all arrears open when it was agreed
    (propose it with the ledger's arrears); anything else left open counts against it.
    An instalment is ``paid`` when met on its due date, ``late`` when met within the
    grace days after it, ``missed`` when not met at the end of the grace days (a miss
    stays a miss when the tenant catches up later: rule 14 counts misses). Once nothing
    due is open any more on a day on or after the agreement, the arrangement is
    ``completed`` and later instalments are not needed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from vroeg.domain.calendar import add_business_days, add_months
from vroeg.domain.ledger import CreditTimeline, Posting, is_debt
from vroeg.domain.money import CENT, ZERO

# Instalment states
UPCOMING = "upcoming"  # due date not reached yet
DUE = "due"  # due date reached, not met yet, still within the grace days
PAID = "paid"  # met on or before the due date
LATE = "late"  # met within the grace days after the due date
MISSED = "missed"  # not met at the end of the grace days
INSTALMENT_STATES = (UPCOMING, DUE, PAID, LATE, MISSED)

# Arrangement states
ON_TRACK = "on_track"
BROKEN_FIRST_MISS = "broken_first_miss"  # rule 14: contact within 3 working days
BROKEN_SECOND_MISS = "broken_second_miss"  # rule 14: a new 14-day letter, then the ladder
COMPLETED = "completed"
ARRANGEMENT_STATES = (ON_TRACK, BROKEN_FIRST_MISS, BROKEN_SECOND_MISS, COMPLETED)

# Where a refused proposal goes
ROUTE_STAFF = "staff"
ROUTE_DEBT_HELP = "debt_help"


@dataclass(frozen=True)
class ArrangementPolicy:
    """Arrangement policy as data; the defaults are RULES-NL rules 13 and 14."""

    max_terms: int = 12  # rule 13: at most 12 months
    # Route to municipal debt help when the debt cannot be cleared in about this long.
    debt_help_months: int = 18
    # Self-service (the tenant arranges it alone, without a person), rule 13's example.
    self_service_min_tenancy_months: int = 12
    self_service_no_arrangement_months: int = 12
    self_service_max_months_rent: Decimal = Decimal("1")
    self_service_max_terms: int = 6
    # A missed instalment: grace days before it counts as missed, then contact (rule 14).
    grace_days: int = 5
    contact_business_days: int = 3


@dataclass(frozen=True)
class Instalment:
    n: int  # 1-based
    due_on: date
    amount: Decimal


@dataclass(frozen=True)
class Schedule:
    arrears: Decimal  # the debt the arrangement covers; the instalments add up to it
    instalments: tuple[Instalment, ...]
    agreed_on: date  # from this day a payment can complete the arrangement early

    def __post_init__(self) -> None:
        # A schedule read back from the database must still be one: say so, not guess.
        inst = self.instalments
        if not inst:
            raise ValueError("regeling zonder termijnen / arrangement without instalments")
        if [i.n for i in inst] != list(range(1, len(inst) + 1)):
            raise ValueError("termijnen niet genummerd 1..n / instalments not numbered 1..n")
        if any(a.due_on >= b.due_on for a, b in zip(inst, inst[1:], strict=False)):
            raise ValueError("vervaldagen niet oplopend / due dates not increasing")
        if any(i.amount <= 0 for i in inst) or sum(i.amount for i in inst) != self.arrears:
            raise ValueError(f"termijnen tellen niet op tot {self.arrears} / instalments do "
                             f"not add up to {self.arrears}")

    @property
    def terms(self) -> int:
        return len(self.instalments)

    @property
    def start_on(self) -> date:
        return self.instalments[0].due_on

    @property
    def end_on(self) -> date:
        return self.instalments[-1].due_on


@dataclass(frozen=True)
class Check:
    code: str  # same shape as legal.gates.Check, plus "not checked"
    passed: bool | None  # None: not checked (no data given)
    text: str  # Dutch first, then English


@dataclass(frozen=True)
class IncomeCheck:
    """The household's monthly figures for the protected-income rule (rule 13).

    ``protected_income`` is the beslagvrije voet from the dated table, looked up by the
    caller for the household and date; this module only compares numbers.
    """

    net_income: Decimal
    protected_income: Decimal


@dataclass(frozen=True)
class Proposal:
    schedule: Schedule
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Refusal:
    route: str  # ROUTE_STAFF or ROUTE_DEBT_HELP
    reasons: tuple[str, ...]  # the texts of the failed checks
    checks: tuple[Check, ...]
    # The fewest terms that would fit the protected income within policy, if any.
    suggested_terms: int | None = None


@dataclass(frozen=True)
class SelfServiceFacts:
    tenancy_start_on: date
    today: date
    arrears: Decimal
    monthly_rent: Decimal
    terms: int
    last_arrangement_on: date | None = None  # when the latest earlier arrangement was agreed


@dataclass(frozen=True)
class InstalmentStatus:
    n: int
    due_on: date
    amount: Decimal
    state: str  # one of INSTALMENT_STATES
    paid_on: date | None = None  # the day it was met (and stayed met through the check)
    miss: int = 0  # 1 for the arrangement's first missed instalment, 2 for the second, ...
    caught_up_on: date | None = None  # a missed instalment met later


@dataclass(frozen=True)
class ArrangementStatus:
    arrangement_id: str
    state: str  # one of ARRANGEMENT_STATES
    instalments: tuple[InstalmentStatus, ...]
    misses: int
    scheduled_open: Decimal  # what the schedule leaves open after instalments due before today
    open_amount: Decimal  # arrears today: old debt plus unpaid current rent
    behind: bool  # open_amount > scheduled_open (can be true within the grace days)
    completed_on: date | None
    next_step: str  # "", "contact" (first miss) or "fourteen_day_letter" (second miss)
    # The first miss's contact deadline (rule 14: within the policy's working days after
    # the grace days), kept when later misses follow.
    contact_by: date | None
    grace_days: int
    #: Ran out unpaid: one miss open, no instalment left to come (so no second miss can
    #: end it) and rule 14's contact time over: from this day it ends as a second miss
    #: does, with a new 14-day letter before the ladder goes on.
    ran_out_on: date | None = None

    @property
    def ran_out(self) -> bool:
        """One instalment missed and none left to come, still within the contact time:
        the tenant is called first (rule 14); ``ran_out_on`` follows."""
        return self.state == BROKEN_FIRST_MISS and _nothing_to_come(self.instalments)


# --- money text -----------------------------------------------------------------------

def eur(amount: Decimal, language: str = "nl") -> str:
    """€ 1.234,56 (nl) or €1,234.56 (en): the same form as the letters use."""
    q = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, cents = f"{abs(q):.2f}".split(".")
    grouped = f"{int(whole):,}"
    if language == "en":
        return f"{sign}€{grouped}.{cents}"
    return f"€ {sign}{grouped.replace(',', '.')},{cents}"


def _ceil_div(a: Decimal, b: Decimal) -> int:
    q, r = divmod(a, b)
    return int(q) + (1 if r else 0)


# --- proposal -------------------------------------------------------------------------

def _cents_only(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.quantize(CENT):
        raise ValueError(f"{what} moet een bedrag in centen zijn / {what} must be an amount "
                         f"in cents: {value!r}")


def schedule_amounts(arrears: Decimal, terms: int | None = None,
                     instalment: Decimal | None = None) -> list[Decimal]:
    """Instalment amounts in cents adding up to `arrears` exactly; remainder on the last."""
    _cents_only(arrears, "achterstand/arrears")
    if arrears <= 0:
        raise ValueError(f"geen achterstand om te regelen / no arrears to arrange: {arrears}")
    if (terms is None) == (instalment is None):
        raise ValueError("geef termijnen of termijnbedrag / give terms or instalment, not both")
    if instalment is not None:
        _cents_only(instalment, "termijnbedrag/instalment")
        if instalment <= 0:
            raise ValueError(f"termijnbedrag moet positief zijn / instalment must be positive: "
                             f"{instalment}")
        count = _ceil_div(arrears, instalment)
        base = instalment
    else:
        assert terms is not None
        if terms < 1:
            raise ValueError(f"minstens 1 termijn / at least 1 term: {terms}")
        # More terms than cents would leave zero instalments.
        count = min(terms, int(arrears / CENT))
        base = (arrears / count).quantize(CENT, rounding=ROUND_DOWN)
    amounts = [base] * (count - 1)
    amounts.append(arrears - base * (count - 1))
    return amounts


def propose(arrears: Decimal, monthly_rent: Decimal, start_on: date,
            terms: int | None = None, *, instalment: Decimal | None = None,
            protected_income_check: IncomeCheck | None = None, other_creditors: bool = False,
            agreed_on: date | None = None,
            policy: ArrangementPolicy = ArrangementPolicy()) -> Proposal | Refusal:
    """A schedule for `arrears`: `terms` equal instalments, or instalments of `instalment`.

    The first instalment is due on `start_on`, the next ones on the same day of the
    following months. Bad input raises ValueError; out of policy is a Refusal.
    """
    _cents_only(monthly_rent, "maandhuur/monthly rent")
    amounts = schedule_amounts(arrears, terms, instalment)
    count = len(amounts)
    largest = max(amounts)
    checks: list[Check] = []
    to_debt_help: set[str] = set()

    checks.append(Check(
        "max_terms", count <= policy.max_terms,
        f"{count} termijnen, maximaal {policy.max_terms} / "
        f"{count} instalments, at most {policy.max_terms}"))
    if count > policy.debt_help_months:
        to_debt_help.add("max_terms")

    checks.append(Check(
        "other_creditors", not other_creditors,
        "Andere schuldeisers gemeld: schuldhulpverlening / other creditors reported: "
        "municipal debt help" if other_creditors else
        "Geen andere schuldeisers gemeld / no other creditors reported"))
    if other_creditors:
        to_debt_help.add("other_creditors")

    suggested: int | None = None
    if protected_income_check is None:
        checks.append(Check(
            "protected_income", None,
            "Beslagvrije voet niet getoetst: geen inkomensgegevens / "
            "protected income not checked: no income data"))
    else:
        net = protected_income_check.net_income
        protected = protected_income_check.protected_income
        left = net - monthly_rent - largest
        checks.append(Check(
            "protected_income", left >= protected,
            f"Na huur {eur(monthly_rent)} en termijn {eur(largest)} blijft {eur(left)}, "
            f"beslagvrije voet {eur(protected)} / after rent {eur(monthly_rent, 'en')} and "
            f"instalment {eur(largest, 'en')} {eur(left, 'en')} is left, protected income "
            f"{eur(protected, 'en')}"))
        room = net - monthly_rent - protected
        needed = _ceil_div(arrears, room) if room > 0 else None
        clearable = needed is not None and needed <= policy.debt_help_months
        if needed is None:
            text = (f"Geen ruimte boven de beslagvrije voet ({eur(room)}): schuldhulpverlening / "
                    f"no room above the protected income ({eur(room, 'en')}): debt help")
        else:
            text = (f"Met {eur(room)} per maand ruimte is de schuld in {needed} maanden af "
                    f"(maximaal {policy.debt_help_months}) / with {eur(room, 'en')} a month "
                    f"to spare the debt is cleared in {needed} months "
                    f"(at most {policy.debt_help_months})")
        checks.append(Check("clearable", clearable, text))
        if not clearable:
            to_debt_help.add("clearable")
        elif left < protected and needed is not None and needed <= policy.max_terms:
            suggested = needed

    failed = [c for c in checks if c.passed is False]
    if failed:
        return Refusal(route=ROUTE_DEBT_HELP if to_debt_help else ROUTE_STAFF,
                       reasons=tuple(c.text for c in failed), checks=tuple(checks),
                       suggested_terms=suggested)
    day = start_on.day  # keep the day: 31 Jan, 28 Feb, 31 Mar (no drift to the 28th)
    schedule = Schedule(
        arrears=arrears,
        instalments=tuple(Instalment(n, add_months(start_on, n - 1, day), amount)
                          for n, amount in enumerate(amounts, start=1)),
        agreed_on=agreed_on or start_on)
    return Proposal(schedule=schedule, checks=tuple(checks))


def self_service_allowed(facts: SelfServiceFacts,
                         policy: ArrangementPolicy = ArrangementPolicy()
                         ) -> tuple[bool, tuple[Check, ...]]:
    """May the tenant arrange this alone (portal), or must a person decide (rule 13)?

    Returns whether it is allowed and every check with its text (the failed ones say why).
    """
    p = policy
    old_enough = add_months(facts.tenancy_start_on, p.self_service_min_tenancy_months)
    limit = facts.monthly_rent * p.self_service_max_months_rent
    since = add_months(facts.today, -p.self_service_no_arrangement_months)
    recent = facts.last_arrangement_on is not None and facts.last_arrangement_on > since
    last = facts.last_arrangement_on
    checks = (
        Check("tenancy_age", old_enough <= facts.today,
              f"Huurovereenkomst sinds {facts.tenancy_start_on:%d-%m-%Y}, minimaal "
              f"{p.self_service_min_tenancy_months} maanden / tenancy since "
              f"{facts.tenancy_start_on:%Y-%m-%d}, at least "
              f"{p.self_service_min_tenancy_months} months"),
        Check("no_recent_arrangement", not recent,
              (f"Eerdere regeling op {last:%d-%m-%Y}, minder dan "
               f"{p.self_service_no_arrangement_months} maanden geleden / earlier arrangement "
               f"on {last:%Y-%m-%d}, less than {p.self_service_no_arrangement_months} "
               "months ago") if recent and last else
              (f"Geen regeling in de laatste {p.self_service_no_arrangement_months} maanden / "
               f"no arrangement in the last {p.self_service_no_arrangement_months} months")),
        Check("arrears_limit", facts.arrears <= limit,
              f"Achterstand {eur(facts.arrears)}, maximaal {eur(limit)} / arrears "
              f"{eur(facts.arrears, 'en')}, at most {eur(limit, 'en')}"),
        Check("terms_limit", facts.terms <= p.self_service_max_terms,
              f"{facts.terms} termijnen, zelf maximaal {p.self_service_max_terms} / "
              f"{facts.terms} instalments, self-service at most {p.self_service_max_terms}"),
    )
    return all(c.passed for c in checks), checks


# --- compliance -----------------------------------------------------------------------

class _Book:
    """A ledger's oldest-first position, asked for many days in O(log n) each.

    Debts due on or before a day form a prefix of the ledger's oldest-first order
    (ledger.debts sorts by due date), so what is open of them on day Y is
    max(0, their total - credit pool on Y): the number ledger.debts gives, without
    running it again for every day. Debts are those booked through `today`.
    """

    def __init__(self, postings: Sequence[Posting], today: date) -> None:
        booked = [p for p in postings if p.booked_on <= today]
        self.pool = CreditTimeline(booked)
        owed = sorted((p.due_on or p.booked_on, p.amount) for p in booked if is_debt(p))
        self.due_days = [d for d, _ in owed]
        self.due_totals: list[Decimal] = []
        total = ZERO
        for _, amount in owed:
            total += amount
            self.due_totals.append(total)

    def due_through(self, d: date) -> Decimal:
        i = bisect_right(self.due_days, d)
        return self.due_totals[i - 1] if i else ZERO

    def open_through(self, d: date, on: date) -> Decimal:
        """Open on day `on` of all debts due on or before `d`."""
        return max(ZERO, self.due_through(d) - max(self.pool.at(on), ZERO))


def _nothing_to_come(instalments: Sequence[InstalmentStatus]) -> bool:
    """No instalment still due or upcoming: no further miss can come."""
    return not any(i.state in (UPCOMING, DUE) for i in instalments)


def compliance(schedule: Schedule, postings: Sequence[Posting], today: date,
               policy: ArrangementPolicy = ArrangementPolicy(), *,
               arrangement_id: str | int = "") -> ArrangementStatus:
    """How the arrangement stands on `today`; see the module docstring for the rule."""
    book = _Book(postings, today)
    grace = timedelta(days=policy.grace_days)

    # Completed early: a day since the agreement when nothing due was open any more.
    completed_on: date | None = None
    for day in book.pool.days:
        if schedule.agreed_on <= day <= today and book.open_through(day, day) == 0:
            completed_on = day
            break

    out: list[InstalmentStatus] = []
    misses = 0
    contact_by: date | None = None
    rest = schedule.arrears
    for inst in schedule.instalments:
        rest -= inst.amount
        level = book.due_through(inst.due_on) - rest  # credit pool that meets it

        def met(on: date, due_on: date = inst.due_on, rest: Decimal = rest) -> bool:
            return book.open_through(due_on, on) <= rest

        grace_end = inst.due_on + grace
        if completed_on is not None and completed_on <= inst.due_on:
            # Cleared before it fell due: this instalment is not needed any more.
            out.append(InstalmentStatus(inst.n, inst.due_on, inst.amount, PAID,
                                        paid_on=completed_on))
            continue
        if today < inst.due_on:
            out.append(InstalmentStatus(inst.n, inst.due_on, inst.amount, UPCOMING))
            continue
        check_on = min(today, grace_end)
        if met(check_on):
            out.append(InstalmentStatus(
                inst.n, inst.due_on, inst.amount, PAID if met(inst.due_on) else LATE,
                paid_on=book.pool.last_reached(level, check_on) or inst.due_on))
        elif today > grace_end:
            misses += 1
            if misses == 1:
                contact_by = add_business_days(grace_end, policy.contact_business_days)
            caught_up = book.pool.last_reached(level, today) if met(today) else None
            out.append(InstalmentStatus(inst.n, inst.due_on, inst.amount, MISSED,
                                        miss=misses, caught_up_on=caught_up))
        else:
            out.append(InstalmentStatus(inst.n, inst.due_on, inst.amount, DUE))

    if completed_on is None and out and out[-1].state in (PAID, LATE):
        completed_on = out[-1].paid_on
    scheduled_open = schedule.arrears - sum(
        (i.amount for i in schedule.instalments if i.due_on < today), ZERO)
    open_amount = book.open_through(today - timedelta(days=1), today)
    if completed_on is not None:
        state, next_step = COMPLETED, ""
    elif misses >= 2:
        state, next_step = BROKEN_SECOND_MISS, "fourteen_day_letter"
    elif misses == 1:
        state, next_step = BROKEN_FIRST_MISS, "contact"
    else:
        state, next_step = ON_TRACK, ""
    ran_out_on: date | None = None
    if state == BROKEN_FIRST_MISS and _nothing_to_come(out):
        made_good = [i.caught_up_on for i in out if i.state == MISSED]
        if all(made_good):
            # The miss was made good later and nothing else of the schedule is open:
            # the arrangement is done; what is open now is new arrears, the ladder's.
            state, next_step = COMPLETED, ""
            completed_on = max(d for d in made_good if d is not None)
        elif contact_by is not None and today > contact_by:
            # Rule 14: never from one miss straight back to the ladder (and on to a
            # bailiff); an arrangement that ran out unpaid ends as with a second miss.
            ran_out_on = contact_by + timedelta(days=1)
            state, next_step = BROKEN_SECOND_MISS, "fourteen_day_letter"
    return ArrangementStatus(
        arrangement_id=str(arrangement_id), state=state, instalments=tuple(out),
        misses=misses, scheduled_open=scheduled_open, open_amount=open_amount,
        behind=open_amount > scheduled_open, completed_on=completed_on, next_step=next_step,
        contact_by=contact_by,
        grace_days=policy.grace_days, ran_out_on=ran_out_on)


__all__ = [
    "ARRANGEMENT_STATES", "BROKEN_FIRST_MISS", "BROKEN_SECOND_MISS", "COMPLETED", "DUE",
    "INSTALMENT_STATES", "LATE", "MISSED", "ON_TRACK", "PAID", "ROUTE_DEBT_HELP",
    "ROUTE_STAFF", "UPCOMING", "ArrangementPolicy", "ArrangementStatus", "Check",
    "IncomeCheck", "Instalment", "InstalmentStatus", "Proposal", "Refusal", "Schedule",
    "SelfServiceFacts", "compliance", "eur", "propose", "schedule_amounts",
    "self_service_allowed",
]
