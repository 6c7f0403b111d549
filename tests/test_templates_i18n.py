"""Messages in every language (nl, en; the friendly reminder also tr, ar, pl) on every
channel, right-to-left Arabic, the start-up template check (system check
messaging.E001) and the staff's own texts in jinja2's sandbox."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from vroeg.messaging import render as R
from vroeg.messaging.models import MessageText
from vroeg.messaging.render import (
    TEMPLATES,
    RenderError,
    StaffTextError,
    channels_of,
    check_templates,
    format_date,
    format_money,
    languages_of,
    render,
    sample_context,
    sms_segments,
    staff_variables,
    template_names,
    validate_staff_text,
)

AMOUNTS = {"nl": "€ 1.234,56", "en": "€1,234.56", "tr": "€1.234,56", "ar": "€ 1.234,56",
           "pl": "1234,56\u00a0€"}
DUE = {"nl": "1 november 2026", "en": "1 November 2026", "tr": "1 Kasım 2026",
       "ar": "1 نوفمبر 2026", "pl": "1 listopada 2026"}
#: A word of each language that only its own text has.
WORDS = {"nl": "huur", "en": "rent", "tr": "kira", "ar": "إيجار", "pl": "czynsz"}
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ARABIC = re.compile("[\u0600-\u06ff]")

ALL = [(t, lang, ch) for t in TEMPLATES for lang in languages_of(t) for ch in channels_of(t)]


def plain(text: str) -> str:
    """Text without the invisible direction marks (Arabic isolates, pdftotext's marks)."""
    return " ".join(BIDI.sub("", text).split())


def pdftotext(path: Path, *args: str) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: apt-get install -y poppler-utils")
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


# --- every message, every language, every channel ---------------------------------------


def test_the_friendly_reminder_speaks_five_languages():
    assert languages_of("reminder_friendly") == ("nl", "en", "tr", "ar", "pl")
    assert languages_of("written_reminder") == ("nl", "en")
    for template in TEMPLATES:
        for lang in languages_of(template):
            assert (R.TEMPLATE_ROOT / "messages" / template / lang).is_dir()


@pytest.mark.parametrize(("template", "language", "channel"), ALL)
def test_render_every_message(template, language, channel):
    r = render(template, channel, language, sample_context(template))
    everything = r.subject + r.text + r.html
    assert "MISSING" not in everything and "{{" not in everything and "{%" not in everything
    text = plain(r.text)
    amount = AMOUNTS[language] if template != "fourteen_day_letter" else \
        {"nl": "€ 1.234,56", "en": "€1,234.56"}[language]
    assert plain(amount) in text
    assert WORDS[language] in text.lower()
    assert "betalen.woonstad.example" in text  # the payment link
    if channel in ("sms", "whatsapp"):
        assert r.subject == r.html == "" and "\n" not in r.text
        assert channel == "whatsapp" or sms_segments(r.text)[0] <= R.MAX_SMS_SEGMENTS
        return
    assert r.subject
    assert DUE[language] in text  # what it is for: the rent due on that day
    assert "5000 0567 8901 2345" in text  # the payment reference, in groups of four
    assert "NL91 ABNA 0417 1643 00" in text
    assert settings.VROEG_CORPORATION["phone"] in text  # how to reach a person
    assert settings.VROEG_CORPORATION["email"] in text
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in r.html
    # The staff's own texts (sample context) are in every email and letter.
    assert "VROEG-STAFF-intro" in r.html and "VROEG-STAFF-closing" in r.html
    if channel == "letter":
        assert "1234 AB  AMSTERDAM" in r.html  # the window: PostNL's two spaces
        assert 'src="data:image/' in r.html


@pytest.mark.parametrize("language", languages_of("reminder_friendly"))
@pytest.mark.parametrize("channel", ["email", "letter"])
def test_the_friendly_reminder_says_the_same_in_every_language(language, channel):
    """Amount, what it is for, the payment link, the municipality's debt help, how to
    reach a person: in all five languages."""
    debt_help = "Gemeente Utrecht, Geldzaken: 030 286 00 00"
    ctx = sample_context(optional=False) | {"debt_help": debt_help}
    text = plain(render("reminder_friendly", channel, language, ctx).text)
    assert plain(AMOUNTS[language]) in text
    assert "Lindelaan 12, 1234 AB Amsterdam" in text and DUE[language] in text
    assert "kenmerk=5000056789012345" in text
    assert debt_help in text  # the municipality's debt help, with its contact details
    if language not in ("nl", "en"):
        assert "(schuldhulpverlening)" in text  # the Dutch word to ask for
    assert "020 123 45 67" in text and "huur@woonstad.example" in text
    assert "OVK-000123" in text


def test_b1_short_sentences_in_the_new_languages():
    for language in ("tr", "ar", "pl"):
        text = plain(render("reminder_friendly", "email", language,
                            sample_context(optional=False)).text)
        body = re.sub(r"https?://\S+", "LINK", text)
        sentences = [s for s in re.split(r"[.?!؟:]\s", body) if s.strip()]
        assert max(len(s.split()) for s in sentences) <= 20, language


def test_money_and_dates_per_language():
    assert format_money(Decimal("1234.56"), "tr") == "€1.234,56"
    assert format_money(Decimal("12345.6"), "pl") == "12\u00a0345,60\u00a0€"
    assert format_money(Decimal("-5"), "pl") == "-5,00\u00a0€"
    assert format_money(Decimal("1234.56"), "ar") == "€ 1.234,56"  # Western digits
    assert format_date(dt.date(2026, 2, 3), "tr") == "3 Şubat 2026"
    assert format_date(dt.date(2026, 9, 30), "pl") == "30 września 2026"
    assert format_date(dt.date(2026, 12, 1), "ar") == "1 ديسمبر 2026"


def test_arabic_keeps_numbers_readable():
    r = render("reminder_friendly", "email", "ar", sample_context())
    # Amounts, reference, IBAN and phone are left-to-right islands in the Arabic text,
    # so the groups of "5000 0567 8901 2345" can never come out in reverse order.
    assert "\u20665000 0567 8901 2345\u2069" in r.text
    assert "\u2066€ 1.234,56\u2069" in r.text and "\u2066020 123 45 67\u2069" in r.html
    assert '<html lang="ar" dir="rtl">' in r.html
    assert "text-align:right" in r.html
    sms = render("reminder_friendly", "sms", "ar", sample_context())
    assert ARABIC.search(sms.text) and sms_segments(sms.text) == (3, "UCS-2")
    # Turkish and Arabic SMS are UCS-2; the Polish one is written without Polish letters
    # (as Polish SMS usually are) and so fits GSM-7.
    assert sms_segments(render("reminder_friendly", "sms", "pl", sample_context()).text
                        )[1] == "GSM-7"


def test_other_templates_fall_back_to_dutch_in_the_new_languages():
    r = render("written_reminder", "email", "tr", sample_context("written_reminder"))
    assert "Beste" in r.text and "€ 1.234,56" in r.text
    r = render("reminder_friendly", "email", "fr", sample_context())
    assert "Beste" in r.text


@pytest.mark.parametrize("language", ["ar", "tr", "pl"])
def test_letter_pdf_renders_the_script(vroeg_home, language):
    """The PDF has the glyphs: pdftotext gets the words back (DejaVu Sans from
    fonts-dejavu-core has Arabic, Turkish and Polish letters)."""
    from vroeg.messaging.channels import LetterChannel

    r = render("reminder_friendly", "letter", language, sample_context(optional=False))
    pdf = vroeg_home / f"letter-{language}.pdf"
    LetterChannel().write_pdf(r.html, pdf)
    text = plain(pdftotext(pdf))
    expected = {"ar": ["لم نستلم إيجاركم بعد", "مع أطيب التحيات", "صفحة 1 من 1"],
                "tr": ["Kiranızı henüz almadık", "Saygılarımızla", "Sayfa 1 / 1"],
                "pl": ["Nie otrzymaliśmy jeszcze Państwa czynszu", "Z poważaniem",
                       "Strona 1 z 1"]}[language]
    for words in expected:
        # pdftotext puts its own spaces around the numbers in right-to-left lines
        assert words.replace(" ", "") in text.replace(" ", ""), (words, text[:400])
    assert "5000 0567 8901 2345" in text and "€ 1.234,56" in text or language != "ar"
    assert "\ufffd" not in text  # no missing glyphs
    if language == "ar":
        assert len(ARABIC.findall(text)) > 300
        # The window stays on the left and left-to-right: the envelope needs it there.
        bbox = pdftotext(pdf, "-bbox", "-f", "1", "-l", "1")
        word = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>1234</word>', bbox)
        mm = 72 / 25.4
        assert 19 <= float(word.group(1)) / mm <= 25
        # The Arabic text runs from the right: its lines end at the right margin (190 mm).
        ends = [float(x) / mm for x, word in re.findall(
            r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)</word>', bbox)
            if ARABIC.search(word)]
        assert max(ends) > 185 and sum(1 for x in ends if x > 185) >= 5


# --- the template check ------------------------------------------------------------------


def test_the_bundled_templates_pass_the_check():
    assert check_templates() == []
    assert "direct_debit_stopped" in template_names()  # checked too


@pytest.fixture
def template_copy(tmp_path, monkeypatch):
    root = tmp_path / "templates"
    shutil.copytree(R.TEMPLATE_ROOT, root)
    monkeypatch.setattr(R, "TEMPLATE_ROOT", root)
    return root / "messages"


def test_check_catches_a_broken_template(template_copy):
    body = template_copy / "reminder_friendly" / "tr" / "_body.html"
    body.write_text(body.read_text(encoding="utf-8").replace("{{ amount }}", "{{ amout }}"),
                    encoding="utf-8")
    (template_copy / "written_reminder" / "en" / "sms.txt").unlink()
    (template_copy / "reminder_second" / "nl" / "email.subject.txt").write_text(
        "{% if %}", encoding="utf-8")
    problems = check_templates()
    assert any("reminder_friendly/tr" in p and "'amout'" in p for p in problems), problems
    assert any("written_reminder/en/sms.txt" in p and "missing" in p for p in problems)
    assert any("reminder_second/nl" in p and "TemplateSyntaxError" in p for p in problems)
    # tr email and tr letter, the sms file (for sms and for whatsapp), the syntax
    assert len(problems) == 5, problems

    with pytest.raises(SystemCheckError, match="messaging.E001"):
        call_command("check")


def test_check_catches_a_missing_language_folder_and_staff_hook(template_copy):
    shutil.rmtree(template_copy / "reminder_friendly" / "pl")
    txt = template_copy / "reminder_second" / "en" / "email.txt"
    txt.write_text(txt.read_text(encoding="utf-8").replace("{{ staff.closing }}", ""),
                   encoding="utf-8")
    problems = check_templates()
    assert "messages/reminder_friendly/pl: taalmap ontbreekt / language folder missing" \
        in problems
    assert any("reminder_second/en (email text)" in p and "'closing'" in p for p in problems)


def test_check_catches_a_bad_logo(tmp_path, settings):
    bad = tmp_path / "logo.gif"
    bad.write_bytes(b"GIF89a....")
    settings.VROEG_LETTER_LOGO = str(bad)
    assert check_templates() == [
        "VROEG_LETTER_LOGO: geen SVG- of PNG-bestand / not an SVG or PNG file: logo.gif"]
    settings.VROEG_LETTER_LOGO = str(tmp_path / "nope.svg")
    assert "bestand niet gevonden / file not found" in check_templates()[0]


def test_sms_too_long_for_the_corporation_is_caught(settings):
    corp = dict(settings.VROEG_CORPORATION)
    corp["name"] = "Stichting Woonbedrijf Voorbeeldstad en Omstreken"
    settings.VROEG_CORPORATION = corp
    problems = check_templates()
    assert problems and all("SMS segments" in p and p.warning for p in problems)
    assert any("reminder_friendly/tr" in p for p in problems)
    from vroeg.messaging.apps import check_message_templates

    found = check_message_templates()
    assert {m.id for m in found} == {"messaging.W001"}  # a warning: real lengths differ
    call_command("check")  # warnings do not stop start-up


# --- staff texts: the sandbox -------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Hallo {{ corp.__class__ }}",
    "{{ corp.__class__.__mro__ }}",
    "{{ name.__class__ }}",
    "{{ geheim }}",
    "{{ corp.debt_help }} {{ corp.secret }}",
    "{{ corp['name'] }}",
    "{{ name|upper }}",
    "{{ lipsum() }}",
    "{% if name %}x{% endif %}",
    "{% for x in corp %}{{ x }}{% endfor %}",
    "{{ 7*7 }}",
    "{{ 'x' }}",
    "{{ name",
    "{{ deadline }}",  # not a fact of the friendly reminder
])
def test_the_sandbox_refuses(text):
    with pytest.raises(StaffTextError) as err:
        validate_staff_text("reminder_friendly", text)
    message = str(err.value)
    assert " / " in message  # Dutch / English
    assert "{{" in message  # says how a variable is written, or what is allowed


def test_the_error_names_what_is_allowed():
    with pytest.raises(StaffTextError) as err:
        validate_staff_text("reminder_friendly", "Beste {{ corp.__class__ }}")
    assert str(err.value).startswith("{{ corp.__class__ }} is niet toegestaan; wel: {{ name }}")
    assert "{{ corp.phone }}" in str(err.value) and "is not allowed" in str(err.value)
    validate_staff_text("fourteen_day_letter", "Betaal voor {{ deadline }}: {{ total }}")


def test_allowed_variables():
    validate_staff_text("reminder_friendly", "Beste {{ name }}, bel {{ corp.phone }} over "
                                             "{{ amount }} ({{ tenancy_code }}).\n\nGroet")
    assert "corp.phone" in staff_variables("reminder_friendly")
    assert "deadline" not in staff_variables("reminder_friendly")
    assert "deadline" in staff_variables("fourteen_day_letter")


def test_staff_text_is_escaped_and_filled_in():
    ctx = sample_context(optional=False) | {"staff_texts": {
        "intro": "Let op <b>{{ name }}</b> & co:\nwe zijn verhuisd.\n\nBel {{ corp.phone }}.",
        "closing": "Tot ziens!"}}
    html = render("reminder_friendly", "email", "nl", ctx | {"name": "<script>x</script>"})
    assert '<p class="staff-text">Let op &lt;b&gt;&lt;script&gt;x&lt;/script&gt;&lt;/b&gt; ' \
           '&amp; co:<br>we zijn verhuisd.</p>' in html.html
    assert '<p class="staff-text">Bel 020 123 45 67.</p>' in html.html
    assert "<script>" not in html.html
    text = render("reminder_friendly", "email", "nl", ctx).text
    assert "Beste Fatma Yıldız-de Vries,\n\nLet op <b>Fatma Yıldız-de Vries</b> & co:\n" \
           "we zijn verhuisd.\n\nBel 020 123 45 67.\n\nWij hebben" in text
    assert "Tot ziens!\n\nMet vriendelijke groet," in text
    letter = render("reminder_friendly", "letter", "nl", ctx)
    assert "Let op <b>Fatma" in letter.text and "Tot ziens!" in letter.text
    sms = render("reminder_friendly", "sms", "nl", ctx)
    assert "Let op" not in sms.text  # no room in an SMS


def test_a_forbidden_staff_text_in_a_stored_context_fails_the_render():
    ctx = sample_context(optional=False) | {"staff_texts": {"intro": "{{ corp.__class__ }}"}}
    with pytest.raises(RenderError, match="staff text 'intro'"):
        render("reminder_friendly", "email", "nl", ctx)


@pytest.mark.django_db
def test_message_text_model_refuses_on_save():
    bad = MessageText(template="reminder_friendly", language="nl", part="intro",
                      text="Hallo {{ corp.__class__ }}")
    with pytest.raises(ValidationError) as err:
        bad.full_clean()
    assert "niet toegestaan" in err.value.message_dict["text"][0]
    with pytest.raises(ValidationError) as err:
        MessageText(template="reminder_friendly", language="de", part="intro",
                    text="Hallo").full_clean()
    assert "language" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        MessageText(template="nope", language="nl", part="intro", text="x").full_clean()
    assert "template" in err.value.message_dict
    good = MessageText(template="reminder_friendly", language="tr", part="closing",
                       text="Görüşmek üzere, {{ name }}!")
    good.full_clean()
    good.save()
    assert R.staff_texts_for("reminder_friendly", "tr") == {
        "closing": "Görüşmek üzere, {{ name }}!"}
    assert R.staff_texts_for("written_reminder", "tr") == {}  # nl is used: none there


@pytest.mark.django_db
def test_admin_refuses_and_audits(admin_client):
    from vroeg.audit.models import AuditEvent

    url = "/admin/messaging/messagetext/add/"
    resp = admin_client.post(url, {"template": "reminder_friendly", "language": "nl",
                                   "part": "intro", "text": "Hoi {{ corp.__class__ }}"})
    assert resp.status_code == 200
    assert "niet toegestaan" in resp.content.decode() and not MessageText.objects.exists()
    resp = admin_client.post(url, {"template": "reminder_friendly", "language": "nl",
                                   "part": "intro", "text": "Wij zijn verhuisd, {{ name }}."})
    assert resp.status_code == 302
    text = MessageText.objects.get()
    assert text.updated_by == "admin"
    event = AuditEvent.objects.get(action="message_text.add")
    assert event.actor == "staff:admin" and event.object_id == str(text.pk)
    page = admin_client.get(f"/admin/messaging/messagetext/{text.pk}/change/")
    assert "Wij zijn verhuisd, Fatma" in page.content.decode()  # the preview
    assert AuditEvent.objects.filter(action="view", object_id=str(text.pk)).exists()
    # The same template, language and part once only.
    resp = admin_client.post(url, {"template": "reminder_friendly", "language": "nl",
                                   "part": "intro", "text": "Nog een"})
    assert resp.status_code == 200 and MessageText.objects.count() == 1
