"""Letters: the letterhead from the settings (logo as a data: URL, footer), A4 with the
address in the window-envelope position, page numbers; the daily print batch for the
print house (one PDF, odd-page starts, a CSV manifest, idempotent); `vroeg letters
batch`; and `vroeg message preview` (what a step would send to a tenancy today)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import re
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.builders import ref
from vroeg.messaging.channels import LetterChannel
from vroeg.messaging.models import Message, MessageText
from vroeg.messaging.print_batch import (
    MANIFEST_COLUMNS,
    PrintBatchError,
    batch_paths,
    build_print_batch,
    key_hash,
)
from vroeg.messaging.render import (
    RenderError,
    jsonable_context,
    logo_data_url,
    render,
    sample_context,
)
from vroeg.portfolio.models import Household, Tenancy

NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)
MM = 72 / 25.4


def pdftotext(path: Path, *args: str) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: apt-get install -y poppler-utils")
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def tiny_png() -> bytes:
    """A valid 2 x 2 PNG, made here."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x1d\x4e\x89" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --- letterhead, window, page numbers -----------------------------------------------------


def test_the_bundled_logo_is_embedded_as_a_data_url():
    r = render("reminder_friendly", "letter", "nl", sample_context())
    logo = (Path(__file__).resolve().parents[1] / "vroeg" / "messaging" / "templates" /
            "messages" / "_base" / "logo.svg").read_bytes()
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(logo).decode()}"' in r.html
    assert "<svg" not in r.html  # nothing inline, nothing fetched


def test_a_configured_logo_and_footer(vroeg_home, settings):
    png = vroeg_home / "logo.png"
    png.write_bytes(tiny_png())
    settings.VROEG_LETTER_LOGO = str(png)
    settings.VROEG_LETTER_FOOTER = "KvK 12345678 · www.woonstad.example · ma-vr 9-17 uur"
    r = render("written_reminder", "letter", "nl", sample_context("written_reminder"))
    assert f'src="data:image/png;base64,{base64.b64encode(tiny_png()).decode()}"' in r.html
    assert "KvK 12345678" in r.html
    assert "KvK 12345678" not in r.text  # the footer is no part of the letter's text
    pdf = vroeg_home / "letter.pdf"
    LetterChannel().write_pdf(r.html, pdf)
    data = pdf.read_bytes()
    assert b"/Subtype /Image" in data or b"/Subtype/Image" in data  # the logo is in it
    flat = " ".join(pdftotext(pdf).split())
    assert "KvK 12345678 · www.woonstad.example" in flat
    # An SVG works too; anything else is refused with the setting's name.
    svg = vroeg_home / "logo.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                   'viewBox="0 0 4 4"><rect width="4" height="4"/></svg>', encoding="utf-8")
    assert logo_data_url(svg).startswith("data:image/svg+xml;base64,")
    gif = vroeg_home / "logo.gif"
    gif.write_bytes(b"GIF89a")
    settings.VROEG_LETTER_LOGO = str(gif)
    with pytest.raises(RenderError, match="VROEG_LETTER_LOGO: geen SVG- of PNG-bestand"):
        render("reminder_friendly", "letter", "nl", sample_context())
    render("reminder_friendly", "email", "nl", sample_context())  # emails carry no logo


def test_a4_window_position_and_page_numbers(vroeg_home):
    """A4; the address inside the window of an EA5/6 window envelope (window on the
    left: 20 mm from the left, 40-70 mm from the top of the sheet); "Pagina 1 van 2"."""
    ctx = sample_context("written_reminder") | {
        "staff_texts": {"closing": "\n\n".join(["Een extra alinea om de brief langer te "
                                                "maken, zodat hij twee pagina's krijgt."] * 12)}}
    r = render("written_reminder", "letter", "nl", ctx)
    pdf = vroeg_home / "two-pages.pdf"
    LetterChannel().write_pdf(r.html, pdf)
    flat = " ".join(pdftotext(pdf).split())
    assert "Pagina 1 van 2" in flat and "Pagina 2 van 2" in flat
    bbox = pdftotext(pdf, "-bbox", "-f", "1", "-l", "1")
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', bbox)
    assert round(float(page.group(1)) / MM) == 210 and round(float(page.group(2)) / MM) == 297

    def word(text: str) -> tuple[float, float, float, float]:
        """The word's box (mm) 40-100 mm from the top: the address field."""
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                             rf'yMax="([\d.]+)">{re.escape(text)}</word>', bbox):
            box = tuple(float(v) / MM for v in m.groups())
            if 40 <= box[1] < 100:
                return box  # type: ignore[return-value]
        raise AssertionError(text)

    name = word("Fatma")  # the first line
    postcode = word("1234")  # the last line: "1234 AB  AMSTERDAM"
    place = word("AMSTERDAM")
    ret = word("Stationsplein")  # the return address, one line above the address
    for x_min, y_min, _x_max, y_max in (name, postcode):
        assert 19.5 <= x_min <= 22  # lines start 20 mm from the left
        assert y_min >= 40 and y_max <= 70  # inside the window's 40-70 mm
    assert place[2] <= 20 + 95  # inside the 95 mm wide window
    assert 45 <= ret[1] <= 50 and ret[3] <= name[1]
    assert 50 <= name[1] <= 53  # the first address line starts at about 51 mm


# --- the print batch -----------------------------------------------------------------------


def _household(n: int, **over) -> tuple[Household, Tenancy]:
    h = Household.objects.create(code=f"REL-{n}", name=f"Huurder {n}",
                                 email=f"h{n}@example.org", **over)
    t = Tenancy.objects.create(
        code=f"OVK-{n:06d}", household=h, unit_code=f"EH-{n}", street="Lindelaan",
        house_number=str(n), postcode="1234AB", city="Amsterdam",
        start_on=dt.date(2020, 1, 1), net_rent=Decimal("612.40"),
        service_costs=Decimal("40.00"), payment_reference=ref(n))
    return h, t


@pytest.fixture
def send_letter(db, vroeg_home):
    """Send a letter as the dispatcher does (render, the letter channel, the row marked
    sent), without depending on the dispatcher's retry and fallback rules."""
    channel = LetterChannel()
    counter = iter(range(1, 1000))

    def send(template: str = "reminder_friendly", *, language: str = "nl",
             sent_at: dt.datetime = NOW, long: bool = False, postal: dict | None = None):
        n = next(counter)
        h, t = _household(n)
        ctx = sample_context(template, optional=False) | {
            "name": h.name, "tenancy_code": t.code,
            "postal": postal or {"street": "Postbus", "house_number": str(n),
                                 "postcode": f"99{n:02d}zz", "city": "Amsterdam"}}
        if long:
            ctx["staff_texts"] = {"closing": "\n\n".join(
                ["Een extra alinea om de brief langer te maken."] * 20)}
        msg = Message.objects.create(
            household=h, tenancy=t, step=f"step{n}", template=template, channel="letter",
            language=language, recipient=h.name, body_text="-",
            context=jsonable_context(ctx), decided_on=sent_at.date(), send_after=sent_at,
            idempotency_key=f"msg:{n}:{template}")
        ref = channel.send(msg, render(template, "letter", language, ctx), sent_at)
        Message.objects.filter(pk=msg.pk).update(status=Message.Status.SENT, sent_at=sent_at,
                                                 delivery_ref=ref, attempts=1)
        msg.refresh_from_db()
        return msg

    return send


def _pages(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def _manifest(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_print_batch(send_letter, vroeg_home):
    one = send_letter()                                        # 1 page
    two = send_letter("written_reminder", long=True)            # 3 pages
    three = send_letter(language="ar")                          # 1 page, Arabic
    send_letter(sent_at=NOW - dt.timedelta(days=1))             # yesterday: not today
    pdf, manifest, count = build_print_batch(DAY)
    assert (pdf, manifest) == batch_paths(DAY) and count == 3
    assert pdf == vroeg_home / "outbox" / "letters" / "2026-11-20" / "print-batch-2026-11-20.pdf"
    assert manifest.name == "print-batch-2026-11-20.csv"

    rows = _manifest(manifest)
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    assert [(r["letter"], r["first_page"], r["pages"], r["blank_pages"], r["sheets"])
            for r in rows] == [("1", "1", "1", "1", "1"), ("2", "3", "3", "1", "2"),
                               ("3", "7", "1", "1", "1")]
    assert [r["message_id"] for r in rows] == [str(m.pk) for m in (one, two, three)]
    assert rows[0]["key_hash"] == key_hash(one.idempotency_key) and len(rows[0]["key_hash"]) == 16
    assert one.idempotency_key not in manifest.read_text(encoding="utf-8")
    assert [r["template"] for r in rows] == ["reminder_friendly", "written_reminder",
                                            "reminder_friendly"]
    assert [r["language"] for r in rows] == ["nl", "nl", "ar"]
    first = rows[0]
    assert (first["address_line_1"], first["address_line_2"], first["address_line_3"]) == \
        ("Huurder 1", "Postbus 1", "9901 ZZ  AMSTERDAM")  # as in the window
    assert first["address_line_4"] == "" and first["postcode"] == "9901 ZZ"
    assert first["city"] == "AMSTERDAM" and {r["country"] for r in rows} == {"NL"}

    pages = _pages(pdf)
    assert len(pages) == 8  # every letter padded to whole sheets
    for row in rows:  # each letter starts on an odd page, with its own tenant on it
        start = int(row["first_page"])
        assert start % 2 == 1
        assert row["address_line_1"] in pages[start - 1]
        blank = start + int(row["pages"])  # the page after the letter is empty
        assert pages[blank - 1].strip() == ""
    assert "Pagina 3 van 3" in pages[4] and "Huurder 2" in pages[2]
    # A sheet never holds two tenants: pages 2k-1 and 2k belong to one letter.
    owners = {}
    for row in rows:
        for p in range(int(row["first_page"]), int(row["first_page"]) + 2 * int(row["sheets"])):
            owners[p] = row["letter"]
    assert all(owners[2 * k - 1] == owners[2 * k] for k in range(1, 5))


def test_a_big_day_comes_in_parts_with_one_manifest(send_letter, settings):
    settings.VROEG_PRINT_BATCH_LETTERS = 2
    for _ in range(5):
        send_letter()
    pdf, manifest, count = build_print_batch(DAY)
    assert count == 5 and pdf.name == "print-batch-2026-11-20-001.pdf"
    parts = sorted(pdf.parent.glob("print-batch-2026-11-20*.pdf"))
    assert [p.name for p in parts] == [f"print-batch-2026-11-20-00{n}.pdf" for n in (1, 2, 3)]
    rows = _manifest(manifest)
    assert [(r["letter"], r["file"], r["first_page"]) for r in rows] == [
        ("1", "print-batch-2026-11-20-001.pdf", "1"), ("2", "print-batch-2026-11-20-001.pdf", "3"),
        ("3", "print-batch-2026-11-20-002.pdf", "1"), ("4", "print-batch-2026-11-20-002.pdf", "3"),
        ("5", "print-batch-2026-11-20-003.pdf", "1")]
    assert [len(_pages(p)) for p in parts] == [4, 4, 2]
    settings.VROEG_PRINT_BATCH_LETTERS = 1000  # back to one file: the parts are cleaned up
    pdf, _, _ = build_print_batch(DAY)
    assert [p.name for p in pdf.parent.glob("print-batch-2026-11-20*.pdf")] == [pdf.name]


def test_print_batch_is_idempotent(send_letter):
    send_letter()
    send_letter("written_reminder")
    pdf, manifest, _ = build_print_batch(DAY)
    data, rows = pdf.read_bytes(), manifest.read_bytes()
    stamps = (pdf.stat().st_mtime_ns, manifest.stat().st_mtime_ns)
    again = build_print_batch(DAY)
    assert again == (pdf, manifest, 2)
    assert pdf.read_bytes() == data and manifest.read_bytes() == rows  # the same bytes
    assert (pdf.stat().st_mtime_ns, manifest.stat().st_mtime_ns) == stamps  # not rewritten
    pdf.unlink()
    build_print_batch(DAY)
    assert pdf.read_bytes() == data  # rebuilt from scratch: the same bytes again

    # A letter sent later in the day: the batch is rebuilt with it, at the end.
    late = send_letter(sent_at=NOW + dt.timedelta(hours=6))
    _, _, count = build_print_batch(DAY)
    assert count == 3
    new_rows = _manifest(manifest)
    assert [r["message_id"] for r in new_rows][-1] == str(late.pk)
    assert new_rows[:2] == _manifest_from(rows)
    assert len(_pages(pdf)) == len(_pages_from(data)) + 2
    leftovers = [p.name for p in pdf.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary files


def _manifest_from(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _pages_from(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]


def test_print_batch_refuses_to_leave_a_letter_out(send_letter):
    send_letter()
    gone = send_letter()
    pdf, manifest, _ = build_print_batch(DAY)
    before = pdf.read_bytes()
    (Path(settings.VROEG_HOME) / gone.delivery_ref).unlink()
    send_letter()
    with pytest.raises(PrintBatchError, match=f"letter {gone.pk}: PDF ontbreekt / PDF missing"):
        build_print_batch(DAY)
    assert pdf.read_bytes() == before  # the earlier batch stays as it was


def test_print_batch_without_letters(db, vroeg_home):
    assert build_print_batch(DAY) == (None, None, 0)
    assert not batch_paths(DAY)[0].exists()


def test_print_batch_after_a_real_dispatch(send_letter, vroeg_home):
    """The dispatcher's letters (outbox/letters/<day>/) are what the batch joins."""
    from vroeg.messaging.dispatch import dispatch_pending

    h, t = _household(900)
    ctx = sample_context(optional=False) | {"name": h.name}
    Message.objects.create(household=h, tenancy=t, step="reminder_friendly",
                           template="reminder_friendly", channel="letter", language="en",
                           recipient=h.name, body_text="-", context=jsonable_context(ctx),
                           decided_on=DAY, send_after=NOW - dt.timedelta(minutes=1),
                           idempotency_key="msg:900:reminder_friendly")
    dispatch_pending(NOW)
    msg = Message.objects.get(idempotency_key="msg:900:reminder_friendly")
    assert msg.status == Message.Status.SENT
    pdf, manifest, count = build_print_batch(DAY)
    assert count == 1 and msg.delivery_ref.startswith("outbox/letters/2026-11-20/")
    assert "Page 1 of 1" in _pages(pdf)[0]


def test_letters_batch_command(send_letter, vroeg_home):
    send_letter()
    out = StringIO()
    call_command("letters", "batch", "--date", "2026-11-20", stdout=out)
    assert out.getvalue().splitlines() == [
        "2026-11-20: 1 brief/brieven / letter(s)",
        "  outbox/letters/2026-11-20/print-batch-2026-11-20.pdf",
        "  outbox/letters/2026-11-20/print-batch-2026-11-20.csv"]
    out = StringIO()
    call_command("letters", "batch", "--date", "2026-11-21", stdout=out)
    assert "geen brieven verstuurd / no letters sent" in out.getvalue()
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("letters", "batch", "--date", "20-11-2026", stderr=err)
    assert exit_.value.code == 2 and "--date" in err.getvalue()


# --- vroeg message preview -----------------------------------------------------------------


@pytest.fixture
def in_arrears(vroeg_home, transactional_db):
    """One tenancy (Turkish-speaking household) whose October rent was never paid."""
    from tests.builders import tenancy_row, write_tenancies

    write_tenancies(vroeg_home / "inbox" / "huurcontracten.csv",
                    [tenancy_row(1, taal="tr", voorkeurskanaal="sms")])
    call_command("run", date="2026-10-31", json=True, stdout=StringIO())
    return Tenancy.objects.get(code="OVK-00001")


def preview(*args: str) -> str:
    out = StringIO()
    call_command("message", "preview", *args, stdout=out)
    return out.getvalue()


def test_preview_shows_what_the_run_would_send(in_arrears, vroeg_home):
    from vroeg.audit.models import AuditEvent

    out = preview("reminder_friendly", "--tenancy", "OVK-00001", "--date", "2026-10-31")
    lines = out.splitlines()
    assert lines[0] == ("stap / step: reminder_friendly (reminder_friendly), kanaal / channel: "
                        "sms, taal / language: tr, vanaf / from: 2026-10-31 10:00")
    assert "€700,00 kiranız ödenmedi" in out  # the October rent, in Turkish
    # The same text the daily run stores when it takes the step that day.
    email = preview("reminder_friendly", "--tenancy", "OVK-00001", "--date", "2026-10-31",
                    "--channel", "email", "--lang", "nl")
    assert "Onderwerp / Subject: Misschien vergeten? Uw huur is nog niet betaald" in email
    assert "Het gaat om € 700,00" in email and "1 oktober 2026" in email
    # The run took the step that day: the preview shows the very text it stored, with
    # the same payment link.
    stored = Message.objects.get(tenancy=in_arrears, template="reminder_friendly")
    assert stored.channel == "sms" and stored.decided_on == dt.date(2026, 10, 31)
    assert stored.body_text.strip() in out and stored.context["pay_link"] in out
    assert AuditEvent.objects.filter(action="message.preview",
                                     object_id=str(in_arrears.pk)).count() == 2

    # The staff's own text is in it, as it would be in the message.
    MessageText.objects.create(template="reminder_friendly", language="tr", part="intro",
                               text="Yeni telefon numaramız: {{ corp.phone }}.")
    out = preview("reminder_friendly", "--tenancy", "OVK-00001", "--date", "2026-11-05",
                  "--channel", "email")
    assert "Yeni telefon numaramız: 020 123 45 67." in out


def test_preview_of_the_14_day_letter_as_pdf_and_html(in_arrears, vroeg_home):
    pdf = vroeg_home / "brief.pdf"
    out = preview("fourteen_day_letter", "--tenancy", "OVK-00001", "--date", "2026-11-05",
                  "--pdf", str(pdf))
    assert f"PDF: {pdf}" in out
    # The 14-day letter's figures, computed as the run does: from the send day.
    assert "Betaal uiterlijk op" in out and "€ 700,00" in out
    assert "taal / language: nl (gevraagd / asked tr: niet vertaald / not translated)" in out
    flat = " ".join(pdftotext(pdf).split())
    assert "Betaal uiterlijk op" in flat and "Pagina 1 van" in flat
    html = vroeg_home / "brief.html"
    preview("reminder_friendly", "--tenancy", "OVK-00001", "--date", "2026-11-05",
            "--channel", "letter", "--lang", "ar", "--html", str(html))
    assert '<html lang="ar" dir="rtl">' in html.read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "error"), [
    (["nope", "--tenancy", "OVK-00001"], "onbekende stap / unknown step 'nope'"),
    (["call", "--tenancy", "OVK-00001"], "stuurt geen bericht / sends no message"),
    (["reminder_friendly", "--tenancy", "OVK-99999"], "unknown tenancy 'OVK-99999'"),
    (["fourteen_day_letter", "--tenancy", "OVK-00001", "--channel", "email"],
     "has no email"),
    (["reminder_friendly", "--tenancy", "OVK-00001", "--channel", "sms", "--pdf", "x.pdf"],
     "--pdf: niet voor kanaal / not for channel sms"),
    (["reminder_friendly", "--tenancy", "OVK-00001", "--date", "5-11-2026"], "--date"),
    (["reminder_friendly", "--tenancy", "OVK-00001", "--date", "2026-09-15"],
     "has no arrears on 2026-09-15"),
])
def test_preview_bad_input(in_arrears, args, error):
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("message", "preview", *args, stdout=StringIO(), stderr=err)
    assert exit_.value.code == 2
    assert error in err.getvalue()


def test_the_run_stores_the_staff_texts_with_the_message(vroeg_home, transactional_db):
    """step_context (shared by the run and the preview) puts the staff texts of the day
    into the message's context: what was sent can be shown again later."""
    from tests.builders import tenancy_row, write_tenancies

    MessageText.objects.create(template="reminder_friendly", language="nl", part="closing",
                               text="Wij zijn op {{ corp.street }} te vinden.")
    write_tenancies(vroeg_home / "inbox" / "t.csv", [tenancy_row(1)])
    call_command("run", date="2026-10-31", json=True, stdout=StringIO())
    call_command("run", date="2026-11-06", json=True, stdout=StringIO())
    msg = Message.objects.get(template="reminder_friendly")
    assert msg.context["staff_texts"] == {"closing": "Wij zijn op {{ corp.street }} te vinden."}
    assert "Wij zijn op Stationsplein 1 te vinden." in msg.body_text
    json.dumps(msg.context)  # still plain JSON


def test_font_subsetting_check_warns_without_harfbuzz_subset(monkeypatch):
    """messaging.W002: on this machine (as in .ci/run) HarfBuzz-Subset is there, the
    check is quiet, and WeasyPrint uses it; without it `vroeg check` names the Debian
    package."""
    from weasyprint.text import ffi

    from vroeg.messaging import apps

    assert apps.check_font_subsetting() == []
    assert ffi.harfbuzz_subset is not None  # what the check looked up, WeasyPrint loaded
    monkeypatch.setattr(apps, "find_library", lambda name: None)
    assert apps.check_font_subsetting() == []  # the loader still finds it by its name

    def not_there(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(apps, "CDLL", not_there)
    [found] = apps.check_font_subsetting()
    assert found.id == "messaging.W002"
    assert "libharfbuzz-subset0" in found.hint


def test_atomic_write_gives_the_mode_of_the_umask_and_leaves_nothing_on_failure(tmp_path):
    """Dossiers and letters are read by the web server, maybe as another user in the
    owner's group: 0640 (mkstemp's 0600 kept it out), never readable by others
    (personal data); a failed write leaves neither the file nor its temporary file."""
    import os

    from vroeg.messaging.pdf import atomic_write

    target = tmp_path / "out" / "dossier.pdf"
    old = os.umask(0o022)
    try:
        atomic_write(target, lambda tmp: tmp.write_bytes(b"%PDF-1.7 one"))
    finally:
        os.umask(old)
    assert target.read_bytes() == b"%PDF-1.7 one"
    assert target.stat().st_mode & 0o777 == 0o640

    def fails(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fails)
    assert target.read_bytes() == b"%PDF-1.7 one"  # the old file, untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["dossier.pdf"]
