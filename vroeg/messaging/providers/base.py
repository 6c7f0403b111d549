"""One provider-neutral interface for text messages (SMS and WhatsApp).

The dispatcher (messaging/dispatch.py) hands a provider a rendered text and the
message's idempotency key; the provider sends it and returns its own id. Exactly once:
before a message is sent again after a crash (it was left "sending"), the dispatcher
asks the provider whether it already holds a message for that key (``find_sent``);
only when it does not is the message sent again.

Webhooks (messaging/webhooks.py) hand the provider the raw request; it checks the
signature and says what happened: a delivery status, or an inbound message (STOP).

Errors: raise the dispatcher's TransientSendError (retry later), PermanentSendError
(never retry; the next channel of the step is tried), ChannelDown (the provider is
unreachable: the rest of this run skips it) or RateLimited (retry after its delay).
Their texts must not contain personal data (no phone number, no message text).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from vroeg.messaging.errors import ChannelDown, PermanentSendError, TransientSendError

# Delivery states the shell understands (Message.Delivery).
ACCEPTED = "accepted"
DELIVERED = "delivered"
READ = "read"
UNDELIVERED = "undelivered"


class RateLimited(TransientSendError):
    """The provider said slow down (HTTP 429); retry after `retry_after` seconds."""

    def __init__(self, text: str, retry_after: float = 60.0) -> None:
        super().__init__(text)
        self.retry_after = retry_after


class DeliveryUnknown(TransientSendError):
    """The send request may have reached the provider (no answer in time, a 5xx): the
    message may be out. Before sending it again, look it up with ``find_sent``."""


class NoAnswer(DeliveryUnknown, ChannelDown):
    """The request went out but no answer came (read timeout, connection dropped): maybe
    sent (DeliveryUnknown), and the provider is not answering (ChannelDown: skip it for
    the rest of this run)."""


class Unsubscribed(PermanentSendError):
    """The provider refuses the number because its owner opted out (Twilio 21610, the
    tenant sent STOP): never retry on this channel."""


class InvalidSignature(Exception):
    """A webhook request whose signature does not check out: refused, nothing done."""


@dataclass(frozen=True)
class Receipt:
    provider_id: str               # the provider's message id
    status: str = ACCEPTED          # what the send call answered


@dataclass(frozen=True)
class OutgoingText:
    to: str                         # E.164, e.g. +31612345678
    text: str
    key: str                        # the message's idempotency key
    #: WhatsApp outside the 24-hour window needs a pre-approved template: its id
    #: (e.g. a Twilio ContentSid) and variables; "" for SMS or free text.
    template_id: str = ""
    template_variables: Mapping[str, str] = field(default_factory=dict)
    status_callback: str = ""       # our webhook URL for delivery reports


@dataclass(frozen=True)
class StatusUpdate:
    provider_id: str
    status: str                     # ACCEPTED, DELIVERED, READ or UNDELIVERED
    error_code: str = ""            # the provider's code, for last_error (no personal data)
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Inbound:
    sender: str                     # E.164
    text: str
    opt_out: bool                   # STOP, STOPPEN, UIT, ... or the provider's flag
    opt_in: bool = False            # START, ...
    provider_id: str = ""
    channel: str = ""               # "sms" or "whatsapp": where it came in


@dataclass(frozen=True)
class WebhookRequest:
    """What a webhook view passes on: the full URL the provider called, the form or
    JSON body as parsed key/values, the raw body and the headers."""

    url: str
    params: Mapping[str, str]
    body: bytes
    headers: Mapping[str, str]


class TextProvider(Protocol):
    name: str          # "twilio", ...
    channel: str       # "sms" or "whatsapp"

    def send(self, message: OutgoingText) -> Receipt: ...

    def find_sent(self, message: OutgoingText, since: dt.datetime) -> Receipt | None:
        """The provider's record of this message when it was already sent (a crash
        between the provider's answer and our record), else None."""
        ...

    def parse_status(self, request: WebhookRequest) -> StatusUpdate:
        """A delivery report; InvalidSignature when it is not from the provider."""
        ...

    def parse_inbound(self, request: WebhookRequest) -> Inbound:
        """A message from a tenant; InvalidSignature when not from the provider."""
        ...

    def close(self) -> None: ...


__all__ = ["ACCEPTED", "DELIVERED", "READ", "UNDELIVERED", "DeliveryUnknown", "Inbound",
           "InvalidSignature", "NoAnswer", "OutgoingText", "RateLimited", "Receipt",
           "StatusUpdate", "TextProvider", "Unsubscribed", "WebhookRequest"]
