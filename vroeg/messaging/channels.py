"""Channels: how a rendered message leaves the building (embedded default).

- email: SMTP through Django's backend when settings.EMAIL_HOST is set, otherwise
  an RFC 5322 file ``outbox/email/<key>.eml``;
- sms: ``outbox/sms/<key>.json`` (to, text, segments) for a gateway to pick up;
- letter: a PDF made with WeasyPrint, ``outbox/letters/<decided_on>/<key>.pdf``.

File names come from the message's idempotency key and every file is written to a
temporary name and then renamed, so sending the same message again rewrites the
same file and a reader never sees half a file.

Errors carry a text without personal data (never an address, name or the server's
reply, which may quote the address): it goes into Message.last_error and logs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import generator
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from vroeg.messaging.errors import (
    ChannelDown,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from vroeg.messaging.models import Message
from vroeg.messaging.pdf import NotParallel, PdfPool, PdfWriter, atomic_write, default_workers
from vroeg.messaging.render import LETTER_CSS, TEMPLATE_ROOT, Rendered, sms_segments

__all__ = ["ChannelDown", "Channels", "PermanentSendError", "SendError",
           "TransientSendError"]

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass(frozen=True)
class Sent:
    """What a channel reports after handing a message on."""

    ref: str                 # file path relative to VROEG_HOME, or the provider's id
    provider: str = "file"   # "file", "smtp", "twilio", ...
    provider_id: str = ""    # the provider's message id (SMTP Message-ID, Twilio SID)


class Channel(Protocol):
    name: str

    def send(self, message: Message, rendered: Rendered, now: dt.datetime) -> Sent | str:
        """Send and return what was done (a plain str: a file path)."""
        ...

    def close(self) -> None: ...


def find_sent(channel: Channel, message: Message, rendered: Rendered,
              since: dt.datetime) -> Sent | None:
    """After a crash left the message "sending": did it get out? A channel that can
    tell implements ``find_sent``; one that cannot (SMTP) answers None, and the
    message goes again with the same Message-ID (receivers drop such duplicates)."""
    look = getattr(channel, "find_sent", None)
    return look(message, rendered, since) if look is not None else None


# --- files ----------------------------------------------------------------------------


def safe_stem(key: str) -> str:
    """A file name stem for an idempotency key: the key itself when it is made of
    letters, digits, dot, dash and underscore; otherwise those characters plus a
    short hash of the full key, so that two keys never share a file."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", key).strip("._") or "message"
    if cleaned == key and len(key) <= 120:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{cleaned[:100]}-{digest}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def _home() -> Path:
    return Path(settings.VROEG_HOME)


def _relative(path: Path) -> str:
    try:
        return path.relative_to(_home()).as_posix()
    except ValueError:
        return str(path)


def _file_error(exc: OSError) -> TransientSendError:
    import errno

    name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return TransientSendError(f"could not write the outbox file ({name})")


# --- email ----------------------------------------------------------------------------


def message_id(idempotency_key: str) -> str:
    """A stable Message-ID for a message: the same key always gives the same id, so
    a re-sent email can be recognised as a duplicate. The key is hashed: it may
    hold codes we do not want in mail server logs."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "vroeg.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<vroeg.{digest}@{domain}>"


def build_email(message: Message, rendered: Rendered, now: dt.datetime,
                connection: object | None = None) -> EmailMultiAlternatives:
    corp = settings.VROEG_CORPORATION
    reply_to = str(getattr(settings, "VROEG_MAIL_REPLY_TO", "") or corp.get("email") or "")
    from_addr = settings.DEFAULT_FROM_EMAIL
    if "<" not in from_addr:
        from_addr = formataddr((str(corp.get("name", "")), from_addr))
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_addr,
        to=[message.recipient],
        reply_to=[reply_to] if reply_to else None,
        headers={
            "Message-ID": message_id(message.idempotency_key),
            "Date": formatdate(now.timestamp(), localtime=False),
            "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies wanted
        },
        connection=connection,
    )
    if rendered.html:
        email.attach_alternative(rendered.html, "text/html")
    return email


def _check_email(address: str) -> None:
    try:
        validate_email(address)
    except ValidationError:
        raise PermanentSendError("no valid email address") from None


def _smtp_error(exc: Exception) -> SendError:
    """Classify an SMTP failure; the server's text is left out (it may quote the
    address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        err = f"recipient refused by the mail server (SMTP {', '.join(map(str, codes))})"
        if codes and all(code >= 500 for code in codes):
            return PermanentSendError(err)
        return TransientSendError(err)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return ChannelDown(f"sender refused by the mail server (SMTP {exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ChannelDown(f"mail server login failed (SMTP {exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPResponseException):
        err = f"mail server refused the message (SMTP {exc.smtp_code})"
        return PermanentSendError(err) if exc.smtp_code >= 500 else TransientSendError(err)
    if isinstance(exc, OSError):  # SMTPException, refused connection, timeout
        return ChannelDown(f"mail server not reachable ({type(exc).__name__})")
    return TransientSendError(f"email failed ({type(exc).__name__})")


class EmailChannel:
    """SMTP when settings.EMAIL_HOST is set (one connection per dispatch run), else
    .eml files."""

    name = "email"

    def __init__(self) -> None:
        self.use_smtp = bool(settings.EMAIL_HOST)
        self._connection = None

    def _get_connection(self):  # Django's email backend
        if self._connection is None:
            backend = settings.EMAIL_BACKEND
            if backend.endswith("filebased.EmailBackend"):
                # settings.py picks the file backend when no host was configured at
                # start-up; a host set later (tests, admin) means SMTP.
                backend = SMTP_BACKEND
            timeout = getattr(settings, "EMAIL_TIMEOUT", None) or 30
            conn = get_connection(backend, fail_silently=False, timeout=timeout)
            try:
                conn.open()
            except Exception as exc:  # classified and re-raised below
                raise _smtp_error(exc) from None
            self._connection = conn
        return self._connection

    def send(self, message: Message, rendered: Rendered, now: dt.datetime) -> Sent:
        _check_email(message.recipient)
        if self.use_smtp:
            mid = self._send_smtp(message, rendered, now)
            return Sent(ref=mid, provider="smtp", provider_id=mid)
        return Sent(ref=self._write_eml(message, rendered, now), provider="file",
                    provider_id=message_id(message.idempotency_key))

    def find_sent(self, message: Message, rendered: Rendered, since: dt.datetime) -> Sent | None:
        if self.use_smtp:
            return None  # SMTP cannot be asked; see _send_smtp
        path = self._eml_path(message)
        return Sent(ref=_relative(path), provider="file",
                    provider_id=message_id(message.idempotency_key)) if path.is_file() else None

    def _eml_path(self, message: Message) -> Path:
        return _home() / "outbox" / "email" / f"{safe_stem(message.idempotency_key)}.eml"

    def _send_smtp(self, message: Message, rendered: Rendered, now: dt.datetime) -> str:
        conn = self._get_connection()
        email = build_email(message, rendered, now, connection=conn)
        try:
            sent = conn.send_messages([email])
        except Exception as exc:  # classified and re-raised below
            error = _smtp_error(exc)
            if isinstance(error, ChannelDown):
                self.close()
            raise error from None
        if not sent:
            raise TransientSendError("mail server accepted nothing")
        # Remaining risk: the server has accepted the message but the process dies
        # before dispatch records it as sent. SMTP cannot be asked afterwards, so the
        # next run sends it again with the same Message-ID (receivers that keep
        # Message-IDs drop the duplicate). The SMS and WhatsApp providers are asked.
        return str(email.extra_headers["Message-ID"])

    def _write_eml(self, message: Message, rendered: Rendered, now: dt.datetime) -> str:
        email = build_email(message, rendered, now)
        mime = email.message()
        path = self._eml_path(message)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                gen = generator.BytesGenerator(fh, policy=mime.policy.clone(linesep="\r\n"))
                gen.flatten(mime)

        try:
            atomic_write(path, write)
        except OSError as exc:
            raise _file_error(exc) from None
        return _relative(path)

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


# --- SMS -----------------------------------------------------------------------------


class SmsChannel:
    """One JSON file per SMS in outbox/sms, for a gateway adapter to send."""

    name = "sms"

    def find_sent(self, message: Message, rendered: Rendered, since: dt.datetime) -> Sent | None:
        path = _home() / "outbox" / "sms" / f"{safe_stem(message.idempotency_key)}.json"
        return Sent(ref=_relative(path)) if path.is_file() else None

    def send(self, message: Message, rendered: Rendered, now: dt.datetime) -> str:
        to = re.sub(r"[\s\-()]", "", message.recipient or "")
        if not E164.match(to):
            raise PermanentSendError("no valid mobile number (E.164, e.g. +31612345678)")
        segments, encoding = sms_segments(rendered.text)
        payload = {
            "to": to,
            "text": rendered.text,
            "segments": segments,
            "encoding": encoding,
            "idempotency_key": message.idempotency_key,
            "created_at": now.astimezone(dt.UTC).isoformat(),
        }
        data = json.dumps(payload, ensure_ascii=False, indent=2).encode() + b"\n"
        path = _home() / "outbox" / "sms" / f"{safe_stem(message.idempotency_key)}.json"
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise _file_error(exc) from None
        return _relative(path)

    def close(self) -> None:
        pass


# --- letters -----------------------------------------------------------------------------


class LetterChannel:
    """PDF letters with WeasyPrint (messaging/pdf.py): 10-15 letters a second per core
    for a one- or two-page letter with HarfBuzz-Subset (3.5x fewer without it, see
    check messaging.W002). ``prepare`` writes a batch of letters in worker processes
    side by side (VROEG_LETTER_WORKERS); ``send`` then finds each one written."""

    name = "letter"

    def __init__(self) -> None:
        self._writer: PdfWriter | None = None
        self._pool: PdfPool | None = None
        self._ready: dict[int, Path] = {}  # message pk -> its prepared PDF

    @property
    def writer(self) -> PdfWriter:
        if self._writer is None:  # created on the first letter this process writes
            self._writer = PdfWriter(LETTER_CSS, TEMPLATE_ROOT)
        return self._writer

    @staticmethod
    def folder_for(day: dt.date) -> Path:
        """outbox/letters/<day>/: the day's letters, and its print batch
        (messaging/print_batch.py)."""
        return _home() / "outbox" / "letters" / day.isoformat()

    def path_for(self, message: Message) -> Path:
        return self.folder_for(message.decided_on) / f"{safe_stem(message.idempotency_key)}.pdf"

    def write_pdf(self, html: str, target: Path) -> None:
        self.writer.write(html, target)

    @staticmethod
    def staging_for(message: Message) -> Path:
        """Where a worker writes a letter before its message is claimed: out of the
        day's folder, so a letter that is then not sent (cancelled, claimed elsewhere)
        never sits among the sent ones."""
        return (_home() / "outbox" / "letters" / ".prepared"
                / f"{safe_stem(message.idempotency_key)}.pdf")

    def prepare(self, letters: list[tuple[Message, Rendered]]) -> None:
        """Write these letters' PDFs ahead, side by side. One a worker could not
        write is written again by ``send``, where its error is recorded."""
        if self._pool is None:
            workers = int(getattr(settings, "VROEG_LETTER_WORKERS", 0) or 0) or default_workers()
            self._pool = PdfPool(LETTER_CSS, TEMPLATE_ROOT, workers)
            self._sweep(older_than_s=3600)  # left by a dispatcher that died
        with_html = [(m, r) for m, r in letters if r.html]
        done = self._pool.write_many([(r.html, self.staging_for(m)) for m, r in with_html])
        for (m, _), error in zip(with_html, done, strict=True):
            if error is None:
                self._ready[m.pk] = self.staging_for(m)
            elif not isinstance(error, NotParallel):
                # send writes it itself; a worker that timed out may have left it
                with contextlib.suppress(OSError):
                    self.staging_for(m).unlink()

    def send(self, message: Message, rendered: Rendered, now: dt.datetime) -> str:
        if not rendered.html:
            raise PermanentSendError("letter has no content")
        path = self.path_for(message)
        try:
            staged = self._ready.pop(message.pk, None)
            if staged is not None and staged.exists():
                # Written by a worker: moved into place now that it is claimed, atomically.
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, path)
                return _relative(path)
            atomic_write(path, lambda tmp: self.write_pdf(rendered.html, tmp))
        except OSError as exc:
            raise _file_error(exc) from None
        return _relative(path)

    def _sweep(self, older_than_s: float = 0) -> None:
        """Remove prepared letters nobody sent (and a killed worker's temporary files);
        with an age, only those older (another dispatcher may be sending its own)."""
        folder = _home() / "outbox" / "letters" / ".prepared"
        if not folder.is_dir():
            return
        limit = time.time() - older_than_s
        for f in folder.iterdir():
            with contextlib.suppress(OSError):
                if not older_than_s or f.stat().st_mtime < limit:
                    f.unlink()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
            for staged in self._ready.values():  # prepared, not sent (cancelled, claimed)
                with contextlib.suppress(OSError):
                    staged.unlink()
            self._ready.clear()
            self._sweep(older_than_s=3600)


class TextChannel:
    """SMS or WhatsApp through the configured provider (messaging/providers)."""

    def __init__(self, name: str) -> None:
        from vroeg.messaging.providers import get_text_provider

        self.name = name
        self.provider = get_text_provider(name)

    def _outgoing(self, message: Message, rendered: Rendered) -> Any:
        from vroeg.messaging.providers.base import OutgoingText

        to = re.sub(r"[\s\-()]", "", message.recipient or "")
        if not E164.match(to):
            raise PermanentSendError("no valid mobile number (E.164, e.g. +31612345678)")
        templates = getattr(settings, "VROEG_WHATSAPP_TEMPLATES", {}) or {}
        template_id = templates.get(message.template, "") if self.name == "whatsapp" else ""
        variables = (message.context or {}).get("whatsapp_variables", {}) if template_id else {}
        base = str(getattr(settings, "VROEG_PUBLIC_URL", "") or "").rstrip("/")
        callback = f"{base}/webhooks/{self.provider.name}/status" if base else ""
        return OutgoingText(to=to, text=rendered.text, key=message.idempotency_key,
                            template_id=template_id, template_variables=variables,
                            status_callback=callback)

    def send(self, message: Message, rendered: Rendered, now: dt.datetime) -> Sent:
        receipt = self.provider.send(self._outgoing(message, rendered))
        return Sent(ref=receipt.provider_id, provider=self.provider.name,
                    provider_id=receipt.provider_id)

    def find_sent(self, message: Message, rendered: Rendered, since: dt.datetime) -> Sent | None:
        receipt = self.provider.find_sent(self._outgoing(message, rendered), since)
        if receipt is None:
            return None
        return Sent(ref=receipt.provider_id, provider=self.provider.name,
                    provider_id=receipt.provider_id)

    def close(self) -> None:
        self.provider.close()


def _text_channel(name: str) -> Channel:
    """The provider when one is configured, else the embedded outbox file."""
    configured = getattr(settings, f"VROEG_{name.upper()}_PROVIDER", "file") or "file"
    if name == "sms" and configured == "file":
        return SmsChannel()
    return TextChannel(name)


CHANNEL_CLASSES: dict[str, Callable[[], Channel]] = {
    "email": EmailChannel, "sms": lambda: _text_channel("sms"),
    "whatsapp": lambda: _text_channel("whatsapp"), "letter": LetterChannel}


class Channels:
    """The channels of one dispatch run, created on first use and closed at the end."""

    def __init__(self) -> None:
        self._open: dict[str, Channel] = {}

    def get(self, name: str) -> Channel:
        if name not in self._open:
            cls = CHANNEL_CLASSES.get(name)
            if cls is None:
                raise PermanentSendError(f"unknown channel {name!r}")
            self._open[name] = cls()
        return self._open[name]

    def letters(self) -> LetterChannel:
        channel = self.get("letter")
        assert isinstance(channel, LetterChannel)
        return channel

    def send(self, message: Message, rendered: Rendered, now: dt.datetime) -> Sent:
        done = self.get(message.channel).send(message, rendered, now)
        return done if isinstance(done, Sent) else Sent(ref=done)

    def close(self) -> None:
        """Close every channel, also when one fails (the letters' worker processes
        must stop); the first error is raised after."""
        first: Exception | None = None
        for channel in self._open.values():
            try:
                channel.close()
            except Exception as exc:  # noqa: BLE001 - the others close first
                first = first or exc
        self._open.clear()
        if first is not None:
            raise first

    def __enter__(self) -> Channels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
