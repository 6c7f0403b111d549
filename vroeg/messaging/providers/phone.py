"""Phone numbers and keywords for text messages, the same for every provider."""

from __future__ import annotations

import re

import phonenumbers

from vroeg.messaging.errors import PermanentSendError

#: Numbers without a country code are read as Dutch.
DEFAULT_REGION = "NL"

_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE,
                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_mobile(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 (+31612345678). PermanentSendError when it is not a valid
    mobile number: a landline cannot receive SMS or WhatsApp, and retrying will not
    change the number. The error text never holds the number itself."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException:
        raise PermanentSendError("no valid mobile number (E.164, e.g. +31612345678)") from None
    if not phonenumbers.is_valid_number(number):
        raise PermanentSendError("no valid mobile number (E.164, e.g. +31612345678)")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise PermanentSendError("not a mobile number (landline or service number)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_sender(raw: str, region: str = DEFAULT_REGION) -> str:
    """A sender of an inbound message in E.164, as far as it can be read; the number
    as given (stripped) when it cannot: the household lookup then finds nobody."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException:
        return (raw or "").strip()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A tenant's reply that is only a keyword (any case, punctuation around it ignored)
# changes what we may send. Dutch first; Twilio's own English defaults too
# (STOP, UNSUBSCRIBE, END, QUIT, STOPALL, REVOKE, OPTOUT, CANCEL; START, YES, UNSTOP:
# https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out), because Twilio
# blocks the number on those anyway and we should know it. "Stop met sturen" is a
# message for a person, not a keyword: the staff task covers it.
OPT_OUT_WORDS = frozenset({"STOP", "STOPPEN", "UIT", "AFMELDEN", "UNSUBSCRIBE", "END", "QUIT",
                           "STOPALL", "REVOKE", "OPTOUT", "CANCEL"})
OPT_IN_WORDS = frozenset({"START", "JA", "AANMELDEN", "YES", "UNSTOP"})
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def keyword(text: str) -> str:
    """'stop', 'start' or '' for a message text."""
    word = _EDGES.sub("", text or "").upper()
    if word in OPT_OUT_WORDS:
        return "stop"
    if word in OPT_IN_WORDS:
        return "start"
    return ""


__all__ = ["DEFAULT_REGION", "OPT_IN_WORDS", "OPT_OUT_WORDS", "keyword", "normalise_mobile",
           "normalise_sender"]
