"""Early-warning signals (vroegsignalen): facts about a tenancy's payment behaviour.

Each signal has a kind, a key that makes it unique (a month, a bank entry, an
instalment) and a reason a staff member can read, Dutch first, then English. The key
stays the same on later days, so the daily run records a signal once.

Kinds and keys:

======================== ===================== ===========================================
kind                     key                   when
======================== ===================== ===========================================
missed_month             ``YYYY-MM``           a month's rent wholly unpaid a month after
                                               its due date
late_repeatedly          ``YYYY-MM`` (latest)  late in at least N of the last M months
dd_reversal              bank ref or date      a returned direct debit, with the reason
                                               code's meaning and group (``detail``)
partial_payment          ``YYYY-MM``           the month's payments were >= 10% and < 100%
                                               of its rent, and the rent was not paid by the
                                               end of the month
payday_drift             ``YYYY-MM`` (latest)  the days late rose over the last N months
broken_arrangement       ``arr<id>:<n>``       the arrangement's first missed instalment
broken_arrangement_again ``arr<id>:<n>``       a second (or later) missed instalment;
                         ``arr<id>:end``       or one that ran out with a miss open
benefit_stopped          ``YYYY-MM-DD``        housing benefit stopped (an ERP event)
rent_increase_month      ``YYYY-MM-DD``        around a rent increase, a tenant who paid on
                         (the change)          time before is late or pays the old amount
current_rent_unpaid      ``YYYY-MM``           less than the month's rent came in from its
                                               due date to the next one (what was paid,
                                               not how it was allocated: debt help, rule 9)
======================== ===================== ===========================================

Rule 14 separates a first and a second missed instalment (contact, then a new 14-day
letter), so they are two kinds: a flow can trigger on either. ``detail`` carries the
miss number (``1``, ``2``, ...) and, for dd_reversal, the reason group.

Only payment behaviour is used (RULES-NL rule 20). What was paid of a month's rent
on an earlier day is read from the ledger's oldest-first allocation as it stands today
(``debts`` once, plus the credit pool on that day): the same view as
``Debt.settled_on``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from vroeg.domain.arrangements import MISSED, ArrangementStatus, eur
from vroeg.domain.bank.return_reasons import (
    RECORD,
    REOPEN,
    RETRY_AFTER_PAYDAY,
    REVIEW,
    STOP_DIRECT_DEBIT,
    reason_for,
)
from vroeg.domain.calendar import add_months
from vroeg.domain.ledger import CreditTimeline, Posting, debts
from vroeg.domain.money import ZERO

MISSED_MONTH = "missed_month"
LATE_REPEATEDLY = "late_repeatedly"
DD_REVERSAL = "dd_reversal"
PARTIAL_PAYMENT = "partial_payment"
PAYDAY_DRIFT = "payday_drift"
BROKEN_ARRANGEMENT = "broken_arrangement"
BROKEN_ARRANGEMENT_AGAIN = "broken_arrangement_again"
BENEFIT_STOPPED = "benefit_stopped"
RENT_INCREASE_MONTH = "rent_increase_month"
CURRENT_RENT_UNPAID = "current_rent_unpaid"
CURRENT_RENT_LAG_DAYS = 3  # statements of a month's last days, still coming in
KINDS = (MISSED_MONTH, LATE_REPEATEDLY, DD_REVERSAL, PARTIAL_PAYMENT, PAYDAY_DRIFT,
         BROKEN_ARRANGEMENT, BROKEN_ARRANGEMENT_AGAIN, BENEFIT_STOPPED, RENT_INCREASE_MONTH,
         CURRENT_RENT_UNPAID)

# The Signal model stores the key and reason in columns of 40 and 300 characters.
REASON_MAX = 300
ARRANGEMENT_ID_MAX = 30  # "arr<id>:<n>" stays within 40

#: A returned direct debit's group, by what vroeg does with its reason code
#: (return_reasons.py): insufficient funds is not a refund is not a mandate problem.
REVERSAL_GROUP_BY_ACTION = {
    RETRY_AFTER_PAYDAY: "insufficient_funds",
    REOPEN: "refund",
    STOP_DIRECT_DEBIT: "mandate",
    REVIEW: "other",
    RECORD: "other",
}
REVERSAL_GROUPS = {
    "insufficient_funds": ("te weinig saldo", "insufficient funds"),
    "refund": ("terugboeking door betaler of weigering", "refund or refusal by the payer"),
    "mandate": ("machtiging of rekening", "mandate or account"),
    "other": ("technisch of onbekend", "technical or unknown"),
}

#: Events from the ERP import (the tenancy import records them). detect reads
#: benefit_stopped; a rent change comes in as a RentChange (it needs the amounts).
BENEFIT_STARTED = "benefit_started"
RENT_CHANGED = "rent_changed"
EVENT_KINDS = frozenset({BENEFIT_STOPPED, BENEFIT_STARTED, RENT_CHANGED})


@dataclass(frozen=True)
class SignalFact:
    kind: str  # one of KINDS
    key: str
    reason: str
    detail: str = ""  # dd_reversal: the reason group; broken_arrangement*: the miss number


@dataclass(frozen=True)
class SignalPolicy:
    late_grace_days: int = 3
    late_window_months: int = 6
    late_min_count: int = 2
    reversal_window_days: int = 62
    # Partial payment: the month's net credits as a share of its rent, min <= share < max.
    partial_min_share: Decimal = Decimal("0.10")
    partial_max_share: Decimal = Decimal("1.00")
    # Payday drift over the last `drift_months` rent months: each month's days late is at
    # least the month before's minus the tolerance (weekends shift a payday by a day or
    # two), and the last is at least `drift_min_increase_days` later than the first.
    drift_months: int = 4
    drift_min_increase_days: int = 5
    drift_tolerance_days: int = 1
    # A benefit event counts from this many days before today (and any later date).
    benefit_window_days: int = 92
    # Rent increase: watched from 1 month before until 2 months after the change, for a
    # tenant on time in the 3 rent months before that.
    rent_change_before_months: int = 1
    rent_change_after_months: int = 2
    rent_change_on_time_months: int = 3
    # The usual payday, learned: the median days late of the last `payday_months` paid
    # rent months (at least `payday_min_months` of them), when that is past the grace
    # days and within the month (later than that is arrears, not a payday).
    payday_months: int = 6
    payday_min_months: int = 3


@dataclass(frozen=True)
class TenancyEvent:
    """An event from the ERP import, e.g. housing benefit (huurtoeslag) stopped."""

    kind: str  # one of EVENT_KINDS
    on: date
    source: str = ""  # where the import saw it, for the audit trail

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"onbekend soort gebeurtenis / unknown event kind {self.kind!r}; "
                             f"expected one of {sorted(EVENT_KINDS)}")


@dataclass(frozen=True)
class RentChange:
    """A change of the monthly rent (usually the yearly increase on 1 July)."""

    effective_on: date
    old_rent: Decimal
    new_rent: Decimal


class _Month:
    """One rent month: its charges (usually one), where they stand in the ledger today."""

    __slots__ = ("amount", "due_on", "next_due_on", "parts", "settled_on")

    def __init__(self, due_on: date, settled_on: date | None) -> None:
        self.due_on = due_on
        self.next_due_on = add_months(due_on, 1)
        self.amount = ZERO
        self.settled_on = settled_on  # when all its charges were (and stayed) paid
        self.parts: list[tuple[Decimal, Decimal]] = []  # (credit owed before it, amount)

    def days_late(self, today: date) -> int:
        """Days from due to paid; still open: days so far (a lower bound)."""
        if self.settled_on is None:
            return max(0, (today - self.due_on).days)
        return max(0, (self.settled_on - self.due_on).days)


class _Ledger:
    """The ledger read once per detect(): debts() once, the credit pool for other days."""

    def __init__(self, postings: Sequence[Posting], today: date) -> None:
        booked = [p for p in postings if p.booked_on <= today]
        self.pool = CreditTimeline(booked)
        by_month: dict[tuple[int, int], _Month] = {}
        cumulative = ZERO
        for d in debts(booked, today):  # oldest first
            before = cumulative
            cumulative += d.amount
            if d.kind != "charge":
                continue
            m = by_month.get((d.due_on.year, d.due_on.month))
            if m is None:
                m = by_month[(d.due_on.year, d.due_on.month)] = _Month(d.due_on, d.settled_on)
            elif d.settled_on is None or m.settled_on is None:
                m.settled_on = None
            else:
                m.settled_on = max(m.settled_on, d.settled_on)
            m.amount += d.amount
            m.parts.append((before, d.amount))
        self.months = [by_month[k] for k in sorted(by_month)]
        for m, nxt in zip(self.months, self.months[1:], strict=False):
            m.next_due_on = nxt.due_on

    def paid(self, m: _Month, on: date) -> Decimal:
        """What was paid of month m's rent on day `on` (oldest first)."""
        pool = self.pool.at(on)
        return sum((min(max(pool - before, ZERO), amount) for before, amount in m.parts), ZERO)

    def credits(self, first: date, last: date) -> Decimal:
        """Net credits (payments minus reversals) booked from `first` through `last`."""
        return self.pool.at(last) - self.pool.at(first - timedelta(days=1))


def _nl(d: date) -> str:
    return f"{d:%d-%m-%Y}"


def _month_nl(d: date) -> str:
    return f"{d:%m-%Y}"


def _fit(text: str) -> str:
    # The Signal table holds 300 characters; texts are written to fit, this is a guard.
    return text if len(text) <= REASON_MAX else text[:REASON_MAX - 1] + "…"


def _percent(part: Decimal, whole: Decimal) -> int:
    return int((part * 100 / whole).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def detect(postings: Sequence[Posting], today: date,
           policy: SignalPolicy = SignalPolicy(), *,
           events: Iterable[TenancyEvent] = (),
           rent_changes: Iterable[RentChange] = (),
           arrangements: Iterable[ArrangementStatus] = ()) -> list[SignalFact]:
    """Every signal that holds on `today`; at most one fact per (kind, key)."""
    book = _Ledger(postings, today)
    grace = policy.late_grace_days
    window_start = add_months(today, -policy.late_window_months)
    recent = [m for m in book.months if window_start < m.due_on <= today]
    out: list[SignalFact] = []

    # Missed a month: a month's rent still wholly unpaid a month after its due date.
    for m in recent:
        month_later = add_months(m.due_on, 1)
        if month_later > today:
            continue
        if (m.settled_on is None or m.settled_on >= month_later) \
                and book.paid(m, month_later) == 0:
            out.append(SignalFact(
                MISSED_MONTH, f"{m.due_on:%Y-%m}",
                f"Huur {_month_nl(m.due_on)} een maand na de vervaldag nog niet betaald / "
                f"rent of {m.due_on:%Y-%m} still wholly unpaid one month after its due date"))

    # Late in at least N of the last M months.
    late = [m for m in recent if m.days_late(today) > grace]
    if len(late) >= policy.late_min_count:
        months = ", ".join(f"{m.due_on:%Y-%m}" for m in late)
        out.append(SignalFact(
            LATE_REPEATEDLY, f"{late[-1].due_on:%Y-%m}",
            f"{len(late)} van de laatste {policy.late_window_months} maanden te laat betaald "
            f"({months}) / late in {len(late)} of the last {policy.late_window_months} months"))

    out.extend(_reversals(postings, today, policy))
    out.extend(_partial_payments(book, recent, today, policy))
    out.extend(_current_rent_unpaid(book, recent, today))
    out.extend(_payday_drift(book, today, window_start, policy))
    out.extend(_broken_arrangements(arrangements))
    out.extend(_benefit_stopped(events, today, policy))
    out.extend(_rent_increase(book, rent_changes, today, policy))

    # One fact per (kind, key): the Signal table stores each once.
    seen: set[tuple[str, str]] = set()
    unique: list[SignalFact] = []
    for f in out:
        if (f.kind, f.key) not in seen:
            seen.add((f.kind, f.key))
            unique.append(SignalFact(f.kind, f.key, _fit(f.reason), f.detail))
    return unique


def usual_payday(postings: Sequence[Posting], today: date,
                 policy: SignalPolicy = SignalPolicy()) -> int | None:
    """The day of the month this tenancy's rent usually comes in, when that is some days
    after the due date (the household's income arrives later in the month); None when
    it is usually paid on time, or there is too little history to tell."""
    book = _Ledger(postings, today)
    paid = [m for m in book.months if m.settled_on is not None and m.due_on < today]
    paid = paid[-policy.payday_months:]
    if len(paid) < policy.payday_min_months:
        return None
    late = sorted(m.days_late(today) for m in paid)
    median = late[len(late) // 2]
    if median <= policy.late_grace_days or median >= 28:
        return None
    return (paid[-1].due_on + timedelta(days=median)).day


def reversal_group(code: str) -> str:
    """insufficient_funds, refund, mandate or other (REVERSAL_GROUPS)."""
    return REVERSAL_GROUP_BY_ACTION.get(reason_for(code).action, "other")


def _reversals(postings: Sequence[Posting], today: date,
               policy: SignalPolicy) -> list[SignalFact]:
    """Direct-debit returns and why: AM04 (no money) is not MD06 (refund) is not MD01."""
    since = today - timedelta(days=policy.reversal_window_days)
    by_key: dict[str, list[Posting]] = {}
    for p in postings:
        if p.kind == "reversal" and since < p.booked_on <= today:
            by_key.setdefault(p.ref or f"{p.booked_on:%Y-%m-%d}", []).append(p)
    out = []
    for group in by_key.values():
        group.sort(key=lambda p: (p.booked_on, p.reason, p.amount))
    # In booking order whatever the postings' order (the database returns them unsorted).
    for key, group in sorted(by_key.items(), key=lambda kv: (kv[1][0].booked_on, kv[0])):
        # Ref-less returns on one day share their key: one fact names them all.
        first = group[0]
        code = reason_for(first.reason)
        gid = reversal_group(first.reason)
        g_nl, g_en = REVERSAL_GROUPS[gid]
        label = f"{code.code} " if code.code else ""
        more_nl = f" (+{len(group) - 1} meer)" if len(group) > 1 else ""
        more_en = f" (+{len(group) - 1} more)" if len(group) > 1 else ""
        out.append(SignalFact(
            DD_REVERSAL, key,
            f"Incasso gestorneerd op {_nl(first.booked_on)}: {label}{code.nl} [{g_nl}]{more_nl}"
            f" / direct debit returned on {first.booked_on:%Y-%m-%d}: {label}{code.en} "
            f"[{g_en}]{more_en}",
            detail=gid))
    return out


def _partial_payments(book: _Ledger, recent: list[_Month], today: date,
                      policy: SignalPolicy) -> list[SignalFact]:
    """A month whose own payments covered part of its rent, and it stayed unpaid.

    The month is judged when it is over (on the next due date): its net credits from
    its due date until the next one, as a share of its rent. The rent must also still be
    open at the month's end, so a rent half prepaid the month before is not partial.
    """
    out = []
    for m in recent:
        if m.next_due_on > today or m.amount <= 0:
            continue
        last_day = m.next_due_on - timedelta(days=1)
        if m.settled_on is not None and m.settled_on <= last_day:
            continue
        paid = book.credits(m.due_on, last_day)
        share = paid / m.amount
        if policy.partial_min_share <= share < policy.partial_max_share:
            pct = _percent(paid, m.amount)
            out.append(SignalFact(
                PARTIAL_PAYMENT, f"{m.due_on:%Y-%m}",
                f"Huur {_month_nl(m.due_on)} deels betaald: {eur(paid)} van {eur(m.amount)} "
                f"({pct}%) / rent of {m.due_on:%Y-%m} partly paid: {eur(paid, 'en')} of "
                f"{eur(m.amount, 'en')} ({pct}%)"))
    return out


def _current_rent_unpaid(book: _Ledger, recent: list[_Month], today: date) -> list[SignalFact]:
    """A month in which less than its rent came in (from its due date until the next):
    during debt help the current rent must be paid, whatever older debt the payments
    are allocated to (rule 9). Judged a few days after the month is over: its last
    days' payments come in on the next mornings' statements."""
    out = []
    for m in recent:
        if m.next_due_on + timedelta(days=CURRENT_RENT_LAG_DAYS) > today or m.amount <= 0:
            continue
        paid = book.credits(m.due_on, m.next_due_on - timedelta(days=1))
        if paid < m.amount:
            out.append(SignalFact(
                CURRENT_RENT_UNPAID, f"{m.due_on:%Y-%m}",
                f"In {_month_nl(m.due_on)} kwam {eur(paid)} binnen, de huur is {eur(m.amount)}"
                f" / in {m.due_on:%Y-%m} {eur(paid, 'en')} came in, the rent is "
                f"{eur(m.amount, 'en')}"))
    return out


def _payday_drift(book: _Ledger, today: date, window_start: date,
                  policy: SignalPolicy) -> list[SignalFact]:
    """The days late of the last N rent months keep rising (see SignalPolicy)."""
    n = policy.drift_months
    if n < 2:
        return []
    months = [m for m in book.months if m.due_on <= today][-n:]
    if len(months) < n or months[-1].due_on <= window_start:
        return []
    days = [m.days_late(today) for m in months]
    rising = all(b >= a - policy.drift_tolerance_days for a, b in zip(days, days[1:],
                                                                       strict=False))
    if not rising or days[-1] - days[0] < policy.drift_min_increase_days:
        return []
    # A month still open shows its days so far, with a '+'.
    shown = ", ".join(f"{d}+" if m.settled_on is None else str(d)
                      for m, d in zip(months, days, strict=True))
    first, last = months[0].due_on, months[-1].due_on
    return [SignalFact(
        PAYDAY_DRIFT, f"{last:%Y-%m}",
        f"Betaaldag schuift op: dagen te laat {shown} ({_month_nl(first)} t/m "
        f"{_month_nl(last)}) / payday drifting later: days late {shown} "
        f"({first:%Y-%m} to {last:%Y-%m})")]


def _broken_arrangements(arrangements: Iterable[ArrangementStatus]) -> list[SignalFact]:
    """Each missed instalment once; the first miss and later misses are separate kinds."""
    out = []
    ids: set[str] = set()
    for a in arrangements:
        if not a.arrangement_id or len(a.arrangement_id) > ARRANGEMENT_ID_MAX:
            raise ValueError(f"regeling-id leeg of te lang / arrangement id empty or longer "
                             f"than {ARRANGEMENT_ID_MAX}: {a.arrangement_id!r}")
        if a.arrangement_id in ids:
            raise ValueError(f"regeling {a.arrangement_id} twee keer / arrangement "
                             f"{a.arrangement_id} given twice")
        ids.add(a.arrangement_id)
        for i in a.instalments:
            if i.state != MISSED:
                continue
            what_nl = (f"termijn {i.n} van {eur(i.amount)} (vervaldag {_nl(i.due_on)}) niet "
                       f"betaald binnen {a.grace_days} dagen")
            what_en = (f"instalment {i.n} of {eur(i.amount, 'en')} due {i.due_on:%Y-%m-%d} "
                       f"not paid within {a.grace_days} days")
            if i.miss == 1:
                by_nl = f", uiterlijk {_nl(a.contact_by)}" if a.contact_by else ""
                by_en = f" by {a.contact_by:%Y-%m-%d}" if a.contact_by else ""
                out.append(SignalFact(
                    BROKEN_ARRANGEMENT, f"arr{a.arrangement_id}:{i.n}",
                    f"Regeling niet nagekomen: {what_nl}; eerste keer: neem contact op{by_nl} / "
                    f"arrangement broken: {what_en}; first miss: contact the tenant{by_en}",
                    detail=str(i.miss)))
            else:
                out.append(SignalFact(
                    BROKEN_ARRANGEMENT_AGAIN, f"arr{a.arrangement_id}:{i.n}",
                    f"Regeling opnieuw niet nagekomen ({i.miss}e keer): {what_nl}; nieuwe "
                    f"veertiendagenbrief / arrangement broken again (miss {i.miss}): "
                    f"{what_en}; a new 14-day letter",
                    detail=str(i.miss)))
        if a.ran_out_on is not None:
            # Rule 14: no second miss can come, and the contact time (to the day
            # before) is over.
            by = a.ran_out_on - timedelta(days=1)
            out.append(SignalFact(
                BROKEN_ARRANGEMENT_AGAIN, f"arr{a.arrangement_id}:end",
                f"Regeling afgelopen met een termijn niet betaald (contact was uiterlijk "
                f"{_nl(by)}); nieuwe veertiendagenbrief / arrangement ran out with an "
                f"instalment unpaid (contact was due by {by:%Y-%m-%d}); a new 14-day letter",
                detail="end"))
    return out


def _benefit_stopped(events: Iterable[TenancyEvent], today: date,
                     policy: SignalPolicy) -> list[SignalFact]:
    since = today - timedelta(days=policy.benefit_window_days)
    out = []
    for e in sorted(events, key=lambda e: (e.on, e.source)):
        if e.kind != BENEFIT_STOPPED or e.on < since:
            continue
        # An announced stop is an early warning too (rule 18: flag a stopped benefit).
        verb_nl, verb_en = ("stopt", "stops") if e.on > today else ("gestopt", "stopped")
        out.append(SignalFact(
            BENEFIT_STOPPED, f"{e.on:%Y-%m-%d}",
            f"Huurtoeslag {verb_nl} per {_nl(e.on)} (melding uit de huuradministratie) / "
            f"housing benefit {verb_en} as of {e.on:%Y-%m-%d} (from the ERP import)"))
    return out


def _rent_increase(book: _Ledger, changes: Iterable[RentChange], today: date,
                   policy: SignalPolicy) -> list[SignalFact]:
    """Around a rent increase: on time before, and now late or paying the old amount.

    Watched from `rent_change_before_months` before the change until
    `rent_change_after_months` after it. "On time before": the (up to)
    `rent_change_on_time_months` rent months due before that watch window were each paid
    within the grace days. "Late": a rent month due in the watch window is more than the
    grace days late. "Old amount": a month due on or after the change whose payments so
    far are at least the old rent but less than the new one, after the grace days.
    """
    grace = policy.late_grace_days
    out = []
    for c in changes:
        if c.new_rent <= c.old_rent:
            continue  # a decrease or no change: the old amount pays in full
        watch_from = add_months(c.effective_on, -policy.rent_change_before_months)
        watch_until = add_months(c.effective_on, policy.rent_change_after_months)
        if not watch_from <= today <= watch_until:
            continue
        before = [m for m in book.months if m.due_on < watch_from]
        before = before[-policy.rent_change_on_time_months:]
        if not before or any(m.days_late(today) > grace for m in before):
            continue
        head_nl = (f"Huurverhoging per {_nl(c.effective_on)} ({eur(c.old_rent)} naar "
                   f"{eur(c.new_rent)}): voorheen op tijd, ")
        head_en = (f"rent increase from {c.effective_on:%Y-%m-%d} ({eur(c.old_rent, 'en')} to "
                   f"{eur(c.new_rent, 'en')}): on time before, ")
        for m in book.months:
            if not watch_from <= m.due_on <= today:
                continue
            if m.due_on >= c.effective_on and (today - m.due_on).days > grace:
                paid = book.credits(m.due_on, min(today, m.next_due_on - timedelta(days=1)))
                if c.old_rent <= paid < c.new_rent:
                    out.append(SignalFact(
                        RENT_INCREASE_MONTH, f"{c.effective_on:%Y-%m-%d}",
                        f"{head_nl}huur {_month_nl(m.due_on)} betaald met het oude bedrag "
                        f"({eur(paid)}) / {head_en}rent of {m.due_on:%Y-%m} paid at the old "
                        f"amount ({eur(paid, 'en')})"))
                    break
            days = m.days_late(today)
            if days > grace:
                plus = "+" if m.settled_on is None else ""
                out.append(SignalFact(
                    RENT_INCREASE_MONTH, f"{c.effective_on:%Y-%m-%d}",
                    f"{head_nl}huur {_month_nl(m.due_on)} {days}{plus} dagen te laat / "
                    f"{head_en}rent of {m.due_on:%Y-%m} {days}{plus} days late"))
                break
    return out


# --- risk score -----------------------------------------------------------------------

class RiskReason(NamedTuple):
    feature: str
    points: int
    text: str


@dataclass(frozen=True)
class RiskScore:
    score: int  # 0-100: only orders who gets help first; never triggers a legal step
    reasons: tuple[RiskReason, ...]  # the points add up to the score
    features_used: tuple[str, ...]  # every feature looked at (rule 20: log them)


@dataclass(frozen=True)
class RiskWeight:
    points: int  # per occurrence (days_overdue: per `per` days)
    cap: int  # the most this feature adds
    nl: str
    en: str
    per: int = 1


#: Payment behaviour only (RULES-NL rule 20): days late, missed months, reversals,
#: arrangement history, responsiveness. The caps add up to 100, so the score is the plain
#: sum of its reasons, never clipped.
RISK_WEIGHTS: dict[str, RiskWeight] = {
    "days_overdue": RiskWeight(1, 20, "dagen sinds de oudste open vervaldag",
                               "days since the oldest unpaid due date", per=3),
    MISSED_MONTH: RiskWeight(8, 24, "gemiste maand", "missed month"),
    PARTIAL_PAYMENT: RiskWeight(3, 6, "deels betaalde maand", "partly paid month"),
    LATE_REPEATEDLY: RiskWeight(6, 6, "herhaald te laat", "repeatedly late"),
    PAYDAY_DRIFT: RiskWeight(4, 4, "betaaldag schuift op", "payday drifting later"),
    RENT_INCREASE_MONTH: RiskWeight(3, 3, "achter na huurverhoging",
                                    "behind after a rent increase"),
    DD_REVERSAL: RiskWeight(5, 10, "gestorneerde incasso", "returned direct debit"),
    BROKEN_ARRANGEMENT: RiskWeight(7, 7, "regeling niet nagekomen", "arrangement broken"),
    BROKEN_ARRANGEMENT_AGAIN: RiskWeight(10, 10, "regeling opnieuw niet nagekomen",
                                         "arrangement broken again"),
    "unanswered_contacts": RiskWeight(2, 10, "contactpoging zonder reactie",
                                      "contact attempt without a response"),
}
#: A return's points by its group (at most DD_REVERSAL's points): no money says more
#: than a refund, a closed account or mandate least.
REVERSAL_POINTS = {"insufficient_funds": 5, "refund": 3, "mandate": 2, "other": 1}
#: Signals that are not payment behaviour: they ask for help on their own, not via the
#: score (a stopped benefit is an income event).
# current_rent_unpaid tells what missed_month and partial_payment already score.
NOT_SCORED = frozenset({BENEFIT_STOPPED, CURRENT_RENT_UNPAID})


def risk_score(facts: Iterable[SignalFact], *, days_overdue: int = 0,
               unanswered_contacts: int = 0,
               weights: Mapping[str, RiskWeight] = RISK_WEIGHTS) -> RiskScore:
    """Order tenants for help by payment behaviour, with the points of each reason.

    `facts` are today's signals (detect), `days_overdue` the ageing's days since the
    oldest unpaid due date, `unanswered_contacts` the contact attempts in the case that
    got no response. Nothing else goes in.
    """
    if sum(w.cap for w in weights.values()) > 100:
        raise ValueError("de maxima van de gewichten zijn samen meer dan 100 / "
                         "the weights' caps add up to more than 100")
    if days_overdue < 0 or unanswered_contacts < 0:
        raise ValueError("negatieve aantallen / negative counts")
    by_kind: dict[str, list[SignalFact]] = {}
    for f in facts:
        if f.kind in NOT_SCORED:
            continue
        if f.kind not in weights:
            raise ValueError(f"signaal {f.kind!r} heeft geen gewicht / signal {f.kind!r} has "
                             "no risk weight: classify it in RISK_WEIGHTS or NOT_SCORED")
        by_kind.setdefault(f.kind, []).append(f)

    reasons: list[RiskReason] = []
    for feature, w in weights.items():
        if feature == "days_overdue":
            count, raw = days_overdue, (days_overdue // w.per) * w.points
            what_nl, what_en = f"{days_overdue} {w.nl}", f"{days_overdue} {w.en}"
        elif feature == "unanswered_contacts":
            count, raw = unanswered_contacts, unanswered_contacts * w.points
            what_nl, what_en = f"{count}× {w.nl}", f"{w.en} ×{count}"
        else:
            group = sorted(by_kind.get(feature, []), key=lambda f: f.key)
            count = len(group)
            if feature == DD_REVERSAL:
                raw = sum(min(w.points, REVERSAL_POINTS.get(f.detail, 1)) for f in group)
            else:
                raw = count * w.points
            keys = ", ".join(f.key for f in group)
            what_nl, what_en = f"{count}× {w.nl} ({keys})", f"{w.en} ×{count} ({keys})"
        points = min(raw, w.cap)
        if count and points > 0:
            capped_nl = f", maximaal {w.cap}" if raw > w.cap else ""
            capped_en = f", at most {w.cap}" if raw > w.cap else ""
            reasons.append(RiskReason(
                feature, points,
                f"{what_nl}: {points} punten{capped_nl} / {what_en}: {points} points{capped_en}"))
    return RiskScore(score=sum(r.points for r in reasons), reasons=tuple(reasons),
                     features_used=tuple(weights))
