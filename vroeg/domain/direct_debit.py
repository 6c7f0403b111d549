"""SEPA direct debit (automatische incasso) of the monthly rent. Pure: no Django, no clock.

Two decisions live here:

1. :func:`plan_collections`: given the day a collection file is made and the facts of
   each tenancy with an active mandate, which collections go into the file, each with
   its end-to-end id, amount, sequence type (FRST/RCUR) and requested collection date.
2. :func:`decide_return`: what to do with a returned, rejected or refunded collection,
   by its ISO reason code (table in vroeg/domain/bank/return_reasons.py).

Dates. A collection settles on a TARGET2 day (calendar.py). The bank needs the file a
lead time ahead (EPC Core rulebook since 2016: D-1 TARGET2 day for FRST and RCUR; a
bank may ask more, hence the parameter). So a file made on day D asks for collection
on H = D + lead TARGET2 days, the earliest date allowed, and holds everything due by
then: each month's rent whose due date (moved to the next TARGET2 day) is on or
before H, plus the planned retries whose date has come. Run daily, each rent is
collected on its due date (or the next TARGET2 day); after a missed day, as soon as
possible. Rent due more than ``catch_up_days`` before D is left to the collection
flow: old arrears are never collected by surprise.

Sequence type (EPC SDD Core rulebook, section 4.5 and the FRST/RCUR guidance):
FRST for the first collection of a mandate, RCUR for every later one. The mandate
counts as used once a collection under it was sent and not rejected before
settlement (:data:`SENT_STATUSES`). So a FRST rejected before settlement (a pain.002
reject, never credited) leaves the mandate unused, and the next collection, its
retry included, is FRST again; a FRST that settled and was returned afterwards (a
camt return, MD06 refund) used the mandate, and the next one is RCUR. While a mandate
is unused, a file carries at most one collection under it (the one FRST); others wait
for the next file. A new debtor account (IBAN) makes the mandate unused again: the
conservative reading of the amendment rule (FRST is always accepted).

Never twice, never after a refund. A month is collected at most once per attempt: a
month with any collection of ours (any attempt, any status) is not planned again. The
bank files may also hold direct debits that are not ours: the previous system's, before
vroeg took over (:class:`BankDebit`, gathered by the shell). Their month is the one
their end-to-end id names (``<code>-<yyyymm>``, see :func:`period_in_end_to_end_id`),
else the month whose due date is on or before the booking, or at most
``EARLY_COLLECTION_DAYS`` after it (collected early); a return without its own month
takes the month of the credit with the same end-to-end id. For such a month
(:func:`month_history`):

- a refund by the payer (MD06) at any time: never collected again; the arrears are
  open (the statement's reversal) and the collection flow handles them;
- the last word a credit: collected already, nothing to do;
- the last word a return for lack of funds (AM04, MS03): one retry (attempt 2), from
  the first TARGET2 day after the household's next payday after the return
  (:func:`retry_date`) until the tenancy's next due date (missed: the flow's), for at
  most what is owed less what was paid otherwise since the return; not after a second
  failure, and not when the return is older than ``RETRY_HORIZON_DAYS``;
- any other return: not collected again; the collection flow takes over.

Each month left out says why (:class:`Skipped`, Dutch / English).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from vroeg.domain.bank.return_reasons import (
    REFUND_CODES,
    RETRY_AFTER_PAYDAY,
    REVIEW,
    STOP_DIRECT_DEBIT,
    reason_for,
)
from vroeg.domain.calendar import (
    add_target2_days,
    due_date,
    due_dates_between,
    next_payday,
    target2_on_or_after,
)

FRST = "FRST"
RCUR = "RCUR"
VERSIONS = ("001.02", "001.08")
DEFAULT_LEAD_DAYS = 1
DEFAULT_CATCH_UP_DAYS = 10
MAX_ATTEMPTS = 2  # the first collection and one retry after payday (RULES-NL rule 19)
MAX_AMOUNT = Decimal("999999999.99")
ZERO = Decimal("0.00")
DEFAULT_PAYDAY = 25  # VROEG_DEFAULT_PAYDAY: when a household's payday is not known
#: A direct debit of the bank history without a month in its end-to-end id counts for
#: the month due on or before it, or at most this many days after it (collected early).
EARLY_COLLECTION_DAYS = 7
#: A previous system's AM04 return older than this gets no retry from vroeg.
RETRY_HORIZON_DAYS = 45
#: The marker of vroeg's own end-to-end ids (see end_to_end_id).
E2E_MARKER = "VR"

# Collection statuses (the Django model uses the same values).
PLANNED = "planned"        # a retry waiting for its date
EXPORTED = "exported"      # in a pain.008 file sent to the bank
SETTLED = "settled"        # credited on a statement
REJECTED = "rejected"      # refused before settlement (pain.002): never credited
RETURNED = "returned"      # returned after settlement (camt): the statement reverses it
REFUNDED = "refunded"      # paid back to the payer on request (MD06)
CANCELLED = "cancelled"    # a planned retry that will not go out
STATUSES = (PLANNED, EXPORTED, SETTLED, REJECTED, RETURNED, REFUNDED, CANCELLED)
#: Sent and not rejected before settlement: the mandate has been used.
SENT_STATUSES = frozenset({EXPORTED, SETTLED, RETURNED, REFUNDED})

MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
             "september", "oktober", "november", "december")

# SEPA's restricted Latin character set for identifiers (EPC implementation guidelines).
_SEPA_ID = re.compile(r"^[A-Za-z0-9+?/\-:().,']{1,35}$")


# --- identifiers -------------------------------------------------------------------------

def is_sepa_id(value: str) -> bool:
    """1-35 characters of the SEPA set, not starting or ending with '/', no '//'."""
    return (bool(_SEPA_ID.match(value)) and not value.startswith("/")
            and not value.endswith("/") and "//" not in value)


def end_to_end_id(code: str, tenancy_id: int, period: date, attempt: int = 1) -> str:
    """``<tenancy code>-<yyyymm>-VR1`` for the first attempt, ``...-VR2`` for the retry.

    The ``VR`` marker keeps vroeg's ids apart from those another system wrote for the
    same month (``<code>-<yyyymm>``, as the demo's bank history has them): a credit or
    return under such an id is never taken for one of ours. A tenancy code that is not
    a valid SEPA id or too long falls back to ``T<tenancy id>-<yyyymm>-VR<n>``, so the
    id always fits the schema (35 characters). Ids already stored keep their form.
    """
    suffix = f"-{E2E_MARKER}{max(attempt, 1)}"
    value = f"{code}-{period:%Y%m}{suffix}"
    if is_sepa_id(value):
        return value
    return f"T{tenancy_id}-{period:%Y%m}{suffix}"


_E2E_MONTH = re.compile(rf"^(\d{{4}})(\d{{2}})(?:-(?:{E2E_MARKER})?\d{{1,2}})?$")


def period_in_end_to_end_id(e2e: str, code: str, tenancy_id: int) -> date | None:
    """The month (first day) an end-to-end id names for this tenancy, or None.

    Reads vroeg's own ids of every form (``<code>-<yyyymm>``, ``...-2``, ``...-VR1``,
    the ``T<tenancy id>`` fallback) and so also another system's ``<code>-<yyyymm>``.
    """
    for prefix in (code, f"T{tenancy_id}"):
        if prefix and e2e.startswith(prefix + "-"):
            m = _E2E_MONTH.match(e2e[len(prefix) + 1:])
            if m and 1 <= int(m.group(2)) <= 12 and int(m.group(1)) >= 1900:
                return date(int(m.group(1)), int(m.group(2)), 1)
    return None


def creditor_id_check(country: str, national_id: str) -> str:
    """The two check digits of a SEPA creditor identifier (ISO 7064 MOD 97-10 over the
    national id, then the country code and '00'; the business code is not counted)."""
    text = (national_id + country + "00").upper()
    digits = "".join(str(int(ch, 36)) for ch in text if ch.isalnum())
    return f"{98 - int(digits) % 97:02d}"


def is_valid_creditor_id(value: str) -> bool:
    """A SEPA creditor identifier such as NL69ZZZ123456780000: country, check digits,
    a 3-character business code, and the national identifier (in NL: KvK + 4 digits)."""
    value = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}", value):
        return False
    return creditor_id_check(value[:2], value[7:]) == value[2:4]


def message_id(day: date) -> str:
    """The pain.008 message id of the day's file (one file per day)."""
    return f"VROEG-DD-{day:%Y%m%d}"


def remittance(period: date, code: str) -> str:
    """The line the tenant sees on their bank statement."""
    return f"Huur {MONTHS_NL[period.month - 1]} {period.year} {code} / rent {period:%Y-%m}"[:140]


def sequence_type(mandate_used: bool) -> str:
    return RCUR if mandate_used else FRST


def mandate_used(statuses: Iterable[str]) -> bool:
    """Whether a mandate has been used, from the statuses of its collections."""
    return any(s in SENT_STATUSES for s in statuses)


# --- dates -------------------------------------------------------------------------------

def collection_date(day: date, lead_days: int = DEFAULT_LEAD_DAYS) -> date:
    """The requested collection date of a file made on `day`: the earliest allowed."""
    return add_target2_days(day, max(lead_days, 1))



def retry_date(handled_on: date, payday: int, lead_days: int = DEFAULT_LEAD_DAYS) -> date:
    """When a collection returned for lack of funds is tried again: the first TARGET2
    day after the household's next payday (income may arrive on the payday itself),
    and no earlier than the bank's lead time allows."""
    after_pay = target2_on_or_after(next_payday(handled_on, payday) + timedelta(days=1))
    return max(after_pay, collection_date(handled_on, lead_days))


# --- planning a file ---------------------------------------------------------------------

@dataclass(frozen=True)
class MandateFacts:
    mandate_id: int
    reference: str
    signed_on: date | None
    debtor_name: str
    debtor_iban: str
    debtor_bic: str = ""
    used: bool = False


@dataclass(frozen=True)
class BankDebit:
    """A direct debit on a bank file that is not one of vroeg's collections (the previous
    system's): a credit (amount > 0), or a return, reject or refund (amount < 0, with
    its reason code)."""

    booked_on: date
    amount: Decimal
    #: The month its end-to-end id names (:func:`period_in_end_to_end_id`), if any.
    period: date | None = None
    return_reason: str = ""
    #: Its end-to-end id: ties a return to its credit, and the same return told twice
    #: (a notification, then the statement) counts once.
    end_to_end_id: str = ""

    @property
    def is_return(self) -> bool:
        return self.amount < 0


TOO_OLD_FOR_RETRY = ("te lang geleden voor een nieuwe poging, de incassostappen nemen het "
                     "over / too long ago for a retry, the collection flow takes over")

#: What the bank history says about a month (see :func:`month_history`).
HISTORY_COLLECTED = "collected"
HISTORY_REFUNDED = "refunded"
HISTORY_RETRY = "retry"
HISTORY_FAILED_TWICE = "failed_twice"
HISTORY_RETURNED = "returned"


@dataclass(frozen=True)
class MonthHistory:
    verdict: str
    #: Why it is not collected as usual (Dutch / English), without personal data.
    reason: str
    #: For a retry: the date of the return, and the amount it took back.
    returned_on: date | None = None
    amount: Decimal = ZERO


def bank_debit_period(b: BankDebit, due_day: int) -> date:
    """The month a direct debit of the bank history belongs to (see the module text)."""
    if b.period is not None:
        return b.period
    ref = b.booked_on + timedelta(days=EARLY_COLLECTION_DAYS)
    due = due_date(ref.year, ref.month, due_day)
    if due > ref:
        y, m = (ref.year - 1, 12) if ref.month == 1 else (ref.year, ref.month - 1)
        due = due_date(y, m, due_day)
    return due.replace(day=1)


def months_of(debits: Iterable[BankDebit], due_day: int) -> dict[date, list[BankDebit]]:
    """The bank history's direct debits by month; a return without a month of its own
    takes the month of the credit with the same end-to-end id."""
    debits = list(debits)
    credit_month = {b.end_to_end_id: bank_debit_period(b, due_day) for b in debits
                    if not b.is_return and b.end_to_end_id}
    out: dict[date, list[BankDebit]] = {}
    for b in debits:
        if b.is_return and b.period is None and b.end_to_end_id in credit_month:
            month = credit_month[b.end_to_end_id]
        elif b.is_return and b.period is None:
            if reason_for(b.return_reason).code in REFUND_CODES:
                # A refund can come 8 weeks later: its month is unknown. It blocks no
                # month (a month that old is the collection flow's anyway).
                continue
            # A return comes days after its collection: the month due on or before it.
            due = due_date(b.booked_on.year, b.booked_on.month, due_day)
            if due > b.booked_on:
                y, m = (due.year - 1, 12) if due.month == 1 else (due.year, due.month - 1)
                due = due_date(y, m, due_day)
            month = due.replace(day=1)
        else:
            month = bank_debit_period(b, due_day)
        out.setdefault(month, []).append(b)
    return out


def month_history(debits: Sequence[BankDebit]) -> MonthHistory:
    """What the bank history of one month means for collecting it (module text)."""
    returns: dict[tuple[object, ...], BankDebit] = {}
    for b in sorted((b for b in debits if b.is_return), key=lambda b: b.booked_on):
        code = reason_for(b.return_reason).code
        key = (b.end_to_end_id, code) if b.end_to_end_id else (b.booked_on, b.amount, code)
        returns.setdefault(key, b)
    codes = {reason_for(b.return_reason).code for b in returns.values()}
    if codes & REFUND_CODES:
        return MonthHistory(HISTORY_REFUNDED, "teruggeboekt door de betaler (MD06): deze "
                                              "maand niet opnieuw incasseren / refunded by "
                                              "the payer (MD06): this month is not "
                                              "collected again")
    # Credit before return on the same day: the return undoes that day's credit.
    last = max(debits, key=lambda b: (b.booked_on, b.is_return))
    if not last.is_return:
        return MonthHistory(HISTORY_COLLECTED, "al geïncasseerd volgens de bank / already "
                                               "collected according to the bank")
    info = reason_for(last.return_reason)
    if info.action == RETRY_AFTER_PAYDAY:
        if len(returns) >= MAX_ATTEMPTS:
            return MonthHistory(HISTORY_FAILED_TWICE,
                                f"{info.code} voor de tweede keer: geen nieuwe poging, de "
                                "incassostappen nemen het over / failed twice: no further "
                                "retry, the collection flow takes over")
        return MonthHistory(HISTORY_RETRY, f"{info.code} {info.nl}: nog één poging na de "
                                           f"betaaldag / {info.en}: one more try after "
                                           "payday", last.booked_on, -last.amount)
    return MonthHistory(HISTORY_RETURNED, f"gestorneerd ({info.code}): niet opnieuw "
                                          "geïncasseerd, de incassostappen nemen het over / "
                                          f"returned ({info.code}): not collected again, "
                                          "the collection flow takes over")


@dataclass(frozen=True)
class TenancyFacts:
    """A tenancy paying by direct debit with an active mandate."""

    tenancy_id: int
    code: str
    due_day: int
    start_on: date
    monthly_rent: Decimal
    mandate: MandateFacts
    end_on: date | None = None
    #: Rent charges already posted in the ledger, by due date (may differ from the rent).
    charges: Mapping[date, Decimal] = field(default_factory=dict)
    #: Ledger balance through the day the file is made (owed > 0, credit < 0).
    balance: Decimal = ZERO
    #: Months (first day) that already have a collection, any attempt or status.
    collected_periods: frozenset[date] = frozenset()
    #: Direct debits on the bank files that are not ours (the previous system's).
    bank_debits: tuple[BankDebit, ...] = ()
    #: The day of the month the household's income arrives (the retry waits for it).
    payday: int = DEFAULT_PAYDAY
    #: Money received other than by direct debit (transfers, payment links), recent:
    #: (booked on, amount > 0). Paid after a return, it lowers that month's retry.
    other_payments: tuple[tuple[date, Decimal], ...] = ()

    def paid_after(self, day: date) -> Decimal:
        return sum((a for on, a in self.other_payments if on > day), ZERO)


@dataclass(frozen=True)
class PlannedRetry:
    collection_id: int
    tenancy_id: int
    period: date
    amount: Decimal
    collect_on: date
    end_to_end_id: str
    attempt: int = 2
    #: When the return that asked for it was booked (payments after it lower it).
    returned_on: date | None = None


@dataclass(frozen=True)
class NewCollection:
    tenancy_id: int
    code: str
    mandate_id: int
    period: date
    due_on: date
    attempt: int
    amount: Decimal
    end_to_end_id: str
    sequence_type: str
    collect_on: date
    retry_of: int | None = None  # the planned retry's collection id (exported as is)


@dataclass(frozen=True)
class Skipped:
    """Not collected today, with a reason a person can read (Dutch / English)."""

    tenancy_id: int
    code: str
    period: date | None
    reason: str
    #: The earliest day it may go out (a retry waiting for the payday), if known.
    not_before: date | None = None


@dataclass(frozen=True)
class CollectionPlan:
    collect_on: date
    collections: tuple[NewCollection, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    #: Planned retries that will not go out: (collection id, reason).
    cancel: tuple[tuple[int, str], ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.collections), ZERO)


def _problem(t: TenancyFacts) -> str | None:
    m = t.mandate
    if m.signed_on is None:
        return ("machtiging zonder ondertekeningsdatum (kolom machtiging_datum) / mandate "
                "without signature date")
    if not is_sepa_id(m.reference):
        return "machtigingskenmerk ongeldig / mandate reference invalid"
    if not m.debtor_iban:
        return "geen IBAN van de huurder / no tenant IBAN"
    if not m.debtor_name.strip():
        return "geen naam van de rekeninghouder / no account holder name"
    return None


def plan_collections(day: date, tenancies: Sequence[TenancyFacts],
                     retries: Sequence[PlannedRetry] = (), *,
                     lead_days: int = DEFAULT_LEAD_DAYS,
                     catch_up_days: int = DEFAULT_CATCH_UP_DAYS) -> CollectionPlan:
    """The collections for a file made on `day` (see the module text for the rules)."""
    on = collection_date(day, lead_days)
    earliest_due = day - timedelta(days=catch_up_days)
    by_tenancy = {t.tenancy_id: t for t in tenancies}
    retries_of: dict[int, list[PlannedRetry]] = {}
    cancel: list[tuple[int, str]] = []
    for r in sorted(retries, key=lambda r: (r.collect_on, r.collection_id)):
        if r.tenancy_id not in by_tenancy:
            cancel.append((r.collection_id, "geen actieve machtiging meer / no active "
                                            "mandate any more"))
        else:
            retries_of.setdefault(r.tenancy_id, []).append(r)

    out: list[NewCollection] = []
    skipped: list[Skipped] = []
    for t in sorted(tenancies, key=lambda t: t.code):
        m = t.mandate
        candidates: list[NewCollection] = []
        problem = _problem(t)
        for r in retries_of.get(t.tenancy_id, []):
            if r.collect_on > on:
                continue  # not yet: waits for its date
            # At most what is owed, and not what was paid otherwise since the return
            # (a transfer for the month is not followed by a debit for older arrears).
            paid = t.paid_after(r.returned_on) if r.returned_on is not None else ZERO
            amount = min(r.amount - paid, t.balance)
            if amount <= 0:
                cancel.append((r.collection_id, "inmiddels betaald / paid in the meantime"))
                continue
            if problem:
                skipped.append(Skipped(t.tenancy_id, t.code, r.period, problem))
                continue
            candidates.append(NewCollection(
                t.tenancy_id, t.code, m.mandate_id, r.period,
                due_date(r.period.year, r.period.month, t.due_day), r.attempt, amount,
                r.end_to_end_id, RCUR, on, retry_of=r.collection_id))
        window = {due.replace(day=1) for due in due_dates_between(earliest_due, on, t.due_day)}
        history = months_of(t.bank_debits, t.due_day)
        for period in sorted(history):
            due = due_date(period.year, period.month, t.due_day)
            if (period in t.collected_periods or due < t.start_on
                    or (t.end_on is not None and due > t.end_on)):
                continue
            h = month_history(history[period])
            retry = _history_retry(day, on, t, period, due, h, problem, lead_days)
            if isinstance(retry, NewCollection):
                candidates.append(retry)
            elif retry is not None:
                skipped.append(retry)
            elif period in window:
                skipped.append(Skipped(t.tenancy_id, t.code, period, h.reason if
                                       h.verdict != HISTORY_RETRY else TOO_OLD_FOR_RETRY))
        for due in due_dates_between(earliest_due, on, t.due_day):
            period = due.replace(day=1)
            if (period in t.collected_periods or period in history or due < t.start_on
                    or (t.end_on is not None and due > t.end_on)):
                continue
            if problem:
                skipped.append(Skipped(t.tenancy_id, t.code, period, problem))
                continue
            if m.signed_on is not None and m.signed_on > on:
                skipped.append(Skipped(t.tenancy_id, t.code, period,
                                       "machtiging getekend na de incassodatum / mandate "
                                       "signed after the collection date"))
                continue
            charge = t.charges.get(due, t.monthly_rent)
            # Credit on the account (paid in advance) lowers what is collected; arrears
            # never raise it: old months are for the collection flow, not a surprise debit.
            rest = t.balance - t.charges.get(due, ZERO)
            amount = charge - min(max(-rest, ZERO), charge)
            if amount <= 0:
                skipped.append(Skipped(t.tenancy_id, t.code, period,
                                       "vooruitbetaald, niets te innen / paid in advance, "
                                       "nothing to collect"))
                continue
            if amount > MAX_AMOUNT:
                skipped.append(Skipped(t.tenancy_id, t.code, period,
                                       "bedrag te groot / amount too large"))
                continue
            candidates.append(NewCollection(
                t.tenancy_id, t.code, m.mandate_id, period, due, 1, amount,
                end_to_end_id(t.code, t.tenancy_id, period, 1), RCUR, on))
        used = m.used
        for c in candidates:
            if not used and any(x.mandate_id == m.mandate_id for x in out):
                skipped.append(Skipped(t.tenancy_id, t.code, c.period,
                                       "wacht tot de eerste incasso (FRST) verstuurd is / "
                                       "waits until the first collection (FRST) is sent"))
                continue
            out.append(_with_sequence(c, sequence_type(used)))
    return CollectionPlan(on, tuple(out), tuple(skipped), tuple(cancel))


def _history_retry(day: date, on: date, t: TenancyFacts, period: date, due: date,
                   h: MonthHistory, problem: str | None,
                   lead_days: int) -> NewCollection | Skipped | None:
    """The one retry of a month the bank history returned for lack of funds: the
    collection, or why not yet (a Skipped); None when the month gets no retry."""
    if h.verdict != HISTORY_RETRY or h.returned_on is None:
        return None
    if h.returned_on < day - timedelta(days=RETRY_HORIZON_DAYS):
        return None
    retry_on = retry_date(h.returned_on, t.payday, lead_days)
    if retry_on > on:
        return Skipped(t.tenancy_id, t.code, period, h.reason, not_before=retry_on)
    # Its moment is the payday: once the next month's rent is due, the month is the
    # collection flow's (a missed retry is not made up later).
    next_due = due_dates_between(due, due + timedelta(days=62), t.due_day)[0]
    if retry_on >= next_due or next_due <= on:
        return None
    amount = min(h.amount - t.paid_after(h.returned_on), t.balance)
    if amount <= 0:
        return Skipped(t.tenancy_id, t.code, period, "inmiddels betaald / paid in the meantime")
    if problem:
        return Skipped(t.tenancy_id, t.code, period, problem)
    if t.mandate.signed_on is not None and t.mandate.signed_on > on:
        return Skipped(t.tenancy_id, t.code, period, "machtiging getekend na de incassodatum / "
                                                     "mandate signed after the collection date")
    return NewCollection(t.tenancy_id, t.code, t.mandate.mandate_id, period, due,
                         MAX_ATTEMPTS, amount,
                         end_to_end_id(t.code, t.tenancy_id, period, MAX_ATTEMPTS), RCUR, on)


def _with_sequence(c: NewCollection, seq: str) -> NewCollection:
    return NewCollection(c.tenancy_id, c.code, c.mandate_id, c.period, c.due_on, c.attempt,
                         c.amount, c.end_to_end_id, seq, c.collect_on, c.retry_of)


# --- returns -----------------------------------------------------------------------------

NO_RETRY = "no_retry"
ALREADY_HANDLED = "already_handled"


@dataclass(frozen=True)
class ReturnFacts:
    reason: str
    attempt: int
    status: str
    previous_reason: str = ""
    #: The collection was credited on a statement.
    settled: bool = False
    #: The return came in a pain.002 status report (a reject before settlement, unless
    #: the collection was credited already or it is a refund).
    status_report: bool = False
    #: A retry (attempt 2) exists already for this collection's month.
    retry_exists: bool = False


@dataclass(frozen=True)
class ReturnDecision:
    action: str            # a table action, NO_RETRY or ALREADY_HANDLED
    status: str            # the collection's new status
    after_settlement: bool
    plan_retry: bool = False
    stop_direct_debit: bool = False
    message_tenant: bool = False
    staff_task: bool = False
    note: str = ""         # Dutch / English, for the audit row and the screen


def decide_return(f: ReturnFacts) -> ReturnDecision:
    """What to do with a returned collection; see return_reasons.py for the table."""
    info = reason_for(f.reason)
    code = info.code
    after = f.settled or not f.status_report or code in REFUND_CODES
    status = REFUNDED if code in REFUND_CODES else (RETURNED if after else REJECTED)
    if f.previous_reason == code and f.status in (REJECTED, RETURNED, REFUNDED):
        # The same return told twice (pain.002 or camt.054 first, the statement later).
        return ReturnDecision(ALREADY_HANDLED, f.status, after,
                              note=f"{code} al verwerkt / already handled")
    note = f"{code} {info.meaning}"
    if info.action == RETRY_AFTER_PAYDAY:
        if f.attempt >= MAX_ATTEMPTS or f.retry_exists:
            return ReturnDecision(
                NO_RETRY, status, after,
                note=f"{note}: tweede keer mislukt, geen nieuwe poging; de "
                     "incassostappen nemen het over / failed twice, no further retry; "
                     "the collection flow takes over")
        return ReturnDecision(RETRY_AFTER_PAYDAY, status, after, plan_retry=True,
                              note=f"{note}: nog één poging na de betaaldag / one more "
                                   "try after payday")
    if info.action == STOP_DIRECT_DEBIT:
        return ReturnDecision(STOP_DIRECT_DEBIT, status, after, stop_direct_debit=True,
                              message_tenant=info.message_tenant, staff_task=True,
                              note=f"{note}: incasso gestopt, nieuwe betaalwijze nodig / "
                                   "direct debit stopped, new payment method needed")
    if info.action == REVIEW:
        return ReturnDecision(REVIEW, status, after, staff_task=True,
                              note=f"{note}: controleer gegevens of bestand / check the data "
                                   "or the file")
    return ReturnDecision(info.action, status, after, note=note)


__all__ = [
    "ALREADY_HANDLED", "CANCELLED", "DEFAULT_PAYDAY", "EARLY_COLLECTION_DAYS", "EXPORTED",
    "FRST", "HISTORY_COLLECTED", "HISTORY_FAILED_TWICE", "HISTORY_REFUNDED",
    "HISTORY_RETRY", "HISTORY_RETURNED", "MAX_ATTEMPTS", "NO_RETRY", "PLANNED", "RCUR",
    "REFUNDED", "REJECTED", "RETRY_HORIZON_DAYS", "RETURNED", "SENT_STATUSES", "SETTLED",
    "STATUSES", "VERSIONS", "BankDebit", "CollectionPlan", "MandateFacts", "MonthHistory",
    "NewCollection", "PlannedRetry", "ReturnDecision", "ReturnFacts", "Skipped",
    "TenancyFacts", "bank_debit_period", "collection_date", "creditor_id_check",
    "decide_return", "end_to_end_id", "is_sepa_id", "is_valid_creditor_id", "mandate_used",
    "message_id", "month_history", "months_of", "next_payday", "period_in_end_to_end_id",
    "plan_collections", "remittance", "retry_date", "sequence_type",
]
