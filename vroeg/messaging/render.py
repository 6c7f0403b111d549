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
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist

TEMPLATE_ROOT = Path(__file__).resolve().parent / "templates"
LETTER_CSS = TEMPLATE_ROOT / "messages" / "letter.css"

TEMPLATES = ("reminder_friendly", "reminder_second", "written_reminder", "arrangement_offer",
             "fourteen_day_letter")
CHANNELS = ("email", "sms", "letter")
LANGUAGES = ("nl", "en")
FALLBACK_LANGUAGE = "nl"
MAX_SMS_SEGMENTS = 3

#: Keys every template needs, on every channel.
COMMON_KEYS = (
    "name", "tenancy_code", "address", "amount", "oldest_due_on", "months_owed",
    "payment_reference", "corp", "pay_link", "decided_on",
)
#: Extra keys per channel.
CHANNEL_KEYS = {"email": (), "sms": (), "letter": ("postal",)}
#: Channels a template exists for (default: all). The 14-day letter goes by post: its
#: receipt must be provable (RULES-NL rule 10).
TEMPLATE_CHANNELS = {"fourteen_day_letter": ("letter",)}
#: Extra keys per template: the 14-day letter states the principal, the exact costs,
#: the total and the deadline (RULES-NL rule 10); the offer an example arrangement.
TEMPLATE_KEYS = {
    "fourteen_day_letter": ("principal", "costs", "total", "sent_on", "received_on",
                            "deadline"),
    "arrangement_offer": ("offer_terms", "offer_instalment"),
}
#: Keys the corporation dict (settings.VROEG_CORPORATION) must hold.
CORP_KEYS = ("name", "street", "postcode", "city", "phone", "email", "iban", "pay_url",
             "debt_help")
#: Keys of the postal address (the letter window).
POSTAL_KEYS = ("street", "house_number", "postcode", "city")
#: Optional keys: ``debt_help`` (the local debt-help contact for the tenant's
#: municipality; default corp["debt_help"]) and ``object_by`` (date: the last day to
#: object to the municipal signal; default: "within 14 days of this letter").
OPTIONAL_KEYS = ("debt_help", "object_by")

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


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _template_exists(template: str) -> bool:
    """A template is a folder under messages/ (TEMPLATES lists the bundled ones);
    the name is checked first, so a name from the database cannot leave the folder."""
    return template in TEMPLATES or bool(
        re.fullmatch(r"[a-z0-9][a-z0-9_]*", template)
        and (TEMPLATE_ROOT / "messages" / template / FALLBACK_LANGUAGE).is_dir())


def channels_of(template: str) -> tuple[str, ...]:
    return TEMPLATE_CHANNELS.get(template, CHANNELS)


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


def format_money(amount: Decimal, language: str = "nl") -> str:
    """€ 1.234,56 (nl, also the fallback) or €1,234.56 (en); rounded half-up to cents."""
    if isinstance(amount, float) or not isinstance(amount, Decimal | int):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    q = Decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, cents = f"{abs(q):.2f}".split(".")
    if language == "en":
        return f"{sign}€{_group3(whole, ',')}.{cents}"
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
}


def format_date(day: dt.date, language: str = "nl") -> str:
    """1 november 2026 (nl) / 1 November 2026 (en)."""
    months = _MONTHS.get(language, _MONTHS["nl"])
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

    ctx: dict[str, Any] = dict(raw)
    ctx["raw"] = raw
    ctx["language"] = language
    ctx["template"] = template
    ctx["channel"] = channel
    ctx["amount"] = format_money(raw["amount"], language)
    for key in _MONEY_KEYS:
        if isinstance(raw.get(key), Decimal):
            ctx[key] = format_money(raw[key], language)
    ctx["months_owed"] = format_number(raw["months_owed"], language)
    for key in _DATE_KEYS:
        if isinstance(raw.get(key), dt.date):
            ctx[key] = format_date(raw[key], language)
    ctx["payment_reference"] = format_reference(raw["payment_reference"])
    corp = dict(raw["corp"])
    corp["iban"] = group4(corp["iban"])
    corp["postcode"] = format_postcode(str(corp["postcode"]))
    ctx["corp"] = corp
    ctx["debt_help"] = raw.get("debt_help") or corp["debt_help"]
    if isinstance(raw.get("postal"), Mapping):
        postal = dict(raw["postal"])
        postal["postcode"] = format_postcode(str(postal.get("postcode", "")))
        postal["city"] = str(postal.get("city", "")).upper()
        ctx["postal"] = postal
    return ctx


# --- templates -----------------------------------------------------------------------


def _engine(autoescape: bool) -> Engine:
    return Engine(
        dirs=[str(TEMPLATE_ROOT)],
        autoescape=autoescape,
        string_if_invalid=_MISSING,
        loaders=[("django.template.loaders.cached.Loader",
                  ["django.template.loaders.filesystem.Loader"])],
    )


@cache
def _engines() -> tuple[Engine, Engine]:
    """(html engine with autoescape, text engine without); templates are cached."""
    return _engine(True), _engine(False)


def _language_for(template: str, language: str) -> str:
    """The language folder to use: the requested one ("en-gb"), else its primary
    language ("en"), else Dutch."""
    for candidate in (language, language.split("-")[0]):
        if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", candidate) and (
                TEMPLATE_ROOT / "messages" / template / candidate).is_dir():
            return candidate
    return FALLBACK_LANGUAGE


def _render_part(template: str, language: str, part: str, ctx: dict, *, html: bool,
                 required: bool = True) -> str:
    html_engine, text_engine = _engines()
    engine = html_engine if html else text_engine
    name = f"messages/{template}/{language}/{part}"
    try:
        tpl = engine.get_template(name)
    except TemplateDoesNotExist:
        if language != FALLBACK_LANGUAGE:
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
    template_keys(template, channel)  # validates the names
    language = (language or FALLBACK_LANGUAGE).strip().lower().replace("_", "-")
    lang = _language_for(template, language)
    ctx = _prepare(template, channel, lang, context)

    if channel == "sms":
        text = _one_line(_render_part(template, lang, "sms.txt", ctx, html=False))
        segments, _ = sms_segments(text)
        if segments > MAX_SMS_SEGMENTS:
            raise RenderError(f"template {template!r} ({lang}/sms): {segments} SMS segments, "
                              f"at most {MAX_SMS_SEGMENTS} allowed")
        return Rendered(subject="", text=text, html="")

    subject = _one_line(_render_part(template, lang, f"{channel}.subject.txt", ctx, html=False))
    ctx["subject"] = subject
    html = _render_part(template, lang, f"{channel}.html", ctx, html=True)
    if channel == "email":
        text = _clean_text(_render_part(template, lang, "email.txt", ctx, html=False))
    else:
        text = html_to_text(html)
    return Rendered(subject=subject, text=text, html=html)


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
