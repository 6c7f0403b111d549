"""Generate a bank-matching benchmark: a portfolio and a month of payments with the truth.

Pure (no Django): tenancies as the ERP exports them (tenancies.csv, docs/import-format.md),
and one month of entries on the corporation's account written as one camt.053.001.02
statement through vroeg's own writer (vroeg.domain.bank.camt_writer). The truth (which
tenancy each entry is for, and how much for each) is kept apart from the bank file, keyed
by the bank's own entry reference (AcctSvcrRef), which tells the matcher nothing.

Realistic on purpose, because name and amount collisions are what make matching hard:

* households carry real Dutch surnames in their real frequencies (de Jong, Jansen, de
  Vries, ... and the Turkish, Moroccan, Surinamese and Polish names common in social
  housing), so one portfolio holds many "J. de Vries";
* homes are in complexes where units of one type share one rent (many equal rents),
  some households rent a parking place or storage too;
* IBANs are valid (made and checked with schwifty); payment references are
  betalingskenmerken (vroeg.domain.reference): the ERP's (``make_betalingskenmerk``,
  dense numbers) for a share of tenancies, the rest left empty so that the import
  issues vroeg's own (``tenancy_betalingskenmerk``).

Each tenancy gets one plan for the month (a noise class, with configurable shares):

  exact_reference          the structured reference, correct
  reference_in_text        no structured reference; typed in the free text, spaced,
                           dotted, unbroken or 8+8, with or without other words
  reference_mistyped       one digit wrong or two neighbours swapped (structured or typed)
  known_iban_no_reference  no reference, from the tenant's IBAN the ERP knows
  new_iban_name            a new account; the name spelled as banks do ("DE VRIES J",
                           "J. de Vries en/of M. Bakker"), sometimes address or tenancy code
  partial                  50-95% of the rent
  two_months               twice the rent (the tenant was a month behind)
  household_combined       one payment for both tenancies of a household
  third_party_linked       municipality, debt-help organisation or parent whose IBAN is
                           linked to the tenancy as known payer
  third_party_unlinked     the same, not linked
  direct_debit             a collection (mandate + reference)
  direct_debit_return      a returned collection (AM04/MD04/MD06), a debit
  no_payment               nothing this month (no entry)

and non-tenant noise: outgoing payments to suppliers, bank costs, supplier credits
(refunds, insurance, subsidy: money in that is no rent), refunds of a tenant's credit
(a debit to the tenant's own account).

As a command it writes tenancies.csv (every tenancy with an ERP reference, since there
is no database to issue vroeg's), camt053-YYYY-MM.xml and truth.jsonl into a folder:

    python benchmarks/gen_bank.py /tmp/bank5k --tenancies 5000
    python benchmarks/gen_bank.py /tmp/bank100k --entries 100000

benchmarks/bench_bank.py uses the functions directly, with the references the import
issued.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from schwifty import IBAN

from vroeg.domain.bank.camt_writer import write_camt053_to
from vroeg.domain.bank.model import BankEntry, Statement
from vroeg.domain.calendar import is_business_day
from vroeg.domain.reference import (
    format_betalingskenmerk,
    is_valid_betalingskenmerk,
    make_betalingskenmerk,
)
from vroeg.domain.tenancy_columns import ALL as TENANCY_COLUMNS

CORPORATION_IBAN = "NL91ABNA0417164300"
#: The ERP's references: make_betalingskenmerk(ERP_REFERENCE_BASE + tenancy number).
ERP_REFERENCE_BASE = 120_000_000
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# --- shares --------------------------------------------------------------------------

#: How a tenant who pays by transfer pays this month (shares of those tenancies).
TRANSFER_MIX: dict[str, float] = {
    "exact_reference": 0.60,
    "reference_in_text": 0.13,
    "reference_mistyped": 0.03,
    "known_iban_no_reference": 0.10,
    "new_iban_name": 0.05,
    "partial": 0.03,
    "two_months": 0.02,
    "no_payment": 0.02,
}
#: Household-level shares and per-1000-tenancies noise counts. All overridable.
DEFAULT_SHARES: dict[str, float] = {
    **TRANSFER_MIX,
    "direct_debit": 0.30,          # of households (not third-party paid): pay by incasso
    "direct_debit_return": 0.03,   # of collections: returned
    "two_units": 0.03,             # of households: a home plus a parking place or storage
    "household_combined": 0.5,     # of two-unit households paying by transfer: one payment
    "third_party": 0.05,           # of households: someone else pays
    "third_party_linked": 0.6,     # of those: the payer's IBAN is a known payer already
    "iban_known": 0.90,            # of transfer payers: the ERP knows their own IBAN
    "erp_reference": 0.5,          # of tenancies: an ERP reference (else vroeg issues one)
    "arrears": 0.05,               # of the others: an opening balance of 1-3 months owed
    "outgoing": 15.0,              # per 1000 tenancies: payments to suppliers
    "supplier_credit": 5.0,        # per 1000 tenancies: money in that is not rent
    "refund_to_tenant": 3.0,       # per 1000 tenancies: a tenant's credit paid back
}
TENANT_CLASSES = (*TRANSFER_MIX, "household_combined", "third_party_linked",
                  "third_party_unlinked", "direct_debit", "direct_debit_return")
NOISE_CLASSES = ("outgoing_payment", "bank_costs", "supplier_credit", "refund_to_tenant")

# --- names ---------------------------------------------------------------------------

# Surnames with their approximate number of bearers in the Netherlands (Meertens/CBS),
# plus names common among tenants of Turkish, Moroccan, Surinamese, Polish and other
# origin. "prefix|surname": the prefix (tussenvoegsel) is what banks move or drop.
_SURNAMES = """
de|Jong 86 |Jansen 74 de|Vries 73 van den|Berg 61 van|Dijk 57 |Bakker 56 |Janssen 54
|Visser 50 |Smit 45 |Meijer 42 de|Boer 40 |Mulder 38 de|Groot 38 |Bos 36 |Vos 32 |Peters 32
|Hendriks 31 van|Leeuwen 30 |Dekker 29 |Brouwer 28 de|Wit 27 |Dijkstra 27 |Smits 26
de|Graaf 25 van der|Meer 25 van der|Linden 24 |Kok 24 |Jacobs 24 de|Haan 23 |Vermeulen 23
van den|Heuvel 22 van der|Veen 22 van den|Broek 22 de|Bruijn 21 de|Bruin 21
van der|Heijden 21 |Schouten 21 van|Beek 20 |Willems 20 van|Vliet 20 van de|Ven 19
|Hoekstra 19 |Maas 19 |Verhoeven 19 |Koster 19 van|Dam 18 van der|Wal 18 |Prins 18 |Blom 18
|Huisman 18 |Peeters 17 de|Jonge 17 |Kuipers 17 van|Veen 17 |Post 17 |Kuiper 17
|Veenstra 17 |Kramer 16 van den|Brink 16 |Scholten 16 van|Wijk 16 |Postma 16 |Martens 16
|Vink 15 de|Ruiter 15 |Timmermans 15 |Groen 15 |Gerritsen 15 |Jonker 15 van|Loon 15
|Boer 14 van der|Velde 14 |Willemsen 14 |Smeets 14 de|Lange 14 de|Vos 14 |Bosch 14
van|Dongen 14 |Schipper 14 de|Koning 14 van der|Laan 13 |Koning 13 van der|Velden 13
|Driessen 13 van|Doorn 13 |Hermans 13 |Evers 13 van den|Bosch 13 van der|Meulen 13
|Hofman 13 |Bosman 12 |Wolters 12 |Sanders 12 van der|Horst 12 |Mol 12 |Kuijpers 12
|Molenaar 12 van de|Pol 12 de|Leeuw 12 |Verbeek 12
|Yılmaz 14 |Kaya 10 |Demir 9 |Şahin 7 |Çelik 7 |Yıldız 7 |Öztürk 6 |Aydın 6 |Arslan 5
|Doğan 5 |Koç 4 El|Amrani 5 |Bouzid 4 |Benali 4 El|Idrissi 4 Ait|Said 3 |Mohamed 8
|Ahmed 6 |Hassan 5 |Ali 6 |Abdi 4 |Pinas 3 |Sital 3 |Ramdin 3 |Martina 3 |Doekhie 2
|Nguyen 4 |Tran 3 |Kowalski 3 |Nowak 4 |Wiśniewski 2 |Haddou 3 |Boukhari 3 |Ouali 3
"""
_FIRST = {
    "m": ("Jan", "Johannes", "Cornelis", "Pieter", "Hendrik", "Willem", "Gerrit", "Kees",
          "Henk", "Daan", "Sem", "Thomas", "Ruud", "Mark", "Dennis", "Mohamed", "Mustafa",
          "Mehmet", "Ahmet", "Youssef", "Piotr", "Rachid", "Anil", "Dirk", "Bas"),
    "f": ("Maria", "Anna", "Johanna", "Cornelia", "Wilhelmina", "Sanne", "Lisa", "Emma",
          "Julia", "Ingrid", "Monique", "Sandra", "Fatima", "Ayşe", "Zeynep", "Khadija",
          "Samira", "Agnieszka", "Priya", "Els", "Petra", "Anouk", "Naima", "Esther"),
}
_STREETS = (
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Julianastraat", "Beatrixlaan",
    "Wilhelminastraat", "Schoolstraat", "Stationsweg", "Nieuwstraat", "Marktstraat",
    "Eikenlaan", "Lindelaan", "Beukenlaan", "Prinses Irenestraat", "Van Goghstraat",
    "Rembrandtlaan", "Vondelstraat", "Oranjestraat", "Churchilllaan", "Troelstrastraat",
    "Burgemeester de Withstraat", "Kastanjelaan", "Merelstraat", "Zwaluwlaan",
    "Tulpstraat", "Rozenstraat", "Kanaalweg", "Dijkstraat", "Parkweg", "Havenstraat",
    "Koningin Julianaplein", "Thorbeckelaan", "Marijkestraat", "Kamerlingh Onneslaan",
    "Graaf Florisstraat", "Johan de Wittstraat", "Admiraal de Ruyterweg", "Lorentzplein",
)
# City, postcode range (first 4 digits), weight; the municipality is the city.
_CITIES = (("Utrecht", (3500, 3585), 18), ("Amsterdam", (1011, 1109), 22),
           ("Rotterdam", (3011, 3089), 20), ("Den Haag", (2491, 2597), 12),
           ("Zwolle", (8011, 8043), 6), ("Tilburg", (5011, 5049), 8),
           ("Groningen", (9711, 9747), 8), ("Amersfoort", (3811, 3829), 6))
_BANKS = (("INGB", 33), ("RABO", 27), ("ABNA", 22), ("SNSB", 7), ("ASNB", 3), ("TRIO", 2),
          ("KNAB", 2), ("BUNQ", 3), ("RBRB", 1))
_DEBT_HELP = ("Kredietbank Nederland", "Kredietbank West-Brabant", "Stadsbank Utrecht",
              "Stichting Budgetbeheer Midden", "Bewindvoering De Linde B.V.",
              "Plangroep Schuldhulp", "GKB Amsterdam", "Stichting Beschermingsbewind Noord")
_SUPPLIERS = ("Bouwbedrijf Van Wijnen", "Heijmans Vastgoed", "Vitens N.V.", "Eneco",
              "Vattenfall", "Schoonmaakbedrijf Hago", "Liftinstituut", "Otis B.V.",
              "Hoppenbrouwers Techniek", "Waterschap De Dommel", "KPN B.V.",
              "Achmea Schadeverzekeringen", "Dakdekkersbedrijf Jansen", "Groenbeheer Utrecht")
_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december")


def _parse_surnames() -> tuple[list[tuple[str, str]], list[int]]:
    names, weights = [], []
    tokens = _SURNAMES.split()
    i = 0
    while i < len(tokens):
        # a surname may be preceded by the rest of a multi-word prefix ("van den|Berg")
        j = i
        while "|" not in tokens[j]:
            j += 1
        words = " ".join(tokens[i:j + 1])
        prefix, name = words.split("|")
        names.append((prefix, name))
        weights.append(int(tokens[j + 1]))
        i = j + 2
    return names, weights


SURNAMES, SURNAME_WEIGHTS = _parse_surnames()


def _ascii(text: str) -> str:
    text = text.replace("ı", "i").replace("İ", "I")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True)
class Person:
    first: str
    prefix: str  # tussenvoegsel, "" when none
    surname: str

    @property
    def initial(self) -> str:
        return self.first[0]

    @property
    def last(self) -> str:
        """The surname as written after initials: 'de Vries', 'Yılmaz'."""
        return f"{self.prefix} {self.surname}".strip()


def bank_name(rng: random.Random, p: Person, partner: Person | None = None) -> str:
    """The account holder's name as a bank shows it: initials or first name, upper case,
    the prefix moved to the end or dropped, accents gone, joint accounts."""
    last = p.last
    r = rng.random()
    if partner is not None and r < 0.25:
        return rng.choice((
            f"{p.initial}. {last} en/of {partner.initial}. {partner.last}",
            f"{p.first} {last} en/of {partner.first} {partner.last}",
            f"{_ascii(last).upper()} {p.initial} EN/OF {_ascii(partner.last).upper()} "
            f"{partner.initial}",
            f"{p.initial} {last} of {partner.initial} {partner.last}"))
    r = rng.random()
    if r < 0.22:
        return f"{p.initial}. {last}"
    if r < 0.40:
        return _ascii(f"{p.initial} {last}").upper()
    if r < 0.52:
        moved = f"{p.surname} {p.initial} {p.prefix}".strip()
        return _ascii(moved).upper()  # "VRIES J DE"
    if r < 0.62:
        return _ascii(f"{last} {p.initial}").upper()  # "DE VRIES J"
    if r < 0.74:
        return f"{p.first} {last}"
    if r < 0.80:
        return f"{p.initial}.{last}"
    if r < 0.86:
        return rng.choice(("Hr ", "Dhr. ", "Mw ", "Mevr. ")) + f"{p.initial} {last}"
    if r < 0.92 and partner is not None:
        return f"{p.initial}. {last}-{partner.surname}"  # double-barrelled
    if r < 0.96:
        return f"Fam. {last}"
    return _ascii(f"{p.first} {p.surname}").upper()  # prefix dropped


# --- the portfolio -----------------------------------------------------------------------


@dataclass
class Household:
    code: str
    person: Person
    partner: Person | None
    name: str  # as the ERP has it, on letters
    iban: str  # their own account
    iban_known: bool
    account_name: str  # how their bank shows it
    third_party: str = ""  # "", municipality, debt_help, parent
    payer_name: str = ""
    payer_iban: str = ""
    linked: bool = False
    client_number: str = ""


@dataclass
class Tenancy:
    number: int
    code: str
    household: Household
    unit_code: str
    street: str
    house_number: str
    postcode: str
    city: str
    net_cents: int
    service_cents: int
    method: str  # overboeking, incasso
    mandate_id: str
    erp_reference: str  # "" when vroeg issues the reference
    opening_cents: int
    plan: str  # the month's class (or "" for the second unit of a combined payment)
    combined_with: int = -1  # index of the other tenancy of a combined payment

    @property
    def rent_cents(self) -> int:
        return self.net_cents + self.service_cents


@dataclass
class Portfolio:
    seed: int
    month: tuple[int, int]
    tenancies: list[Tenancy]
    households: list[Household]
    organisations: dict[str, tuple[str, str]]  # key -> (name, iban)
    shares: dict[str, float]

    @property
    def opening_on(self) -> date:
        return date(*self.month, 1) - timedelta(days=1)

    @property
    def month_end(self) -> date:
        y, m = self.month
        return date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)


class _Ibans:
    """Valid, unique Dutch IBANs (schwifty), account numbers passing the old 11-test."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = {CORPORATION_IBAN}
        self.banks = [b for b, _ in _BANKS]
        self.weights = [w for _, w in _BANKS]

    def new(self, bank: str | None = None) -> str:
        rng = self.rng
        bank = bank or rng.choices(self.banks, self.weights)[0]
        while True:
            digits = [rng.randrange(10) for _ in range(9)]
            digits[0] = 0 if bank == "INGB" else rng.randrange(1, 10)
            last = -sum((10 - i) * d for i, d in enumerate(digits)) % 11
            if last == 10:
                continue
            iban = str(IBAN.generate("NL", bank_code=bank,
                                     account_code="".join(map(str, digits)) + str(last)))
            if iban not in self.seen:
                self.seen.add(iban)
                return iban


def _weighted(rng: random.Random, table: Mapping[str, float]) -> str:
    x = rng.random() * sum(table.values())
    for name, share in table.items():
        x -= share
        if x < 0:
            return name
    return next(iter(table))


def make_portfolio(tenancies: int, *, seed: int = 1, month: tuple[int, int] = (2026, 11),
                   shares: Mapping[str, float] | None = None) -> Portfolio:
    """`tenancies` tenancies in complexes, each with its plan for the month."""
    s = {**DEFAULT_SHARES, **(shares or {})}
    rng = random.Random(f"vroeg-bench-bank:{seed}")
    ibans = _Ibans(rng)
    transfer_mix = {k: s[k] for k in TRANSFER_MIX}
    organisations: dict[str, tuple[str, str]] = {}
    for city, _, _ in _CITIES:
        organisations[f"municipality:{city}"] = (f"Gemeente {city}", ibans.new("BNGH"))
    for org in _DEBT_HELP:
        organisations[f"debt_help:{org}"] = (org, ibans.new())

    out: list[Tenancy] = []
    households: list[Household] = []
    complex_left = 0
    street = city = ""
    pc_digits = 0
    types: list[tuple[int, int]] = []
    number_in_complex = 0
    while len(out) < tenancies:
        if complex_left == 0:  # a new complex: street, postcode area, 2-4 unit types
            complex_left = rng.randint(12, 160)
            street = rng.choice(_STREETS)
            city, (lo, hi), _ = rng.choices(_CITIES, [c[2] for c in _CITIES])[0]
            pc_digits = rng.randint(lo, hi)
            base = rng.randint(470_00, 840_00)
            types = [(base + rng.randint(-60_00, 60_00), rng.choice((0, 0, 2250, 3875, 4550)))
                     for _ in range(rng.randint(2, 4))]
            number_in_complex = rng.randint(0, 40)
        complex_left -= 1
        number_in_complex += 1
        h = len(households) + 1
        sex = rng.choice("mf")
        prefix, surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
        person = Person(rng.choice(_FIRST[sex]), prefix, surname)
        partner = None
        if rng.random() < 0.35:
            p2, s2 = (prefix, surname) if rng.random() < 0.5 else \
                rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
            partner = Person(rng.choice(_FIRST["f" if sex == "m" else "m"]), p2, s2)
        if partner is not None and partner.last == person.last:
            name = f"{person.initial}. en {partner.initial}. {person.last}"
        elif partner is not None and rng.random() < 0.5:
            name = f"{person.initial}. {person.last} en {partner.initial}. {partner.last}"
        else:
            name = f"{person.initial}. {person.last}"
        hh = Household(code=f"REL{h:07d}", person=person, partner=partner, name=name,
                       iban=ibans.new(), iban_known=rng.random() < s["iban_known"],
                       account_name=bank_name(rng, person, partner))
        households.append(hh)
        if rng.random() < s["third_party"]:
            r = rng.random()
            if r < 0.30:
                hh.third_party = "municipality"
                hh.payer_name, hh.payer_iban = organisations[f"municipality:{city}"]
            elif r < 0.75:
                hh.third_party = "debt_help"
                key = rng.choice([k for k in organisations if k.startswith("debt_help:")])
                hh.payer_name, hh.payer_iban = organisations[key]
            else:
                hh.third_party = "parent"
                parent_last = (person.prefix, person.surname) if rng.random() < 0.7 else \
                    rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
                parent = Person(rng.choice(_FIRST[rng.choice("mf")]), *parent_last)
                hh.payer_name, hh.payer_iban = bank_name(rng, parent), ibans.new()
            hh.linked = rng.random() < s["third_party_linked"]
            hh.client_number = str(rng.randint(10_000, 999_999))
        dd = not hh.third_party and rng.random() < s["direct_debit"]
        if dd:
            hh.iban_known = True
        units = 2 if rng.random() < s["two_units"] and len(out) + 2 <= tenancies else 1
        net, svc = rng.choice(types)
        if rng.random() < 0.4:  # rent raised by tenancy, not by type: a few euros apart
            net += rng.randint(-25_00, 25_00)
        number = str(number_in_complex)
        if rng.random() < 0.15:
            number += rng.choice(("-A", "-B", "-1", "-2", "-3", " bis"))
        postcode = f"{pc_digits} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}" \
                   f"{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}"
        if hh.third_party:
            plan = "third_party_linked" if hh.linked else "third_party_unlinked"
        elif dd:
            plan = ("direct_debit_return" if rng.random() < s["direct_debit_return"]
                    else "direct_debit")
        else:
            plan = _weighted(rng, transfer_mix)
        combined = (units == 2 and not dd and not hh.third_party
                    and rng.random() < s["household_combined"])
        if combined:
            plan = "household_combined"
        opening = 0
        if plan == "two_months":
            opening = net + svc
        elif plan in ("partial", "third_party_linked", "third_party_unlinked") \
                and rng.random() < 0.4:
            opening = (net + svc) * rng.randint(50, 200) // 100
        elif rng.random() < s["arrears"]:
            opening = (net + svc) * rng.randint(100, 300) // 100
        elif rng.random() < 0.01:
            opening = -rng.randint(10_00, 80_00)  # a small credit
        first = len(out)
        for u in range(units):
            num = len(out) + 1
            if u == 0:
                unit_code, hn, u_net, u_svc = f"EH{num:07d}", number, net, svc
            else:
                kind = rng.choice(("PP", "PP", "BG"))
                unit_code = f"{kind}{num:07d}"
                hn = f"{number.split('-')[0].split(' ')[0]}-{'P' if kind == 'PP' else 'B'}"
                u_net = rng.choice((3500, 4250, 5500, 6500, 8950)) if kind == "PP" \
                    else rng.choice((2000, 2750, 3500, 4500))
                u_svc = 0
            u_plan = plan if u == 0 or not combined else ""
            u_opening = opening if u == 0 else 0
            if u == 1 and not combined and plan in TRANSFER_MIX:
                u_plan = _weighted(rng, transfer_mix)
                if u_plan == "two_months":  # a month behind on this one too
                    u_opening = u_net + u_svc
            out.append(Tenancy(
                number=num, code=f"OVK{num:07d}", household=hh, unit_code=unit_code,
                street=street, house_number=hn, postcode=postcode, city=city,
                net_cents=u_net, service_cents=u_svc,
                method="incasso" if dd else "overboeking",
                mandate_id=f"WSV-{num:07d}-1" if dd else "",
                erp_reference=(make_betalingskenmerk(ERP_REFERENCE_BASE + num)
                               if rng.random() < s["erp_reference"] else ""),
                opening_cents=u_opening, plan=u_plan))
        if combined:
            out[first].combined_with = first + 1
            out[first + 1].combined_with = first
    return Portfolio(seed=seed, month=month, tenancies=out, households=households,
                     organisations=organisations, shares=s)


def _cents(c: int) -> str:
    sign = "-" if c < 0 else ""
    return f"{sign}{abs(c) // 100}.{abs(c) % 100:02d}"


def tenancies_csv(p: Portfolio, *, all_erp_references: bool = False) -> bytes:
    """The ERP export (docs/import-format.md). Tenancies without an ERP reference get an
    empty betalingskenmerk cell, so the import issues vroeg's own (unless
    `all_erp_references`: then every row carries one, for use without a database)."""
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(TENANCY_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    opening_on = p.opening_on.isoformat()
    for t in p.tenancies:
        hh = t.household
        ref = t.erp_reference or (make_betalingskenmerk(ERP_REFERENCE_BASE + t.number)
                                  if all_erp_references else "")
        row = dict.fromkeys(TENANCY_COLUMNS, "")
        row.update({
            "overeenkomst_code": t.code, "relatie_code": hh.code, "relatie_naam": hh.name,
            "eenheid_code": t.unit_code, "eenheid_straat": t.street,
            "eenheid_huisnummer": t.house_number, "eenheid_postcode": t.postcode,
            "eenheid_plaats": t.city, "ingangsdatum": "2015-06-01",
            "kale_huur": _cents(t.net_cents), "servicekosten": _cents(t.service_cents),
            "vervaldag": "1", "betaalwijze": t.method, "machtigingskenmerk": t.mandate_id,
            "machtiging_datum": "2015-05-20" if t.mandate_id else "",
            "iban": hh.iban if hh.iban_known else "", "betalingskenmerk": ref,
            "voorkeurskanaal": "brief", "beginsaldo": _cents(t.opening_cents),
            "beginsaldo_datum": opening_on})
        w.writerow(row)
    return buf.getvalue().encode("utf-8")


def linked_payers(p: Portfolio) -> list[tuple[str, str, str]]:
    """(tenancy code, IBAN, name) of third-party payers already linked by staff."""
    return [(t.code, t.household.payer_iban, t.household.payer_name) for t in p.tenancies
            if t.household.third_party and t.household.linked]


# --- the month ---------------------------------------------------------------------------


@dataclass
class Truth:
    bank_reference: str
    cls: str
    kind: str  # tenant | noise
    expect: str  # match | ignore | staff | match_or_staff
    alloc: list[tuple[str, int]]  # (tenancy code, cents) the money belongs to
    amount_cents: int
    ref_form: str = "none"  # structured | typed | mistyped | two_typed | none
    variant: str = ""
    payer: str = "tenant"  # tenant | new_iban | municipality | debt_help | parent | other
    known_iban: bool = False  # the paying IBAN is known for (one of) the tenancies
    notes: dict[str, object] = field(default_factory=dict)


@dataclass
class Month:
    entries: list[BankEntry]
    truth: list[Truth]


def mistype(rng: random.Random, ref: str) -> tuple[str, str]:
    """One digit wrong or two different neighbours swapped: (reference, how)."""
    while True:
        if rng.random() < 0.6:
            i = rng.randrange(len(ref))
            d = rng.choice([c for c in "0123456789" if c != ref[i]])
            return ref[:i] + d + ref[i + 1:], "digit"
        i = rng.randrange(len(ref) - 1)
        if ref[i] != ref[i + 1]:
            return ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:], "swap"


def typed(rng: random.Random, ref: str, t: Tenancy, month_name: str) -> tuple[str, str]:
    """The reference typed in free text, as people do: (text, variant)."""
    spaced = format_betalingskenmerk(ref)
    r = rng.random()
    if r < 0.30:
        return f"huur {month_name} {spaced}", "spaced"
    if r < 0.45:
        return spaced, "spaced"
    if r < 0.57:
        return ".".join(spaced.split()), "dotted"
    if r < 0.70:
        return f"Betalingskenmerk {spaced} {t.street} {t.house_number}", "spaced"
    if r < 0.80:
        return f"{ref[:8]} {ref[8:]} huur", "8+8"
    if r < 0.92:
        return f"kenmerk {ref}", "unbroken"
    return f"huur {ref} {month_name}", "unbroken"


def _address(t: Tenancy) -> str:
    return f"{t.street} {t.house_number}"


class _MonthMaker:
    def __init__(self, p: Portfolio, refs: Mapping[str, str]) -> None:
        self.p = p
        self.refs = refs
        self.all_refs = {r: c for c, r in refs.items()}
        self.rng = random.Random(f"vroeg-bench-bank:{p.seed}:month")
        self.ibans = _Ibans(random.Random(f"vroeg-bench-bank:{p.seed}:month-ibans"))
        y, m = p.month
        self.days = [d for d in (date(y, m, i) for i in range(1, 32) if _valid(y, m, i))
                     if is_business_day(d)]
        self.month_name = f"{_MONTHS_NL[m - 1]} {y}"
        self.month_word = _MONTHS_NL[m - 1]
        self.prev_word = _MONTHS_NL[(m - 2) % 12]
        self.entries: list[BankEntry] = []
        self.truth: list[Truth] = []
        self.e2e = 0
        self.seq = 0  # bank references stay unique, also for entries added later

    # booking day: most pay in the first week, some after payday (20th-27th)
    def day(self, late: bool = False) -> date:
        rng = self.rng
        r = rng.random()
        if late or r > 0.75:
            pool = [d for d in self.days if 19 <= d.day <= 28]
        elif r > 0.65:
            pool = [d for d in self.days if 6 <= d.day <= 18]
        else:
            pool = [d for d in self.days if d.day <= 5]
        return rng.choice(pool or self.days)

    def add(self, amount: int, day: date, name: str, iban: str, remittance: str = "",
            structured: str = "", truth: Truth | None = None, *, mandate: str = "",
            e2e: str = "", reason: str = "") -> None:
        assert truth is not None
        self.seq += 1
        bank_ref = f"{day:%Y%m%d}{self.seq:09d}"
        truth.bank_reference = bank_ref
        truth.amount_cents = amount
        if not e2e and amount > 0 and self.rng.random() < 0.6:
            self.e2e += 1
            e2e = f"E2E{self.rng.randrange(16**10):010X}"
        self.entries.append(BankEntry(
            amount=Decimal(amount).scaleb(-2), currency="EUR", booked_on=day, value_on=day,
            counterparty_name=name, counterparty_iban=iban, remittance=remittance,
            creditor_reference=structured, end_to_end_id=e2e, mandate_id=mandate,
            bank_reference=bank_ref, reversal=bool(reason), return_reason=reason))
        self.truth.append(truth)

    def make(self) -> Month:
        p, rng = self.p, self.rng
        for t in p.tenancies:
            if t.plan:
                getattr(self, "_" + t.plan)(t)
        n = len(p.tenancies)
        s = p.shares
        for _ in range(_count(rng, n * s["outgoing"] / 1000)):
            self._outgoing()
        for _ in range(_count(rng, n * s["supplier_credit"] / 1000)):
            self._supplier_credit()
        for _ in range(_count(rng, n * s["refund_to_tenant"] / 1000)):
            self._refund_to_tenant(rng.choice(p.tenancies))
        for _ in range(rng.randint(2, 4)):
            self.add(-rng.randint(15_00, 900_00), rng.choice(self.days), "", "",
                     rng.choice(("Kosten betalingsverkeer", "Rente en kosten",
                                 "Kosten zakelijk pakket")),
                     truth=Truth("", "bank_costs", "noise", "ignore", [], 0, payer="other"))
        order = sorted(range(len(self.entries)),
                       key=lambda i: (self.entries[i].booked_on, rng.random()))
        return Month([self.entries[i] for i in order], [self.truth[i] for i in order])

    # -- payers -----------------------------------------------------------------------

    def own(self, t: Tenancy) -> tuple[str, str, bool]:
        hh = t.household
        return hh.account_name, hh.iban, hh.iban_known

    def _pay(self, t: Tenancy, cls: str, amount: int, how: str, *, late: bool = False,
             remittance: str = "", variant: str = "") -> None:
        """A transfer from the tenant's own account; `how` is structured/typed/none."""
        name, iban, known = self.own(t)
        ref = self.refs[t.code]
        structured = ""
        if how == "structured":
            structured = ref
        elif how == "typed":
            text, variant2 = typed(self.rng, ref, t, self.month_word)
            remittance = text if not remittance else f"{remittance} {text}"
            variant = variant or variant2
        self.add(amount, self.day(late), name, iban, remittance, structured,
                 Truth("", cls, "tenant", "match", [(t.code, amount)], amount,
                       ref_form=how if how != "none" else "none", variant=variant,
                       known_iban=known))

    def _exact_reference(self, t: Tenancy) -> None:
        self._pay(t, "exact_reference", t.rent_cents, "structured",
                  variant="ref_" + ("erp" if t.erp_reference else "vroeg"))

    def _reference_in_text(self, t: Tenancy) -> None:
        self._pay(t, "reference_in_text", t.rent_cents, "typed")

    def _reference_mistyped(self, t: Tenancy) -> None:
        rng = self.rng
        name, iban, known = self.own(t)
        ref = self.refs[t.code]
        wrong, how = mistype(rng, ref)
        valid = is_valid_betalingskenmerk(wrong)
        other = self.all_refs.get(wrong, "")
        truth = Truth("", "reference_mistyped", "tenant", "match_or_staff",
                      [(t.code, t.rent_cents)], t.rent_cents, ref_form="mistyped",
                      variant=how, known_iban=known,
                      notes={"still_valid": valid, "is_other_tenancys": other,
                             "issued_by": "erp" if t.erp_reference else "vroeg"})
        if rng.random() < 0.5:
            self.add(t.rent_cents, self.day(), name, iban, "", wrong, truth)
        else:
            text, _ = typed(rng, wrong, t, self.month_word)
            truth.variant += "_typed"
            self.add(t.rent_cents, self.day(), name, iban, text, "", truth)

    def _known_iban_no_reference(self, t: Tenancy) -> None:
        rng = self.rng
        hh = t.household
        text = rng.choice(("", f"huur {self.month_word}", "huur", f"huur {_address(t)}",
                           hh.name, f"Huur {self.month_name}", "maandhuur"))
        # the ERP may not know this tenant's account: then it is an unknown IBAN
        self._pay(t, "known_iban_no_reference", t.rent_cents, "none", remittance=text,
                  variant="iban_known" if hh.iban_known else "iban_not_in_erp")

    def _new_iban_name(self, t: Tenancy) -> None:
        rng = self.rng
        hh = t.household
        payer = hh.partner if hh.partner is not None and rng.random() < 0.3 else hh.person
        name = bank_name(rng, payer, hh.partner if payer is hh.person else hh.person)
        r = rng.random()
        if r < 0.35:
            text = rng.choice((f"huur {_address(t)}", f"{_address(t)} {t.city}",
                               f"huur {self.month_word} {_address(t)}"))
            variant = "address"
        elif r < 0.50:
            text = rng.choice((f"huurcontract {t.code}", f"huur {t.code}",
                               f"contract {t.code[3:]}", f"{t.code} {self.month_word}"))
            variant = "tenancy_code"
        else:
            text = rng.choice(("huur", f"huur {self.month_word}", "", "Huur woning"))
            variant = "name_only"
        iban = self.ibans.new()
        self.add(t.rent_cents, self.day(), name, iban, text, "",
                 Truth("", "new_iban_name", "tenant", "match_or_staff",
                       [(t.code, t.rent_cents)], t.rent_cents, variant=variant,
                       payer="new_iban", notes={"name": name}))

    def _partial(self, t: Tenancy) -> None:
        rng = self.rng
        amount = t.rent_cents * rng.randint(50, 95) // 100 // 100 * 100
        how = rng.choices(("structured", "typed", "none"), (0.5, 0.2, 0.3))[0]
        self._pay(t, "partial", amount, how, late=rng.random() < 0.5,
                  remittance="" if how != "none" else rng.choice(("", "huur deel", "huur")),
                  variant=how)

    def _two_months(self, t: Tenancy) -> None:
        rng = self.rng
        how = rng.choices(("structured", "typed", "none"), (0.6, 0.2, 0.2))[0]
        text = rng.choice((f"huur {self.prev_word} en {self.month_word}",
                           f"huur {self.prev_word} + {self.month_word}", "2 mnd huur", ""))
        self._pay(t, "two_months", 2 * t.rent_cents, how, remittance=text, variant=how,
                  late=rng.random() < 0.5)

    def _no_payment(self, t: Tenancy) -> None:
        return None

    def _household_combined(self, t: Tenancy) -> None:
        rng = self.rng
        other = self.p.tenancies[t.combined_with]
        name, iban, known = self.own(t)
        total = t.rent_cents + other.rent_cents
        r1, r2 = self.refs[t.code], self.refs[other.code]
        r = rng.random()
        alloc = [(t.code, t.rent_cents), (other.code, other.rent_cents)]
        truth = Truth("", "household_combined", "tenant", "match", alloc, total,
                      known_iban=known)
        if r < 0.3:
            truth.ref_form, truth.variant = "two_typed", "two_references_typed"
            text = rng.choice((f"huur {format_betalingskenmerk(r1)} en "
                               f"{format_betalingskenmerk(r2)}",
                               f"{r1} {r2}", f"woning {r1} parkeerplaats {r2}"))
            self.add(total, self.day(), name, iban, text, "", truth)
        elif r < 0.7:
            truth.ref_form, truth.variant = "structured", "home_reference_structured"
            self.add(total, self.day(), name, iban, "", r1, truth)
        else:
            truth.variant = "no_reference"
            self.add(total, self.day(), name, iban,
                     rng.choice(("huur woning en parkeerplaats", "huur + berging", "huur")),
                     "", truth)

    def _third_party(self, t: Tenancy, linked: bool) -> None:
        rng = self.rng
        hh = t.household
        cls = "third_party_linked" if linked else "third_party_unlinked"
        amount = t.rent_cents
        variant = hh.third_party
        if hh.third_party != "parent" and rng.random() < 0.3:
            amount += rng.choice((10_00, 25_00, 50_00))  # rent plus a repayment
            variant += "+repayment"
        ref = self.refs[t.code]
        r = rng.random()
        structured, text, form = "", "", "none"
        if hh.third_party == "parent":
            if r < 0.5:
                structured, form = ref, "structured"
            elif r < 0.75:
                text, _ = typed(rng, ref, t, self.month_word)
                form = "typed"
            else:
                text = rng.choice((f"huur voor {hh.name}", f"huur {hh.person.first}",
                                   f"huur {_address(t)}"))
        elif r < 0.85:
            structured, form = ref, "structured"
            if rng.random() < 0.5:
                text = f"cliënt {hh.client_number} {hh.name}"
        elif r < 0.95:
            t_text, _ = typed(rng, ref, t, self.month_word)
            text, form = f"clnr {hh.client_number} {t_text}", "typed"
        else:
            text = rng.choice((f"huur {hh.name} {_address(t)} {t.city}",
                               f"cliëntnr {hh.client_number} {hh.name} huur {self.month_word}"))
        self.add(amount, self.day(late=hh.third_party == "parent" and r < 0.2),
                 hh.payer_name, hh.payer_iban, text, structured,
                 Truth("", cls, "tenant", "match" if form != "none" else "match_or_staff",
                       [(t.code, amount)], amount, ref_form=form, variant=variant,
                       payer=hh.third_party, known_iban=linked))

    def _third_party_linked(self, t: Tenancy) -> None:
        self._third_party(t, True)

    def _third_party_unlinked(self, t: Tenancy) -> None:
        self._third_party(t, False)

    def _direct_debit(self, t: Tenancy, returned: bool = False) -> None:
        hh = t.household
        first = self.days[0]
        truth = Truth("", "direct_debit", "tenant", "match", [(t.code, t.rent_cents)],
                      t.rent_cents, ref_form="structured", known_iban=True)
        e2e = f"{t.code}-{self.p.month[0]}{self.p.month[1]:02d}"
        self.add(t.rent_cents, first, hh.account_name, hh.iban,
                 f"Huur {self.month_name} {t.code}", self.refs[t.code], truth,
                 mandate=t.mandate_id, e2e=e2e)
        if returned:
            reason = self.rng.choice(("AM04", "AM04", "AM04", "MD06", "MS02"))
            day = self.days[min(len(self.days) - 1, self.rng.randint(2, 5))]
            self.add(-t.rent_cents, day, hh.account_name, hh.iban,
                     f"Huur {self.month_name} {t.code}", self.refs[t.code],
                     Truth("", "direct_debit_return", "tenant", "match",
                           [(t.code, -t.rent_cents)], -t.rent_cents, ref_form="structured",
                           variant=reason, known_iban=True),
                     mandate=t.mandate_id, e2e=e2e, reason=reason)

    def _direct_debit_return(self, t: Tenancy) -> None:
        self._direct_debit(t, returned=True)

    # -- noise --------------------------------------------------------------------------

    def _outgoing(self) -> None:
        rng = self.rng
        who = rng.choice(_SUPPLIERS)
        text = rng.choice((f"factuur {rng.randint(2026000, 2026999)}",
                           f"Factuurnr. {rng.randint(10**7, 10**8 - 1)} {who}",
                           f"F{rng.randint(100000, 999999)} onderhoud complex",
                           f"inkoopordernr {rng.randint(4500000000, 4599999999)}"))
        self.add(-rng.randint(80_00, 45_000_00), self.day(), who, self._supplier_iban(who),
                 text, "", Truth("", "outgoing_payment", "noise", "ignore", [], 0,
                                 payer="other"))

    def _supplier_iban(self, who: str) -> str:
        key = f"supplier:{who}"
        if key not in self.p.organisations:
            self.p.organisations[key] = (who, self.ibans.new())
        return self.p.organisations[key][1]

    def _supplier_credit(self) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.15:  # a municipality pays a subsidy from the account it pays rent from
            name, iban = rng.choice([v for k, v in self.p.organisations.items()
                                     if k.startswith("municipality:")])
            text = rng.choice(("subsidie leefbaarheid 2026", "bijdrage wijkaanpak",
                               f"beschikking {rng.randint(10**6, 10**7 - 1)}"))
            amount = rng.randint(1_000_00, 60_000_00)
            variant = "municipality_subsidy"
        else:
            name = rng.choice(_SUPPLIERS)
            iban = self._supplier_iban(name)
            text = rng.choice((f"creditnota {rng.randint(10**6, 10**7 - 1)}",
                               f"terugbetaling factuur {rng.randint(2026000, 2026999)}",
                               f"schade-uitkering dossier {rng.randint(10**5, 10**6 - 1)}",
                               "restitutie voorschot"))
            amount = rng.randint(25_00, 8_000_00)
            variant = "supplier"
        self.add(amount, self.day(), name, iban, text, "",
                 Truth("", "supplier_credit", "noise", "staff", [], amount, variant=variant,
                       payer="other"))

    def _refund_to_tenant(self, t: Tenancy) -> None:
        rng = self.rng
        hh = t.household
        amount = rng.randint(10_00, 150_00)
        self.add(-amount, self.day(), hh.account_name, hh.iban,
                 rng.choice((f"terugbetaling tegoed {t.code}", "restitutie servicekosten",
                             f"teveel betaald {t.code}")), "",
                 Truth("", "refund_to_tenant", "noise", "match_or_staff", [(t.code, -amount)],
                       -amount, known_iban=hh.iban_known, payer="tenant"))


def _valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def _count(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


def make_month(p: Portfolio, refs: Mapping[str, str], *, entries: int | None = None) -> Month:
    """The month's entries and their truth. `refs`: tenancy code -> betalingskenmerk as
    the database has it. With `entries`, exactly that many (drop tenant payments at
    random, or add outgoing payments)."""
    maker = _MonthMaker(p, refs)
    month = maker.make()
    if entries is None:
        return month
    rng = random.Random(f"vroeg-bench-bank:{p.seed}:trim")
    while len(month.entries) < entries:
        maker.entries, maker.truth = [], []
        for _ in range(entries - len(month.entries)):
            maker._outgoing()
        month.entries += maker.entries
        month.truth += maker.truth
    if len(month.entries) > entries:
        # Drop entries at random (a tenant who did not pay this month).
        keep = set(rng.sample(range(len(month.entries)), entries))
        month = Month([e for i, e in enumerate(month.entries) if i in keep],
                      [t for i, t in enumerate(month.truth) if i in keep])
    return month


def write_month(month: Month, path: Path, p: Portfolio, *,
                account: str = CORPORATION_IBAN) -> int:
    """One camt.053.001.02 statement for the month (compact, written entry by entry)."""
    y, m = p.month
    opening = Decimal("1250000.00")
    total = sum((e.amount for e in month.entries), Decimal(0))
    stmt = Statement(account_iban=account, currency="EUR", opening_balance=opening,
                     closing_balance=opening + total, opening_on=date(y, m, 1),
                     closing_on=p.month_end, statement_id=f"{account}-{y}-{m:02d}",
                     entries=tuple(month.entries))
    created = datetime.combine(p.month_end, dtime(18, 0), AMSTERDAM)
    with open(path, "wb") as out:
        return write_camt053_to(out, [stmt], message_id=f"BENCH-{y}{m:02d}-{p.seed}",
                                created_at=created, version="001.02")


def write_truth(month: Month, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for t in month.truth:
            out.write(json.dumps(asdict(t), ensure_ascii=False) + "\n")


def read_truth(path: Path) -> list[Truth]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            d["alloc"] = [tuple(a) for a in d["alloc"]]
            out.append(Truth(**d))
    return out


def class_counts(truth: Iterable[Truth]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in truth:
        counts[t.cls] = counts.get(t.cls, 0) + 1
    return counts


def parse_shares(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in DEFAULT_SHARES:
            raise SystemExit(f"unknown share {key!r}; known: {', '.join(DEFAULT_SHARES)}")
        out[key] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--tenancies", type=int, default=0,
                    help="portfolio size (default 5000, or about --entries)")
    ap.add_argument("--entries", type=int, default=0,
                    help="exactly this many entries in the statement")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--month", default="2026-11", help="YYYY-MM (default 2026-11)")
    ap.add_argument("--share", action="append", default=[], metavar="NAME=VALUE",
                    help="override a share, e.g. reference_mistyped=0.05")
    args = ap.parse_args(argv)
    y, m = (int(x) for x in args.month.split("-"))
    n = args.tenancies or (int(args.entries * 0.97) + 1 if args.entries else 5000)
    t0 = time.perf_counter()
    p = make_portfolio(n, seed=args.seed, month=(y, m), shares=parse_shares(args.share))
    args.folder.mkdir(parents=True, exist_ok=True)
    (args.folder / "tenancies.csv").write_bytes(tenancies_csv(p, all_erp_references=True))
    refs = {t.code: t.erp_reference or make_betalingskenmerk(ERP_REFERENCE_BASE + t.number)
            for t in p.tenancies}
    month = make_month(p, refs, entries=args.entries or None)
    camt = args.folder / f"camt053-{y}-{m:02d}.xml"
    size = write_month(month, camt, p)
    write_truth(month, args.folder / "truth.jsonl")
    print(json.dumps({"folder": str(args.folder), "tenancies": n, "entries": len(month.entries),
                      "camt_bytes": size, "classes": class_counts(month.truth),
                      "seconds": round(time.perf_counter() - t0, 2)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
