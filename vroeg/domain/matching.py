"""Matching an incoming bank entry to a tenancy. Pure; every match carries its reason.

Rules, first that decides wins (Kill Bill style: snapshot in, one verdict out):

1. ``reference``: the structured creditor reference is one we issued (betalingskenmerk,
   or an RF reference around it). A mistyped reference fails its check digit and
   is never in the index, so it cannot hit another tenancy.
2. ``end_to_end``: the end-to-end id of one of our own direct debits (returns).
3. ``reference_in_text``: exactly one of our references typed in the free text.
4. ``known_iban``: a payer IBAN known for the tenancy (the tenant's own, or a third
   party a staff member linked) with an amount that fits.
5. ``score``: name (in the counterparty name or the free text), address, tenancy
   code and amount give a score; only a clear winner above the bar is matched.

Below the bar the payment waits for a person, with the best candidates. A payment
for a household that holds several tenancies is split over their open amounts
(oldest debt first); whatever is left stays as credit, never refunded by itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from vroeg.domain.reference import weak_check

ZERO = Decimal("0.00")
SCORE_BAR = 70  # at or above: matched automatically ...
SCORE_MARGIN = 25  # ... when the runner-up is at least this far behind
MAX_CANDIDATES = 3
# A name shared by more tenancies than this (de Vries, Jansen) only brings in the ones
# whose rent or open amount equals the payment: a name alone never reaches the bar,
# so the others could not be matched, and would only crowd the candidate list.
NAME_POOL_LIMIT = 60
# A linked third party's payment whose free text fits another household better than
# the linked one (or as well), by at least a name in the text (35), goes to
# a person: a municipality pays for many, and namesakes share rents in a complex.
RIVAL_SCORE = 35
# An amount "fits" a known payer's tenancy up to what is open plus two months' rent:
# more than that from a known IBAN is unusual enough for a person to look at.
FIT_MONTHS = 2


@dataclass(frozen=True)
class TxnFacts:
    amount: Decimal  # credit positive
    creditor_reference: str
    remittance: str
    counterparty_iban: str
    return_reason: str = ""
    reversal: bool = False
    counterparty_name: str = ""
    end_to_end_id: str = ""


@dataclass(frozen=True)
class TenancyFacts:
    id: int
    household_id: int
    code: str = ""
    unit_code: str = ""
    name: str = ""  # the household's name
    street: str = ""
    house_number: str = ""
    postcode: str = ""
    monthly_rent: Decimal = ZERO
    open_amount: Decimal = ZERO  # owed today, >= 0
    oldest_due: str = ""  # ISO date of the oldest unpaid charge ("" when none): debt order


@dataclass(frozen=True)
class MatchIndex:
    by_reference: Mapping[str, int]  # payment reference (digits) -> tenancy id
    by_iban: Mapping[str, tuple[int, ...]]  # known payer IBAN -> tenancy ids
    monthly_rent: Mapping[int, Decimal] = field(default_factory=dict)
    tenancies: Mapping[int, TenancyFacts] = field(default_factory=dict)
    by_end_to_end: Mapping[str, int] = field(default_factory=dict)  # our direct debits
    third_party_ibans: frozenset[str] = frozenset()  # IBANs a staff member linked
    # For scoring: surname token, postcode and tenancy/unit code -> tenancy ids.
    by_name_token: Mapping[str, Collection[int]] = field(default_factory=dict)
    by_postcode: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    by_code: Mapping[str, int] = field(default_factory=dict)
    by_household: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    # address_key(street, house number) -> tenancy ids: an address typed without a name.
    by_address: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    # An amount -> tenancies whose monthly rent or open amount it is (kept up to date by
    # the shell as payments land): narrows a common surname to the plausible few.
    by_amount: Mapping[Decimal, set[int]] = field(default_factory=dict)

    def rent(self, tenancy_id: int) -> Decimal:
        t = self.tenancies.get(tenancy_id)
        return t.monthly_rent if t is not None else self.monthly_rent.get(tenancy_id, ZERO)


@dataclass(frozen=True)
class Allocation:
    tenancy_id: int
    amount: Decimal  # signed like the bank entry: credit positive


@dataclass(frozen=True)
class Candidate:
    tenancy_id: int
    score: int
    why: str


@dataclass(frozen=True)
class MatchResult:
    tenancy_id: int | None
    rule: str  # reference, end_to_end, reference_in_text, known_iban, score, none, outgoing
    reason: str
    allocations: tuple[Allocation, ...] = ()  # empty: the whole amount to tenancy_id
    candidates: tuple[Candidate, ...] = ()  # for a person, when nothing was decided
    score: int = 100


def only_digits(text: str) -> str:
    if text.isdigit():  # a reference or house number of digits only: as it is
        return text
    return "".join(ch for ch in text if ch.isdigit())


def reference_key(creditor_reference: str) -> str:
    """Digits of a betalingskenmerk; an RF reference counts by the part after its check."""
    ref = creditor_reference.replace(" ", "").upper()
    if ref.startswith("RF") and len(ref) > 4:
        return only_digits(ref[4:]) if ref[4:].isdigit() else ""
    return only_digits(ref)


# --- amounts and splitting --------------------------------------------------------

def fits(amount: Decimal, t: TenancyFacts | None, rent: Decimal) -> bool:
    """A credit fits a tenancy when it is at most what is open plus FIT_MONTHS of rent."""
    if amount <= 0:
        return True  # returns and refunds: the known IBAN is enough
    open_amount = t.open_amount if t is not None else ZERO
    return amount <= open_amount + rent * FIT_MONTHS


def allocate(amount: Decimal, first: int, index: MatchIndex,
             designated: bool = False) -> tuple[Allocation, ...]:
    """Spread a credit over the household's tenancies: oldest open debt first.

    `first` is the tenancy the payment was matched to: it gets its own open amount
    first when its debt is as old as the others' (always, when the payer `designated`
    it by its reference: art. 6:43 BW lets the payer say which debt a payment is for),
    and it keeps whatever is left (as credit). Debits and single-tenancy households
    are not split.
    """
    t = index.tenancies.get(first)
    if amount <= 0 or t is None:
        return ()
    siblings = [index.tenancies[s] for s in index.by_household.get(t.household_id, ())
                if s != first and s in index.tenancies]
    owing = [s for s in siblings if s.open_amount > 0]
    if not owing:
        return ()
    own_need = t.open_amount if t.open_amount > 0 else t.monthly_rent
    if amount <= own_need:
        return ()  # nothing left over for the others
    def oldest(x: TenancyFacts) -> tuple[str, bool, int]:
        return (x.oldest_due or "9999", x.id != first, x.id)

    order = [t, *sorted(owing, key=oldest)] if designated else sorted([t, *owing], key=oldest)
    left = amount
    parts: dict[int, Decimal] = {}
    for x in order:
        need = x.open_amount if x.id != first else own_need
        take = min(left, need)
        if take > 0:
            parts[x.id] = parts.get(x.id, ZERO) + take
            left -= take
    if left > 0:
        parts[first] = parts.get(first, ZERO) + left
    if set(parts) == {first}:
        return ()
    return tuple(Allocation(tid, amt) for tid, amt in
                 sorted(parts.items(), key=lambda kv: (kv[0] != first, kv[0])))


# Rules where the payer named the tenancy: its own debt is paid first (art. 6:43 BW).
_DESIGNATING = frozenset({"reference", "reference_in_text", "end_to_end"})


#: A payment above what is owed plus this many months of rent is not booked by itself:
#: a typo at the bank, or money that is not rent; a person looks first.
UNUSUAL_MONTHS = 12


def _decided(tenancy_id: int, rule: str, reason: str, txn: TxnFacts, index: MatchIndex,
             score: int = 100, designated: bool | None = None) -> MatchResult:
    t = index.tenancies.get(tenancy_id)
    # The household's tenancies together: a payment is split over them.
    same = [index.tenancies[i] for i in (index.by_household or {}).get(
        t.household_id, (tenancy_id,)) if i in index.tenancies] if t is not None else []
    rent = sum((x.monthly_rent for x in same), ZERO)
    if rent > 0 and txn.amount > sum((x.open_amount for x in same), ZERO) + \
            UNUSUAL_MONTHS * rent:
        why = (f"ongewoon hoog bedrag: meer dan de schuld plus {UNUSUAL_MONTHS} maanden huur; "
               f"een medewerker kijkt / unusually large amount: more than the debt plus "
               f"{UNUSUAL_MONTHS} months' rent; a person decides")
        return MatchResult(None, "none", why,
                           candidates=(Candidate(tenancy_id, score, reason.split(";")[0]),),
                           score=score)
    parts = allocate(txn.amount, tenancy_id, index,
                     rule in _DESIGNATING if designated is None else designated)
    if len(parts) > 1:
        reason += (f"; verdeeld over {len(parts)} huurovereenkomsten van het huishouden, "
                   f"oudste schuld eerst / split over {len(parts)} tenancies of the "
                   "household, oldest debt first")
    elif parts:
        reason += ("; geboekt op de oudste schuld van het huishouden / booked to the "
                   "household's oldest debt")
    return MatchResult(tenancy_id, rule, reason, parts, score=score)


# --- scoring ------------------------------------------------------------------------

# Dutch name particles (tussenvoegsels) and words that say nothing about who paid.
_PARTICLES = {"van", "de", "der", "den", "het", "ten", "ter", "te", "in", "t", "op", "la", "le",
              "da", "du", "del", "von", "vd", "v", "d"}
_NOISE = {"en", "of", "enof", "eo", "mevr", "mevrouw", "dhr", "heer", "hr", "mw", "mr", "mej",
          "fam", "familie", "cj", "bv", "stichting", "gemeente", "huur", "kale", "maand",
          "betaling", "voor", "per", "januari", "februari", "maart", "april", "mei", "juni",
          "juli", "augustus", "september", "oktober", "november", "december", "termijn",
          "rekening", "factuur", "woning", "parkeerplaats", "berging"}
_WORD = re.compile(r"[a-z]+")
_POSTCODE = re.compile(r"\b([1-9][0-9]{3})\s?([a-z]{2})\b")


def fold(text: str) -> str:
    """Lower case without accents: 'Çelik-Öztürk' -> 'celik-ozturk'."""
    if text.isascii():  # most names and texts: NFKD leaves ASCII as it is
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def name_tokens(name: str) -> set[str]:
    """The words of a name that identify a family: no initials, particles or titles."""
    return {w for w in _WORD.findall(fold(name))
            if len(w) >= 3 and w not in _PARTICLES and w not in _NOISE}


@lru_cache(maxsize=1 << 16)
def _family(name: str) -> frozenset[str]:
    return frozenset(name_tokens(name))


_INITIAL = re.compile(r"(?<![a-z'])([a-z])(?![a-z'])")


@lru_cache(maxsize=1 << 16)
def initials(name: str) -> frozenset[str]:
    """Single letters of a name or text ('M. en J. van den Berg' -> {m, j}); the
    one-letter particles (v., d., 't) do not count."""
    return frozenset(ch for ch in _INITIAL.findall(fold(name)) if ch not in _PARTICLES)


def _same_person(household: str, text: str) -> bool:
    """A surname in the text names the household unless both carry initials and no
    initial is shared: 'S. en E. van den Berg' is not 'M. en J. van den Berg'."""
    own, seen = initials(household), initials(text)
    return not own or not seen or bool(own & seen)


_NUMBER = re.compile(r"\b\d+\b")
_WORD_THEN_NUMBER = re.compile(r"([a-z]+)[\s,.]+(\d+)\b")


def address_key(street: str, house_number: str) -> str:
    """The last word of the street and the house number's digits: 'nieuwstraat 12'."""
    words = _WORD.findall(fold(street))
    number = only_digits(house_number)
    return f"{words[-1]} {number}" if words and number else ""


@lru_cache(maxsize=1 << 14)
def _street_pattern(street: str, number: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(fold(street))}\s+{number}\b")


def postcodes_in(text: str) -> set[str]:
    return {f"{a}{b}".upper() for a, b in _POSTCODE.findall(fold(text))}


def _code_hits(text: str, index: MatchIndex) -> set[int]:
    hits = set()
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]{3,}", text):
        tid = index.by_code.get(word.upper().strip(".-/"))
        if tid is not None:
            hits.add(tid)
    return hits


def _score(txn: TxnFacts, t: TenancyFacts, payer_tokens: set[str], text_tokens: set[str],
           postcodes: set[str], codes: set[int], known: bool,
           numbers: set[str], folded: str) -> tuple[int, list[str]]:
    score, why = 0, []
    family = _family(t.name)
    if family and family & payer_tokens:
        if _same_person(t.name, txn.counterparty_name):
            score += 40
            why.append("naam betaler / payer name")
        else:
            why.append("andere voorletters / other initials")
    elif family and family & text_tokens:
        if _same_person(t.name, txn.remittance):
            score += 35
            why.append("naam in omschrijving / name in remittance")
        else:
            why.append("andere voorletters / other initials")
    if t.id in codes:
        score += 50
        why.append("code in omschrijving / code in remittance")
    pc = t.postcode.replace(" ", "").upper()
    if pc and pc in postcodes:
        number = only_digits(t.house_number)
        if number and number in numbers:
            score += 30
            why.append("postcode en huisnummer / postcode and number")
        else:
            score += 15
            why.append("postcode")
    elif t.street and only_digits(t.house_number) and only_digits(t.house_number) in numbers and \
            _street_pattern(t.street, only_digits(t.house_number)).search(folded):
        score += 30
        why.append("adres in omschrijving / address in remittance")
    if known:
        score += 40
        why.append("bekende betaler / known payer")
    amount = abs(txn.amount)
    if amount in (t.monthly_rent, t.open_amount) and amount > 0:
        score += 20
        why.append("bedrag past / amount fits")
    return score, why


def _plausible(named: Collection[int], amount: Decimal, index: MatchIndex) -> list[int]:
    """The tenancies among `named` whose rent or open amount equals the amount."""
    if index.by_amount:
        fitting = index.by_amount.get(amount, set())
        pool = named if isinstance(named, frozenset | set) else frozenset(named)
        small, large = (fitting, pool) if len(fitting) < len(pool) else (pool, fitting)
        return [i for i in small if i in large]
    return [i for i in named if i in index.tenancies and amount in (
        index.tenancies[i].monthly_rent, index.tenancies[i].open_amount)]


def _ranked(txn: TxnFacts, index: MatchIndex, pool: Iterable[int] | None,
            known: Iterable[int] = ()) -> list[Candidate]:
    payer_tokens = name_tokens(txn.counterparty_name)
    text_tokens = name_tokens(txn.remittance)
    postcodes = postcodes_in(txn.remittance)
    codes = _code_hits(txn.remittance, index)
    folded = fold(txn.remittance)
    numbers = set(_NUMBER.findall(folded))
    known_set = set(known)
    if pool is None:
        ids: set[int] = set(codes)
        for pc in postcodes:
            ids.update(index.by_postcode.get(pc, ()))
        for word, number in _WORD_THEN_NUMBER.findall(folded):
            ids.update(index.by_address.get(f"{word} {number}", ()))
        amount = abs(txn.amount)
        for token in payer_tokens | text_tokens:
            named: Collection[int] = index.by_name_token.get(token, ())
            if len(named) > NAME_POOL_LIMIT:
                named = _plausible(named, amount, index)
            ids.update(named)
    else:
        ids = set(pool)
    out = []
    for tid in ids:
        t = index.tenancies.get(tid)
        if t is None:
            continue
        score, why = _score(txn, t, payer_tokens, text_tokens, postcodes, codes, tid in known_set,
                            numbers, folded)
        if score > 0:
            out.append(Candidate(tid, score, ", ".join(why)))
    out.sort(key=lambda c: (-c.score, c.tenancy_id))
    return out


def _by_score(txn: TxnFacts, index: MatchIndex, ranked: list[Candidate],
              no_match_reason: str) -> MatchResult:
    best = ranked[0] if ranked else None
    runner_up = ranked[1].score if len(ranked) > 1 else 0
    # Two tenancies of one household with the same score are one payer: the oldest
    # debt decides via allocate(); only a different household counts as a rival.
    if best is not None and len(ranked) > 1:
        t_best = index.tenancies[best.tenancy_id]
        rivals = [c.score for c in ranked[1:]
                  if index.tenancies[c.tenancy_id].household_id != t_best.household_id]
        runner_up = rivals[0] if rivals else 0
    if best is not None and best.score >= SCORE_BAR and best.score - runner_up >= SCORE_MARGIN \
            and txn.amount > 0 and fits(txn.amount, index.tenancies.get(best.tenancy_id),
                                        index.rent(best.tenancy_id)):
        return _decided(best.tenancy_id, "score",
                        f"score {best.score}: {best.why}", txn, index, score=best.score)
    return MatchResult(None, "none", no_match_reason, candidates=tuple(ranked[:MAX_CANDIDATES]),
                       score=best.score if best else 0)


def _named_elsewhere(txn: TxnFacts, index: MatchIndex, linked: Iterable[int]) -> list[int]:
    """Tenancies outside the linked households that the free text fits at least as well
    as the best linked one, by at least RIVAL_SCORE."""
    linked = tuple(linked)
    households = {index.tenancies[t].household_id for t in linked if t in index.tenancies}
    by_text = _ranked(txn, index, None)
    own = max((c.score for c in by_text if c.tenancy_id in linked), default=0)
    return [c.tenancy_id for c in by_text
            if c.score >= max(own, RIVAL_SCORE)
            and index.tenancies[c.tenancy_id].household_id not in households]


def _contradicted(txn: TxnFacts, index: MatchIndex, tid: int) -> MatchResult | None:
    """A reference with a weak check digit that the name, address and amount contradict:
    another household fits them better (by at least RIVAL_SCORE + 20: a name and the
    amount). Then a person decides, with both as candidates."""
    t = index.tenancies.get(tid)
    if t is None:
        return None
    by_text = _ranked(txn, index, None)
    own = next((c.score for c in by_text if c.tenancy_id == tid), 0)
    rivals = [c for c in by_text if c.score > own and c.score >= RIVAL_SCORE + 20
              and index.tenancies[c.tenancy_id].household_id != t.household_id]
    if not rivals:
        return None
    ref_candidate = Candidate(tid, own, "betalingskenmerk (zwak controlecijfer) / reference "
                                        "(weak check digit)")
    return MatchResult(None, "none", "betalingskenmerk past niet bij naam, adres of bedrag; "
                       "mogelijk een tikfout / reference does not fit name, address or "
                       "amount; possibly a typing error",
                       candidates=(rivals[0], ref_candidate, *rivals[1:MAX_CANDIDATES - 1]),
                       score=rivals[0].score)


# --- the matcher ----------------------------------------------------------------------

def match(txn: TxnFacts, index: MatchIndex,
          find_references: Callable[[str], tuple[str, ...]]) -> MatchResult:
    ref = reference_key(txn.creditor_reference)
    if ref and ref in index.by_reference:
        tid = index.by_reference[ref]
        if weak_check(ref) and (other := _contradicted(txn, index, tid)):
            return other
        return _decided(tid, "reference",
                        "betalingskenmerk (gestructureerd) / structured payment reference",
                        txn, index)
    if txn.end_to_end_id and txn.end_to_end_id in index.by_end_to_end:
        return _decided(index.by_end_to_end[txn.end_to_end_id], "end_to_end",
                        "end-to-end-id van onze incasso / end-to-end id of our direct debit",
                        txn, index)
    # Free text can hold other valid-looking numbers ("huur 2026 2000 0001 ..."): only
    # references we issued count, and two different ones are left to a person.
    typed = {index.by_reference[r] for r in find_references(txn.remittance)
             if r in index.by_reference} if txn.remittance else set()
    if len(typed) == 1:
        tid = typed.pop()
        weak = any(weak_check(r) for r in find_references(txn.remittance)
                   if index.by_reference.get(r) == tid)
        if weak and (other := _contradicted(txn, index, tid)):
            return other
        return _decided(tid, "reference_in_text",
                        "betalingskenmerk in omschrijving / payment reference in free text",
                        txn, index)
    if len(typed) > 1:
        ids = sorted(typed)
        households = {index.tenancies[i].household_id for i in ids if i in index.tenancies}
        if len(households) == 1 and len(ids) == len([i for i in ids if i in index.tenancies]):
            # One household naming both its tenancies: split, the oldest debt first.
            return _decided(ids[0], "reference_in_text",
                            "betalingskenmerken van één huishouden in omschrijving / "
                            "references of one household in free text", txn, index,
                            designated=False)
        return MatchResult(None, "none", "meerdere betalingskenmerken in omschrijving / "
                           "several payment references in the free text",
                           candidates=tuple(Candidate(i, 90, "betalingskenmerk / reference")
                                            for i in ids[:MAX_CANDIDATES]))
    iban = txn.counterparty_iban.replace(" ", "").upper()
    candidates = index.by_iban.get(iban, ()) if iban else ()
    third = iban in index.third_party_ibans
    who = ("gekoppelde derde betaler / linked third-party payer" if third
           else "bekende IBAN van de huurder / known payer IBAN")
    if third and txn.amount > 0 and (named := _named_elsewhere(txn, index, candidates)):
        # A municipality or debt-help organisation pays for many: linked to some
        # tenancies, it may still pay for another one the free text names.
        ranked = _ranked(txn, index, [*candidates, *named], known=candidates)
        return _by_score(txn, index, ranked,
                         f"{who}, maar de omschrijving past (ook) bij een andere huurder / "
                         "but the remittance fits another tenant (as well)")
    if len(candidates) == 1:
        tid = candidates[0]
        if fits(txn.amount, index.tenancies.get(tid), index.rent(tid)):
            return _decided(tid, "known_iban", who, txn, index)
        return MatchResult(None, "none",
                           f"{who}, maar bedrag ongebruikelijk hoog / but amount unusually high",
                           candidates=(Candidate(tid, 60, who),), score=60)
    if len(candidates) > 1:
        amount = abs(txn.amount)
        fitting = [t for t in candidates
                   if index.rent(t) == amount
                   or (t in index.tenancies and index.tenancies[t].open_amount == amount > 0)]
        if len(fitting) == 1:
            return _decided(fitting[0], "known_iban",
                            f"{who}, bedrag past bij één huurovereenkomst / "
                            "amount fits one tenancy", txn, index)
        households = {index.tenancies[t].household_id for t in candidates
                      if t in index.tenancies}
        if len(households) == 1 and txn.amount > 0 and all(
                t in index.tenancies for t in candidates):
            # All tenancies of one household: pay the oldest debt first, then split.
            first = min(candidates, key=lambda t: (index.tenancies[t].oldest_due or "9999",
                                                   -index.rent(t), t))
            if fits(txn.amount, index.tenancies[first],
                    sum((index.rent(t) for t in candidates), ZERO)):
                return _decided(first, "known_iban",
                                f"{who} van één huishouden / of one household", txn, index)
        # A payer for many (a municipality, a debt-help organisation): the name or
        # address in the free text has to say for whom.
        ranked = _ranked(txn, index, candidates, known=candidates)
        return _by_score(txn, index, ranked,
                         f"IBAN hoort bij {len(candidates)} huurovereenkomsten, bedrag en "
                         f"omschrijving wijzen geen enkele aan / IBAN known for "
                         f"{len(candidates)} tenancies, amount and remittance point to none")
    if txn.amount < 0 and not txn.return_reason and not txn.reversal:
        return MatchResult(None, "outgoing",
                           "uitgaande betaling, geen huurder / outgoing payment, not a tenant's")
    if txn.amount <= 0:
        return MatchResult(None, "none", "storno zonder kenmerk of bekende IBAN / "
                           "reversal without reference or known IBAN")
    ranked = _ranked(txn, index, None)
    return _by_score(txn, index, ranked,
                     "geen kenmerk en onbekende IBAN / no reference and unknown IBAN")


def ledger_kind(txn: TxnFacts) -> str:
    """How a matched bank entry lands in the tenant ledger."""
    if txn.amount > 0:
        return "payment"
    if txn.return_reason or txn.reversal:
        return "reversal"
    return "adjustment"  # e.g. a refund of credit to the tenant
