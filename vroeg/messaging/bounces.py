"""Email bounces: delivery status notifications (RFC 3464) back to their message.

A mail server that cannot deliver sends a DSN (multipart/report, report-type
delivery-status) to the sender's address. Point that mailbox (a Maildir, or files
saved from it) at vroeg: each report is matched to the message it is about by the
Message-ID vroeg gave it (stable per idempotency key, channels.message_id), found in
the returned headers. A permanent failure (Action: failed, Status 5.x.x) marks the
message bounced and failed, and the step's next channel takes over (dispatch.
fall_back); a delay (4.x.x) is only noted. Reports that are not about a vroeg message
are counted and left alone. Nothing of the tenant's address is logged.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.messaging.models import Message

_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_STATUS = re.compile(r"^\s*([245])\.\d{1,3}\.\d{1,3}")


@dataclass(frozen=True)
class Bounce:
    message_id: str       # the original Message-ID, with angle brackets
    status: str           # the DSN status code, e.g. "5.1.1"
    permanent: bool
    diagnostic: str = ""  # the Diagnostic-Code's type and number only, no address


@dataclass
class BounceResult:
    read: int = 0
    bounced: int = 0        # permanent: the message failed, the next channel took over
    delayed: int = 0
    unknown: int = 0        # a report about no vroeg message
    not_reports: int = 0    # not a delivery status notification
    errors: list[str] = field(default_factory=list)


def _headers_part(msg: EmailMessage) -> str:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            return payload.decode("utf-8", "replace") if isinstance(payload, bytes) \
                else str(part.get_payload())
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and hasattr(inner[0], "get"):
                return str(inner[0].get("Message-ID", ""))
    return ""


def parse_dsn(data: bytes) -> Bounce | None:
    """The bounce a DSN reports, or None when the bytes are not a DSN about one message."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    report_type = str(msg.get_param("report-type", "") or "")
    if msg.get_content_type() != "multipart/report" or report_type.lower() != "delivery-status":
        return None
    status, action, diagnostic = "", "", ""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # The per-recipient fields follow the per-message ones; each block is headers.
        blocks = part.get_payload()
        texts = [str(b) for b in blocks] if isinstance(blocks, list) else [str(blocks)]
        for text in texts:
            for line in text.splitlines():
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key == "status" and not status:
                    status = value.strip()
                elif key == "action" and not action:
                    action = value.strip().lower()
                elif key == "diagnostic-code" and not diagnostic:
                    # "smtp; 550 5.1.1 <x@y>: unknown": keep the type and the codes.
                    diagnostic = " ".join(re.findall(r"\b(?:smtp|\d{3}|\d\.\d+\.\d+)\b",
                                                     value.lower()))[:60]
    found = _MESSAGE_ID.findall(_headers_part(msg))
    original = next((m for m in found if m.startswith("<vroeg.")), found[0] if found else "")
    match = _STATUS.match(status)
    if not original or match is None:
        return None
    permanent = match.group(1) == "5" or action == "failed"
    return Bounce(message_id=original, status=status.split()[0], permanent=permanent,
                  diagnostic=diagnostic)


def apply_bounce(bounce: Bounce, now: dt.datetime) -> str:
    """'bounced', 'delayed' or 'unknown'."""
    from vroeg.messaging.dispatch import on_undelivered

    message = Message.objects.filter(channel="email", provider_id=bounce.message_id).first()
    if message is None:
        return "unknown"
    detail = f", {bounce.diagnostic}" if bounce.diagnostic else ""
    reason = f"onbestelbaar / bounced ({bounce.status}{detail})"
    if not bounce.permanent:
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(
                last_error=f"vertraagd / delayed ({bounce.status})"[:300])
        return "delayed"
    if message.delivery == Message.Delivery.BOUNCED:
        return "bounced"  # the same report twice: handled once
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(delivery=Message.Delivery.BOUNCED,
                                                     delivery_at=now)
        audit("system:bounces", "message.bounced", message, summary=reason[:300])
    on_undelivered(message, reason, now)
    return "bounced"


def read_bounces(paths: list[Path], now: dt.datetime | None = None) -> BounceResult:
    """Every file given (or in a Maildir's new/ and cur/ folders) as a possible DSN."""
    now = now or timezone.now()
    result = BounceResult()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for sub in ("new", "cur", ""):
                folder = path / sub if sub else path
                if folder.is_dir():
                    files += sorted(p for p in folder.iterdir() if p.is_file())
        else:
            files.append(path)
    for file in dict.fromkeys(files):
        result.read += 1
        try:
            bounce = parse_dsn(file.read_bytes())
        except (OSError, ValueError) as exc:
            result.errors.append(f"{file.name}: {type(exc).__name__}")
            continue
        if bounce is None:
            result.not_reports += 1
            continue
        outcome = apply_bounce(bounce, now)
        if outcome == "bounced":
            result.bounced += 1
        elif outcome == "delayed":
            result.delayed += 1
        else:
            result.unknown += 1
    return result


__all__ = ["Bounce", "BounceResult", "apply_bounce", "parse_dsn", "read_bounces"]
