"""Text-message providers (SMS, WhatsApp) behind one interface (base.py).

``get_text_provider(channel)`` gives the provider configured for a channel
(settings.VROEG_SMS_PROVIDER, VROEG_WHATSAPP_PROVIDER): ``file`` (the embedded
default: JSON files in outbox/<channel>/) or ``twilio``. ``get_webhook_provider(name)``
gives the provider a webhook URL names, to check and read what it sends.
"""

from __future__ import annotations

from django.conf import settings

from vroeg.messaging.errors import ChannelDown, PermanentSendError
from vroeg.messaging.providers.base import TextProvider

TEXT_CHANNELS = ("sms", "whatsapp")
PROVIDER_NAMES = ("file", "twilio")


def _make(name: str, channel: str) -> TextProvider:
    # Imported here: the file provider uses channels.py, which uses this package.
    if name == "file":
        from vroeg.messaging.providers.file import FileTextProvider

        return FileTextProvider(channel)
    if name == "twilio":
        from vroeg.messaging.providers.twilio import TwilioProvider

        return TwilioProvider(channel)
    raise ChannelDown(f"unknown text provider {name!r} (VROEG_{channel.upper()}_PROVIDER: "
                      f"{', '.join(PROVIDER_NAMES)})")


def get_text_provider(channel: str) -> TextProvider:
    """The provider for "sms" or "whatsapp" as configured. An unknown provider name is
    ChannelDown: that channel waits, the others go on."""
    if channel not in TEXT_CHANNELS:
        raise PermanentSendError(f"no text provider for channel {channel!r}")
    name = str(getattr(settings, f"VROEG_{channel.upper()}_PROVIDER", "file") or "file")
    return _make(name.strip().lower(), channel)


def get_webhook_provider(name: str) -> TextProvider | None:
    """The provider behind /webhooks/<name>/..., None when it has no webhooks. One
    instance serves both channels: an inbound message says itself where it came in."""
    if name == "twilio":
        return _make("twilio", "sms")
    return None


__all__ = ["PROVIDER_NAMES", "TEXT_CHANNELS", "get_text_provider", "get_webhook_provider"]
