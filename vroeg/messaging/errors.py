"""Send errors shared by the dispatcher, the channels and the providers.

str(error) is stored in Message.last_error and logged: it never holds personal data
(no address, phone number, name or message text; not the server's reply either,
which may quote the address).
"""

from __future__ import annotations


class SendError(Exception):
    """A send failed; str(error) is safe to store and log (no personal data)."""

    permanent = False


class TransientSendError(SendError):
    """Worth another attempt later (server busy, disk full, ...)."""


class PermanentSendError(SendError):
    """Retrying cannot help (no valid recipient, refused address, bad template)."""

    permanent = True


class ChannelDown(TransientSendError):
    """The channel cannot be reached at all: the rest of this run skips it."""


__all__ = ["ChannelDown", "PermanentSendError", "SendError", "TransientSendError"]
