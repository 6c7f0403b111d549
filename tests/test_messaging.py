"""Outgoing messages: rendering (templates x languages x channels) and dispatch over
the embedded channels: SMTP (a real local aiosmtpd server), .eml files, SMS JSON
files and PDF letters (checked with poppler's pdftotext)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import shutil
import socket
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from vroeg.messaging.dispatch import MAX_ATTEMPTS, dispatch_pending
from vroeg.messaging.models import Message
from vroeg.messaging.render import (
    LANGUAGES,
    TEMPLATES,
    MissingContextError,
    RenderError,
    base_context,
    channels_of,
    format_date,
    format_money,
    format_number,
    format_reference,
    jsonable_context,
    render,
    sms_segments,
    template_keys,
)
from vroeg.portfolio.models import Household, Tenancy

NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
DECIDED = dt.date(2026, 11, 20)
REFERENCE = "5000056789012345"
NAME = "Fatma Yıldız-de Vries"


def full_context(**overrides) -> dict:
    ctx = {
        "name": NAME,
        "tenancy_code": "OVK-000123",
        "address": "Lindelaan 12, 1234 AB Amsterdam",
        "amount": Decimal("1234.56"),
        "oldest_due_on": dt.date(2026, 11, 1),
        "months_owed": Decimal("1.50"),
        "payment_reference": REFERENCE,
        "corp": dict(settings.VROEG_CORPORATION),
        "pay_link": f"https://betalen.woonstad.example/?kenmerk={REFERENCE}&bedrag=1234.56",
        "decided_on": DECIDED,
        "postal": {"street": "Postbus", "house_number": "77", "postcode": "9999zz",
                   "city": "Amsterdam"},
        # the 14-day letter and the arrangement offer
        "principal": Decimal("1234.56"), "costs": Decimal("185.18"),
        "total": Decimal("1419.74"), "sent_on": DECIDED, "received_on": dt.date(2026, 11, 24),
        "deadline": dt.date(2026, 12, 8), "offer_terms": 6,
        "offer_instalment": Decimal("205.76"),
    }
    ctx.update(overrides)
    return ctx


# --- formatting ----------------------------------------------------------------------


def test_money_format():
    assert format_money(Decimal("1234.56"), "nl") == "€ 1.234,56"
    assert format_money(Decimal("1234.56"), "en") == "€1,234.56"
    assert format_money(Decimal("1234567.5"), "nl") == "€ 1.234.567,50"
    assert format_money(Decimal("0.005"), "nl") == "€ 0,01"  # half-up
    assert format_money(Decimal("-12.3"), "nl") == "€ -12,30"
    assert format_money(Decimal("-12.3"), "en") == "-€12.30"
    assert format_money(Decimal("999"), "fr") == "€ 999,00"  # unknown language: Dutch
    with pytest.raises(TypeError):
        format_money(12.5, "nl")  # type: ignore[arg-type]


def test_date_number_and_reference_format():
    assert format_date(dt.date(2026, 11, 1), "nl") == "1 november 2026"
    assert format_date(dt.date(2026, 3, 15), "en") == "15 March 2026"
    assert format_number(Decimal("1.50"), "nl") == "1,5"
    assert format_number(Decimal("2.00"), "en") == "2"
    assert format_reference("5000056789012345") == "5000 0567 8901 2345"
    assert format_reference("12234534622567") == "12 2345 3462 2567"
    assert format_reference("RF18539007547034") == "RF18 5390 0754 7034"


def test_sms_segments():
    assert sms_segments("a" * 160) == (1, "GSM-7")
    assert sms_segments("a" * 161) == (2, "GSM-7")
    assert sms_segments("€" * 80) == (1, "GSM-7")  # € is an extension character: 2 septets
    assert sms_segments("€" * 81) == (2, "GSM-7")
    assert sms_segments("ı" * 70) == (1, "UCS-2")
    assert sms_segments("ı" * 71) == (2, "UCS-2")


# --- rendering -----------------------------------------------------------------------

AMOUNTS = {"nl": "€ 1.234,56", "en": "€1,234.56"}
DATES = {"nl": "1 november 2026", "en": "1 November 2026"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("template", "channel"),
                         [(t, c) for t in TEMPLATES for c in channels_of(t)])
def test_render_every_template(template, language, channel):
    r = render(template, channel, language, full_context())
    assert AMOUNTS[language] in r.text
    assert "MISSING" not in r.text + r.html + r.subject
    if channel in ("sms", "whatsapp"):
        assert r.subject == "" and r.html == ""
        assert "\n" not in r.text
        assert sms_segments(r.text)[0] <= 3
        assert "betalen.woonstad.example" in r.text
        return
    assert r.subject
    assert NAME in r.text
    assert DATES[language] in r.text
    assert "5000 0567 8901 2345" in r.text
    assert "NL91 ABNA 0417 1643 00" in r.text
    assert settings.VROEG_CORPORATION["phone"] in r.text
    assert r.html.startswith("<!DOCTYPE html>")
    assert f'lang="{language}"' in r.html
    assert "&amp;bedrag=1234.56" in r.html  # escaped in HTML
    if channel == "letter":
        assert "9999 ZZ" in r.html and "AMSTERDAM" in r.html  # window address
        assert "20 november 2026" in r.text or "20 November 2026" in r.text
    if channel == "email":
        assert "<svg" not in r.html


@pytest.mark.parametrize("channel", ["email", "letter"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_written_reminder_holds_what_rule_3_requires(language, channel):
    debt_help = "Gemeente Utrecht, Geldzaken: 030 286 00 00, www.utrecht.nl/geldzaken"
    r = render("written_reminder", channel, language,
               full_context(debt_help=debt_help, object_by=dt.date(2026, 12, 4)))
    text = r.text.lower()
    assert "€" in r.text  # the arrears amount
    assert "huur" in text or "rent" in text  # what it is for
    assert debt_help.lower() in text  # (b) local debt help with contact details
    assert "vroegsignalering" in text  # (d) the offer to pass details to the municipality
    assert ("gemeente" in text) if language == "nl" else ("municipality" in text)
    assert ("bezwaar" in text) if language == "nl" else ("object" in text)  # right to object
    assert ("4 december 2026" in text) if language == "nl" else ("4 december 2026" in text)
    assert settings.VROEG_CORPORATION["email"] in text  # how to object / reach a person
    assert "betalen.woonstad.example" in text  # how to pay


@pytest.mark.parametrize("language", LANGUAGES)
def test_fourteen_day_letter_holds_what_rule_10_requires(language):
    debt_help = "Gemeente Utrecht, Geldzaken: 030 286 00 00"
    r = render("fourteen_day_letter", "letter", language, full_context(debt_help=debt_help))
    text = r.text
    money = {"nl": ("€ 1.234,56", "€ 185,18", "€ 1.419,74"),
             "en": ("€1,234.56", "€185.18", "€1,419.74")}[language]
    for amount in money:  # the principal, the exact costs, the total
        assert amount in text
    assert {"nl": "8 december 2026", "en": "8 December 2026"}[language] in text  # deadline
    assert {"nl": "24 november 2026", "en": "24 November 2026"}[language] in text  # receipt
    assert "14" in text and debt_help in text  # the term, debt-help information
    assert "vroegsignalering" in text  # the municipal-signal notice in the same letter
    assert "9999 ZZ" in r.html  # the window address
    with pytest.raises(RenderError, match="no email version"):
        render("fourteen_day_letter", "email", language, full_context())


def test_debt_help_defaults_to_the_corporation_setting():
    r = render("reminder_second", "email", "nl", full_context())
    assert settings.VROEG_CORPORATION["debt_help"] in r.text


def test_dutch_is_b1_and_uses_u():
    r = render("reminder_friendly", "email", "nl", full_context())
    assert "Misschien bent u het vergeten" in r.text
    assert " je " not in r.text and " jij " not in r.text
    sentences = [s for s in re.split(r"[.?!]\s", r.text) if s.strip()]
    assert max(len(s.split()) for s in sentences) <= 25


def test_unknown_language_falls_back_to_dutch():
    r = render("reminder_friendly", "email", "fr", full_context())
    assert "Beste" in r.text and "€ 1.234,56" in r.text
    r = render("reminder_friendly", "sms", "en-GB", full_context())
    assert "€1,234.56" in r.text  # primary language of a regional tag


def test_json_context_renders_the_same():
    ctx = full_context()
    stored = json.loads(json.dumps(jsonable_context(ctx)))
    assert stored["amount"] == "1234.56" and stored["oldest_due_on"] == "2026-11-01"
    assert render("written_reminder", "letter", "nl", stored) == \
        render("written_reminder", "letter", "nl", ctx)


@pytest.mark.parametrize("key", sorted(template_keys("reminder_friendly", "letter")))
def test_missing_key_raises_naming_template_and_key(key):
    ctx = full_context()
    del ctx[key]
    with pytest.raises(MissingContextError) as err:
        render("reminder_friendly", "letter", "nl", ctx)
    assert "reminder_friendly" in str(err.value) and repr(key) in str(err.value)
    assert err.value.key == key


def test_missing_nested_key_and_bad_values():
    corp = dict(settings.VROEG_CORPORATION)
    del corp["debt_help"]
    with pytest.raises(MissingContextError, match="corp.debt_help"):
        render("written_reminder", "email", "nl", full_context(corp=corp))
    with pytest.raises(MissingContextError, match="postal.postcode"):
        render("written_reminder", "letter", "nl",
               full_context(postal={"street": "A", "house_number": "1", "city": "B"}))
    with pytest.raises(MissingContextError, match="'name'"):
        render("reminder_second", "sms", "en", full_context(name="  "))
    with pytest.raises(RenderError, match="'amount' must be a Decimal"):
        render("reminder_second", "email", "nl", full_context(amount=12.5))
    with pytest.raises(RenderError, match="'oldest_due_on' must be a date"):
        render("reminder_second", "email", "nl", full_context(oldest_due_on="1-11-2026"))
    with pytest.raises(RenderError, match="unknown message template"):
        render("no_such_template", "email", "nl", full_context())
    # postal is only needed for letters
    ctx = full_context()
    del ctx["postal"]
    render("reminder_friendly", "email", "nl", ctx)


def test_too_long_sms_is_refused():
    with pytest.raises(RenderError, match="SMS segments"):
        render("reminder_friendly", "sms", "nl",
               full_context(pay_link="https://betalen.example/" + "x" * 400))


def test_template_keys():
    assert "postal" in template_keys("written_reminder", "letter")
    assert "postal" not in template_keys("written_reminder", "email")
    assert template_keys() >= {"name", "tenancy_code", "address", "amount", "oldest_due_on",
                               "months_owed", "payment_reference", "corp", "pay_link",
                               "decided_on", "postal"}


# --- dispatch ------------------------------------------------------------------------


@pytest.fixture
def household(db):
    return Household.objects.create(
        code="REL-1", name=NAME, email="fatma@example.org", mobile="+31612345678",
        postal_street="Postbus", postal_house_number="77", postal_postcode="9999ZZ",
        postal_city="Amsterdam")


@pytest.fixture
def tenancy(household):
    return Tenancy.objects.create(
        code="OVK-000123", household=household, unit_code="EH-1", street="Lindelaan",
        house_number="12", postcode="1234AB", city="Amsterdam", start_on=dt.date(2020, 1, 1),
        net_rent=Decimal("612.40"), service_costs=Decimal("40.00"),
        payment_reference=REFERENCE)


@pytest.fixture
def make_message(household, tenancy):
    counter = iter(range(1, 10_000))

    def make(channel: str = "email", template: str = "reminder_friendly", *,
             language: str = "nl", recipient: str | None = None, key: str | None = None,
             send_after: dt.datetime = NOW - dt.timedelta(minutes=1), **ctx) -> Message:
        n = next(counter)
        if recipient is None:
            recipient = {"email": household.email, "sms": household.mobile}.get(
                channel, f"{household.name}, Postbus 77, 9999 ZZ Amsterdam")
        context = jsonable_context(full_context(**ctx))
        return Message.objects.create(
            household=household, tenancy=tenancy, step=f"step{n}", template=template,
            channel=channel, language=language, recipient=recipient,
            body_text="(rendered at decision time)", context=context, decided_on=DECIDED,
            send_after=send_after, idempotency_key=key or f"msg:1:step{n}")

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parse_eml(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def test_email_file_fallback(vroeg_home, make_message, settings):
    settings.EMAIL_HOST = ""
    msg = make_message("email", "reminder_friendly", language="en")
    result = dispatch_pending(NOW)
    assert result.sent == {"email": 1} and result.failed == result.deferred == 0

    msg.refresh_from_db()
    assert msg.status == Message.Status.SENT and msg.sent_at == NOW and msg.attempts == 1
    assert msg.delivery_ref == "outbox/email/msg_1_step1-" + msg.delivery_ref.split("-")[-1]
    path = vroeg_home / msg.delivery_ref
    assert path.suffix == ".eml" and path.is_file()
    assert not list((vroeg_home / "outbox" / "email").glob("*.log"))
    raw = path.read_bytes()
    assert b"\r\n" in raw
    parsed = _parse_eml(raw)
    assert parsed["To"] == "fatma@example.org"
    assert parsed["Subject"] == "Maybe you forgot? Your rent has not been paid yet"
    assert parsed["Message-ID"].startswith("<vroeg.") and "msg:1" not in parsed["Message-ID"]
    assert "Woonstad Voorbeeld" in parsed["From"]
    assert parsed["Reply-To"] == settings.VROEG_CORPORATION["email"]
    assert parsed["Auto-Submitted"] == "auto-generated"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "€1,234.56" in text and "€1,234.56" in html


def test_smtp_round_trip(vroeg_home, make_message, settings):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received: list = []

    class Collect(MessageHandler):
        def handle_message(self, message):  # noqa: D102
            received.append(message)

    port = _free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        first = make_message("email", "reminder_second")
        second = make_message("email", "written_reminder", language="en")
        result = dispatch_pending(NOW)
    finally:
        controller.stop()

    assert result.sent == {"email": 2}
    assert len(received) == 2
    by_subject = {m["Subject"]: m for m in received}
    nl = by_subject["Uw huur is nog steeds niet betaald"]
    assert nl["X-RcptTo"] == "fatma@example.org"
    payload = _parse_eml(nl.as_bytes())
    assert "€ 1.234,56" in payload.get_body(("plain",)).get_content()
    assert "Your rent arrears: we want to help you" in by_subject
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Message.Status.SENT
    assert first.delivery_ref == nl["Message-ID"]
    assert not list((vroeg_home / "outbox" / "email").iterdir())  # nothing written to files


def test_smtp_down_retries_then_fails(vroeg_home, make_message, settings):
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _free_port()  # nobody listens
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_TIMEOUT = 5
    a = make_message("email")
    b = make_message("email")
    make_message("sms")

    result = dispatch_pending(NOW)
    assert result.sent == {"sms": 1}
    assert result.deferred == 2 and result.failed == 0
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.attempts) == (Message.Status.PENDING, 1)
    assert "not reachable" in a.last_error and "fatma" not in a.last_error
    assert a.send_after == NOW + dt.timedelta(minutes=15)  # back-off
    assert b.attempts == 0  # the channel was down: b waits without using an attempt

    assert dispatch_pending(NOW).total_sent == 0  # a is not due yet
    later = NOW
    for _ in range(MAX_ATTEMPTS * 3):
        later += dt.timedelta(hours=2)
        dispatch_pending(later)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.attempts) == (Message.Status.FAILED, MAX_ATTEMPTS)
    assert (b.status, b.attempts) == (Message.Status.FAILED, MAX_ATTEMPTS)


def test_permanent_failures_fail_at_once(vroeg_home, make_message):
    bad_address = make_message("email", recipient="not-an-address")
    bad_mobile = make_message("sms", recipient="0612")
    ctx_missing = make_message("email")
    Message.objects.filter(pk=ctx_missing.pk).update(
        context={k: v for k, v in ctx_missing.context.items() if k != "pay_link"})

    result = dispatch_pending(NOW)
    assert result.failed == 3 and result.total_sent == 0
    for msg in (bad_address, bad_mobile, ctx_missing):
        msg.refresh_from_db()
        assert msg.status == Message.Status.FAILED and msg.attempts == 1
        assert NAME not in msg.last_error and "0612" not in msg.last_error
    assert bad_address.last_error == "no valid email address"
    assert "'pay_link'" in ctx_missing.last_error and "reminder_friendly" in ctx_missing.last_error


def test_sms_json(vroeg_home, make_message):
    msg = make_message("sms", "reminder_friendly", key="msg:7:sms-friendly")
    result = dispatch_pending(NOW)
    assert result.sent == {"sms": 1}
    msg.refresh_from_db()
    assert msg.delivery_ref.startswith("outbox/sms/msg_7_sms-friendly-")
    data = json.loads((vroeg_home / msg.delivery_ref).read_text(encoding="utf-8"))
    assert data["to"] == "+31612345678"
    assert "€ 1.234,56" in data["text"]
    assert data["segments"] == sms_segments(data["text"])[0] <= 3
    assert data["encoding"] == "GSM-7"


def _pdftotext(path: Path, *args: str) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: apt-get install -y poppler-utils")
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_letter_pdf(vroeg_home, make_message):
    msg = make_message("letter", "written_reminder", key="msg:9:written")
    result = dispatch_pending(NOW)
    assert result.sent == {"letter": 1}
    msg.refresh_from_db()
    assert msg.delivery_ref.startswith("outbox/letters/2026-11-20/msg_9_written-")
    pdf = vroeg_home / msg.delivery_ref
    assert pdf.read_bytes().startswith(b"%PDF")

    text = _pdftotext(pdf, "-layout")
    flat = " ".join(text.split())
    assert "€ 1.234,56" in flat
    assert "5000 0567 8901 2345" in flat
    assert NAME in flat
    assert "9999 ZZ" in flat
    assert "OVK-000123" in flat
    assert "vroegsignalering" in flat and "bezwaar" in flat
    pages = int(re.search(r"Pagina 1 van (\d+)", flat).group(1))
    assert pages >= 1 and f"Pagina {pages} van {pages}" in flat

    # A4 and the address in the window: about 20 mm from the left, 50 mm from the top.
    bbox = _pdftotext(pdf, "-bbox", "-f", "1", "-l", "1")
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', bbox)
    assert abs(float(page.group(1)) - 595.3) < 1 and abs(float(page.group(2)) - 841.9) < 1
    mm = 72 / 25.4
    word = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>9999</word>', bbox)
    x, y = float(word.group(1)) / mm, float(word.group(2)) / mm
    assert 19 <= x <= 25, x
    assert 50 <= y <= 90, y
    first_line = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>Fatma</word>', bbox)
    assert 48 <= float(first_line.group(2)) / mm <= 60


def test_letter_english(vroeg_home, make_message):
    msg = make_message("letter", "reminder_second", language="en")
    dispatch_pending(NOW)
    msg.refresh_from_db()
    flat = " ".join(_pdftotext(vroeg_home / msg.delivery_ref).split())
    assert "€1,234.56" in flat and "Page 1 of 1" in flat and "Our reference" in flat


def test_still_needed_cancels(vroeg_home, make_message):
    paid = make_message("email")
    other = make_message("sms")
    seen = []

    def still_needed(m: Message) -> str | None:
        seen.append(m.pk)
        return "inmiddels betaald / paid" if m.pk == paid.pk else None

    result = dispatch_pending(NOW, still_needed=still_needed)
    assert result.cancelled == 1 and result.sent == {"sms": 1}
    assert seen == [paid.pk, other.pk]
    paid.refresh_from_db()
    assert paid.status == Message.Status.CANCELLED
    assert paid.last_error == "inmiddels betaald / paid" and paid.sent_at is None
    assert not list((vroeg_home / "outbox" / "email").iterdir())


def test_dispatch_twice_sends_nothing_the_second_time(vroeg_home, make_message):
    for channel in ("email", "sms", "letter"):
        make_message(channel)
    first = dispatch_pending(NOW)
    assert first.sent == {"email": 1, "sms": 1, "letter": 1}
    files = sorted(p for p in (vroeg_home / "outbox").rglob("*") if p.is_file())
    stamps = [p.stat().st_mtime_ns for p in files]
    second = dispatch_pending(NOW + dt.timedelta(hours=1))
    assert second.total_sent == second.cancelled == second.failed == second.deferred == 0
    assert sorted(p for p in (vroeg_home / "outbox").rglob("*") if p.is_file()) == files
    assert [p.stat().st_mtime_ns for p in files] == stamps


def test_resend_after_crash_rewrites_the_same_file(vroeg_home, make_message):
    msg = make_message("letter")
    dispatch_pending(NOW)
    msg.refresh_from_db()
    ref = msg.delivery_ref
    # Simulate a crash between the send and its record: the row is still pending.
    Message.objects.filter(pk=msg.pk).update(status=Message.Status.PENDING, sent_at=None,
                                             delivery_ref="", attempts=0)
    assert dispatch_pending(NOW).sent == {"letter": 1}
    msg.refresh_from_db()
    assert msg.delivery_ref == ref
    files = [p for p in (vroeg_home / "outbox" / "letters").rglob("*") if p.is_file()]
    assert [p.relative_to(vroeg_home).as_posix() for p in files] == [ref]  # no temp files


def test_not_due_and_limit(vroeg_home, make_message):
    future = make_message("sms", send_after=NOW + dt.timedelta(hours=1))
    for _ in range(3):
        make_message("sms")
    result = dispatch_pending(NOW, limit=2)
    assert result.sent == {"sms": 2} and result.remaining == 1
    result = dispatch_pending(NOW, limit=2)
    assert result.sent == {"sms": 1} and result.remaining == 0
    future.refresh_from_db()
    assert future.status == Message.Status.PENDING
    with pytest.raises(ValueError, match="aware"):
        dispatch_pending(dt.datetime(2026, 11, 20, 8, 0))


@pytest.mark.parametrize(("months", "nl", "en"), [("1", "1 maand huur", "1 month of rent"),
                                                   ("2.00", "2 maanden huur", "2 months of rent"),
                                                   ("1.5", "1,5 maanden huur", "1.5 months")])
def test_months_owed_wording(months, nl, en):
    ctx = full_context(months_owed=Decimal(months))
    assert nl in render("written_reminder", "letter", "nl", ctx).text
    assert en in render("written_reminder", "email", "en", ctx).text


def test_base_context_from_the_orm(household, tenancy):
    ctx = base_context(household, tenancy)
    assert ctx["postal"]["postcode"] == "9999ZZ" and ctx["tenancy_code"] == "OVK-000123"
    assert ctx["address"] == "Lindelaan 12, 1234 AB Amsterdam"
    ctx.update(amount=Decimal("652.40"), oldest_due_on=dt.date(2026, 11, 1),
               months_owed=Decimal("1"), pay_link="https://betalen.woonstad.example/",
               decided_on=DECIDED)
    assert set(ctx) >= template_keys()
    r = render("written_reminder", "letter", "nl", ctx)
    assert "€ 652,40" in r.text and "9999 ZZ" in r.text
    with pytest.raises(RenderError, match="unknown message template"):
        render("../secrets", "email", "nl", ctx)


def test_letters_written_side_by_side_are_the_letters_written_one_by_one(
        vroeg_home, make_message, settings, monkeypatch):
    """VROEG_LETTER_WORKERS=2: a batch of letters is written in two worker processes.
    The dispatcher's own writer is broken here, so every letter that is sent was
    written by a worker; their text is the text of the same letters written one by
    one in the dispatcher."""
    from vroeg.messaging.channels import PdfWriter
    from vroeg.messaging.pdf import MIN_PARALLEL

    n = MIN_PARALLEL + 2
    letters = [make_message("letter", "written_reminder", language=("en" if i % 3 else "nl"),
                            key=f"msg:{i}:written") for i in range(n)]
    make_message("email")

    def broken(self, html, target):
        raise OSError("the dispatcher's own writer is not used")

    settings.VROEG_LETTER_WORKERS = 2
    with monkeypatch.context() as m:
        m.setattr(PdfWriter, "write", broken)
        result = dispatch_pending(NOW)
    assert result.sent == {"letter": n, "email": 1} and result.failed == 0
    texts = {}
    for msg in letters:
        msg.refresh_from_db()
        assert msg.status == Message.Status.SENT
        texts[msg.pk] = _pdftotext(vroeg_home / msg.delivery_ref)
    assert not [p for p in (vroeg_home / "outbox").rglob(".*.tmp")]
    assert not list((vroeg_home / "outbox" / "letters" / ".prepared").iterdir())

    settings.VROEG_LETTER_WORKERS = 1
    Message.objects.filter(pk__in=texts).update(status=Message.Status.PENDING, sent_at=None,
                                                delivery_ref="")
    for msg in letters:
        (vroeg_home / msg.delivery_ref).unlink()
    assert dispatch_pending(NOW).sent == {"letter": n}
    for msg in letters:
        msg.refresh_from_db()
        assert _pdftotext(vroeg_home / msg.delivery_ref) == texts[msg.pk]
    assert "Page 1 of" in texts[letters[1].pk] and "Pagina 1 van" in texts[letters[0].pk]


def test_pdf_pool_reports_each_job_that_failed(tmp_path):
    """A job a worker cannot write comes back as its error (the dispatcher then writes
    it itself and records the error); the others are written; a small batch is left
    to the caller without starting workers."""
    from vroeg.messaging.pdf import MIN_PARALLEL, NotParallel, PdfPool
    from vroeg.messaging.render import LETTER_CSS, TEMPLATE_ROOT

    (tmp_path / "not-a-folder").write_text("x")
    jobs = [(f"<p>brief {i}</p>", tmp_path / "out" / f"{i}.pdf") for i in range(MIN_PARALLEL)]
    jobs[3] = (jobs[3][0], tmp_path / "not-a-folder" / "3.pdf")
    pool = PdfPool(LETTER_CSS, TEMPLATE_ROOT, workers=2)
    try:
        small = pool.write_many(jobs[:MIN_PARALLEL - 1])
        assert all(isinstance(e, NotParallel) for e in small) and pool._pool is None
        done = pool.write_many(jobs)
    finally:
        pool.close()
    assert [i for i, e in enumerate(done) if e is not None] == [3]
    assert isinstance(done[3], OSError)
    assert pool.size == 0  # closed
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(f"{i}.pdf" for i in range(MIN_PARALLEL) if i != 3)
    assert all((tmp_path / "out" / n).read_bytes().startswith(b"%PDF") for n in written)


def test_pdf_pool_grows_for_a_bigger_batch(tmp_path):
    """The pool is sized on the batch (a worker per JOBS_PER_WORKER letters, at most
    `workers`): a first batch of a dozen letters starts few workers, a bigger one after
    it gets more, not the first batch's few."""
    from vroeg.messaging.pdf import JOBS_PER_WORKER, MIN_PARALLEL, PdfPool
    from vroeg.messaging.render import LETTER_CSS, TEMPLATE_ROOT

    pool = PdfPool(LETTER_CSS, TEMPLATE_ROOT, workers=3)
    small = [(f"<p>{i}</p>", tmp_path / "a" / f"{i}.pdf") for i in range(MIN_PARALLEL)]
    big = [(f"<p>{i}</p>", tmp_path / "b" / f"{i}.pdf") for i in range(3 * JOBS_PER_WORKER)]
    try:
        assert pool.write_many(small) == [None] * len(small)
        assert pool.size == -(-MIN_PARALLEL // JOBS_PER_WORKER) == 2
        assert pool.write_many(big) == [None] * len(big)
        assert pool.size == 3
        assert pool.write_many(small) == [None] * len(small)
        assert pool.size == 3  # not smaller again
    finally:
        pool.close()
    assert len(list((tmp_path / "b").glob("*.pdf"))) == len(big)


def test_pdf_pool_without_worker_processes_leaves_every_letter_to_the_caller(
        tmp_path, monkeypatch, caplog):
    """Where no worker process can start (a daemon process, process limits) every job
    comes back to the caller, once, and later batches do not try again."""
    from vroeg.messaging import pdf
    from vroeg.messaging.render import LETTER_CSS, TEMPLATE_ROOT

    def refuse(*args, **kwargs):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(pdf, "ProcessPoolExecutor", refuse)
    pool = pdf.PdfPool(LETTER_CSS, TEMPLATE_ROOT, workers=2)
    jobs = [("<p>x</p>", tmp_path / f"{i}.pdf") for i in range(pdf.MIN_PARALLEL)]
    done = pool.write_many(jobs)
    assert all(isinstance(e, AssertionError) for e in done) and len(done) == len(jobs)
    assert "no worker processes (AssertionError)" in caplog.text
    assert all(isinstance(e, pdf.NotParallel) for e in pool.write_many(jobs))
    assert not list(tmp_path.iterdir())


def test_a_prepared_letter_that_is_then_cancelled_is_not_left_among_the_sent(
        vroeg_home, make_message, settings):
    """Letters are written ahead, before each is claimed; one that is cancelled at its
    claim (a payment came in meanwhile) leaves no PDF behind, in the day's folder or
    in the staging folder."""
    from vroeg.messaging.pdf import MIN_PARALLEL

    settings.VROEG_LETTER_WORKERS = 2
    letters = [make_message("letter", "written_reminder", key=f"msg:{i}:written")
               for i in range(MIN_PARALLEL)]
    paid = letters[5]
    result = dispatch_pending(NOW, still_needed=lambda m: "betaald / paid"
                              if m.pk == paid.pk else None)
    assert result.sent == {"letter": MIN_PARALLEL - 1} and result.cancelled == 1
    day = vroeg_home / "outbox" / "letters" / DECIDED.isoformat()
    assert len(list(day.glob("*.pdf"))) == MIN_PARALLEL - 1
    assert not [p for p in day.iterdir() if "msg_5_written" in p.name]
    assert not list((vroeg_home / "outbox" / "letters" / ".prepared").iterdir())


def test_a_letter_a_worker_failed_leaves_no_staged_file(vroeg_home, make_message, settings,
                                                       monkeypatch):
    """A job that comes back as failed (a worker that timed out may still have written
    it) is written again by the dispatcher itself; its staged file is removed then, not
    an hour later."""
    from vroeg.messaging.pdf import MIN_PARALLEL, PdfPool

    settings.VROEG_LETTER_WORKERS = 2
    letters = [make_message("letter", "written_reminder", key=f"msg:{i}:written")
               for i in range(MIN_PARALLEL)]

    def half_done(self, jobs):
        for _, target in jobs:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"%PDF- staged")
        return [TimeoutError("late") if i == 2 else None for i in range(len(jobs))]

    monkeypatch.setattr(PdfPool, "write_many", half_done)
    assert dispatch_pending(NOW).sent == {"letter": MIN_PARALLEL}
    for i, msg in enumerate(letters):
        msg.refresh_from_db()
        written = (vroeg_home / msg.delivery_ref).read_bytes()
        # The failed one was written by the dispatcher (a real PDF), the rest moved.
        assert (written == b"%PDF- staged") == (i != 2)
    assert not list((vroeg_home / "outbox" / "letters" / ".prepared").iterdir())


def test_pdf_pool_gives_up_on_hanging_workers(tmp_path, monkeypatch, caplog):
    """Workers that do not finish in time are stopped; what they did not write comes
    back to the caller, and later batches are written one by one."""
    from vroeg.messaging import pdf
    from vroeg.messaging.render import LETTER_CSS, TEMPLATE_ROOT

    monkeypatch.setattr(pdf, "BATCH_TIMEOUT_S", 0.01)  # workers need about 1 s to start
    pool = pdf.PdfPool(LETTER_CSS, TEMPLATE_ROOT, workers=2)
    jobs = [("<p>x</p>", tmp_path / f"{i}.pdf") for i in range(pdf.MIN_PARALLEL)]
    done = pool.write_many(jobs)
    assert all(isinstance(e, pdf.NotParallel) for e in done)
    assert "workers took over 0.01 s" in caplog.text
    assert pool.workers == 1 and pool._pool is None
    assert all(isinstance(e, pdf.NotParallel) for e in pool.write_many(jobs))


def test_channels_close_every_channel_when_one_fails():
    from vroeg.messaging.channels import Channels

    closed = []

    class Failing:
        name = "sms"

        def close(self):
            raise OSError("provider gone")

    class Letters:
        name = "letter"

        def close(self):
            closed.append("letter")

    channels = Channels()
    channels._open = {"sms": Failing(), "letter": Letters()}
    with pytest.raises(OSError, match="provider gone"):
        channels.close()
    assert closed == ["letter"] and channels._open == {}
