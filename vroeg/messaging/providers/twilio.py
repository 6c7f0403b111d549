"""Twilio Programmable Messaging: SMS and WhatsApp through one REST API.

What this relies on, and where it is documented (checked when written):

- Send: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded,
  HTTP Basic auth with the Account SID and Auth Token; parameters To, From or
  MessagingServiceSid, Body, StatusCallback, ContentSid and ContentVariables (a JSON
  string). Answer 201 with the Message resource (sid, status, ...).
  https://www.twilio.com/docs/messaging/api/message-resource;
  twilio-python twilio/rest/api/v2010/account/message/__init__.py (MessageList.create).
- WhatsApp: addresses ``whatsapp:+31...``. A business-initiated message outside the
  24-hour customer service window must be an approved template: ContentSid and
  ContentVariables, without Body (https://www.twilio.com/docs/api/errors/63016);
  From + To with a ContentSid needs no Messaging Service since 2024-09 (Twilio
  changelog "Content Templates no longer need to be sent with Messaging Services").
- List: ``GET .../Messages.json?To=&From=&DateSent>=YYYY-MM-DD&PageSize=`` (the query
  key is ``DateSent>``: twilio-python MessageList.page), dates in GMT, "on or after
  midnight", newest first by DateSent; further pages via ``next_page_uri``
  (twilio-python twilio/base/page.py).
- Errors: JSON ``{"code", "message", "more_info", "status"}`` (twilio-python
  twilio/base/version.py Version.exception). The message may quote the number
  ("The 'To' number ... is not a valid phone number."): it is never copied. Codes:
  20003 authenticate (401), 20403 account suspended, 20429 too many requests (429,
  never processed, safe to retry: https://www.twilio.com/docs/api/errors/20429),
  21211 invalid 'To', 21614 'To' not a mobile number, 21610 recipient unsubscribed,
  21612 not routable, 21408 region not enabled, 21606 'From' cannot send there.
- Status callbacks: form POST with MessageSid, MessageStatus and ErrorCode
  (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status).
  Statuses: accepted, scheduled, queued, sending, sent, delivered, undelivered,
  failed, read (WhatsApp), canceled, partially_delivered (twilio-python
  MessageInstance.Status). Callbacks may come out of order (webhooks.py keeps the
  furthest state).
- Inbound: form POST with MessageSid, From, To, Body; OptOutType STOP, START or HELP
  when the number is in a Messaging Service with Advanced Opt-Out
  (https://help.twilio.com/articles/31560110671259). An empty ``<Response/>`` sends
  no reply (https://www.twilio.com/docs/messaging/twiml).
- Signature: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, full URL + every
  POST parameter name followed by its value, sorted by name)); Twilio may have signed
  the URL with or without the port; a JSON body is covered by a ``bodySHA256`` query
  parameter instead (https://www.twilio.com/docs/usage/webhooks/webhooks-security;
  twilio-python twilio/request_validator.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings

from vroeg.messaging.errors import (
    ChannelDown,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from vroeg.messaging.providers.base import (
    ACCEPTED,
    DELIVERED,
    READ,
    UNDELIVERED,
    DeliveryUnknown,
    Inbound,
    InvalidSignature,
    NoAnswer,
    OutgoingText,
    RateLimited,
    Receipt,
    StatusUpdate,
    Unsubscribed,
    WebhookRequest,
)
from vroeg.messaging.providers.phone import keyword, normalise_mobile, normalise_sender

API_BASE = "https://api.twilio.com"
CONNECT_TIMEOUT = 5.0  # seconds
DEFAULT_TIMEOUT = 15.0  # seconds to wait for an answer
PAGE_SIZE = 100
LOOKUP_PAGES = 3  # 300 messages to one number since `since`: far more than we ever send
#: Twilio's clock and ours may differ a little.
CLOCK_SKEW = dt.timedelta(minutes=5)
SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'

STATUSES = {
    "accepted": ACCEPTED, "scheduled": ACCEPTED, "queued": ACCEPTED, "sending": ACCEPTED,
    "sent": ACCEPTED, "partially_delivered": ACCEPTED,
    "delivered": DELIVERED, "read": READ,
    "undelivered": UNDELIVERED, "failed": UNDELIVERED, "canceled": UNDELIVERED,
}
#: Held by Twilio but not handed on yet: date_sent is still empty.
NOT_YET_SENT = frozenset({"accepted", "scheduled", "queued", "sending"})

#: Codes that say this message can never go out as it is, in our own words.
PERMANENT_CODES = {
    21211: "invalid 'To' number",
    21614: "'To' is not a mobile number",
    21612: "'To' cannot be reached from this sender",
    21408: "sending to this region is not enabled for the account",
    21606: "the 'From' number cannot send to this number",
    63016: "outside the WhatsApp 24-hour window: a template is needed",
}
UNSUBSCRIBED_CODE = 21610

# Curly quotes and dashes that a Messaging Service's Smart Encoding may have replaced.
_SMART = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " "})


# --- signatures --------------------------------------------------------------------------

def _pairs(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def compute_signature(auth_token: str, url: str,
                      params: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """Twilio's X-Twilio-Signature for a request: the URL, then every parameter name
    followed by its value, sorted by name (a repeated name: its values sorted), HMAC-SHA1
    with the auth token, base64 (twilio-python RequestValidator.compute_signature)."""
    values: dict[str, list[str]] = {}
    for key, value in _pairs(params):
        values.setdefault(key, []).append(value)
    data = url + "".join(key + value for key in sorted(values) for value in sorted(values[key]))
    digest = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> set[str]:
    """The URL with and without its port: Twilio's signing is not consistent about it
    (twilio-python RequestValidator.validate checks both)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    return {url,
            urlunsplit(parts._replace(netloc=f"{prefix}{host}")),
            urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))}


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def check_signature(auth_token: str, request: WebhookRequest) -> None:
    """InvalidSignature unless the request carries Twilio's signature for this URL and
    these parameters."""
    if not auth_token:
        raise InvalidSignature("no Twilio auth token configured: cannot check the signature")
    signature = _header(request.headers, SIGNATURE_HEADER)
    if not signature:
        raise InvalidSignature("no X-Twilio-Signature header")
    pairs: list[tuple[str, str]]
    body_hash = parse_qs(urlsplit(request.url).query).get("bodySHA256")
    if body_hash:
        # JSON body: the URL (with the body's hash in it) is signed, no parameters.
        if not hmac.compare_digest(hashlib.sha256(request.body).hexdigest(), body_hash[0]):
            raise InvalidSignature("body does not match bodySHA256")
        pairs = []
    elif request.body:
        try:
            pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise InvalidSignature("body is not UTF-8 form data") from None
    else:
        pairs = _pairs(request.params)
    for url in _url_variants(request.url):
        if hmac.compare_digest(compute_signature(auth_token, url, pairs), signature):
            return
    raise InvalidSignature("X-Twilio-Signature does not match")


# --- errors ------------------------------------------------------------------------------

def _error_code(response: requests.Response) -> int | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _retry_after(response: requests.Response, default: float = 60.0) -> float:
    """Retry-After in seconds (a number or an HTTP date), kept between 1 s and 1 h."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    return min(max(seconds, 1.0), 3600.0)


def classify(response: requests.Response, sending: bool) -> SendError:
    """The send error for a non-2xx answer. Twilio's own message is left out: it may
    quote the phone number."""
    status = response.status_code
    code = _error_code(response)
    label = f"Twilio HTTP {status}" + (f", error {code}" if code else "")
    if status == 429 or code == 20429:
        return RateLimited(f"{label}: too many requests", retry_after=_retry_after(response))
    if status in (401, 403):
        return ChannelDown(f"{label}: credentials or account refused "
                           "(VROEG_TWILIO_ACCOUNT_SID, VROEG_TWILIO_AUTH_TOKEN)")
    if status == 404:
        return ChannelDown(f"{label}: account or API address not found "
                           "(VROEG_TWILIO_ACCOUNT_SID, VROEG_TWILIO_API_BASE)")
    if status >= 500:
        # A 5xx after a send may still have created the message: look it up first.
        cls = DeliveryUnknown if sending else TransientSendError
        return cls(f"{label}: provider error")
    if code == UNSUBSCRIBED_CODE:
        return Unsubscribed(f"{label}: the recipient unsubscribed (STOP)")
    if code in PERMANENT_CODES:
        return PermanentSendError(f"{label}: {PERMANENT_CODES[code]}")
    return PermanentSendError(f"{label}: request refused")


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when no connection was made (refused, unknown host): nothing was sent."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError |
                      urllib3.exceptions.ConnectTimeoutError)


def _normal(text: str) -> str:
    return (text or "").replace("\r\n", "\n").translate(_SMART).strip()


def _date(value: Any) -> dt.datetime | None:
    """Twilio's RFC 2822 dates ("Fri, 13 Aug 2010 01:16:24 +0000")."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# --- the provider ------------------------------------------------------------------------

class TwilioProvider:
    """SMS (channel "sms") or WhatsApp (channel "whatsapp") through Twilio."""

    name = "twilio"

    def __init__(self, channel: str, *, account_sid: str | None = None,
                 auth_token: str | None = None, sms_from: str | None = None,
                 whatsapp_from: str | None = None, messaging_service_sid: str | None = None,
                 api_base: str | None = None, timeout: float | None = None) -> None:
        def setting(name: str, default: Any = "") -> Any:
            return getattr(settings, name, default) or default

        self.channel = channel
        self.account_sid = account_sid or setting("VROEG_TWILIO_ACCOUNT_SID")
        self.auth_token = auth_token or setting("VROEG_TWILIO_AUTH_TOKEN")
        self.sms_from = sms_from or setting("VROEG_TWILIO_FROM")
        self.whatsapp_from = whatsapp_from or setting("VROEG_TWILIO_WHATSAPP_FROM")
        self.messaging_service_sid = (messaging_service_sid
                                      or setting("VROEG_TWILIO_MESSAGING_SERVICE_SID"))
        self.api_base = str(api_base or setting("VROEG_TWILIO_API_BASE", API_BASE)).rstrip("/")
        self.timeout = float(timeout or setting("VROEG_TWILIO_TIMEOUT", DEFAULT_TIMEOUT))
        public = str(setting("VROEG_PUBLIC_URL")).rstrip("/")
        self.default_callback = f"{public}/webhooks/twilio/status" if public else ""
        self._session: requests.Session | None = None

    # -- plumbing

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            session.auth = (self.account_sid, self.auth_token)
            session.headers.update({"Accept": "application/json", "User-Agent": "vroeg"})
            self._session = session
        return self._session

    @property
    def messages_url(self) -> str:
        return f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def _check_config(self) -> None:
        if not (self.account_sid and self.auth_token):
            raise ChannelDown("Twilio is not configured "
                              "(VROEG_TWILIO_ACCOUNT_SID, VROEG_TWILIO_AUTH_TOKEN)")

    def address(self, number: str) -> str:
        return f"whatsapp:{number}" if self.channel == "whatsapp" else number

    def sender(self) -> dict[str, str]:
        """From (our number) or MessagingServiceSid (Twilio picks the number)."""
        if self.channel == "whatsapp":
            if self.whatsapp_from:
                wa = self.whatsapp_from
                return {"From": wa if wa.startswith("whatsapp:") else f"whatsapp:{wa}"}
            if self.messaging_service_sid:
                return {"MessagingServiceSid": self.messaging_service_sid}
            raise ChannelDown("no Twilio WhatsApp sender configured (VROEG_TWILIO_WHATSAPP_FROM "
                              "or VROEG_TWILIO_MESSAGING_SERVICE_SID)")
        if self.messaging_service_sid:
            return {"MessagingServiceSid": self.messaging_service_sid}
        if self.sms_from:
            return {"From": self.sms_from}
        raise ChannelDown("no Twilio SMS sender configured (VROEG_TWILIO_FROM "
                          "or VROEG_TWILIO_MESSAGING_SERVICE_SID)")

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        sending = method == "POST"
        try:
            response = self.session.request(method, url, timeout=(CONNECT_TIMEOUT, self.timeout),
                                            allow_redirects=False, **kwargs)
        except requests.exceptions.ConnectTimeout:
            raise ChannelDown("Twilio not reachable (connect timeout)") from None
        except requests.exceptions.ReadTimeout:
            if sending:
                raise NoAnswer("no answer from Twilio in time: the message may be out") from None
            raise ChannelDown("no answer from Twilio in time") from None
        except requests.exceptions.SSLError:
            raise ChannelDown("Twilio not reachable (TLS error)") from None
        except requests.exceptions.ConnectionError as exc:
            if sending and not _never_connected(exc):
                raise NoAnswer("connection to Twilio dropped: the message may be out") from None
            raise ChannelDown("Twilio not reachable (connection failed)") from None
        except requests.RequestException as exc:
            raise ChannelDown(f"Twilio request failed ({type(exc).__name__})") from None
        if 200 <= response.status_code < 300:
            return response
        if 300 <= response.status_code < 400:
            raise ChannelDown(f"Twilio HTTP {response.status_code}: unexpected redirect "
                              "(VROEG_TWILIO_API_BASE)")
        raise classify(response, sending)

    # -- sending

    def send(self, message: OutgoingText) -> Receipt:
        self._check_config()
        to = normalise_mobile(message.to)
        data: dict[str, str] = {"To": self.address(to), **self.sender()}
        if message.template_id:
            # A template replaces the Body (error 63016 says: no Body with ContentSid).
            data["ContentSid"] = message.template_id
            if message.template_variables:
                data["ContentVariables"] = json.dumps(dict(message.template_variables),
                                                      ensure_ascii=False)
        elif message.text.strip():
            data["Body"] = message.text
        else:
            raise PermanentSendError("the message has no text")
        callback = message.status_callback or self.default_callback
        if callback:
            data["StatusCallback"] = callback
        response = self._request("POST", self.messages_url, data=data)
        try:
            payload = response.json()
            sid = str(payload["sid"])
        except (ValueError, KeyError, TypeError):
            raise DeliveryUnknown("unreadable answer from Twilio: the message may be out") from None
        return Receipt(provider_id=sid, status=STATUSES.get(str(payload.get("status")), ACCEPTED))

    def find_sent(self, message: OutgoingText, since: dt.datetime) -> Receipt | None:
        """The message Twilio holds for this one, else None.

        Twilio keeps no reference of ours, so a message counts as this one when Twilio
        holds an outbound message to the same number (``To``), from our sender (``From``,
        or our Messaging Service), created at or after ``since`` (less 5 minutes for the
        clocks), with the same text (line ends, surrounding space and curly quotes
        aside); for a WhatsApp template, whose text Twilio fills in, a text that holds
        every template variable. It relies on us never sending the same text to the same
        number twice within that time, which the idempotency keys ensure.

        First the documented filter ``DateSent>=`` the day of ``since`` (GMT) finds what
        Twilio has sent; a message Twilio still queues has no DateSent yet, so the newest
        page without the date filter is read for those. Raises like ``send`` when Twilio
        cannot be asked (the dispatcher then sends nothing and asks again later).
        """
        self._check_config()
        try:
            to = normalise_mobile(message.to)
        except PermanentSendError:
            return None  # such a number was never accepted
        sender = self.sender()
        params: dict[str, str | int] = {"To": self.address(to), "PageSize": PAGE_SIZE}
        if "From" in sender:
            params["From"] = sender["From"]
        since = since.astimezone(dt.UTC)
        dated = {**params, "DateSent>": since.date().isoformat()}
        found = self._scan(dated, message, to, since, sender, LOOKUP_PAGES, unsent_only=False)
        if found is None:
            found = self._scan(params, message, to, since, sender, 1, unsent_only=True)
        return found

    def _scan(self, params: Mapping[str, str | int], message: OutgoingText, to: str,
              since: dt.datetime, sender: Mapping[str, str], pages: int,
              unsent_only: bool) -> Receipt | None:
        url: str | None = self.messages_url
        query: Mapping[str, str | int] | None = params
        for _ in range(pages):
            if url is None:
                break
            response = self._request("GET", url, params=query)
            try:
                payload = response.json()
                records = list(payload.get("messages") or [])
            except (ValueError, AttributeError, TypeError):
                raise TransientSendError("unreadable message list from Twilio") from None
            for record in records:
                if not isinstance(record, dict):
                    continue
                if unsent_only and record.get("status") not in NOT_YET_SENT:
                    continue
                if self._matches(record, message, to, since, sender):
                    return Receipt(provider_id=str(record.get("sid", "")),
                                   status=STATUSES.get(str(record.get("status")), ACCEPTED))
            next_uri = payload.get("next_page_uri")
            url, query = (f"{self.api_base}{next_uri}" if next_uri else None), None
        return None

    def _matches(self, record: Mapping[str, Any], message: OutgoingText, to: str,
                 since: dt.datetime, sender: Mapping[str, str]) -> bool:
        if not str(record.get("direction", "")).startswith("outbound"):
            return False
        if record.get("to") != self.address(to) or not record.get("sid"):
            return False
        if "From" in sender:
            if record.get("from") != sender["From"]:
                return False
        elif record.get("messaging_service_sid") != sender.get("MessagingServiceSid"):
            return False
        created = _date(record.get("date_created"))
        if created is None or created < since - CLOCK_SKEW:
            return False
        body = _normal(str(record.get("body") or ""))
        if message.template_id:
            return all(_normal(str(v)) in body for v in message.template_variables.values())
        return body == _normal(message.text)

    # -- webhooks

    def parse_status(self, request: WebhookRequest) -> StatusUpdate:
        check_signature(self.auth_token, request)
        params = request.params
        sid = params.get("MessageSid") or params.get("SmsSid") or ""
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not status:
            raise ValueError("not a Twilio status callback (no MessageSid or MessageStatus)")
        return StatusUpdate(provider_id=sid, status=STATUSES.get(status, ACCEPTED),
                            error_code=str(params.get("ErrorCode") or "")[:20])

    def parse_inbound(self, request: WebhookRequest) -> Inbound:
        check_signature(self.auth_token, request)
        params = request.params
        raw = params.get("From") or ""
        prefix, _, number = raw.rpartition(":")
        channel = prefix or "sms"  # "whatsapp:+31..." or "+31..."
        text = params.get("Body") or ""
        opt_out_type = (params.get("OptOutType") or "").upper()
        word = keyword(text)
        opt_out = opt_out_type == "STOP" or word == "stop"
        opt_in = not opt_out and (opt_out_type == "START" or word == "start")
        return Inbound(sender=normalise_sender(number), text=text, opt_out=opt_out,
                       opt_in=opt_in, provider_id=params.get("MessageSid")
                       or params.get("SmsSid") or "", channel=channel)

    def webhook_reply(self, kind: str) -> tuple[bytes, str]:
        """What Twilio gets back: for a message, empty TwiML (no automatic reply)."""
        if kind == "inbound":
            return EMPTY_TWIML, "text/xml"
        return b"", "text/plain"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


__all__ = ["API_BASE", "EMPTY_TWIML", "SIGNATURE_HEADER", "TwilioProvider", "check_signature",
           "classify", "compute_signature"]
