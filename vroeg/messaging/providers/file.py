"""The embedded text provider: one JSON file per message in outbox/<channel>/.

SMS files look like the ones SmsChannel writes (to, text, segments, encoding,
idempotency_key, created_at), WhatsApp files add the template and its variables; a
gateway adapter picks them up. The file name comes from the idempotency key, so a
message written twice is one file, and ``find_sent`` is "the file exists".
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from vroeg.messaging.errors import TransientSendError
from vroeg.messaging.providers.base import (
    ACCEPTED,
    Inbound,
    InvalidSignature,
    OutgoingText,
    Receipt,
    StatusUpdate,
    WebhookRequest,
)
from vroeg.messaging.providers.phone import normalise_mobile


class FileTextProvider:
    name = "file"

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def _path(self, key: str) -> tuple[str, Path]:
        # Imported here: channels.py builds its text channels from this package.
        from vroeg.messaging.channels import safe_stem

        stem = safe_stem(key)
        return stem, Path(settings.VROEG_HOME) / "outbox" / self.channel / f"{stem}.json"

    def send(self, message: OutgoingText) -> Receipt:
        from vroeg.messaging.channels import atomic_write_bytes
        from vroeg.messaging.render import sms_segments

        to = normalise_mobile(message.to)
        payload: dict[str, object] = {"to": to, "text": message.text}
        if self.channel == "sms":
            segments, encoding = sms_segments(message.text)
            payload.update(segments=segments, encoding=encoding)
        else:
            payload.update(template_id=message.template_id,
                           template_variables=dict(message.template_variables))
        payload.update(idempotency_key=message.key,
                       created_at=timezone.now().astimezone(dt.UTC).isoformat())
        stem, path = self._path(message.key)
        data = json.dumps(payload, ensure_ascii=False, indent=2).encode() + b"\n"
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise TransientSendError(
                f"could not write the outbox file ({type(exc).__name__})") from None
        # The stem is at most 113 characters: it fits Message.provider_id.
        return Receipt(provider_id=stem, status=ACCEPTED)

    def find_sent(self, message: OutgoingText, since: dt.datetime) -> Receipt | None:
        stem, path = self._path(message.key)
        return Receipt(provider_id=stem, status=ACCEPTED) if path.is_file() else None

    # Nothing calls back for a file: any webhook claiming to be "file" is refused.
    def parse_status(self, request: WebhookRequest) -> StatusUpdate:
        raise InvalidSignature("the file provider has no webhooks")

    def parse_inbound(self, request: WebhookRequest) -> Inbound:
        raise InvalidSignature("the file provider has no webhooks")

    def close(self) -> None:
        pass


__all__ = ["FileTextProvider"]
