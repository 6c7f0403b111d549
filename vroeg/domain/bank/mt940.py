"""MT940 customer statements, with the Dutch :86: layouts.

The mt-940 library gives us the German ``?20``-style :86: sub-fields (its
``transaction_details_post_processor``). The rest is read here, because against
the real files in shared/realdata the library's own reader:

- signs a reversal of credit (``RC``) positive by default (``RC`` undoes a credit,
  so it is a debit; ``RD`` undoes a debit, so it is a credit);
- reads Rabobank's dot-decimal amounts (``000000043985.66``) as 43985, dropping cents;
- cannot read ASN/SNS :61: lines (IBAN as customer reference) nor ING's wrapped :28C:;
- glues a statement-level :86: (after the closing balance) onto the last entry and
  drops ``-`` lines inside an :86: (ING wraps a mandate id ``MND-EV01`` that way);
- logs the full content of a line it cannot read (personal data in logs);
- gives no line numbers for errors.

Everything here is pure: text in, :class:`ParsedFile` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from mt940.models import Transactions as _LibTransactions
from mt940.options import Options as _LibOptions
from mt940.processors import transaction_details_post_processor as _gvc_details

from vroeg.domain.bank.model import (
    CENT,
    BankEntry,
    BankFileError,
    ParsedFile,
    Statement,
    amount_problem,
)

_TAG = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS):(?P<rest>.*)$")
_LINE61 = re.compile(r"""
    (?P<value_date>\d{6})
    (?P<entry_date>\d{4}|\s{4})?
    (?P<mark>[Rr]?[DCdc])
    (?P<funds>[A-Z])?                        # 3rd letter of the currency, rarely sent
    \s?(?P<amount>\d+(?:[,.]\d*)?)           # 15d; Rabobank's old export uses a dot
    (?P<type>[A-Z][A-Z0-9 ]{3})?
    (?P<customer_ref>(?:(?!//).){0,16})
    (?://(?P<bank_ref>.{0,23}))?
    (?P<extra>.*)$
""", re.VERBOSE)
_BALANCE = re.compile(
    r"(?P<mark>[DCdc])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d+(?:[,.]\d*)?)")
IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_VOLKSBANK = ("ASNB", "SNSB", "RBRB")  # ASN, SNS, RegioBank: one layout

# Slash-structured :86: keys (ING, ABN AMRO, Rabobank, Knab, bunq, Mollie, ASN, SNS).
_KEYS = ("TRTP", "IBAN", "BIC", "NAME", "REMI", "EREF", "MARF", "CSID", "RTRN", "RTYP",
         "PREF", "ORDP", "BENM", "ADDR", "ISDT", "ACCW", "CNTP", "ULTC", "ULTD", "ULTB",
         "PURP", "IREF", "KREF", "NRTX", "PIND", "BBAN", "ID")
_KEY_RE = re.compile(r"/(" + "|".join(_KEYS) + r")/")
_STRUCTURED_START = re.compile(r"\s*/(" + "|".join(_KEYS) + r")/")
# ABN AMRO's 2011-2013 labelled layout ("IBAN: ... NAAM: ..."), Knab's "REK:/NAAM:".
_LABELS = ("IBAN", "BIC", "NAAM", "OMSCHRIJVING", "KENMERK", "MACHTIGING", "INCASSANT",
           "BETALINGSKENM.", "REK")
_LABEL_RE = re.compile(r"(?<![A-Z])(" + "|".join(re.escape(k) for k in _LABELS) + r")\s?:\s*",
                       re.IGNORECASE)
_ACCOUNT_THEN_NAME = re.compile(
    r"^(?:GIRO\s+\d+|\d{2}\.\d{2}\.\d{2}\.\d{3}|\d{9,10})\s+(?P<rest>.*)$")
_CARD = re.compile(  # ABN AMRO debit card (BEA) and cash machine (GEA) payments
    r"^(?:BEA|GEA)\s+(?:NR:\S+\s+)?\d\d\.\d\d\.\d\d/\d\d[.:]\d\d\s+(?P<name>.*?),PAS")
_CUR_REF = re.compile(r"ISSUER:\s*CUR\s+REF:\s*(?P<ref>[\d ]+\d)", re.IGNORECASE)
NOT_PROVIDED = "NOTPROVIDED"


@dataclass
class Details:
    """What one :86: (or an ABN camt AddtlNtryInf) says about an entry."""

    name: str = ""
    iban: str = ""
    bic: str = ""
    remittance: str = ""
    creditor_reference: str = ""
    end_to_end_id: str = ""
    mandate_id: str = ""
    return_reason: str = ""


@dataclass
class _Tag:
    tag: str
    line: int
    lines: list[str] = field(default_factory=list)

    @property
    def first(self) -> str:
        return self.lines[0] if self.lines else ""


@dataclass
class _Block:
    """One statement (from :20: to :62:) as raw tags."""

    line: int
    tags: list[_Tag] = field(default_factory=list)
    closed: bool = False  # a closing balance was seen
    ended: bool = False  # a message terminator ("-}" or "-") followed


# ---------------------------------------------------------------- :86: details

def _clean(value: str) -> str:
    return " ".join(value.split())


def _join_wrapped(lines: list[str], width: int = 64) -> str:
    """Join fixed-width lines: a full line that does not end in a space was wrapped
    mid-word and continues on the next line; otherwise the lines are separate."""
    out = ""
    prev: str | None = None
    for raw in lines:
        if prev is None:
            out = raw
        elif len(prev) >= width and not prev.endswith(" ") and not (
                len(prev) == 64 and prev[-1:].isdigit() and raw[:1].isdigit()):
            out += raw
        else:
            # ABN AMRO's 64-wide lines are two 32-wide columns of separate fields:
            # digits meeting digits there are two numbers, not one.
            out += " " + raw
        prev = raw
    return _clean(out)


def _concat(lines: list[str]) -> str:
    """The slash layout is one field wrapped over lines: glue them back together."""
    return "".join(line.rstrip() if len(line) < 65 else line for line in lines)


def _first(fields: list[tuple[str, str]], key: str) -> str:
    for k, v in fields:
        if k == key and v.strip("/ "):
            return v
    return ""


def _iban(value: str) -> str:
    v = value.replace(" ", "").upper()
    return v if IBAN_SHAPE.fullmatch(v) else ""


def _e2e(value: str) -> str:
    v = value.strip().strip("/").strip()
    return "" if v.upper() == NOT_PROVIDED else v


def _slash_fields(text: str) -> list[tuple[str, str]]:
    matches = list(_KEY_RE.finditer(text))
    out = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out.append((m.group(1), text[m.end():end]))
    return out


def parse_structured(text: str) -> Details:
    """The slash layout: ``/TRTP/.../IBAN/.../NAME/.../REMI/.../EREF/...``.

    ABN AMRO, Knab, bunq and Mollie separate fields with one slash, ING with two and
    nests sub-fields (``/CNTP/iban/bic/name/city/``, ``/REMI/USTD//text/``,
    ``/REMI/STRD/CUR/kenmerk/``); Rabobank adds ``/BENM//NAME/`` and ``/ACCW/iban,bic``.
    """
    fields = _slash_fields(text)
    d = Details()
    d.name = _clean(_first(fields, "NAME").strip("/"))
    d.iban = _iban(_first(fields, "IBAN").strip("/"))
    d.bic = _first(fields, "BIC").strip("/ ").upper()
    cntp = _first(fields, "CNTP")
    if cntp:  # ING: account/BIC/name/city
        parts = [*cntp.split("/"), "", "", ""]
        d.iban = d.iban or _iban(parts[0])
        d.bic = d.bic or parts[1].strip().upper()
        d.name = d.name or _clean(parts[2])
    accw = _first(fields, "ACCW")
    if accw:  # Rabobank: iban,bic
        iban, _, bic = accw.strip("/").partition(",")
        d.iban = d.iban or _iban(iban)
        d.bic = d.bic or bic.strip().upper()
    remi = _first(fields, "REMI").strip()
    m = re.match(r"^(USTD|STRD)/(.*)$", remi, re.DOTALL)
    if m and m.group(1) == "STRD":
        parts = [p.strip() for p in m.group(2).strip("/").split("/")]
        d.creditor_reference = (parts[1] if len(parts) > 1 else parts[0]).replace(" ", "")
    elif m:
        d.remittance = _clean(m.group(2).strip("/"))
    else:
        d.remittance = _clean(remi.strip("/"))
        cur = _CUR_REF.search(remi)
        if cur:
            d.creditor_reference = cur["ref"].replace(" ", "")
    d.end_to_end_id = _e2e(_first(fields, "EREF"))
    d.mandate_id = _first(fields, "MARF").strip("/ ")
    d.return_reason = _first(fields, "RTRN").strip("/ ")[:4].upper()
    return d


def _parse_labelled(text: str) -> Details | None:
    labels = list(_LABEL_RE.finditer(text))
    if not any(m.group(1).upper() in ("IBAN", "NAAM", "REK") for m in labels):
        return None
    fields: dict[str, str] = {}
    for i, m in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        fields.setdefault(m.group(1).upper(), _clean(text[m.end():end]).strip("/ "))
    d = Details()
    d.iban = _iban(fields.get("IBAN", "") or fields.get("REK", ""))
    d.bic = fields.get("BIC", "").upper()
    d.name = fields.get("NAAM", "")
    d.remittance = fields.get("OMSCHRIJVING") or _clean(text[:labels[0].start()]).strip("/ ")
    d.end_to_end_id = _e2e(fields.get("KENMERK", ""))
    d.mandate_id = fields.get("MACHTIGING", "")
    d.creditor_reference = fields.get("BETALINGSKENM.", "").replace(" ", "")
    return d


def _parse_gvc(lines: list[str]) -> Details:
    """German ``051?00...?20...?32...`` sub-fields, through the mt-940 library."""
    lib = _LibTransactions(options=_LibOptions(applicant_iban=True))
    raw = "\n".join(lines)
    r = _gvc_details(lib, None, {"transaction_details": raw},  # type: ignore[arg-type]
                     {"transaction_details": raw})
    d = Details()
    d.name = _clean(r.get("applicant_name") or "")
    d.iban = _iban(r.get("applicant_iban") or r.get("gvc_applicant_iban") or "")
    d.bic = (r.get("applicant_bin") or r.get("gvc_applicant_bin") or "").strip()
    if not re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", d.bic):
        d.bic = ""  # ?30 is a German bank code (BLZ) in older files
    d.remittance = _clean(r.get("purpose") or "")
    d.end_to_end_id = _e2e(r.get("end_to_end_reference") or "")
    d.mandate_id = (r.get("additional_position_reference") or "").strip()
    return d


def _parse_triodos(text: str) -> Details:
    """Triodos: ``000>10<account>>20..>29<description>>31<own account>``."""
    parts = dict(re.findall(r">(\d{2})((?:(?!>\d{2}).)*)", text))
    d = Details()
    d.iban = _iban(parts.get("10", ""))
    # >20..>29 are 27-character pieces of one text, wrapped mid-word when full.
    d.remittance = _join_wrapped([v for k, v in sorted(parts.items()) if k.startswith("2")], 27)
    return d


def parse_details(lines: list[str], *, volksbank: bool = False) -> Details:
    """Read an :86: field (its lines as delivered) into structured fields."""
    if not any(line.strip() for line in lines):
        return Details()
    joined = "".join(lines)
    if re.match(r"^\d{3}\?\d{2}", joined.strip()):
        return _parse_gvc(lines)
    if re.match(r"^\d{3}>\d{2}", joined.strip()):
        return _parse_triodos(joined)
    if volksbank:
        # Line 1 "IBAN name" (blank for card payments), line 2 blank, then the text.
        head = re.match(r"^\s*(?P<acct>[A-Z]{2}\d{2}[A-Z0-9]+)\s+(?P<name>.*)$", lines[0])
        rest = lines[1:]
        body = _concat(rest)
        s = _STRUCTURED_START.search(body)
        d = (parse_structured(body[s.start():]) if s and "/TRTP/" in body
             else Details(remittance=_join_wrapped([r for r in rest if r.strip()])))
        if s and "/TRTP/" in body and body[:s.start()].strip():
            d.remittance = _clean(f"{body[:s.start()]} {d.remittance}")
        if head:
            d.iban = d.iban or _iban(head["acct"])
            d.name = d.name or _clean(head["name"])
        return d
    if _STRUCTURED_START.match(joined):
        return parse_structured(_concat(lines))
    text = _join_wrapped(lines)
    labelled = _parse_labelled(text)
    if labelled is not None:
        return labelled
    d = Details(remittance=text)
    card = _CARD.match(text)
    acct = _ACCOUNT_THEN_NAME.match(lines[0].strip())
    if card:
        d.name = _clean(card["name"])
    elif acct:
        # ABN AMRO pads the name to its column; ING's old layout has the name right
        # after the account. Anything longer than a name field is description.
        name = re.split(r"\s{2,}|\t", acct["rest"].strip())[0]
        d.name = name if len(name) <= 35 else ""
    return d


# ------------------------------------------------------------------- tokenising

def _lines(text: str) -> list[str]:
    text = text.replace("\x1a", "")  # DOS end-of-file marker (old Rabobank exports)
    return re.split(r"\r\n|\r|\n", text)


def _blocks(text: str) -> list[_Block]:
    """Split into statements, with the SWIFT envelope ({1:..}{2:..}{4: ... -}) removed."""
    blocks: list[_Block] = []
    current: _Block | None = None
    tag: _Tag | None = None
    for no, raw in enumerate(_lines(text), 1):
        line = raw
        if line.startswith("{"):
            # {1:F01...}{2:...}{3:...}{4: - the statement text may start after "{4:"
            after = line.split("{4:", 1)
            if len(after) == 1 or not after[1].strip():
                tag = None
                continue
            line = after[1]
        stripped = line.strip()
        # "-" ends a message, except inside an :86: before the closing balance,
        # where ING wraps a value over a line holding only "-".
        ends = stripped.startswith("-}") or (
            stripped == "-" and (current is None or current.closed))
        if ends:
            tag = None
            if current is not None:
                current.ended = True
            continue
        m = _TAG.match(line)
        if m:
            name = m["tag"]
            new_statement = name == "20" or (
                current is not None and current.closed and name in ("25", "60F", "60M", "60"))
            if new_statement or current is None:
                current = _Block(line=no)
                blocks.append(current)
            tag = _Tag(name, no, [m["rest"]])
            current.tags.append(tag)
            if name.startswith("62"):
                current.closed = True
            continue
        if tag is not None:
            tag.lines.append(line)
        # else: bank header lines outside a message ("ABNANL2A", "940", ":940:")
    return blocks


# ----------------------------------------------------------------------- values

def _date6(value: str, line: int) -> date:
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:6])
    year = 1900 + yy if yy >= 70 else 2000 + yy
    return _safe_date(year, mm, dd, line)


def _safe_date(year: int, month: int, day: int, line: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        if month == 2 and 29 <= day <= 31:
            # Some banks book interest on "30 February"; the library does the same.
            return date(year, 3, 1) - timedelta(days=1)
        raise BankFileError(f"Ongeldige datum / invalid date: {year:04d}-{month:02d}-{day:02d}",
                            f"regel/line {line}") from None


def _entry_date(value: date, mmdd: str, line: int) -> date:
    """The booking date (MMDD) next to a value date, across a year end if needed."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    best = _safe_date(value.year, month, day, line)
    for year in (value.year - 1, value.year + 1):
        try:
            other = date(year, month, day)
        except ValueError:
            continue
        if abs((other - value).days) < abs((best - value).days):
            best = other
    return best


def _money(text: str, line: int, tag: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", ".") or "x")
    except InvalidOperation:
        raise BankFileError(f"Ongeldig bedrag / invalid amount: {text!r}",
                            f"regel/line {line}") from None
    problem = amount_problem(amount, text, f":{tag}:")
    if problem:
        raise BankFileError(problem, f"regel/line {line}")
    return amount.quantize(CENT)


def _balance(tag: _Tag) -> tuple[Decimal, str, date]:
    m = _BALANCE.match(tag.first.strip())
    if not m:
        raise BankFileError(
            f"Onleesbaar saldo / unreadable balance :{tag.tag}: {tag.first.strip()!r}",
            f"regel/line {tag.line}")
    amount = _money(m["amount"], tag.line, tag.tag)
    if m["mark"].upper() == "D":
        amount = -amount
    return amount, m["currency"], _date6(m["date"], tag.line)


def _account(raw: str, currency: str) -> str:
    v = "".join(raw.split()).upper()
    if currency and v.endswith(currency) and len(v) > len(currency):
        head = v[: -len(currency)]
        if IBAN_SHAPE.fullmatch(head) or re.fullmatch(r"[\d.]+", head):
            return head
    return v


# --------------------------------------------------------------------- entries

def _entry(t61: _Tag, t86: list[_Tag], currency: str, volksbank: bool) -> BankEntry:
    m = _LINE61.match(t61.first.rstrip())
    if not m:
        raise BankFileError(f"Onleesbare boeking / unreadable entry :61: {t61.first.strip()!r}",
                            f"regel/line {t61.line}")
    value_on = _date6(m["value_date"], t61.line)
    entry = (m["entry_date"] or "").strip()
    booked_on = _entry_date(value_on, entry, t61.line) if entry else value_on
    mark = m["mark"].upper()
    amount = _money(m["amount"], t61.line, "61")
    # RC undoes a credit: money leaves the account. RD undoes a debit: money comes back.
    if mark in ("D", "RC"):
        amount = -amount
    customer_ref = m["customer_ref"].strip()
    extra = m["extra"].strip()
    if not m["bank_ref"] and IBAN_SHAPE.fullmatch((m["customer_ref"] + m["extra"]).strip()):
        customer_ref, extra = (m["customer_ref"] + m["extra"]).strip(), ""  # ASN/SNS
    more = [line.strip() for line in t61.lines[1:] if line.strip()]
    lines86 = [line for t in t86 for line in t.lines]
    d = parse_details(lines86, volksbank=volksbank) if lines86 else Details()
    # The :61: itself names the counterparty in some layouts: Rabobank puts the
    # account on line 2 and (old format) the name after the reference; ASN/SNS put
    # the IBAN in the reference and the name on line 2.
    if not d.iban:
        for candidate in (*more[:1], customer_ref):
            if _iban(candidate):
                d.iban = _iban(candidate)
                break
    if not d.name:
        if volksbank and more:
            d.name = _clean(more[0])
        elif (len(m["customer_ref"]) == 16 and re.search(r"[A-Za-z]", extra)
              and not extra.startswith("/")):
            # Rabobank's old layout: a padded 16-character reference, then the name.
            d.name = _clean(extra)
    reversal = mark.startswith("R") or bool(d.return_reason)
    return BankEntry(
        amount=amount, currency=currency, booked_on=booked_on, value_on=value_on,
        counterparty_name=d.name, counterparty_iban=d.iban, counterparty_bic=d.bic,
        remittance=d.remittance, creditor_reference=d.creditor_reference,
        end_to_end_id=d.end_to_end_id, mandate_id=d.mandate_id,
        bank_reference=(m["bank_ref"] or "").strip(), reversal=reversal,
        return_reason=d.return_reason, bank_code=(m["type"] or "").strip())


def _is_volksbank(header: str, account: str) -> bool:
    return account[4:8] in _VOLKSBANK or any(f"F01{b}" in header for b in _VOLKSBANK)


def _statement(block: _Block, header: str, *, last_block: bool,
               warnings: list[str]) -> Statement:
    tags = block.tags
    by: dict[str, _Tag] = {}
    for t in tags:
        by.setdefault(t.tag, t)
    if not block.closed:
        last = tags[-1]
        if last_block and not block.ended:
            # The data just stops: a cut-off transfer, not a bank's choice.
            raise BankFileError(
                "Afgebroken bestand / truncated file: afschrift zonder eindsaldo (:62F:) / "
                f"statement without closing balance (:62F:), begonnen op regel / started at "
                f"line {block.line}", f"regel/line {last.line + len(last.lines) - 1}")
        warnings.append(f"Afschrift zonder eindsaldo / statement without closing balance "
                        f"(:62F:), regel/line {block.line}")
    t25 = by.get("25")
    if t25 is None or not t25.first.strip():
        raise BankFileError("Geen rekening (:25:) / no account (:25:)", f"regel/line {block.line}")
    opening = next((t for t in tags if t.tag in ("60F", "60M", "60")), None)
    closing = next((t for t in reversed(tags) if t.tag in ("62F", "62M", "62")), None)
    o_amount = o_on = c_amount = c_on = None
    currency = ""
    if opening is not None:
        o_amount, currency, o_on = _balance(opening)
    if closing is not None:
        c_amount, c_currency, c_on = _balance(closing)
        currency = currency or c_currency
    account = _account(t25.first, currency)
    volksbank = _is_volksbank(header, account)
    entries: list[BankEntry] = []
    i = 0
    while i < len(tags):
        t = tags[i]
        i += 1
        if t.tag != "61":
            continue
        details = []
        while i < len(tags) and tags[i].tag in ("86", "NS"):
            if tags[i].tag == "86":
                details.append(tags[i])
            i += 1
        entries.append(_entry(t, details, currency, volksbank))
    ref = by["20"].first.strip() if "20" in by else ""
    number = "".join(line.strip() for line in (by.get("28C") or by.get("28") or _Tag("", 0)).lines)
    return Statement(account_iban=account, currency=currency, opening_balance=o_amount,
                     closing_balance=c_amount, opening_on=o_on, closing_on=c_on,
                     statement_id="/".join(p for p in (ref, number) if p)[:80],
                     entries=tuple(entries))


def parse_mt940(text: str) -> ParsedFile:
    blocks = _blocks(text)
    warnings: list[str] = []
    if not blocks:
        raise BankFileError("Geen MT940-afschrift gevonden / no MT940 statement found",
                            "regel/line 1")
    header = text[:200]
    statements = []
    for n, block in enumerate(blocks):
        only_header = all(t.tag in ("20", "21", "25", "28", "28C") for t in block.tags)
        if only_header and n == len(blocks) - 1 and n > 0:
            # Rabobank's old export ends some files with a bare ":20:" line and nothing
            # after it. It carries no data; say so instead of refusing the file.
            warnings.append(f"Leeg afschriftkopje genegeerd / empty statement header ignored "
                            f"(regel/line {block.line})")
            continue
        statements.append(_statement(block, header, last_block=n == len(blocks) - 1,
                                     warnings=warnings))
    return ParsedFile(format="mt940", statements=tuple(statements), warnings=tuple(warnings))


def with_warnings(parsed: ParsedFile, extra: list[str]) -> ParsedFile:
    return replace(parsed, warnings=(*parsed.warnings, *extra)) if extra else parsed
