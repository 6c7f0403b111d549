"""A fictitious social-housing portfolio with a year of payment behaviour (pure, seeded).

Everything here is plain Python: no Django, no I/O, no clock. The same arguments give
the same portfolio, entry for entry, so the files written from it are byte-identical.
Household ``i`` draws from its own random stream (seed and index), so the tenancies of
a small portfolio are the first ones of a larger one with the same seed (but for the
last household, which may lose its second tenancy to the count).

Behaviour types (shares are of households; calibrated so that about 5-6% of
households are in arrears on an average day, about half of those 1-3 months behind):

- ``on_time``: pays a few days before or on the due day, by transfer or direct debit.
- ``sometimes_late``: on time most months, now and then 3-20 days late.
- ``chronically_late``: pays 10-25 days late; sometimes skips a month and catches up.
- ``income_shock``: on time until some month, then pays part or nothing; about half
  recover and pay the arrears off.
- ``dd_reversal``: direct debit, with occasional AM04 (insufficient funds) returns,
  paid afterwards by transfer after payday (~20th); now and then an MD06 refund.
- ``partial_payer``: pays 80-95% of the rent, with a catch-up lump now and then.
- ``third_party_payer``: a municipality, debt-help organisation or parent pays from
  its own IBAN with the payment reference.

Amounts are integer cents while generating and Decimal in the output. Booking dates
are business days (weekends and Dutch public holidays skipped).
"""

from __future__ import annotations

import bisect
import random
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache

from vroeg.domain.bank.model import BankEntry
from vroeg.domain.calendar import due_date, is_business_day
from vroeg.domain.reference import format_betalingskenmerk, make_betalingskenmerk
from vroeg.domain.tenancy_columns import ALL as TENANCY_COLUMNS

ON_TIME = "on_time"
SOMETIMES_LATE = "sometimes_late"
CHRONICALLY_LATE = "chronically_late"
INCOME_SHOCK = "income_shock"
DD_REVERSAL = "dd_reversal"
PARTIAL_PAYER = "partial_payer"
THIRD_PARTY_PAYER = "third_party_payer"

#: Share of households per behaviour type (sums to 1).
BEHAVIOUR_SHARES: tuple[tuple[str, float], ...] = (
    (ON_TIME, 0.80),
    (SOMETIMES_LATE, 0.08),
    (CHRONICALLY_LATE, 0.03),
    (INCOME_SHOCK, 0.015),
    (DD_REVERSAL, 0.03),
    (PARTIAL_PAYER, 0.015),
    (THIRD_PARTY_PAYER, 0.03),
)
BEHAVIOURS = tuple(name for name, _ in BEHAVIOUR_SHARES)

TRANSFER = "overboeking"
DIRECT_DEBIT = "incasso"

#: How a payer fills in a transfer: the reference as structured reference, typed in
#: the free text, or only a name/free text without the reference.
STRUCTURED, TYPED, NAME_ONLY = "structured", "typed", "name_only"
REMITTANCE_HABITS: tuple[tuple[str, float], ...] = (
    (STRUCTURED, 0.70), (TYPED, 0.20), (NAME_ONLY, 0.10))

DEFAULT_CORPORATION_IBAN = "NL91ABNA0417164300"
CURRENCY = "EUR"

# --- fictitious names and places ---------------------------------------------------

_SURNAME_HEADS = (
    "Klaver", "Linde", "Berken", "Wilgen", "Essen", "Molen", "Vinken", "Kievit", "Zonne",
    "Heide", "Beuken", "Tulpen", "Ratel", "Eiken", "Hazel", "Merel", "Lijster", "Duin",
    "Veen", "Riet", "Bloem", "Appel", "Peren", "Vlinder", "Sterre", "Wolken", "Regen",
    "Zomer", "Winter", "Noorder", "Zuider", "Ooster", "Wester", "Brem", "Distel", "Haver",
)
_SURNAME_TAILS = (
    "horst", "waard", "veld", "hof", "berg", "dijk", "hoek", "stein", "meer", "burg",
    "brink", "kamp", "wijk", "beek", "dal", "zand", "loo", "rode", "hout", "stra",
)
_SURNAME_PREFIXES = ("", "", "", "", "", "van ", "de ", "van der ", "van den ", "ter ",
                     "van de ", "den ")
_INITIALS = "ABCDEFGHIJKLMNOPRSTWYZ"
_FIRST_NAMES = (
    "Anna", "Bram", "Daan", "Emma", "Fleur", "Gijs", "Hanna", "Ivo", "Joost", "Kim", "Lotte",
    "Milan", "Noor", "Olaf", "Pien", "Ruben", "Sanne", "Thijs", "Vera", "Wout", "Yara", "Zoë",
    "Ayla", "Emre", "Samira", "Youssef", "Kasia", "Piotr", "Grace", "Liam",
)
_STREET_HEADS = (
    "Klaproos", "Zonnedauw", "Korenbloem", "Ganzerik", "Boterbloem", "Reigers", "Kwartel",
    "Spreeuwen", "Vlasakker", "Molenwiek", "Schelpen", "Lantaarn", "Kompas", "Zeilmakers",
    "Touwslagers", "Glazeniers", "Kuipers", "Pottenbakkers", "Walnoot", "Kastanje",
    "Vlierbes", "Hazelaar", "Hulst", "Duizendblad",
)
_STREET_TAILS = ("straat", "laan", "weg", "hof", "plein", "pad", "singel", "erf", "kade")
#: City, first two postcode digits, municipality.
_CITIES = (
    ("Amsterdam", (10, 11), "Amsterdam"),
    ("Zaandam", (15,), "Zaanstad"),
    ("Utrecht", (35,), "Utrecht"),
    ("Zwolle", (80,), "Zwolle"),
    ("Tilburg", (50,), "Tilburg"),
    ("Groningen", (97,), "Groningen"),
)
_CITY_WEIGHTS = (0.34, 0.10, 0.18, 0.12, 0.14, 0.12)
_MAIL_DOMAINS = ("voorbeeldmail.example", "post.example", "mail.example")
_BANKS = ("ABNA", "INGB", "RABO", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ", "RBRB")
_BANK_WEIGHTS = (0.22, 0.33, 0.27, 0.07, 0.03, 0.02, 0.02, 0.03, 0.01)
_LANGUAGES = (("nl", 0.93), ("en", 0.02), ("tr", 0.017), ("ar", 0.017), ("pl", 0.016))
_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december")
_DEBT_HELP_ORGS = (
    "Stichting Budgetbeheer Vrijland", "Bewindvoering Klaverwaard B.V.",
    "Kredietbank Voorbeeldstad", "Stichting Schuldhulp Zonnedauw",
)
_ORG_POSTAL = {  # postal address of an organisation paying for (and writing to) a client
    "Stichting Budgetbeheer Vrijland": ("Postbus", "1200", "3500 AE", "Utrecht"),
    "Bewindvoering Klaverwaard B.V.": ("Postbus", "455", "8000 AL", "Zwolle"),
    "Kredietbank Voorbeeldstad": ("Postbus", "77", "5000 AB", "Tilburg"),
    "Stichting Schuldhulp Zonnedauw": ("Postbus", "9021", "1006 AA", "Amsterdam"),
}

#: Offset added to the running tenancy number to make its betalingskenmerk. The
#: 15 digits after the check digit start with 0: an ERP's range, apart from the
#: references vroeg issues itself (which start with 9).
REFERENCE_BASE = 120_000_000


# --- records -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoTenancy:
    """One tenancy as the ERP exports it, plus the behaviour that drives its payments."""

    code: str
    household_code: str
    household_name: str
    unit_code: str
    unit_kind: str  # woning, parkeerplaats, berging
    street: str
    house_number: str
    postcode: str
    city: str
    start_on: date
    net_rent_cents: int
    service_cents: int
    due_day: int
    method: str  # overboeking / incasso
    mandate_id: str
    mandate_on: date | None
    iban: str  # the tenant's own account ("" when the ERP does not know it)
    reference: str  # betalingskenmerk
    email: str
    mobile: str
    language: str
    channel: str  # email, sms, brief
    restrictions: str
    postal: tuple[str, str, str, str] | None
    opening_cents: int
    opening_on: date
    behaviour: str
    payer_name: str  # who pays: the tenant or the third party
    payer_iban: str
    third_party: str  # "", municipality, debt_help, parent
    payer_habit: str  # structured, typed, name_only
    first_month_offset: int  # months from the history start to the first charge

    @property
    def monthly_cents(self) -> int:
        return self.net_rent_cents + self.service_cents

    def csv_row(self) -> dict[str, str]:
        """The row for tenancies.csv: exactly the columns of vroeg.domain.tenancy_columns."""
        post = self.postal or ("", "", "", "")
        row = {
            "overeenkomst_code": self.code,
            "relatie_code": self.household_code,
            "relatie_naam": self.household_name,
            "eenheid_code": self.unit_code,
            "eenheid_straat": self.street,
            "eenheid_huisnummer": self.house_number,
            "eenheid_postcode": self.postcode,
            "eenheid_plaats": self.city,
            "ingangsdatum": self.start_on.isoformat(),
            "kale_huur": _fmt_cents(self.net_rent_cents),
            "einddatum": "",
            "servicekosten": _fmt_cents(self.service_cents),
            "vervaldag": str(self.due_day),
            "betaalwijze": self.method,
            "machtigingskenmerk": self.mandate_id,
            "machtiging_datum": self.mandate_on.isoformat() if self.mandate_on else "",
            "iban": self.iban,
            "betalingskenmerk": self.reference,
            "email": self.email,
            "mobiel": self.mobile,
            "post_straat": post[0],
            "post_huisnummer": post[1],
            "post_postcode": post[2],
            "post_plaats": post[3],
            "taal": self.language,
            "voorkeurskanaal": self.channel,
            "beperkingen": self.restrictions,
            "beginsaldo": _fmt_cents(self.opening_cents),
            "beginsaldo_datum": self.opening_on.isoformat(),
            "betaaldag": "",
            # About 4 in 10 social-rent households get huurtoeslag; only for a home.
            "huurtoeslag": ("ja" if zlib.crc32(self.code.encode()) % 100 < 40 else "nee")
            if self.unit_kind == "woning" else "",
        }
        assert tuple(row) == TENANCY_COLUMNS
        return row


@dataclass(frozen=True)
class Period:
    """The demo's dates: history months, then a window of daily files ending `today`."""

    today: date
    window_start: date  # first day of the daily window
    history_start: date  # first charge date: the 1st of the first history month

    @property
    def opening_on(self) -> date:
        """The opening balance date: the day before the first history charge."""
        return self.history_start - timedelta(days=1)

    @property
    def history_end(self) -> date:
        """The last day of the history (covered by monthly statements)."""
        return self.window_start - timedelta(days=1)


def make_period(today: date, history_months: int = 12, window_days: int = 30) -> Period:
    """`window_days` days ending `today`, after `history_months` whole months of history
    (the history starts on the 1st of the month `history_months` before the window's)."""
    if window_days < 1 or history_months < 0:
        raise ValueError("window_days must be >= 1 and history_months >= 0")
    window_start = today - timedelta(days=window_days - 1)
    y, m = divmod(window_start.year * 12 + window_start.month - 1 - history_months, 12)
    return Period(today=today, window_start=window_start, history_start=date(y, m + 1, 1))


#: A simulated money event: (booked ordinal, tenancy index, sequence within the
#: tenancy, kind, amount in cents (positive), month index, return reason).
Event = tuple[int, int, int, int, int, int, str]


@dataclass(frozen=True)
class Portfolio:
    seed: int
    period: Period
    corporation_iban: str
    tenancies: tuple[DemoTenancy, ...]
    #: Every money event on the corporation's account, in booking order.
    events: tuple[Event, ...]
    #: The third-party payer organisations (name, IBAN).
    organisations: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @cached_property
    def event_days(self) -> list[int]:
        return [e[0] for e in self.events]

    @cached_property
    def entries(self) -> tuple[BankEntry, ...]:
        """Every bank entry, in booking order (built on first use)."""
        return tuple(self.entries_between(self.period.history_start, self.period.today))

    @cached_property
    def entry_tenancy(self) -> tuple[int, ...]:
        """For each entry, the index of the tenancy whose rent it concerns."""
        return tuple(e[1] for e in self.events)

    def _span(self, first: date, last: date) -> tuple[int, int]:
        days = self.event_days
        return (bisect.bisect_left(days, first.toordinal()),
                bisect.bisect_right(days, last.toordinal()))

    def entries_between(self, first: date, last: date) -> list[BankEntry]:
        """The bank entries booked from `first` through `last`. Each entry depends only
        on its own event (and its place in the day), so any range gives the same
        entries as the whole: large portfolios are written a statement at a time."""
        lo, hi = self._span(first, last)
        return _EntryMaker(self).make(self.events, lo, hi)

    def total_between(self, first: date, last: date) -> Decimal:
        """The sum of the entries booked from `first` through `last`."""
        lo, hi = self._span(first, last)
        cents = sum(-e[4] if e[3] == _RT else e[4] for e in self.events[lo:hi])
        return _money(cents)

    def count_between(self, first: date, last: date) -> int:
        lo, hi = self._span(first, last)
        return hi - lo

    def csv_rows(self) -> list[dict[str, str]]:
        return [t.csv_row() for t in self.tenancies]

    def entries_by_day(self) -> dict[date, list[BankEntry]]:
        out: dict[date, list[BankEntry]] = {}
        for e in self.entries:
            out.setdefault(e.booked_on, []).append(e)
        return out

    def households(self) -> int:
        return len({t.household_code for t in self.tenancies})


# --- helpers -----------------------------------------------------------------------


def _fmt_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def _ascii(text: str) -> str:
    """Without accents, for an e-mail address: 'zoë' -> 'zoe'."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=65536)
def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _weighted(rng: random.Random, table: Iterable[tuple[str, float]]) -> str:
    return _weighted_at(rng.random(), table)


def _weighted_at(x: float, table: Iterable[tuple[str, float]]) -> str:
    last = ""
    for name, share in table:
        last = name
        x -= share
        if x < 0:
            return name
    return last


_B36 = {ch: str(int(ch, 36)) for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _bban_to_digits(text: str) -> str:
    return "".join([_B36[ch] for ch in text])


def make_nl_iban(bank: str, account: str) -> str:
    """A Dutch IBAN for a 4-letter bank code and a 10-digit account number."""
    bban = bank + account
    check = 98 - int(_bban_to_digits(bban + "NL00")) % 97
    return f"NL{check:02d}{bban}"


def _random_nl_iban(rng: random.Random, bank: str | None = None) -> str:
    """A valid Dutch IBAN whose account number also passes the old 11-test."""
    bank = bank or rng.choices(_BANKS, _BANK_WEIGHTS)[0]
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        digits[0] = rng.randrange(1, 10) if bank != "INGB" else 0
        total = sum((10 - i) * d for i, d in enumerate(digits))
        last = -total % 11
        if last < 10:
            return make_nl_iban(bank, "".join(map(str, digits)) + str(last))


class _Days:
    """Business-day arithmetic over ordinals, precomputed for the portfolio's range."""

    def __init__(self, first: date, last: date,
                 business: Callable[[date], bool] = is_business_day) -> None:
        self.lo = first.toordinal()
        self.hi = last.toordinal()
        n = self.hi - self.lo + 1
        flags = [business(date.fromordinal(self.lo + i)) for i in range(n)]
        self.fwd = [0] * n
        nxt = self.hi + 30
        for i in range(n - 1, -1, -1):
            if flags[i]:
                nxt = self.lo + i
            self.fwd[i] = nxt
        self.back = [0] * n
        prev = self.lo - 30
        for i in range(n):
            if flags[i]:
                prev = self.lo + i
            self.back[i] = prev
        self.flags = flags

    def forward(self, d: int) -> int:
        """The first business day on or after ordinal d."""
        if d < self.lo:
            d = self.lo
        return self.fwd[d - self.lo] if d <= self.hi else d

    def backward(self, d: int) -> int:
        """The last business day on or before ordinal d (a transfer made on Friday)."""
        if d > self.hi:
            return d
        return self.back[d - self.lo] if d >= self.lo else d

    def add(self, d: int, n: int) -> int:
        """n business days after ordinal d."""
        while n > 0:
            d += 1
            if d > self.hi or self.flags[d - self.lo]:
                n -= 1
        return d


# Event kinds while simulating.
_TR, _DD, _RT = 0, 1, 2


@dataclass
class _Household:
    code: str
    name: str
    surname: str
    street: str
    number: str
    postcode: str
    city: str
    municipality: str
    behaviour: str
    method: str
    iban: str
    iban_known: bool
    habit: str
    email: str
    mobile: str
    language: str
    channel: str
    restrictions: str
    third_party: str = ""
    payer_name: str = ""
    payer_iban: str = ""
    payer_habit: str = ""
    postal: tuple[str, str, str, str] | None = None


# --- generation --------------------------------------------------------------------


def generate(tenancies: int = 15_000, *, seed: int = 1, today: date,
             corporation_iban: str = DEFAULT_CORPORATION_IBAN, history_months: int = 12,
             window_days: int = 30,
             business_day: Callable[[date], bool] = is_business_day) -> Portfolio:
    """A portfolio of `tenancies` tenancies and every bank entry from the first history
    month through `today` (see :func:`make_period`)."""
    if tenancies < 1:
        raise ValueError("at least one tenancy")
    period = make_period(today, history_months, window_days)
    days = _Days(period.history_start - timedelta(days=40), today + timedelta(days=120),
                 business_day)
    master = random.Random(f"vroeg-demo:{seed}:organisations")
    organisations = tuple((name, _random_nl_iban(master)) for name in _DEBT_HELP_ORGS)
    municipalities = {
        muni: (f"Gemeente {muni} Schuldhulpverlening", _random_nl_iban(master, "BNGH"))
        for _, _, muni in _CITIES}

    months: list[tuple[int, int]] = []
    y, m = period.history_start.year, period.history_start.month
    while (y, m) <= (today.year, today.month):
        months.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    due_cache: dict[int, list[int]] = {}

    def dues(due_day: int) -> list[int]:
        if due_day not in due_cache:
            due_cache[due_day] = [
                o for o in (due_date(yy, mm, due_day).toordinal() for yy, mm in months)
                if o <= today.toordinal()]
        return due_cache[due_day]

    out_tenancies: list[DemoTenancy] = []
    raw_events: list[Event] = []
    h = 0
    while len(out_tenancies) < tenancies:
        h += 1
        rng = random.Random(f"vroeg-demo:{seed}:{h}")
        hh = _make_household(rng, h, organisations, municipalities)
        units = 1
        if rng.random() < 0.02 and len(out_tenancies) + 2 <= tenancies:
            units = 2
        for u in range(units):
            idx = len(out_tenancies)
            t = _make_tenancy(rng, hh, idx, u, period)
            out_tenancies.append(t)
            for seq, (day, kind, cents, month, reason) in enumerate(
                    _simulate(rng, t, dues(t.due_day), days, period)):
                raw_events.append((day, idx, seq, kind, cents, month, reason))

    raw_events.sort()
    return Portfolio(seed=seed, period=period, corporation_iban=corporation_iban,
                     tenancies=tuple(out_tenancies), events=tuple(raw_events),
                     organisations=organisations + tuple(municipalities.values()))


def _make_household(rng: random.Random, h: int, organisations: tuple[tuple[str, str], ...],
                    municipalities: dict[str, tuple[str, str]]) -> _Household:
    head = rng.choice(_SURNAME_HEADS)
    tail = rng.choice(_SURNAME_TAILS)
    prefix = rng.choice(_SURNAME_PREFIXES)
    surname = f"{prefix}{head}{tail}"
    initial = rng.choice(_INITIALS)
    if rng.random() < 0.25:
        name = f"{initial}. en {rng.choice(_INITIALS)}. {surname}"
    else:
        name = f"{initial}. {surname}"
    city, postcode_heads, municipality = rng.choices(_CITIES, _CITY_WEIGHTS)[0]
    street = rng.choice(_STREET_HEADS) + rng.choice(_STREET_TAILS)
    number = str(rng.randint(1, 220))
    r = rng.random()
    if r < 0.12:
        number += "-" + rng.choice("ABCD")
    elif r < 0.22:
        number += "-" + str(rng.randint(1, 4))
    letters = rng.choice("ABCDEGHJKLMNPRTVWXZ") + rng.choice("ABCDEGHJKLMNPRTVWXZ")
    postcode = f"{rng.choice(postcode_heads)}{rng.randint(0, 99):02d} {letters}"

    behaviour = _weighted(rng, BEHAVIOUR_SHARES)
    if behaviour in (DD_REVERSAL,):
        method = DIRECT_DEBIT
    elif behaviour in (ON_TIME, INCOME_SHOCK):
        method = DIRECT_DEBIT if rng.random() < 0.55 else TRANSFER
    else:
        method = TRANSFER
    iban = _random_nl_iban(rng)
    habit = _weighted(rng, REMITTANCE_HABITS)
    # The ERP knows the account of direct-debit payers and of those who never give the
    # reference (linked after earlier payments); ~8% of the others it does not know.
    iban_known = method == DIRECT_DEBIT or habit == NAME_ONLY or rng.random() < 0.92

    language = _weighted(rng, _LANGUAGES)
    first = _ascii(rng.choice(_FIRST_NAMES).lower())
    email = ""
    if rng.random() < 0.85:
        slug = (head + tail).lower()
        email = f"{first}.{slug}{rng.randint(1, 999)}@{rng.choice(_MAIL_DOMAINS)}"
    # 097 numbers are Dutch mobile numbers for machines (M2M), never a person's phone:
    # valid for the import and the SMS channel, and nobody is texted by a demo.
    mobile = f"+31970{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.80 else ""
    restrictions: list[str] = []
    r = rng.random()
    if not email:
        channel = "sms" if mobile and r < 0.5 else "brief"
    elif r < 0.08 and mobile:
        channel = "sms"
    elif r < 0.12:
        channel = "brief"
    else:
        channel = "email"
    if rng.random() < 0.01:
        restrictions.append("alleen_brief")
        channel = "brief"
    if mobile and rng.random() < 0.01:
        restrictions.append("geen_sms")
        if channel == "sms":
            channel = "email" if email else "brief"
    if language != "nl" and rng.random() < 0.3:
        restrictions.append("tolk")
    if rng.random() < 0.02:
        restrictions.append("geen_automatische_oproepen")

    hh = _Household(
        code=f"REL{h:07d}", name=name, surname=surname, street=street, number=number,
        postcode=postcode, city=city, municipality=municipality, behaviour=behaviour,
        method=method, iban=iban, iban_known=iban_known, habit=habit, email=email,
        mobile=mobile, language=language, channel=channel, restrictions=";".join(restrictions))
    hh.payer_name, hh.payer_iban, hh.payer_habit = name, iban, habit
    if behaviour == THIRD_PARTY_PAYER:
        r = rng.random()
        if r < 0.30:
            hh.third_party = "municipality"
            hh.payer_name, hh.payer_iban = municipalities[municipality]
            hh.payer_habit = STRUCTURED if rng.random() < 0.95 else TYPED
        elif r < 0.75:
            hh.third_party = "debt_help"
            hh.payer_name, hh.payer_iban = rng.choice(organisations)
            hh.payer_habit = STRUCTURED if rng.random() < 0.95 else TYPED
            if rng.random() < 0.5:
                hh.postal = _ORG_POSTAL[hh.payer_name]
        else:
            hh.third_party = "parent"
            parent_surname = f"{rng.choice(_SURNAME_PREFIXES)}{rng.choice(_SURNAME_HEADS)}" \
                             f"{rng.choice(_SURNAME_TAILS)}"
            hh.payer_name = f"{rng.choice(_INITIALS)}. {parent_surname}"
            hh.payer_iban = _random_nl_iban(rng)
            hh.payer_habit = _weighted(rng, ((STRUCTURED, 0.5), (TYPED, 0.3), (NAME_ONLY, 0.2)))
    elif rng.random() < 0.005:
        # a few tenants who get their post elsewhere (e.g. a care address)
        hh.postal = (rng.choice(_STREET_HEADS) + rng.choice(_STREET_TAILS),
                     str(rng.randint(1, 99)), postcode, city)
    return hh


def _make_tenancy(rng: random.Random, hh: _Household, idx: int, unit: int,
                  period: Period) -> DemoTenancy:
    number = idx + 1
    hs = period.history_start
    if unit == 0:
        kind = "woning"
        net = rng.randint(450_00, 900_00)
        service = rng.randint(0, 60_00) if rng.random() < 0.8 else 0
        house_number = hh.number
        unit_code = f"EH{number:07d}"
    else:
        kind = rng.choice(("parkeerplaats", "parkeerplaats", "berging"))
        net = rng.randint(35_00, 95_00) if kind == "parkeerplaats" else rng.randint(20_00, 45_00)
        service = 0
        house_number = f"{hh.number.split('-')[0]}-{'P' if kind == 'parkeerplaats' else 'B'}"
        unit_code = f"{'PP' if kind == 'parkeerplaats' else 'BG'}{number:07d}"
    monthly = net + service
    # Most tenancies started years ago; ~1.5% during the history.
    if rng.random() < 0.015:
        months_in = rng.randint(1, 11)
        y, m = divmod(hs.year * 12 + hs.month - 1 + months_in, 12)
        start = date(y, m + 1, 1)
    else:
        y, m = divmod(rng.randint(1995 * 12, hs.year * 12 + hs.month - 3), 12)
        start = date(y, m + 1, 1)
    due_day = 1
    if rng.random() < 0.03:
        due_day = rng.choice((25, 27, 28))  # moved to just after the income date
    method = hh.method
    mandate_id = ""
    mandate_on: date | None = None
    if method == DIRECT_DEBIT:
        mandate_id = f"WSV-{number:07d}-1"
        mandate_on = start - timedelta(days=rng.randint(3, 40))
    opening = 0
    behaviour = hh.behaviour
    if start < hs:
        r = rng.random()
        if behaviour == CHRONICALLY_LATE and r < 0.25:
            opening = monthly * rng.randint(30, 120) // 100
        elif behaviour == PARTIAL_PAYER and r < 0.4:
            opening = monthly * rng.randint(10, 80) // 100
        elif behaviour == THIRD_PARTY_PAYER and hh.third_party != "parent" and r < 0.35:
            opening = monthly * rng.randint(50, 250) // 100
        elif behaviour == DD_REVERSAL and r < 0.1:
            opening = monthly
        elif behaviour in (ON_TIME, SOMETIMES_LATE) and r < 0.004:
            opening = rng.randint(5_00, 60_00)
        elif behaviour == ON_TIME and r > 0.995:
            opening = -rng.randint(5_00, 40_00)  # a small credit
    return DemoTenancy(
        code=f"OVK{number:07d}", household_code=hh.code, household_name=hh.name,
        unit_code=unit_code, unit_kind=kind, street=hh.street, house_number=house_number,
        postcode=hh.postcode, city=hh.city, start_on=start, net_rent_cents=net,
        service_cents=service, due_day=due_day, method=method, mandate_id=mandate_id,
        mandate_on=mandate_on, iban=hh.iban if hh.iban_known else "",
        reference=make_betalingskenmerk(REFERENCE_BASE + number), email=hh.email,
        mobile=hh.mobile, language=hh.language, channel=hh.channel,
        restrictions=hh.restrictions, postal=hh.postal, opening_cents=opening,
        opening_on=period.opening_on, behaviour=behaviour, payer_name=hh.payer_name,
        payer_iban=hh.payer_iban, third_party=hh.third_party, payer_habit=hh.payer_habit,
        first_month_offset=max(0, (start.year - hs.year) * 12 + start.month - hs.month))


def _payday_after(rng: random.Random, d: int, lo: int = 20, hi: int = 27) -> int:
    """A day between the lo-th and hi-th of the month (after income), after ordinal d."""
    day = date.fromordinal(d)
    if day.day < lo - 2:
        return date(day.year, day.month, rng.randint(lo, hi)).toordinal()
    y, m = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(y, m, rng.randint(lo, hi)).toordinal()


def _simulate(rng: random.Random, t: DemoTenancy, all_dues: list[int], days: _Days,
              period: Period) -> list[tuple[int, int, int, int, str]]:
    """The money events of one tenancy: (booked ordinal, kind, cents, month index, reason).

    Amounts are positive; a return (kind _RT) is a debit on the corporation's account.
    """
    first = max(period.history_start, t.start_on).toordinal()
    first_idx = bisect.bisect_left(all_dues, first)
    dues = all_dues[first_idx:]
    lo = first
    last = period.today.toordinal()
    rent = t.monthly_cents
    ev: list[tuple[int, int, int, int, str]] = []
    b = t.behaviour
    rand = rng.random
    randint = rng.randint

    def transfer(day: int, cents: int, month: int, on_time: bool = False) -> None:
        if cents <= 0:
            return
        booked = days.backward(day) if on_time else days.forward(day)
        if booked < lo:
            booked = days.forward(lo)
        if booked <= last:
            ev.append((booked, _TR, cents, month, ""))

    def collect(due: int, cents: int, month: int) -> int:
        booked = days.forward(max(due, lo))
        if booked <= last:
            ev.append((booked, _DD, cents, month, ""))
        return booked

    def give_back(day: int, cents: int, month: int, reason: str) -> int:
        booked = days.forward(day)
        if booked <= last:
            ev.append((booked, _RT, cents, month, reason))
        return booked

    # Opening arrears are paid off as a behaviour's catch-up, or in the first month.
    backlog = max(t.opening_cents, 0)
    credit = max(-t.opening_cents, 0)
    offset = randint(-6, 0)
    dd = t.method == DIRECT_DEBIT

    if b == THIRD_PARTY_PAYER:
        if t.third_party == "municipality":
            offset = randint(-2, 2)
        elif t.third_party == "debt_help":
            offset = randint(-6, 1)
    if b == INCOME_SHOCK:
        shock = randint(2, max(2, len(dues) - 1))
        recover_after = randint(2, 7) if rand() < 0.55 else 10**6
    if b == CHRONICALLY_LATE:
        base_late = randint(10, 25)
    if b == PARTIAL_PAYER:
        fraction = randint(80, 95)
        late_style = rand() < 0.4
    if b == SOMETIMES_LATE:
        late_rate = 0.10 + 0.12 * rand()

    skipped = False
    for i, d in enumerate(dues):
        due_amount = rent
        if credit:
            used = min(credit, due_amount)
            credit -= used
            due_amount -= used

        if b == ON_TIME or (b == INCOME_SHOCK and i < shock):
            if dd:
                collect(d, due_amount, i)
            else:
                transfer(min(d, d + offset + randint(-1, 1)), due_amount, i, on_time=True)
            if backlog:
                transfer(d + randint(3, 20), backlog, i)
                backlog = 0

        elif b == SOMETIMES_LATE:
            r = rand()
            if r < 0.03 and not skipped:
                skipped = True
                backlog += due_amount
                continue
            amount = due_amount + backlog
            backlog = 0
            skipped = False
            if r < late_rate:
                transfer(d + randint(3, 20), amount, i)
            else:
                transfer(d + offset, amount, i, on_time=True)

        elif b == CHRONICALLY_LATE:
            if rand() < 0.10 and not skipped:
                skipped = True
                backlog += due_amount
                continue
            skipped = False
            pay_day = d + max(8, min(28, base_late + randint(-4, 4)))
            if backlog and rand() < 0.5:
                # pays this month's rent, then the rest a week or two later
                transfer(pay_day, due_amount, i)
                part = backlog if rand() < 0.6 else backlog // 2
                transfer(pay_day + randint(5, 14), part, i)
                backlog -= part
            else:
                transfer(pay_day, due_amount + backlog, i)
                backlog = 0

        elif b == INCOME_SHOCK:
            struggling = i - shock < recover_after
            if struggling:
                if dd:
                    booked = collect(d, due_amount, i)
                    if rand() < 0.85:
                        give_back(days.add(booked, randint(2, 4)), due_amount, i, "AM04")
                        backlog += due_amount
                else:
                    backlog += due_amount
                if rand() < 0.55:
                    part = due_amount * randint(30, 75) // 100 // 100 * 100
                    transfer(_payday_after(rng, d), part, i)
                    backlog -= part
            else:
                if dd:
                    collect(d, due_amount, i)
                else:
                    transfer(d + offset, due_amount, i, on_time=True)
                if backlog > 0:
                    extra = min(backlog, rent * randint(20, 40) // 100 // 100 * 100 or backlog)
                    transfer(_payday_after(rng, d), extra, i)
                    backlog -= extra

        elif b == DD_REVERSAL:
            booked = collect(d, due_amount, i)
            r = rand()
            if r < 0.20:
                ret = give_back(days.add(booked, randint(2, 4)), due_amount, i, "AM04")
                p = rand()
                if p < 0.80:
                    transfer(_payday_after(rng, ret), due_amount, i)
                elif p < 0.95:
                    backlog += due_amount
                # else: stays open (a case for a person)
            elif r < 0.215:
                ret = give_back(days.add(booked, randint(5, 25)), due_amount, i, "MD06")
                if rand() < 0.7:
                    transfer(_payday_after(rng, ret + 7), due_amount, i)
            if backlog and rand() < 0.6:
                transfer(_payday_after(rng, booked + 3), backlog, i)
                backlog = 0

        elif b == PARTIAL_PAYER:
            part = due_amount * fraction // 100 // 100 * 100
            day = d + randint(2, 12) if late_style else d + randint(-3, 2)
            transfer(day, part, i, on_time=not late_style)
            backlog += due_amount - part
            if backlog > 0 and rand() < 0.12:
                lump = backlog * randint(40, 100) // 100
                transfer(_payday_after(rng, d), lump, i)
                backlog -= lump

        elif b == THIRD_PARTY_PAYER:
            extra = 0
            if backlog:
                extra = min(backlog, rent // 10 // 100 * 100 or backlog)
                backlog -= extra
            if t.third_party == "parent" and rand() < 0.15:
                transfer(d + randint(5, 15), due_amount + extra, i)
            else:
                transfer(d + offset, due_amount + extra, i, on_time=True)
    return ev


_M64 = 0xFFFFFFFFFFFFFFFF


def _uniforms(seed: int, idx: int, seq: int) -> tuple[float, float, float]:
    """Three uniform numbers in [0, 1) from (seed, tenancy, event): a splitmix64-style
    mix, so the randomness of one entry's text is independent of every other entry."""
    x = (seed * 0x94D049BB133111EB + idx * 0x9E3779B97F4A7C15
         + seq * 0xBF58476D1CE4E5B9 + 0x2545F4914F6CDD1D) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    x ^= x >> 31
    return ((x & 0xFFFFF) / 0x100000, ((x >> 20) & 0xFFFFF) / 0x100000,
            ((x >> 40) & 0xFFFFF) / 0x100000)


class _EntryMaker:
    """Bank entries for simulated events, with each payer's remittance habit."""

    def __init__(self, portfolio: Portfolio) -> None:
        self.p = portfolio
        hs = portfolio.period.history_start
        self.hs_index = hs.year * 12 + hs.month - 1
        self.day_cache: dict[int, tuple[date, str]] = {}
        self.month_cache: dict[int, tuple[str, str]] = {}

    def make(self, events: tuple[Event, ...], lo: int, hi: int) -> list[BankEntry]:
        tenancies = self.p.tenancies
        seed = self.p.seed
        entries: list[BankEntry] = []
        per_day = 0
        prev_day = -1
        for n in range(lo, hi):
            booked, idx, seq, kind, cents, month, reason = events[n]
            t = tenancies[idx]
            cached = self.day_cache.get(booked)
            if cached is None:
                day = date.fromordinal(booked)
                cached = self.day_cache[booked] = (day, day.strftime("%Y%m%d"))
            day, day_text = cached
            if booked != prev_day:
                prev_day, per_day = booked, 0
            per_day += 1
            bank_ref = f"{day_text}{per_day:07d}"
            absolute = month + t.first_month_offset
            names = self.month_cache.get(absolute)
            if names is None:
                y, m = divmod(self.hs_index + absolute, 12)
                names = self.month_cache[absolute] = (f"{_MONTHS_NL[m]} {y}",
                                                      f"{y}{m + 1:02d}")
            month_name, yyyymm = names
            if kind == _TR:
                habit = t.payer_habit
                u1, u2, u3 = _uniforms(seed, idx, seq)
                if u1 < 0.10 and t.third_party not in ("municipality", "debt_help"):
                    habit = _weighted_at(u2, REMITTANCE_HABITS)
                remittance, structured = _remittance(u3, t, habit, month_name)
                entries.append(BankEntry(
                    amount=_money(cents), currency=CURRENCY, booked_on=day, value_on=day,
                    counterparty_name=t.payer_name, counterparty_iban=t.payer_iban,
                    remittance=remittance, creditor_reference=structured,
                    bank_reference=bank_ref))
            else:
                entries.append(BankEntry(
                    amount=_money(cents if kind == _DD else -cents), currency=CURRENCY,
                    booked_on=day, value_on=day, counterparty_name=t.household_name,
                    counterparty_iban=t.iban or t.payer_iban,
                    remittance=f"Huur {month_name} {t.code}", creditor_reference=t.reference,
                    end_to_end_id=f"{t.code}-{yyyymm}", mandate_id=t.mandate_id,
                    bank_reference=bank_ref, return_reason=reason))
        return entries


@lru_cache(maxsize=4096)
def _spaced(ref: str) -> str:
    return format_betalingskenmerk(ref)


def _remittance(r: float, t: DemoTenancy, habit: str, month_name: str) -> tuple[str, str]:
    """(free text, structured reference) for a transfer; `r` in [0, 1) picks the text."""
    ref = t.reference
    if habit == STRUCTURED:
        return "", ref
    if habit == TYPED:
        spaced = _spaced(ref)
        if r < 0.35:
            return f"huur {month_name} {spaced}", ""
        if r < 0.6:
            return spaced, ""
        if r < 0.8:
            return f"Betalingskenmerk {spaced} {t.street} {t.house_number}", ""
        if r < 0.9:
            return f"{ref[:8]} {ref[8:]} huur", ""
        return f"kenmerk {ref}", ""
    if t.third_party == "parent":
        return f"huur voor {t.household_name}", ""
    if r < 0.4:
        return f"huur {month_name}", ""
    if r < 0.7:
        return f"huur {t.street} {t.house_number} {t.city}", ""
    if r < 0.85:
        return f"{t.household_name} huur", ""
    return "", ""


# --- analysis ----------------------------------------------------------------------


@dataclass(frozen=True)
class ArrearsProfile:
    """Households in arrears on a day: owing money whose oldest unpaid charge is more
    than the grace days past due, bucketed by months behind (amount owed divided by the
    monthly rent, and by the age of the oldest unpaid charge)."""

    on: date
    households: int
    in_arrears: int
    #: by amount: owed < 1 month's rent, 1-3 months' rent, more than 3
    by_amount: tuple[int, int, int]
    #: by age of the oldest unpaid charge: < 1 month, 1-3 months, more than 3 months
    by_age: tuple[int, int, int]

    @property
    def share(self) -> float:
        return self.in_arrears / self.households if self.households else 0.0

    @property
    def share_one_to_three(self) -> float:
        """Of the households in arrears, the share 1-3 months behind (mean of both
        measures)."""
        if not self.in_arrears:
            return 0.0
        return (self.by_amount[1] + self.by_age[1]) / 2 / self.in_arrears


class ArrearsBook:
    """What each tenancy owes on a day, and since when (oldest charge first), from the
    opening balance, the monthly charges and the bank entries: a small ledger to check
    the demo's calibration, independent of vroeg's own."""

    def __init__(self, portfolio: Portfolio) -> None:
        self.p = portfolio
        hs = portfolio.period.history_start
        opening_on = portfolio.period.opening_on.toordinal()
        self.charge_days: list[list[int]] = []
        self.charge_cum: list[list[int]] = []
        for t in portfolio.tenancies:
            first = max(hs, t.start_on)
            days: list[int] = []
            cum: list[int] = []
            total = 0
            if t.opening_cents > 0:
                days.append(opening_on)
                total += t.opening_cents
                cum.append(total)
            y, m = first.year, first.month
            while True:
                d = due_date(y, m, t.due_day)
                if d > portfolio.period.today:
                    break
                if d >= first:
                    days.append(d.toordinal())
                    total += t.monthly_cents
                    cum.append(total)
                y, m = (y + 1, 1) if m == 12 else (y, m + 1)
            self.charge_days.append(days)
            self.charge_cum.append(cum)
        pays: list[list[int]] = [[] for _ in portfolio.tenancies]
        amounts: list[list[int]] = [[] for _ in portfolio.tenancies]
        for booked, idx, _seq, kind, cents, _month, _reason in portfolio.events:
            pays[idx].append(booked)
            amounts[idx].append(-cents if kind == _RT else cents)
        self.pay_days = pays
        self.pay_cum: list[list[int]] = []
        for a in amounts:
            run, acc = [], 0
            for x in a:
                acc += x
                run.append(acc)
            self.pay_cum.append(run)

    def _state(self, idx: int, on: date) -> tuple[int, int | None]:
        o = on.toordinal()
        t = self.p.tenancies[idx]
        n_charges = bisect.bisect_right(self.charge_days[idx], o)
        charged = self.charge_cum[idx][n_charges - 1] if n_charges else 0
        n_pays = bisect.bisect_right(self.pay_days[idx], o)
        paid = (self.pay_cum[idx][n_pays - 1] if n_pays else 0) + max(-t.opening_cents, 0)
        owed = charged - paid
        if owed <= 0:
            return owed, None
        k = bisect.bisect_right(self.charge_cum[idx], paid, 0, n_charges)
        return owed, self.charge_days[idx][k]

    def owed(self, idx: int, on: date) -> int:
        """Cents owed by tenancy idx at the end of `on` (negative: in credit)."""
        return self._state(idx, on)[0]

    def oldest_unpaid(self, idx: int, on: date) -> date | None:
        """The due date of the oldest charge not fully paid at the end of `on`."""
        o = self._state(idx, on)[1]
        return date.fromordinal(o) if o is not None else None

    def profile(self, on: date, grace_days: int = 5) -> ArrearsProfile:
        o = on.toordinal()
        owed: dict[str, int] = {}
        rent: dict[str, int] = {}
        oldest: dict[str, int] = {}
        for i, t in enumerate(self.p.tenancies):
            cents, since = self._state(i, on)
            code = t.household_code
            owed[code] = owed.get(code, 0) + cents
            rent[code] = rent.get(code, 0) + t.monthly_cents
            if since is not None and since < oldest.get(code, o + 1):
                oldest[code] = since
        amount = [0, 0, 0]
        age = [0, 0, 0]
        for code, cents in owed.items():
            since = oldest.get(code)
            if cents <= 0 or since is None or o - since <= grace_days:
                continue
            months = cents / rent[code]
            amount[0 if months < 1 else 1 if months <= 3 else 2] += 1
            days = o - since
            age[0 if days < 30 else 1 if days <= 92 else 2] += 1
        return ArrearsProfile(on=on, households=len(owed), in_arrears=sum(amount),
                              by_amount=(amount[0], amount[1], amount[2]),
                              by_age=(age[0], age[1], age[2]))


def behaviour_counts(portfolio: Portfolio) -> dict[str, int]:
    """Households per behaviour type."""
    seen: dict[str, str] = {}
    for t in portfolio.tenancies:
        seen.setdefault(t.household_code, t.behaviour)
    counts = dict.fromkeys(BEHAVIOURS, 0)
    for b in seen.values():
        counts[b] += 1
    return counts
