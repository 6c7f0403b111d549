"""The daily print batch: every letter sent on a day in one PDF for a print house,
with a CSV manifest.

    outbox/letters/<DATE>/print-batch-<DATE>.pdf        (up to 1,000 letters), or
    outbox/letters/<DATE>/print-batch-<DATE>-001.pdf    (-002, ... for a bigger day)
    outbox/letters/<DATE>/print-batch-<DATE>.csv

A big day comes in parts (settings.VROEG_PRINT_BATCH_LETTERS letters each): joining
10,000 letters in one go held 2.2 GB; a part of 1,000 stays near 250 MB.

The letters are the PDFs the letter channel wrote when it sent them (the proof of
dispatch is the same file that is printed), joined with pypdf in the order they were
sent. Each letter starts on an odd page: a letter with an odd number of pages gets a
blank page after it, so duplex printing never puts two tenants on one sheet and the
inserting machine can cut the stack every `sheets` sheets.

The manifest has one row per letter: its number in the batch, first page, pages,
blank pages added, sheets, the message id and a hash of its idempotency key, template
and language, and the address lines exactly as in the envelope window, with postcode,
place and country. It holds names and addresses: it is for the print house, never
for a log.

Building is idempotent: the same letters give byte-identical files (an unchanged file
is not even rewritten), and a letter sent later that day is in the batch when it is
built again. Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from vroeg.domain.calendar import AMSTERDAM
from vroeg.messaging.channels import LetterChannel, atomic_write_bytes
from vroeg.messaging.models import Message
from vroeg.messaging.render import envelope_lines, format_postcode, postal_country

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("letter", "first_page", "pages", "blank_pages", "sheets", "message_id",
                    "key_hash", "template", "language", "address_line_1", "address_line_2",
                    "address_line_3", "address_line_4", "address_line_5", "postcode", "city",
                    "country", "file")
DEFAULT_PART_LETTERS = 1000
ADDRESS_LINES = 5


class PrintBatchError(Exception):
    """The batch cannot be built; the text names the message by id, never a tenant."""


@dataclass(frozen=True)
class BatchLetter:
    number: int
    first_page: int  # in its part's file
    pages: int
    blank_pages: int
    message: Message
    lines: tuple[str, ...]
    postcode: str
    city: str
    country: str
    file: str = ""

    @property
    def sheets(self) -> int:
        return (self.pages + self.blank_pages) // 2

    def row(self) -> list[str]:
        lines = list(self.lines[:ADDRESS_LINES]) + [""] * (ADDRESS_LINES - len(self.lines))
        return [str(self.number), str(self.first_page), str(self.pages),
                str(self.blank_pages), str(self.sheets), str(self.message.pk),
                key_hash(self.message.idempotency_key), self.message.template,
                self.message.language, *lines, self.postcode, self.city, self.country,
                self.file]


def key_hash(idempotency_key: str) -> str:
    """A short, stable stand-in for a message's idempotency key (the key itself names
    the case; the print house does not need it)."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]


def batch_paths(day: dt.date) -> tuple[Path, Path]:
    folder = LetterChannel.folder_for(day)
    stem = f"print-batch-{day.isoformat()}"
    return folder / f"{stem}.pdf", folder / f"{stem}.csv"


def letters_sent_on(day: dt.date) -> list[Message]:
    """The letters sent on `day` (Europe/Amsterdam), in the order they were sent: a
    letter sent later in the day comes last, and the numbers before it stay."""
    start = dt.datetime.combine(day, dt.time(0, 0), AMSTERDAM)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), AMSTERDAM)
    return list(Message.objects.filter(channel="letter", status=Message.Status.SENT,
                                       sent_at__gte=start, sent_at__lt=end)
                .order_by("sent_at", "id"))


def _letter_file(message: Message) -> Path:
    ref = message.delivery_ref or ""
    if ref.endswith(".pdf"):
        path = Path(ref)
        return path if path.is_absolute() else Path(settings.VROEG_HOME) / path
    return LetterChannel.folder_for(message.decided_on) / Path(ref).name


def _address(message: Message) -> tuple[tuple[str, ...], str, str, str]:
    ctx = message.context or {}
    postal = ctx.get("postal")
    if not isinstance(postal, dict) or not ctx.get("name") or not postal.get("postcode"):
        raise PrintBatchError(f"brief / letter {message.pk}: geen postadres in het bericht / "
                              "no postal address in the message")
    lines = tuple(envelope_lines(str(ctx["name"]), postal))
    city = " ".join(str(postal.get("city") or "").split()).upper()
    return lines, format_postcode(str(postal["postcode"])), city, postal_country(postal)


def _part_letters() -> int:
    return max(1, int(getattr(settings, "VROEG_PRINT_BATCH_LETTERS", DEFAULT_PART_LETTERS)))


def part_paths(day: dt.date, parts: int) -> list[Path]:
    pdf, _ = batch_paths(day)
    if parts <= 1:
        return [pdf]
    return [pdf.with_name(f"{pdf.stem}-{n:03d}.pdf") for n in range(1, parts + 1)]


def _join(messages: list[Message], day: dt.date, first_number: int = 1,
          file: str = "") -> tuple[bytes, list[BatchLetter]]:
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

    writer = PdfWriter()
    letters: list[BatchLetter] = []
    page = 1
    for number, message in enumerate(messages, start=first_number):
        path = _letter_file(message)
        try:
            reader = PdfReader(path)
            count = len(reader.pages)
        except FileNotFoundError:
            raise PrintBatchError(f"brief / letter {message.pk}: PDF ontbreekt / PDF missing: "
                                  f"{path.name}") from None
        except (PdfReadError, OSError, ValueError) as exc:
            raise PrintBatchError(f"brief / letter {message.pk}: PDF onleesbaar / PDF "
                                  f"unreadable ({type(exc).__name__})") from None
        if count == 0:
            raise PrintBatchError(f"brief / letter {message.pk}: PDF zonder pagina's / PDF "
                                  "without pages")
        lines, postcode, city, country = _address(message)
        writer.append(reader, import_outline=False,
                      outline_item=f"Brief {number} / letter {number} (bericht / message "
                                   f"{message.pk})")
        blank = count % 2
        if blank:
            box = reader.pages[-1].mediabox
            writer.add_blank_page(width=box.width, height=box.height)
        letters.append(BatchLetter(number=number, first_page=page, pages=count,
                                   blank_pages=blank, message=message, lines=lines,
                                   postcode=postcode, city=city, country=country, file=file))
        page += count + blank
    # The letters share their fonts and the logo: keep one copy of each.
    writer.compress_identical_objects()
    # Fixed metadata and no random file id: the same letters give the same bytes.
    writer.add_metadata({"/Title": f"vroeg printbatch / print batch {day.isoformat()}",
                         "/Producer": "vroeg", "/Creator": "vroeg"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), letters


def _manifest(letters: list[BatchLetter]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(MANIFEST_COLUMNS)
    for letter in letters:
        w.writerow(letter.row())
    return out.getvalue().encode("utf-8")


def _write_if_changed(path: Path, data: bytes) -> bool:
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    atomic_write_bytes(path, data)
    return True


def build_print_batch(day: dt.date) -> tuple[Path | None, Path | None, int]:
    """(re)build the print batch of `day`: (pdf path, csv path, number of letters).

    No letters sent that day: (None, None, 0), and a batch file left from an earlier
    build is removed. Raises PrintBatchError (naming the message id) when a sent
    letter's PDF is missing or unreadable: nothing is silently left out, and the files
    of an earlier build stay as they were.
    """
    pdf_path, csv_path = batch_paths(day)
    messages = letters_sent_on(day)
    stale = set(pdf_path.parent.glob(f"{pdf_path.stem}*.pdf")) if pdf_path.parent.is_dir() \
        else set()
    if not messages:
        for path in (*stale, csv_path):
            path.unlink(missing_ok=True)
        return None, None, 0
    size = _part_letters()
    chunks = [messages[i:i + size] for i in range(0, len(messages), size)]
    paths = part_paths(day, len(chunks))
    # Build every part first (in memory one at a time), write only when all succeeded:
    # a missing letter PDF leaves the earlier batch as it was.
    parts: list[tuple[Path, bytes]] = []
    letters: list[BatchLetter] = []
    for n, (chunk, path) in enumerate(zip(chunks, paths, strict=True)):
        data, joined = _join(chunk, day, first_number=n * size + 1, file=path.name)
        parts.append((path, data))
        letters += joined
        del data
    manifest = _manifest(letters)
    changed = False
    for path, data in parts:
        changed = _write_if_changed(path, data) or changed
    for old in stale - set(paths):
        old.unlink(missing_ok=True)
    changed = _write_if_changed(csv_path, manifest) or changed
    pdf_path = paths[0]
    pages = sum(letter.pages + letter.blank_pages for letter in letters)
    log.info("print batch %s: %d letters, %d pages%s", day, len(letters), pages,
             "" if changed else " (unchanged)")
    return pdf_path, csv_path, len(letters)


__all__ = ["MANIFEST_COLUMNS", "PrintBatchError", "batch_paths", "build_print_batch",
           "key_hash", "letters_sent_on"]
