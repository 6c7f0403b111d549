"""Render outgoing messages from Django templates.

Layout (one folder per template and language, one file per channel part)::

    vroeg/messaging/templates/messages/<template>/<language>/email.subject.txt
                                                         .../email.txt
                                                         .../email.html
                                                         .../sms.txt
                                                         .../letter.subject.txt
                                                         .../letter.html
    vroeg/messaging/templates/messages/_base/...     shared layouts and parts
    vroeg/messaging/templates/messages/letter.css    the letter style sheet

A language without its own folder falls back to Dutch (nl). Adding a language is
adding a folder; no code changes.

The caller passes raw facts (Decimal amounts, dates); render() validates them and
hands the templates display strings in the right format for the language, so a
template author writes ``{{ amount }}`` and gets "€ 1.234,56" (nl) or "€1,234.56"
(en); dates read "1 november 2026", the payment reference and IBAN come in groups
of four. The raw values stay available as ``{{ raw.amount }}`` for conditions.

Message.context is JSON: store it with :func:`jsonable_context`; render() accepts
the JSON forms back (Decimal as string, dates as ISO strings).

Every template exists in Dutch and English (LANGUAGES); some in more languages
(TEMPLATE_LANGUAGES: the friendly reminder also in Turkish, Arabic and Polish).
Right-to-left languages (Arabic) get ``dir="rtl"`` on the HTML, and the values a
reader must copy exactly (amounts, payment reference, IBAN, phone) are isolated
left-to-right, so "5000 0567 8901 2345" never comes out in reversed groups.

Letters carry the letterhead from the settings: VROEG_CORPORATION (name, address),
VROEG_LETTER_LOGO (an SVG or PNG file, embedded as a data: URL: letters fetch
nothing from outside) and VROEG_LETTER_FOOTER (an extra footer line).

Staff can add an opening and a closing paragraph per template and language
(MessageText, in the admin). Those texts are rendered with jinja2's
SandboxedEnvironment and may use only the variables in :func:`staff_variables`;
anything else is refused when they are saved (:func:`validate_staff_text`). A
message carries the staff texts of its day in its context (``staff_texts``), so
what was sent can always be shown again.

:func:`check_templates` renders every template x language x channel with a sample
context; a Django system check (messaging.E001) runs it at start-up.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist
from django.utils.safestring import SafeString, mark_safe

TEMPLATE_ROOT = Path(__file__).resolve().parent / "templates"
LETTER_CSS = TEMPLATE_ROOT / "messages" / "letter.css"

TEMPLATES = ("reminder_friendly", "reminder_second", "written_reminder", "arrangement_offer",
             "fourteen_day_letter")
CHANNELS = ("email", "sms", "whatsapp", "letter")
#: WhatsApp allows up to 4,096 characters in a free-form message.
MAX_WHATSAPP_CHARS = 4096
#: The languages every template exists in.
LANGUAGES = ("nl", "en")
#: Templates in more languages than LANGUAGES. The friendly reminder is the message
#: most tenants get: also in Turkish, Arabic and Polish (B1, the same content).
TEMPLATE_LANGUAGES = {"reminder_friendly": ("nl", "en", "tr", "ar", "pl")}
#: Written right to left: the HTML gets dir="rtl".
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
FALLBACK_LANGUAGE = "nl"
MAX_SMS_SEGMENTS = 3

#: Keys every template needs, on every channel.
COMMON_KEYS = (
    "name", "tenancy_code", "address", "amount", "oldest_due_on", "months_owed",
    "payment_reference", "corp", "pay_link", "decided_on",
)
#: Extra keys per channel.
CHANNEL_KEYS = {"email": (), "sms": (), "whatsapp": (), "letter": ("postal",)}
#: Channels a template exists for (default: all). The 14-day letter goes by post: its
#: receipt must be provable (RULES-NL rule 10).
TEMPLATE_CHANNELS = {"fourteen_day_letter": ("letter",)}
#: Extra keys per template: the 14-day letter states the principal, the exact costs,
#: the total and the deadline (RULES-NL rule 10); the offer an example arrangement.
TEMPLATE_KEYS = {
    "fourteen_day_letter": ("principal", "costs", "total", "sent_on", "received_on",
                            "deadline"),
    "arrangement_offer": ("offer_terms", "offer_instalment"),
    # vroeg/directdebit/notify.py: the bank's reason, in both languages.
    "direct_debit_stopped": ("reason_nl", "reason_en"),
}
#: Keys the corporation dict (settings.VROEG_CORPORATION) must hold.
CORP_KEYS = ("name", "street", "postcode", "city", "phone", "email", "iban", "pay_url",
             "debt_help")
#: Keys of the postal address (the letter window); ``country`` is optional (ISO code,
#: default NL: then no country line).
POSTAL_KEYS = ("street", "house_number", "postcode", "city")
#: Optional keys: ``debt_help`` (the local debt-help contact for the tenant's
#: municipality; default corp["debt_help"]), ``object_by`` (date: the last day to
#: object to the municipal signal; default: "within 14 days of this letter") and
#: ``staff_texts`` ({"intro": ..., "closing": ...}: the staff's own paragraphs,
#: see MessageText).
OPTIONAL_KEYS = ("debt_help", "object_by", "staff_texts", "arrangement_link")

_DECIMAL_KEYS = ("amount", "months_owed", "principal", "costs", "total", "offer_instalment")
_MONEY_KEYS = ("principal", "costs", "total", "offer_instalment")
_DATE_KEYS = ("oldest_due_on", "decided_on", "object_by", "sent_on", "received_on", "deadline")

_MISSING = "@@VROEG-MISSING:%s@@"
_MISSING_RE = re.compile(r"@@VROEG-MISSING:([^@]*)@@")


class RenderError(ValueError):
    """A message cannot be rendered; the text names the template and what is wrong.

    It never contains personal data (only template, channel, language and key names),
    so it may go into logs and Message.last_error.
    """


class MissingContextError(RenderError, KeyError):
    def __init__(self, template: str, key: str, channel: str = "") -> None:
        where = f"{template}/{channel}" if channel else template
        super().__init__(f"template {where!r}: missing context key {key!r}")
        self.template = template
        self.key = key

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


class SmsTooLongError(RenderError):
    """The SMS would need more than MAX_SMS_SEGMENTS segments."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_]*")
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")


def _messages_root() -> Path:
    # Read at call time: the system check test points TEMPLATE_ROOT at a copy.
    return TEMPLATE_ROOT / "messages"


def _template_exists(template: str) -> bool:
    """A template is a folder under messages/ (TEMPLATES lists the bundled ones);
    the name is checked first, so a name from the database cannot leave the folder."""
    return template in TEMPLATES or bool(
        _NAME_RE.fullmatch(template)
        and (_messages_root() / template / FALLBACK_LANGUAGE).is_dir())


def template_names() -> tuple[str, ...]:
    """Every message template: the bundled flow templates (TEMPLATES) first, then
    any other template folder under messages/ (such as ``direct_debit_stopped``)."""
    root = _messages_root()
    extra = sorted(p.name for p in root.iterdir()
                   if p.is_dir() and _NAME_RE.fullmatch(p.name) and p.name not in TEMPLATES
                   ) if root.is_dir() else []
    return (*TEMPLATES, *extra)


def channels_of(template: str) -> tuple[str, ...]:
    return TEMPLATE_CHANNELS.get(template, CHANNELS)


def languages_of(template: str) -> tuple[str, ...]:
    """The languages a template is written in (any other language gets Dutch)."""
    return TEMPLATE_LANGUAGES.get(template, LANGUAGES)


def text_direction(language: str) -> str:
    """"rtl" for Arabic (and the other right-to-left languages), else "ltr"."""
    return "rtl" if language.split("-")[0] in RTL_LANGUAGES else "ltr"


def template_keys(template: str | None = None, channel: str | None = None) -> frozenset[str]:
    """The context keys render() requires.

    With a channel: the keys for that channel (a letter also needs ``postal``);
    without one: the keys any channel may need (the union). Every template needs the
    common facts; some need more (TEMPLATE_KEYS). ``corp`` must hold CORP_KEYS and
    ``postal`` POSTAL_KEYS.
    """
    if template is not None and not _template_exists(template):
        raise RenderError(f"unknown message template {template!r} (known: {', '.join(TEMPLATES)})")
    if channel is not None and channel not in CHANNELS:
        raise RenderError(f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    if template is not None and channel is not None and channel not in channels_of(template):
        raise RenderError(f"template {template!r} has no {channel} version (only "
                          f"{', '.join(channels_of(template))})")
    keys = set(COMMON_KEYS)
    keys.update(TEMPLATE_KEYS.get(template or "", ()))
    for ch in (channel,) if channel else CHANNELS:
        keys.update(CHANNEL_KEYS[ch])
    return frozenset(keys)


# --- formatters --------------------------------------------------------------------

_CENT = Decimal("0.01")


def _group3(digits: str, sep: str) -> str:
    out: list[str] = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


NBSP = "\u00a0"


def format_money(amount: Decimal, language: str = "nl") -> str:
    """The amount as a reader of the language writes it, rounded half-up to cents:
    € 1.234,56 (nl, also the fallback and Arabic: the notation of the Dutch bank app),
    €1,234.56 (en), €1.234,56 (tr), 1234,56 € and 12 345,67 € (pl)."""
    if isinstance(amount, float) or not isinstance(amount, Decimal | int):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    q = Decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, cents = f"{abs(q):.2f}".split(".")
    language = language.split("-")[0]
    if language == "en":
        return f"{sign}€{_group3(whole, ',')}.{cents}"
    if language == "tr":
        return f"{sign}€{_group3(whole, '.')},{cents}"
    if language == "pl":
        # Polish groups only from five digits on (1234,56 but 12 345,67).
        grouped = _group3(whole, NBSP) if len(whole) > 4 else whole
        return f"{sign}{grouped},{cents}{NBSP}€"
    return f"€ {sign}{_group3(whole, '.')},{cents}"


def format_number(value: Decimal, language: str = "nl") -> str:
    """A short decimal number without trailing zeros: 1,5 (nl) / 1.5 (en); 2 for 2.00."""
    q = Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = f"{q:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if language != "en" else text


_MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "tr": ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos",
           "Eylül", "Ekim", "Kasım", "Aralık"),
    # Polish dates take the month in the genitive: "1 listopada 2026".
    "pl": ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca",
           "sierpnia", "września", "października", "listopada", "grudnia"),
    # The month names most Arabic readers know (Egypt, the Gulf, North Africa).
    "ar": ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس",
           "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"),
}


def format_date(day: dt.date, language: str = "nl") -> str:
    """1 november 2026 (nl) / 1 November 2026 (en) / 1 Kasım 2026 (tr) /
    1 listopada 2026 (pl) / 1 نوفمبر 2026 (ar): day and year in Western digits."""
    months = _MONTHS.get(language.split("-")[0], _MONTHS["nl"])
    return f"{day.day} {months[day.month - 1]} {day.year}"


def group4(value: str) -> str:
    """An IBAN (or other code) in groups of four from the left: NL91 ABNA 0417 1643 00."""
    compact = re.sub(r"\s+", "", str(value))
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def format_reference(value: str) -> str:
    """A payment reference in its print form, groups of four: a betalingskenmerk is
    grouped from the right (5000 0567 8901 2345, 12 2345 3462 2567), an RF creditor
    reference from the left (RF18 5390 0754 7034)."""
    compact = re.sub(r"[\s.]+", "", str(value)).upper()
    if compact.startswith("RF") or not compact.isdigit():
        return group4(compact)
    head = len(compact) % 4
    groups = [compact[:head]] if head else []
    groups += [compact[i:i + 4] for i in range(head, len(compact), 4)]
    return " ".join(groups)


def format_postcode(postcode: str) -> str:
    """Dutch postcodes as '1234 AB'; anything else unchanged (stripped)."""
    compact = re.sub(r"\s+", "", postcode).upper()
    if re.fullmatch(r"\d{4}[A-Z]{2}", compact):
        return f"{compact[:4]} {compact[4:]}"
    return postcode.strip()


# --- SMS length ----------------------------------------------------------------------

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[int, str]:
    """(segments, encoding) for an SMS: GSM-7 (160, or 153 per part) when every
    character is in the GSM 03.38 alphabet (extension characters such as € count
    twice), else UCS-2 (70, or 67 per part; characters outside the BMP count twice)."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part, encoding = 70, 67, "UCS-2"
    if units <= single:
        return 1, encoding
    return -(-units // part), encoding


# --- context -----------------------------------------------------------------------


def jsonable_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as JSON-safe values for Message.context (Decimal -> str, date -> ISO)."""

    def conv(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(k): conv(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [conv(v) for v in value]
        if isinstance(value, float):
            raise TypeError("floats are not allowed in a message context; use Decimal")
        return value

    return {str(k): conv(v) for k, v in context.items()}


def base_context(household: Any, tenancy: Any, corp: Mapping[str, Any] | None = None) -> dict:
    """The facts render() needs that come straight from a Household and its Tenancy
    (name, tenancy_code, address, payment_reference, postal, corp). The caller adds
    amount, oldest_due_on, months_owed, pay_link and decided_on. The postal address
    is the household's when filled in, else the rented home."""
    if corp is None:
        from django.conf import settings

        corp = settings.VROEG_CORPORATION
    if household.postal_street and household.postal_postcode:
        postal = {"street": household.postal_street,
                  "house_number": household.postal_house_number,
                  "postcode": household.postal_postcode, "city": household.postal_city}
    else:
        postal = {"street": tenancy.street, "house_number": tenancy.house_number,
                  "postcode": tenancy.postcode, "city": tenancy.city}
    return {
        "name": household.name,
        "tenancy_code": tenancy.code,
        "address": f"{tenancy.street} {tenancy.house_number}, "
                   f"{format_postcode(tenancy.postcode)} {tenancy.city}",
        "payment_reference": tenancy.payment_reference,
        "postal": postal,
        "corp": dict(corp),
    }


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _to_decimal(template: str, key: str, value: Any) -> Decimal:
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is not None and number.is_finite():
        return number
    raise RenderError(f"template {template!r}: context key {key!r} must be a Decimal "
                      f"(got {type(value).__name__})")


def _to_date(template: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RenderError(f"template {template!r}: context key {key!r} must be a date "
                      f"(got {type(value).__name__})")


#: Unicode isolates (LRI ... PDI): a left-to-right island in right-to-left text.
LRI, PDI = "\u2066", "\u2069"


def _isolate(text: str) -> str:
    return f"{LRI}{text}{PDI}"


def postal_country(postal: Mapping[str, Any]) -> str:
    """The ISO country code of a postal address; NL when none is given."""
    return (str(postal.get("country") or "").strip().upper() or "NL")


def envelope_lines(name: str, postal: Mapping[str, Any]) -> list[str]:
    """The address as printed in the envelope window, one string per line (PostNL's
    rules): the name; street and house number; "1234 AB  PLACE" (one space inside
    the postcode, two before the place, the place in capitals); and the country in
    capitals on its own line when it is not the Netherlands."""
    street = " ".join(f"{postal.get('street') or ''} {postal.get('house_number') or ''}".split())
    place = " ".join(str(postal.get("city") or "").split()).upper()
    lines = [" ".join(str(name).split()), street,
             f"{format_postcode(str(postal.get('postcode') or ''))}  {place}".strip()]
    country = postal_country(postal)
    if country != "NL":
        lines.append(country)
    return [line for line in lines if line]


def _prepare(template: str, channel: str, language: str, context: Mapping[str, Any]) -> dict:
    """Validate the raw facts and build the template context of display strings."""
    if not isinstance(context, Mapping):
        raise RenderError(f"template {template!r}: context must be a dict")
    for key in sorted(template_keys(template, channel)):
        if key not in context or _is_missing(context[key]):
            raise MissingContextError(template, key, channel)
    nested = {"corp": CORP_KEYS, "postal": POSTAL_KEYS if channel == "letter" else ()}
    for key, subkeys in nested.items():
        if key not in context:
            continue
        if not isinstance(context[key], Mapping):
            raise RenderError(f"template {template!r}: context key {key!r} must be a dict")
        for sub in subkeys:
            if sub not in context[key] or _is_missing(context[key][sub]):
                raise MissingContextError(template, f"{key}.{sub}", channel)

    raw: dict[str, Any] = dict(context)
    for key in _DECIMAL_KEYS:
        if key in raw:
            raw[key] = _to_decimal(template, key, raw[key])
    for key in _DATE_KEYS:
        if key in raw and not _is_missing(raw[key]):
            raw[key] = _to_date(template, key, raw[key])

    rtl = text_direction(language) == "rtl"
    keep_ltr = _isolate if rtl else (lambda text: text)
    ctx: dict[str, Any] = dict(raw)
    ctx["raw"] = raw
    ctx["language"] = language
    ctx["text_dir"] = "rtl" if rtl else "ltr"
    ctx["template"] = template
    ctx["channel"] = channel
    ctx["amount"] = keep_ltr(format_money(raw["amount"], language))
    for key in _MONEY_KEYS:
        if isinstance(raw.get(key), Decimal):
            ctx[key] = keep_ltr(format_money(raw[key], language))
    ctx["months_owed"] = format_number(raw["months_owed"], language)
    for key in _DATE_KEYS:
        if isinstance(raw.get(key), dt.date):
            ctx[key] = format_date(raw[key], language)
    ctx["payment_reference"] = keep_ltr(format_reference(raw["payment_reference"]))
    ctx["tenancy_code"] = keep_ltr(str(raw["tenancy_code"]))
    ctx["address"] = keep_ltr(str(raw["address"]))
    corp = dict(raw["corp"])
    corp["iban"] = keep_ltr(group4(corp["iban"]))
    corp["phone"] = keep_ltr(str(corp["phone"]))
    corp["postcode"] = format_postcode(str(corp["postcode"]))
    ctx["corp"] = corp
    ctx["debt_help"] = raw.get("debt_help") or corp["debt_help"]
    if isinstance(raw.get("postal"), Mapping):
        postal = dict(raw["postal"])
        postal["postcode"] = format_postcode(str(postal.get("postcode", "")))
        postal["city"] = str(postal.get("city", "")).upper()
        ctx["postal"] = postal
        ctx["envelope"] = envelope_lines(str(raw["name"]), raw["postal"])
    if channel == "letter":
        ctx["letterhead"] = letterhead()
    ctx["staff"] = _staff_context(template, channel, raw.get("staff_texts"), ctx)
    return ctx


# --- letterhead ------------------------------------------------------------------------

DEFAULT_LOGO = TEMPLATE_ROOT / "messages" / "_base" / "logo.svg"
MAX_LOGO_BYTES = 512 * 1024
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@cache
def _logo_data_url(path: str, mtime_ns: int, size: int) -> str:
    data = Path(path).read_bytes()
    if data.startswith(_PNG_MAGIC):
        mime = "image/png"
    elif re.match(rb"\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg[\s>]", data,
                  re.DOTALL) and b"</svg>" in data:
        mime = "image/svg+xml"
    else:
        raise RenderError("VROEG_LETTER_LOGO: geen SVG- of PNG-bestand / not an SVG or PNG "
                          f"file: {Path(path).name}")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def logo_data_url(path: str | Path) -> str:
    """The logo file as a data: URL (letters fetch nothing from outside). Raises
    RenderError naming the setting when the file is missing, too big or not an SVG
    or PNG."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        raise RenderError(f"VROEG_LETTER_LOGO: bestand niet gevonden / file not found: "
                          f"{p}") from None
    if not p.is_file() or st.st_size == 0:
        raise RenderError(f"VROEG_LETTER_LOGO: geen bestand / not a file: {p}")
    if st.st_size > MAX_LOGO_BYTES:
        raise RenderError(f"VROEG_LETTER_LOGO: groter dan / larger than "
                          f"{MAX_LOGO_BYTES // 1024} KB: {p.name}")
    return _logo_data_url(str(p.resolve()), st.st_mtime_ns, st.st_size)


def letterhead() -> dict[str, str]:
    """What the letter's head and foot show besides VROEG_CORPORATION: ``logo`` (a
    data: URL of VROEG_LETTER_LOGO, default the bundled logo) and ``footer``
    (VROEG_LETTER_FOOTER, may be empty)."""
    from django.conf import settings

    logo = str(getattr(settings, "VROEG_LETTER_LOGO", "") or "").strip()
    footer = " ".join(str(getattr(settings, "VROEG_LETTER_FOOTER", "") or "").split())
    return {"logo": logo_data_url(logo or DEFAULT_LOGO), "footer": footer}


# --- staff texts (sandboxed) -------------------------------------------------------------

#: The parts of a message staff may write themselves: a paragraph after the greeting
#: and one before the signature. They add to the message; the text the law requires
#: (rules 3 and 10) stays in the template and cannot be edited away.
STAFF_PARTS = ("intro", "closing")
#: Staff texts go into emails and letters; an SMS has no room for them.
STAFF_CHANNELS = ("email", "letter")
#: The variables a staff text may use, on every template ...
STAFF_VARIABLES = ("name", "amount", "address", "tenancy_code", "payment_reference",
                   "oldest_due_on", "months_owed", "pay_link", "decided_on", "debt_help")
#: ... of the corporation (``{{ corp.phone }}``) ...
STAFF_CORP_VARIABLES = ("name", "phone", "email", "iban", "street", "postcode", "city",
                        "pay_url")
#: ... and the template's own facts (never ``object_by``: not every message has it).
STAFF_TEMPLATE_VARIABLES = {
    "fourteen_day_letter": ("principal", "costs", "total", "deadline", "received_on",
                            "sent_on"),
    "arrangement_offer": ("offer_terms", "offer_instalment"),
}
MAX_STAFF_TEXT = 2000


class StaffTextError(RenderError):
    """A staff text uses something it may not; the text is Dutch / English, for the
    person who wrote it."""


def staff_variables(template: str) -> tuple[str, ...]:
    """The variables a staff text of this template may use, as written:
    ``name``, ``amount``, ..., ``corp.name``, ``corp.phone``, ..."""
    names = [*STAFF_VARIABLES, *STAFF_TEMPLATE_VARIABLES.get(template, ())]
    return (*names, *(f"corp.{k}" for k in STAFF_CORP_VARIABLES))


def _allowed_list(template: str) -> str:
    return ", ".join(_braces(v) for v in staff_variables(template))


def _braces(expr: str) -> str:
    return "{{ " + expr + " }}"


def _expression(node: Any) -> str:
    """A readable form of a refused expression, for the error."""
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_expression(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_expression(node.node)}[...]"
    if isinstance(node, nodes.Filter):
        return f"{_expression(node.node) if node.node is not None else ''}|{node.name}"
    return type(node).__name__.lower()


def _staff_env(html: bool) -> Any:
    return _staff_envs()[0 if html else 1]


@cache
def _staff_envs() -> tuple[Any, Any]:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    def env(autoescape: bool) -> SandboxedEnvironment:
        e = SandboxedEnvironment(autoescape=autoescape, undefined=StrictUndefined,
                                 keep_trailing_newline=False)
        e.filters.clear()  # no filters: only plain variables
        e.tests.clear()
        e.globals.clear()
        return e

    return env(True), env(False)


@cache
def _validated(template: str, text: str) -> None:
    """validate_staff_text, cached (render() checks every text it gets)."""
    from jinja2 import TemplateSyntaxError, nodes

    if len(text) > MAX_STAFF_TEXT:
        raise StaffTextError(f"tekst te lang: {len(text)} tekens, hoogstens {MAX_STAFF_TEXT} / "
                             f"text too long: {len(text)} characters, at most {MAX_STAFF_TEXT}")
    try:
        tree = _staff_env(False).parse(text)
    except TemplateSyntaxError as exc:
        raise StaffTextError(
            f"regel {exc.lineno}: onjuiste opmaak ({exc.message}); schrijf een variabele als "
            f"{{{{ naam }}}} / line {exc.lineno}: invalid syntax ({exc.message}); write a "
            "variable as {{ name }}") from None
    allowed = set(staff_variables(template))
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise StaffTextError(
                "opdrachten zoals {% if %} of {% for %} zijn niet toegestaan, alleen "
                "variabelen zoals {{ name }} / statements such as {% if %} or {% for %} are "
                "not allowed, only variables such as {{ name }}")
        for part in node.nodes:
            if isinstance(part, nodes.TemplateData):
                continue
            if isinstance(part, nodes.Name) and part.ctx == "load" and part.name in allowed:
                continue
            if isinstance(part, nodes.Getattr) and isinstance(part.node, nodes.Name) \
                    and part.node.name == "corp" and f"corp.{part.attr}" in allowed:
                continue
            shown = _braces(_expression(part))
            raise StaffTextError(
                f"{shown} is niet toegestaan; wel: {_allowed_list(template)} / {shown} is not "
                f"allowed; allowed are: {_allowed_list(template)}")


def validate_staff_text(template: str, text: str) -> None:
    """Refuse a staff text that uses anything but the whitelisted variables
    (:func:`staff_variables`): unknown names, other attributes (``{{ corp.__class__ }}``),
    filters, calls, statements. Raises StaffTextError with a Dutch / English text."""
    _validated(template, str(text))


@cache
def _staff_template(text: str, html: bool) -> Any:
    from markupsafe import escape

    # The text itself is the staff's words, never markup: escape it before it becomes
    # a template (valid texts have no quotes or brackets inside {{ }}), so only the
    # variables are filled in, and those are escaped by the autoescaping environment.
    source = str(escape(text)) if html else text
    return _staff_env(html).from_string(source)


def _staff_values(template: str, ctx: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: ctx.get(k, "") for k in (*STAFF_VARIABLES,
                                          *STAFF_TEMPLATE_VARIABLES.get(template, ()))}
    corp = ctx.get("corp") or {}
    values["corp"] = {k: corp.get(k, "") for k in STAFF_CORP_VARIABLES}
    return values


def _paragraphs_html(text: str) -> SafeString:
    """Escaped text (from the sandbox) as paragraphs: a blank line starts a new one,
    a single line break stays a line break."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return mark_safe("".join(  # noqa: S308 - every part was escaped by the sandbox
        '<p class="staff-text">' + "<br>".join(line.strip() for line in p.splitlines())
        + "</p>\n" for p in paragraphs))


def render_staff_text(template: str, text: str, ctx: Mapping[str, Any], *,
                      html: bool) -> str:
    """One staff text filled in with the message's display values: plain text, or
    escaped HTML paragraphs. Raises StaffTextError when the text is not allowed."""
    validate_staff_text(template, text)
    from jinja2 import TemplateError

    try:
        out = _staff_template(str(text), html).render(_staff_values(template, ctx))
    except TemplateError as exc:  # the sandbox refused something the check let through
        raise StaffTextError(f"tekst niet te vullen / text cannot be filled in: "
                             f"{type(exc).__name__}") from None
    out = "\n".join(line.rstrip() for line in out.strip().splitlines())
    return _paragraphs_html(out) if html else out


def preview_staff_text(template: str, language: str, text: str) -> str:
    """A staff text filled in with the sample context (for the admin), as plain text."""
    channel = next(c for c in (*STAFF_CHANNELS, *CHANNELS) if c in channels_of(template))
    ctx = _prepare(template, channel, _language_for(template, language),
                   sample_context(template))
    return render_staff_text(template, text, ctx, html=False)


def _staff_context(template: str, channel: str, texts: Any,
                   ctx: Mapping[str, Any]) -> dict[str, str]:
    staff = {key: "" for part in STAFF_PARTS for key in (part, f"{part}_html")}
    if channel not in STAFF_CHANNELS or not texts:
        return staff
    if not isinstance(texts, Mapping):
        raise RenderError(f"template {template!r}: context key 'staff_texts' must be a dict")
    for part in STAFF_PARTS:
        text = texts.get(part)
        if not text or not str(text).strip():
            continue
        try:
            staff[part] = render_staff_text(template, str(text), ctx, html=False)
            staff[f"{part}_html"] = render_staff_text(template, str(text), ctx, html=True)
        except StaffTextError as exc:
            raise RenderError(f"template {template!r}: staff text {part!r}: {exc}") from None
    return staff


def staff_texts_for(template: str, language: str) -> dict[str, str]:
    """The staff texts (MessageText) for a template in the language the message will
    be written in ({} when there are none). For the message context: the texts of
    the day the message was decided go along with it."""
    from vroeg.messaging.models import MessageText

    lang = language_used(template, language)
    return {part: text for part, text in MessageText.objects.filter(
        template=template, language=lang).values_list("part", "text") if text.strip()}


# --- templates -----------------------------------------------------------------------


def _engine(root: str, autoescape: bool) -> Engine:
    return Engine(
        dirs=[root],
        autoescape=autoescape,
        string_if_invalid=_MISSING,
        loaders=[("django.template.loaders.cached.Loader",
                  ["django.template.loaders.filesystem.Loader"])],
    )


@cache
def _engines_for(root: str) -> tuple[Engine, Engine]:
    return _engine(root, True), _engine(root, False)


def _engines() -> tuple[Engine, Engine]:
    """(html engine with autoescape, text engine without); templates are cached."""
    return _engines_for(str(TEMPLATE_ROOT))


def _language_for(template: str, language: str) -> str:
    """The language folder to use: the requested one ("en-gb"), else its primary
    language ("en"), else Dutch."""
    for candidate in (language, language.split("-")[0]):
        if _LANGUAGE_RE.fullmatch(candidate) and (
                _messages_root() / template / candidate).is_dir():
            return candidate
    return FALLBACK_LANGUAGE


def language_used(template: str, language: str) -> str:
    """The language a message of this template is written in for a requested
    language: the language itself, its primary language ("en" for "en-GB"), or
    Dutch when the template has no such translation."""
    return _language_for(template, (language or FALLBACK_LANGUAGE).strip().lower()
                         .replace("_", "-"))


def _render_part(template: str, language: str, part: str, ctx: dict, *, html: bool,
                 required: bool = True, fallback: bool = True) -> str:
    html_engine, text_engine = _engines()
    engine = html_engine if html else text_engine
    name = f"messages/{template}/{language}/{part}"
    try:
        tpl = engine.get_template(name)
    except TemplateDoesNotExist:
        if language != FALLBACK_LANGUAGE and fallback:
            return _render_part(template, FALLBACK_LANGUAGE, part, ctx, html=html,
                                required=required)
        if not required:
            return ""
        raise RenderError(f"template {template!r}: no file {name!r}") from None
    out = tpl.render(Context(ctx, autoescape=html))
    missing = _MISSING_RE.search(out)
    if missing:
        raise RenderError(f"template {template!r} ({language}/{part}) uses unknown "
                          f"variable {missing.group(1)!r}")
    return out


def _clean_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render(template: str, channel: str, language: str, context: Mapping[str, Any]) -> Rendered:
    """Render one message. Raises RenderError (MissingContextError for a missing key)
    naming the template and the problem; never personal data.

    email: subject, text and html; sms: text only (at most 3 segments); letter:
    subject (the "Betreft" line), html (a full document for WeasyPrint) and text
    (the letter as plain text, for the staff screen and Message.body_text).
    """
    return _render(template, channel, language, context, fallback=True)


def _render(template: str, channel: str, language: str, context: Mapping[str, Any], *,
            fallback: bool) -> Rendered:
    template_keys(template, channel)  # validates the names
    language = (language or FALLBACK_LANGUAGE).strip().lower().replace("_", "-")
    lang = _language_for(template, language)
    ctx = _prepare(template, channel, lang, context)

    def part(name: str, *, html: bool) -> str:
        return _render_part(template, lang, name, ctx, html=html, fallback=fallback)

    if channel == "whatsapp":
        # Its own text where a template has one, else the SMS text (short and plain).
        text = _clean_text(_render_part(template, lang, "whatsapp.txt", ctx, html=False,
                                        required=False, fallback=fallback)
                           or part("sms.txt", html=False))
        if len(text) > MAX_WHATSAPP_CHARS:
            raise RenderError(f"template {template!r} ({lang}/whatsapp): {len(text)} "
                              f"characters, at most {MAX_WHATSAPP_CHARS}")
        return Rendered(subject="", text=text.strip(), html="")

    if channel == "sms":
        text = _one_line(part("sms.txt", html=False))
        segments, _ = sms_segments(text)
        if segments > MAX_SMS_SEGMENTS:
            raise SmsTooLongError(f"template {template!r} ({lang}/sms): {segments} SMS "
                                  f"segments, at most {MAX_SMS_SEGMENTS} allowed")
        return Rendered(subject="", text=text, html="")

    subject = _one_line(part(f"{channel}.subject.txt", html=False))
    ctx["subject"] = subject
    html = part(f"{channel}.html", html=True)
    text = (_clean_text(part("email.txt", html=False)) if channel == "email"
            else html_to_text(html))
    return Rendered(subject=subject, text=text, html=html)


# --- checking every template --------------------------------------------------------------

#: The files of one channel, in every language folder.
CHANNEL_FILES = {"email": ("email.subject.txt", "email.txt", "email.html"),
                 "sms": ("sms.txt",),
                 "whatsapp": ("sms.txt",),  # whatsapp.txt is optional: the SMS text else
                 "letter": ("letter.subject.txt", "letter.html")}
_SAMPLE_VALUES: dict[str, Any] = {
    "principal": Decimal("1234.56"), "costs": Decimal("185.18"), "total": Decimal("1419.74"),
    "sent_on": dt.date(2026, 11, 20), "received_on": dt.date(2026, 11, 24),
    "deadline": dt.date(2026, 12, 8), "offer_terms": 6, "offer_instalment": Decimal("205.76"),
    "reason_nl": "onvoldoende saldo", "reason_en": "insufficient funds",
}
_STAFF_MARK = "VROEG-STAFF-{part}"


def sample_context(template: str = "reminder_friendly", *, optional: bool = True) -> dict:
    """A complete, made-up context for a template (the corporation from the settings),
    with the optional keys filled in or left out."""
    from django.conf import settings

    corp = dict(settings.VROEG_CORPORATION)
    reference = "5000056789012345"
    ctx: dict[str, Any] = {
        "name": "Fatma Yıldız-de Vries", "tenancy_code": "OVK-000123",
        "address": "Lindelaan 12, 1234 AB Amsterdam", "amount": Decimal("1234.56"),
        "oldest_due_on": dt.date(2026, 11, 1), "months_owed": Decimal("1.5"),
        "payment_reference": reference, "corp": corp,
        # as long as the daily run makes it (collection/apply.py)
        "pay_link": f"{corp.get('pay_url', '')}?kenmerk={reference}&bedrag=1234.56",
        "decided_on": dt.date(2026, 11, 20),
        "postal": {"street": "Lindelaan", "house_number": "12", "postcode": "1234AB",
                   "city": "Amsterdam"},
    }
    for key in TEMPLATE_KEYS.get(template, ()):
        ctx[key] = _SAMPLE_VALUES.get(key, "voorbeeld / sample")
    if optional:
        ctx["debt_help"] = "Gemeente Amsterdam, Geldzaken: 020 252 62 00"
        ctx["object_by"] = dt.date(2026, 12, 4)
        ctx["staff_texts"] = {p: _STAFF_MARK.format(part=p) + " {{ corp.phone }}"
                              for p in STAFF_PARTS}
    return ctx


def _language_folders(template: str) -> list[str]:
    folder = _messages_root() / template
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_dir() and _LANGUAGE_RE.fullmatch(p.name))


class TemplateProblem(str):
    """One line of check_templates(); ``warning`` is true when only the sample
    context's lengths make it fail (an SMS too long: real amounts and links differ),
    false when the template itself is broken."""

    warning: bool = False

    @classmethod
    def warn(cls, text: str) -> TemplateProblem:
        problem = cls(text)
        problem.warning = True
        return problem


def check_templates() -> list[str]:
    """Render every template x language x channel with a complete sample context
    (once with the optional keys, once without) and return what is wrong, one line
    each: a language folder or file that is missing, an unknown variable, a syntax
    error, an SMS too long, a staff text the template does not show, a letter logo
    that cannot be read. Empty: all is well. Uses no database."""
    problems: list[str] = []
    try:
        letterhead()
    except RenderError as exc:
        problems.append(str(exc))
        return problems  # every letter would fail with the same error
    for template in template_names():
        folders = _language_folders(template)
        for lang in sorted(set(languages_of(template)) | set(folders),
                           key=lambda code: (code not in LANGUAGES, code)):
            where = f"messages/{template}/{lang}"
            if lang not in folders:
                problems.append(f"{where}: taalmap ontbreekt / language folder missing")
                continue
            for channel in channels_of(template):
                missing = [f for f in CHANNEL_FILES.get(channel, (f"{channel}.txt",))
                           if not (_messages_root() / template / lang / f).is_file()]
                if missing:
                    problems.extend(f"{where}/{f}: bestand ontbreekt / file missing"
                                    for f in missing)
                    continue
                problems.extend(_check_one(template, lang, channel, where))
    return problems


def _check_one(template: str, lang: str, channel: str, where: str) -> Iterable[str]:
    from django.template import TemplateSyntaxError

    for optional in (True, False):
        try:
            r = _render(template, channel, lang, sample_context(template, optional=optional),
                        fallback=False)
        except SmsTooLongError as exc:
            yield TemplateProblem.warn(f"{where} ({channel}): {exc} (voorbeeldgegevens / "
                                       "sample data)")
            return
        except RenderError as exc:
            yield f"{where} ({channel}): {exc}"
            return
        except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
            yield f"{where} ({channel}): {type(exc).__name__}: {exc}"
            return
        if optional and channel in STAFF_CHANNELS:
            for p in STAFF_PARTS:
                mark = _STAFF_MARK.format(part=p)
                outputs = {"html": r.html} if channel == "letter" else {"html": r.html,
                                                                        "text": r.text}
                for kind, out in outputs.items():
                    if mark not in out:
                        yield (f"{where} ({channel} {kind}): toont de medewerkerstekst {p!r} "
                               f"niet / does not show the staff text {p!r}")


# --- HTML to text (letters) --------------------------------------------------------------

_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "li", "tr", "table", "ul", "ol", "section",
          "header", "footer", "address", "br", "dl", "dt", "dd", "main"}
_VOID = {"br", "img", "meta", "link", "hr", "input", "source", "wbr", "col", "area", "base"}
_HIDDEN = {"style", "script", "svg", "title", "head"}


class _TextExtractor(HTMLParser):
    """Text of an HTML document; skips head, styles, SVG and elements with the
    class "notext" (letter footer, page label)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0  # depth inside a skipped element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if tag not in _VOID:
                self.skip += 1
            return
        classes = (dict(attrs).get("class") or "").split()
        if tag in _HIDDEN or "notext" in classes:
            if tag not in _VOID:
                self.skip = 1
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip and tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag not in _VOID:
                self.skip -= 1
            return
        if tag in _BLOCK and tag not in ("li", "tr"):
            self.parts.append("\n")
        elif tag in ("td", "th", "dt"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML letter: blocks become lines, markup is dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
