"""Reading the tenancy CSV (one row per huurovereenkomst) into typed records.

Pure: no Django, no files, no clock. Errors are values (like beancount): the parser
reads the whole file and returns every record it could type plus every error it found,
each naming file, line and column, so the import can show them all at once and write
nothing. docs/import-format.md describes the format; tenancy_columns.py names the columns.

Personal data (names, addresses, e-mail, phone, IBAN) is never echoed in an error
message: errors end up in terminals and logs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

import phonenumbers
from schwifty import IBAN

from vroeg.domain.reference import is_valid_betalingskenmerk, normalise_reference
from vroeg.domain.tenancy_columns import ALL, REQUIRED

TRANSFER = "transfer"
DIRECT_DEBIT = "direct_debit"
PAYMENT_METHODS = {"overboeking": TRANSFER, "incasso": DIRECT_DEBIT}
CHANNELS = {"email": "email", "e-mail": "email", "sms": "sms", "brief": "letter"}
LANGUAGES = ("nl", "en", "tr", "ar", "pl")
#: beperkingen token -> restriction code name (Household boolean field).
RESTRICTIONS = {
    "alleen_brief": "letter_only",
    "geen_sms": "no_sms",
    "geen_email": "no_email",
    "tolk": "needs_interpreter",
    "geen_automatische_oproepen": "no_automated_calls",
}
_POSTAL = ("post_straat", "post_huisnummer", "post_postcode", "post_plaats")


@dataclass(frozen=True)
class RowError:
    """One problem in the file. line 1 is the header; column is empty for a whole row."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, regel/line {self.line}" if self.line else self.file
        if self.column:
            where += f", kolom/column {self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class TenancyRecord:
    """One typed row: a tenancy plus its household's details. Names as in the models."""

    code: str                      # overeenkomst_code
    household_code: str            # relatie_code
    household_name: str            # relatie_naam
    unit_code: str                 # eenheid_code
    street: str
    house_number: str
    postcode: str                  # "1234 AB"
    city: str
    start_on: date
    net_rent: Decimal
    end_on: date | None = None
    service_costs: Decimal = Decimal("0.00")
    due_day: int = 1
    payment_method: str = TRANSFER  # "transfer" | "direct_debit"
    mandate_reference: str = ""
    mandate_signed_on: date | None = None
    iban: str = ""                 # compact, upper case
    payment_reference: str = ""    # betalingskenmerk, digits only; "" = vroeg generates one
    email: str = ""
    mobile: str = ""               # E.164
    postal_street: str = ""
    postal_house_number: str = ""
    postal_postcode: str = ""
    postal_city: str = ""
    language: str = "nl"
    preferred_channel: str = "email"  # "email" | "sms" | "letter"
    restrictions: tuple[str, ...] = ()  # sorted code names from RESTRICTIONS
    opening_balance: Decimal = Decimal("0.00")
    opening_balance_on: date | None = None
    payday: int | None = None      # household: day of month the income arrives
    housing_benefit: str = ""      # huurtoeslag: "yes", "no" or "" (not known)
    line: int = field(default=0, compare=False)  # where it came from; not part of the data

    @property
    def monthly_rent(self) -> Decimal:
        return self.net_rent + self.service_costs


#: Record fields that belong to the household (relatie), not the tenancy: a relatie_code
#: on several rows must carry the same values in these. (Household model field names,
#: except `household_name` -> name and `restrictions` -> the household's boolean fields.)
HOUSEHOLD_FIELDS = (
    "household_name", "email", "mobile", "postal_street", "postal_house_number",
    "postal_postcode", "postal_city", "language", "preferred_channel", "restrictions",
    "payday",
)
#: Record fields that belong to the tenancy itself.
TENANCY_FIELDS = tuple(
    f.name for f in fields(TenancyRecord)
    if f.name not in HOUSEHOLD_FIELDS and f.name not in ("line", "household_code")
)
#: CSV column for each record field (for error messages that start from a field).
COLUMN_OF = {
    "code": "overeenkomst_code", "household_code": "relatie_code",
    "household_name": "relatie_naam", "unit_code": "eenheid_code",
    "street": "eenheid_straat", "house_number": "eenheid_huisnummer",
    "postcode": "eenheid_postcode", "city": "eenheid_plaats", "start_on": "ingangsdatum",
    "net_rent": "kale_huur", "end_on": "einddatum", "service_costs": "servicekosten",
    "due_day": "vervaldag", "payment_method": "betaalwijze",
    "mandate_reference": "machtigingskenmerk", "mandate_signed_on": "machtiging_datum",
    "iban": "iban", "payment_reference": "betalingskenmerk", "email": "email",
    "mobile": "mobiel", "postal_street": "post_straat",
    "postal_house_number": "post_huisnummer", "postal_postcode": "post_postcode",
    "postal_city": "post_plaats", "language": "taal", "preferred_channel": "voorkeurskanaal",
    "restrictions": "beperkingen", "opening_balance": "beginsaldo",
    "opening_balance_on": "beginsaldo_datum", "payday": "betaaldag",
    "housing_benefit": "huurtoeslag",
}
assert set(COLUMN_OF.values()) == set(ALL)


@dataclass(frozen=True)
class ParseResult:
    records: tuple[TenancyRecord, ...]
    errors: tuple[RowError, ...]
    rows: int = 0        # data rows read (blank lines not counted)
    delimiter: str = ","
    #: (line, overeenkomst_code cell, betalingskenmerk) of every row with a valid
    #: betalingskenmerk, rows with errors included: for the check against the database,
    #: so that a reference in use elsewhere is reported together with all other errors.
    references: tuple[tuple[int, str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


# --- hashing ----------------------------------------------------------------------

def _canon(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


def _hash(record: TenancyRecord, names: tuple[str, ...]) -> str:
    # name=value lines; empty and zero values (None, "", (), 0.00: the defaults) are left
    # out, so adding an optional field later leaves the hash of rows without it unchanged.
    parts = [f"{name}={_canon(value)}" for name in names
             if (value := getattr(record, name))]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


_RECORD_FIELDS = tuple(f.name for f in fields(TenancyRecord) if f.name != "line")
_DEFAULTS = {f.name: f.default for f in fields(TenancyRecord)}


def row_hash(record: TenancyRecord) -> str:
    """SHA-256 over every value of the record (not its line number): same data, same hash."""
    return _hash(record, _RECORD_FIELDS)


def household_hash(record: TenancyRecord) -> str:
    """SHA-256 over the household part of the record (code and HOUSEHOLD_FIELDS)."""
    return _hash(record, ("household_code", *HOUSEHOLD_FIELDS))


# --- decoding and the header -------------------------------------------------------

def normalise_newlines(text: str) -> str:
    """Every line ending as LF: CRLF (Windows) and a lone CR (classic Mac) included."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_csv(data: bytes, file_name: str) -> tuple[str, RowError | None]:
    """UTF-8 text of the file (a BOM is dropped, line endings become LF); or an error
    naming the line."""
    try:
        return normalise_newlines(data.decode("utf-8-sig")), None
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        return "", RowError(file_name, line, "", "geen UTF-8: sla het bestand op als UTF-8 / "
                            f"not UTF-8 (byte {exc.start}): save the file as UTF-8")


_LINE_END = re.compile(r"[\r\n]")


def _first_line(text: str) -> str:
    """The text up to the first line ending of any kind (LF, CRLF or CR)."""
    text = text.lstrip("\ufeff")
    end = _LINE_END.search(text)
    return text[:end.start()] if end else text


def sniff_delimiter(header_line: str) -> str:
    """',' or ';': whichever the header uses more (column names contain neither)."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _header_names(header_line: str) -> list[str]:
    delim = sniff_delimiter(header_line)
    try:
        row = next(csv.reader([header_line], delimiter=delim), [])
    except csv.Error:  # any text may come here (garbage in the inbox): not a header
        return []
    return [name.strip().lower() for name in row]


_KNOWN = frozenset(ALL)


def looks_like_tenancy_header(header_line: str) -> bool:
    """True when the line is a tenancy CSV header (for recognising a file by content):
    it names `overeenkomst_code`, or at least 3 of the known columns. Loose on purpose:
    a tenancy file that lacks a required column is still recognised, so the import
    names the missing column. Never raises."""
    names = set(_header_names(_first_line(header_line)))
    return "overeenkomst_code" in names or len(names & _KNOWN) >= 3


def is_tenancy_csv_text(text: str) -> bool:
    """True when the text starts with a tenancy CSV header. Never raises, whatever the text."""
    return looks_like_tenancy_header(_first_line(text))


# --- cell parsers: each returns the typed value or raises _CellError ----------------

class _CellError(ValueError):
    pass


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MONEY = re.compile(r"^([+-]?)(\d{1,12})(?:[.,](\d{1,2}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NL_DATE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
_POSTCODE = re.compile(r"^([1-9][0-9]{3}) ?([A-Za-z]{2})$")
_HOUSE_NUMBER = re.compile(r"^[1-9][0-9]{0,4}(?:[ \-/]?[0-9A-Za-z][0-9A-Za-z .\-/]*)?$")
# SEPA mandate id (EPC implementation guidelines): 1-35 of these, no spaces.
_MANDATE = re.compile(r"^[A-Za-z0-9+?/\-:().,']{1,35}$")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")


def _text(max_len: int) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        if _CONTROL.search(cell):
            raise _CellError("bevat een regeleinde of stuurteken / "
                             "contains a line break or control character")
        if len(cell) > max_len:
            raise _CellError(f"te lang, hoogstens {max_len} tekens / "
                             f"too long, at most {max_len} characters")
        return cell
    return parse


def parse_money(cell: str) -> Decimal:
    """'612.45', '612,45', '612', '-12.5' -> Decimal with cents. No thousands separators."""
    m = _MONEY.match(cell)
    if not m:
        raise _CellError(f"geen geldig bedrag / not a valid amount: {cell!r} "
                         "(voorbeeld/example 612.45 of/or 612,45; geen duizendtallen, "
                         "geen valutateken / no thousands separators, no currency sign)")
    sign, whole, cents = m.groups()
    return Decimal(f"{sign}{whole}.{(cents or '').ljust(2, '0')}")


def parse_date(cell: str) -> date:
    """'2024-03-01' (ISO) or '01-03-2024' / '1-3-2024' (day-month-year)."""
    m = _ISO_DATE.match(cell)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _NL_DATE.match(cell)
        if not m:
            raise _CellError(f"geen datum / not a date: {cell!r} "
                             "(JJJJ-MM-DD of/or DD-MM-JJJJ / YYYY-MM-DD or DD-MM-YYYY)")
        d, mo, y = (int(g) for g in m.groups())
    try:
        result = date(y, mo, d)
    except ValueError:
        raise _CellError(f"bestaat niet / no such date: {cell!r}") from None
    if not 1900 <= result.year <= 2199:
        raise _CellError(f"jaartal buiten 1900-2199 / year outside 1900-2199: {cell!r}")
    return result


def parse_postcode(cell: str) -> str:
    m = _POSTCODE.match(cell.strip())
    if not m:
        raise _CellError("geen Nederlandse postcode / not a Dutch postcode "
                         "(voorbeeld/example 1234 AB)")
    return f"{m.group(1)} {m.group(2).upper()}"


def parse_house_number(cell: str) -> str:
    if not _HOUSE_NUMBER.match(cell) or len(cell) > 20:
        raise _CellError("geen huisnummer / not a house number "
                         "(voorbeeld/example 12, 12-A, 12 bis)")
    return cell


def parse_due_day(cell: str) -> int:
    if not cell.isascii() or not cell.isdigit() or not 1 <= int(cell) <= 31:
        raise _CellError(f"vervaldag moet 1-31 zijn / due day must be 1-31: {cell!r}")
    return int(cell)


YES_NO = {"ja": "yes", "j": "yes", "yes": "yes", "y": "yes", "1": "yes", "true": "yes",
          "nee": "no", "n": "no", "no": "no", "0": "no", "false": "no"}


def parse_payday(cell: str) -> int:
    if not cell.isascii() or not cell.isdigit() or not 1 <= int(cell) <= 31:
        raise _CellError(f"betaaldag moet 1-31 zijn / payday must be 1-31: {cell!r}")
    return int(cell)


def _choice(options: dict[str, str], what: str) -> Callable[[str], str]:
    def parse(cell: str) -> str:
        value = options.get(cell.lower())
        if value is None:
            allowed = ", ".join(sorted(set(options) - {"e-mail"}))
            raise _CellError(f"onbekende {what} / unknown {what}: {cell!r} "
                             f"(kies uit/choose from {allowed})")
        return value
    return parse


def parse_language(cell: str) -> str:
    value = cell.lower()
    if value not in LANGUAGES:
        raise _CellError(f"onbekende taal / unknown language: {cell!r} "
                         f"(kies uit/choose from {', '.join(LANGUAGES)})")
    return value


def parse_restrictions(cell: str) -> tuple[str, ...]:
    result = set()
    for token in cell.split(";"):
        token = token.strip().lower()
        if not token:
            continue
        if token not in RESTRICTIONS:
            raise _CellError(f"onbekende beperking / unknown restriction: {token!r} "
                             f"(kies uit/choose from {', '.join(RESTRICTIONS)})")
        result.add(RESTRICTIONS[token])
    return tuple(sorted(result))


def parse_iban(cell: str) -> str:
    try:
        return IBAN(cell).compact
    except ValueError:
        raise _CellError("geen geldig IBAN (controlegetal of lengte klopt niet) / "
                         "not a valid IBAN (check digits or length wrong)") from None


_PHONE_NOISE = re.compile(r"[\s\-().]")
# Dutch mobile numbers, phonenumbers' NL mobile pattern (?:6[1-58]|970\d)\d{7}: the
# common case, typed with 0, +31 or 0031, skips the full parse (same result; tested).
_NL_MOBILE = re.compile(r"(?:\+31|0031|0)(6[1-58][0-9]{7}|970[0-9]{8})")


def parse_mobile(cell: str) -> str:
    m = _NL_MOBILE.fullmatch(_PHONE_NOISE.sub("", cell))
    if m:
        return "+31" + m.group(1)
    try:
        number = phonenumbers.parse(cell, "NL")
    except phonenumbers.NumberParseException:
        raise _CellError("geen telefoonnummer / not a phone number") from None
    kind = phonenumbers.number_type(number)  # UNKNOWN when not a valid number
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise _CellError("geen geldig telefoonnummer / not a valid phone number")
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise _CellError("geen mobiel nummer (sms kan niet) / not a mobile number (cannot "
                         "receive SMS)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(cell: str) -> str:
    problem = _CellError("geen geldig e-mailadres / not a valid email address")
    if len(cell) > 254 or cell.count("@") != 1:
        raise problem
    local, domain = cell.rsplit("@", 1)
    if not local or len(local) > 64 or not _EMAIL_LOCAL.match(local):
        raise problem
    try:
        ascii_domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        raise problem from None
    labels = ascii_domain.split(".")
    if (len(labels) < 2 or len(ascii_domain) > 253
            or not all(_DOMAIN_LABEL.match(label) for label in labels)
            or not _TLD.match(labels[-1])):
        raise problem
    return f"{local}@{domain.lower()}"


def parse_mandate(cell: str) -> str:
    if not _MANDATE.match(cell) or cell.startswith("/") or cell.endswith("/") or "//" in cell:
        raise _CellError("geen geldig machtigingskenmerk (1-35 tekens A-Z a-z 0-9 + ? / - : ( ) "
                         ". , ', geen spaties) / not a valid SEPA mandate id (1-35 of those "
                         "characters, no spaces)")
    return cell


def parse_betalingskenmerk(cell: str) -> str:
    ref = normalise_reference(cell)
    if not is_valid_betalingskenmerk(ref):
        raise _CellError(f"geen geldig betalingskenmerk / not a valid payment reference: "
                         f"{cell!r} (7, 9-14 of/or 16 cijfers/digits met/with check digit)")
    return ref


_SPACE = re.compile(r"\s")


def parse_code(cell: str) -> str:
    value = _text(40)(cell)
    if _SPACE.search(value):
        raise _CellError("code bevat spaties / code contains spaces")
    return value


# column -> (record field, parser). Values personal data are never echoed (see above).
_CELLS: dict[str, tuple[str, Callable[[str], object]]] = {
    "overeenkomst_code": ("code", parse_code),
    "relatie_code": ("household_code", parse_code),
    "relatie_naam": ("household_name", _text(200)),
    "eenheid_code": ("unit_code", parse_code),
    "eenheid_straat": ("street", _text(120)),
    "eenheid_huisnummer": ("house_number", parse_house_number),
    "eenheid_postcode": ("postcode", parse_postcode),
    "eenheid_plaats": ("city", _text(80)),
    "ingangsdatum": ("start_on", parse_date),
    "kale_huur": ("net_rent", parse_money),
    "einddatum": ("end_on", parse_date),
    "servicekosten": ("service_costs", parse_money),
    "vervaldag": ("due_day", parse_due_day),
    "betaalwijze": ("payment_method", _choice(PAYMENT_METHODS, "betaalwijze / payment method")),
    "machtigingskenmerk": ("mandate_reference", parse_mandate),
    "machtiging_datum": ("mandate_signed_on", parse_date),
    "iban": ("iban", parse_iban),
    "betalingskenmerk": ("payment_reference", parse_betalingskenmerk),
    "email": ("email", parse_email),
    "mobiel": ("mobile", parse_mobile),
    "post_straat": ("postal_street", _text(120)),
    "post_huisnummer": ("postal_house_number", parse_house_number),
    "post_postcode": ("postal_postcode", parse_postcode),
    "post_plaats": ("postal_city", _text(80)),
    "taal": ("language", parse_language),
    "voorkeurskanaal": ("preferred_channel", _choice(CHANNELS, "kanaal / channel")),
    "beperkingen": ("restrictions", parse_restrictions),
    "beginsaldo": ("opening_balance", parse_money),
    "beginsaldo_datum": ("opening_balance_on", parse_date),
    "betaaldag": ("payday", parse_payday),
    "huurtoeslag": ("housing_benefit", _choice(YES_NO, "huurtoeslag (ja/nee)")),
}
assert set(_CELLS) == set(ALL)

#: No home, parking space or shop of a housing corporation costs more a month: a typo.
MAX_MONTHLY_RENT = Decimal("25000.00")

_LIMITS = {  # largest absolute amount the database columns hold
    "net_rent": Decimal("99999999.99"), "service_costs": Decimal("99999999.99"),
    "opening_balance": Decimal("9999999999.99"),
}


def _check_row(values: dict[str, object], present: dict[str, str]) -> list[tuple[str, str]]:
    """Rules across cells of one row: (column, message) pairs."""
    problems: list[tuple[str, str]] = []
    for name in ("net_rent", "service_costs"):
        amount = values.get(name)
        if isinstance(amount, Decimal) and amount < 0:
            problems.append((COLUMN_OF[name], "mag niet negatief zijn / must not be negative"))
    for name, limit in _LIMITS.items():
        amount = values.get(name)
        if isinstance(amount, Decimal) and abs(amount) > limit:
            problems.append((COLUMN_OF[name], "bedrag te groot / amount too large"))
    net, svc = values.get("net_rent"), values.get("service_costs")
    if isinstance(net, Decimal) and (net + (svc if isinstance(svc, Decimal) else 0)) > \
            MAX_MONTHLY_RENT:
        problems.append((COLUMN_OF["net_rent"], f"huur + servicekosten boven {MAX_MONTHLY_RENT} "
                         f"per maand: controleer het bedrag / rent + service costs above "
                         f"{MAX_MONTHLY_RENT} a month: check the amount"))
    start, end = values.get("start_on"), values.get("end_on")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        problems.append(("einddatum", "ligt voor de ingangsdatum / is before the start date"))
    if values.get("payment_method") == DIRECT_DEBIT and not present.get("machtigingskenmerk"):
        problems.append(("machtigingskenmerk", "verplicht bij betaalwijze incasso / required "
                         "when betaalwijze is incasso (SEPA mandate id)"))
    balance = values.get("opening_balance")
    if isinstance(balance, Decimal) and balance != 0 and not present.get("beginsaldo_datum"):
        problems.append(("beginsaldo_datum", "verplicht bij een beginsaldo / required when "
                         "beginsaldo is not 0"))
    given = [c for c in _POSTAL if present.get(c)]
    if given and len(given) < len(_POSTAL):
        for column in _POSTAL:
            if not present.get(column):
                problems.append((column, "postadres onvolledig: vul alle post_-kolommen of "
                                 "geen / postal address incomplete: fill all post_ columns "
                                 "or none"))
    channel = values.get("preferred_channel") if present.get("voorkeurskanaal") else None
    restrictions = values.get("restrictions", ())
    assert isinstance(restrictions, tuple)
    if channel == "email" and not present.get("email"):
        problems.append(("voorkeurskanaal", "e-mail gekozen maar geen e-mailadres / email "
                         "chosen but no email address"))
    if channel == "sms" and not present.get("mobiel"):
        problems.append(("voorkeurskanaal", "sms gekozen maar geen mobiel nummer / sms "
                         "chosen but no mobile number"))
    conflicts = {"email": ("letter_only", "no_email"), "sms": ("letter_only", "no_sms")}
    if channel in conflicts and set(conflicts[channel]) & set(restrictions):
        problems.append(("voorkeurskanaal", "in strijd met beperkingen / conflicts with "
                         "beperkingen"))
    return problems


def parse_tenancy_csv(text: str, file_name: str) -> ParseResult:
    """Read a whole tenancy CSV. Returns the records of the good rows and all errors."""
    text = normalise_newlines(text.lstrip("\ufeff"))
    errors: list[RowError] = []

    def error(line: int, column: str, message: str) -> None:
        errors.append(RowError(file_name, line, column, message))

    header_line = _first_line(text)
    delimiter = sniff_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        raw_header = next(reader)
    except StopIteration:
        error(1, "", "leeg bestand: kopregel ontbreekt / empty file: header line missing")
        return ParseResult((), tuple(errors), 0, delimiter)
    except csv.Error as exc:
        error(1, "", f"kopregel onleesbaar / header unreadable: {exc}")
        return ParseResult((), tuple(errors), 0, delimiter)

    header = [name.strip().lstrip("\ufeff").lower() for name in raw_header]
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            error(1, f"#{position}", "kolom zonder naam / column without a name")
        elif name in seen:
            error(1, name, "kolom staat er twee keer / column appears twice")
        elif name not in _CELLS:
            error(1, name, "onbekende kolom / unknown column (zie/see docs/import-format.md)")
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            error(1, name, "verplichte kolom ontbreekt / required column missing")
    if errors:
        return ParseResult((), tuple(errors), 0, delimiter)

    records: list[TenancyRecord] = []
    rows = 0
    first_line_of: dict[str, int] = {}
    reference_line: dict[str, int] = {}
    references: list[tuple[int, str, str]] = []
    household_of: dict[str, tuple[int, dict[str, object]]] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            error(line, "", f"regel onleesbaar (aanhalingstekens?), de rest van het bestand is "
                  f"niet gelezen / line unreadable (quotes?), the rest of the file was not "
                  f"read: {exc}")
            break
        if not any(cell.strip() for cell in row):
            continue  # blank line, or only delimiters: carries no data
        rows += 1
        if len(row) != len(header):
            error(line, "", f"{len(row)} cellen, verwacht {len(header)} / {len(row)} cells, "
                  f"expected {len(header)} (scheidingsteken/delimiter {delimiter!r})")
            continue
        present = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
        values: dict[str, object] = {"line": line}
        before = len(errors)
        for name, cell in present.items():
            field_name, parse = _CELLS[name]
            if not cell:
                if name in REQUIRED:
                    error(line, name, "verplicht, maar leeg / required, but empty")
                continue
            try:
                values[field_name] = parse(cell)
            except _CellError as exc:
                error(line, name, str(exc))
        for column, message in _check_row(values, present):
            error(line, column, message)

        # Rules across rows; checked on whatever parsed, so a bad row still counts.
        code = values.get("code")
        if isinstance(code, str):
            if code in first_line_of:
                error(line, "overeenkomst_code", f"{code!r} staat ook op regel "
                      f"{first_line_of[code]} / also on line {first_line_of[code]}")
            else:
                first_line_of[code] = line
        ref = values.get("payment_reference")
        if isinstance(ref, str):
            references.append((line, present.get("overeenkomst_code", ""), ref))
            if ref in reference_line:
                error(line, "betalingskenmerk", f"ook gebruikt op regel {reference_line[ref]} / "
                      f"also used on line {reference_line[ref]}")
            else:
                reference_line[ref] = line
        household = values.get("household_code")
        if isinstance(household, str):
            bad = {e.column for e in errors[before:]}
            mine = {f: values.get(f, _DEFAULTS[f]) for f in HOUSEHOLD_FIELDS
                    if COLUMN_OF[f] not in bad}
            if household not in household_of:
                household_of[household] = (line, mine)
            else:
                first, theirs = household_of[household]
                for f, value in mine.items():
                    if f in theirs and theirs[f] != value:
                        error(line, COLUMN_OF[f], f"anders dan regel {first} met dezelfde "
                              f"relatie_code / differs from line {first} with the same "
                              "relatie_code")
        if len(errors) > before:
            continue
        records.append(TenancyRecord(**values))  # type: ignore[arg-type]
    if rows == 0 and not errors:
        error(1, "", "geen regels / no rows (alleen een kopregel / only a header line)")
    return ParseResult(tuple(records), tuple(errors), rows, delimiter, tuple(references))


__all__ = [
    "ALL", "REQUIRED", "HOUSEHOLD_FIELDS", "TENANCY_FIELDS", "COLUMN_OF",
    "ParseResult", "RowError", "TenancyRecord", "decode_csv", "household_hash",
    "is_tenancy_csv_text", "looks_like_tenancy_header", "normalise_newlines",
    "parse_tenancy_csv", "row_hash",
]
