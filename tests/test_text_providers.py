"""SMS and WhatsApp providers (Twilio, file) and their webhooks.

Twilio is the edge we cannot reach: a local fake HTTP server speaks the part of its
documented REST API we use (Messages.json create and list, Basic auth, its error JSON
and status codes). The webhook signatures are computed here from Twilio's documented
algorithm, written out independently of the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from decimal import Decimal
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest

from tests.builders import ref
from vroeg.messaging.errors import ChannelDown, PermanentSendError, TransientSendError
from vroeg.messaging.providers import get_text_provider, get_webhook_provider
from vroeg.messaging.providers.base import (
    ACCEPTED,
    DELIVERED,
    READ,
    UNDELIVERED,
    DeliveryUnknown,
    NoAnswer,
    OutgoingText,
    RateLimited,
    Unsubscribed,
)
from vroeg.messaging.providers.file import FileTextProvider
from vroeg.messaging.providers.phone import keyword, normalise_mobile
from vroeg.messaging.providers.twilio import TwilioProvider, compute_signature
from vroeg.runs.clock import today

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token"
SMS_FROM = "+3197010000001"
WA_FROM = "whatsapp:+3197010000002"
SERVICE = "MG" + "a" * 32
MOBILE = "+31612345678"
TEXT = "Beste huurder, uw huur van oktober staat nog open. Betaal via de link: ’t kan snel."
PUBLIC = "https://vroeg.example"
TEMPLATE = "HX" + "b" * 32
TEMPLATE_BODY = "Beste {{1}}, er staat nog {{2}} huur open. Betaal via {{3}}."


# --- a fake Twilio -------------------------------------------------------------------------

def _rfc2822(when: dt.datetime) -> str:
    return format_datetime(when.astimezone(dt.UTC), usegmt=True).replace("GMT", "+0000")


def _parsed(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S %z")


class FakeTwilio:
    """Messages.json as Twilio documents it, for one account. ``script`` holds
    behaviours for the next requests: {"delay": s}, or a status/JSON/headers answer."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.script: list[dict[str, Any]] = []
        self.unsubscribed: set[str] = set()
        self.auto_send = True  # a created message is "sent" at once (date_sent set)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the API

    def _error(self, status: int, code: int, message: str) -> tuple[int, dict, dict]:
        return status, {"code": code, "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status}, {}

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               form: dict[str, list[str]], auth: str) -> tuple[int, Any, dict[str, str]]:
        self.requests.append((method, path, form if method == "POST" else query))
        if self.script:
            step = self.script.pop(0)
            if "delay" in step:
                time.sleep(step["delay"])
            if "status" in step:
                return step["status"], step.get("json", {}), step.get("headers", {})
        expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if auth != expected:
            return self._error(401, 20003, "Authenticate")
        if path != f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json":
            return self._error(404, 20404, "The requested resource was not found")
        if method == "POST":
            return self._create({k: v[-1] for k, v in form.items()})
        return self._list(query)

    def _create(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        to = form.get("To", "")
        number = to.removeprefix("whatsapp:")
        if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
            return self._error(400, 21211, f"The 'To' number {number} is not a valid phone number.")
        if number in self.unsubscribed:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' is required")
        if form.get("ContentSid"):
            if "Body" in form:
                return self._error(400, 21619, "A text message body or media urls is required")
            variables = json.loads(form.get("ContentVariables") or "{}")
            body = TEMPLATE_BODY
            for k, v in variables.items():
                body = body.replace("{{" + k + "}}", v)
        elif form.get("Body"):
            body = form["Body"]
        else:
            return self._error(400, 21602, "Message body is required.")
        now = dt.datetime.now(dt.UTC)
        sender = form.get("From") or (
            ("whatsapp:" if to.startswith("whatsapp:") else "") + "+3197010009999")
        record = {
            "sid": "SM" + secrets.token_hex(16), "account_sid": ACCOUNT, "to": to,
            "from": sender, "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body, "direction": "outbound-api",
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "date_created": _rfc2822(now), "date_updated": _rfc2822(now), "date_sent": None,
            "error_code": None, "num_segments": "1", "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/x.json",
        }
        answer = dict(record)
        if self.auto_send:
            record["status"], record["date_sent"] = "sent", _rfc2822(now)
        self.messages.append(record)
        return 201, answer, {}

    def _list(self, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        q = {k: v[-1] for k, v in query.items()}
        rows = list(self.messages)
        if "To" in q:
            rows = [r for r in rows if r["to"] == q["To"]]
        if "From" in q:
            rows = [r for r in rows if r["from"] == q["From"]]
        if "DateSent>" in q:  # on or after midnight (GMT) of that day
            day = dt.date.fromisoformat(q["DateSent>"][:10])
            rows = [r for r in rows if r["date_sent"] and _parsed(r["date_sent"]).date() >= day]
        # Newest first by DateSent; not yet sent ones first.
        rows.sort(key=lambda r: _parsed(r["date_sent"]) if r["date_sent"] else
                  dt.datetime.max.replace(tzinfo=dt.UTC), reverse=True)
        size = int(q.get("PageSize", "50"))
        page = int(q.get("Page", "0"))
        chunk = rows[page * size:(page + 1) * size]
        base = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
        more = {k: v for k, v in q.items() if k not in ("Page", "PageToken")}
        next_uri = (f"{base}?{urlencode({**more, 'Page': page + 1, 'PageToken': 'PA' + str(page)})}"
                    if (page + 1) * size < len(rows) else None)
        return 200, {"messages": chunk, "page": page, "page_size": size,
                     "next_page_uri": next_uri, "previous_page_uri": None,
                     "first_page_uri": f"{base}?{urlencode({**more, 'Page': 0})}",
                     "start": page * size, "end": page * size + len(chunk),
                     "uri": base}, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = parse_qs(raw, keep_blank_values=True)
                status, payload, headers = fake.handle(
                    method, parts.path, parse_qs(parts.query, keep_blank_values=True), form,
                    self.headers.get("Authorization", ""))
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def fake():
    server = FakeTwilio().start()
    yield server
    server.stop()


@pytest.fixture
def twilio_settings(settings, fake):
    settings.VROEG_SMS_PROVIDER = "twilio"
    settings.VROEG_WHATSAPP_PROVIDER = "twilio"
    settings.VROEG_TWILIO_ACCOUNT_SID = ACCOUNT
    settings.VROEG_TWILIO_AUTH_TOKEN = TOKEN
    settings.VROEG_TWILIO_FROM = SMS_FROM
    settings.VROEG_TWILIO_WHATSAPP_FROM = WA_FROM
    settings.VROEG_TWILIO_MESSAGING_SERVICE_SID = ""
    settings.VROEG_TWILIO_API_BASE = fake.base
    settings.VROEG_TWILIO_TIMEOUT = 0.5
    settings.VROEG_PUBLIC_URL = PUBLIC
    return settings


def sms(text: str = TEXT, to: str = MOBILE, key: str = "msg:1:step1") -> OutgoingText:
    return OutgoingText(to=to, text=text, key=key,
                        status_callback=f"{PUBLIC}/webhooks/twilio/status")


# --- phone numbers and keywords -------------------------------------------------------------

def test_numbers_are_normalised_to_e164_and_must_be_mobile():
    assert normalise_mobile("06 12 34 56 78") == MOBILE
    assert normalise_mobile("+31 (0)6-12345678") == MOBILE
    assert normalise_mobile("0032 470 12 34 56") == "+32470123456"
    for bad in ("", "99", "020 987 65 43", "0800 9876", "+31 6 9876"):
        with pytest.raises(PermanentSendError) as err:
            normalise_mobile(bad)
        assert "987" not in str(err.value)


@pytest.mark.parametrize("text,word", [
    ("STOP", "stop"), ("stop", "stop"), (" Stoppen! ", "stop"), ("uit", "stop"),
    ("Afmelden.", "stop"), ("START", "start"), ("ja", "start"), ("Ja!", "start"),
    ("stop met sturen", ""), ("Ik kan pas vrijdag betalen", ""), ("", ""),
])
def test_keywords(text, word):
    assert keyword(text) == word


# --- sending --------------------------------------------------------------------------------

def test_factory_gives_the_configured_provider(settings, twilio_settings):
    assert isinstance(get_text_provider("sms"), TwilioProvider)
    wa = get_text_provider("whatsapp")
    assert isinstance(wa, TwilioProvider) and wa.channel == "whatsapp"
    settings.VROEG_SMS_PROVIDER = "file"
    assert isinstance(get_text_provider("sms"), FileTextProvider)
    settings.VROEG_WHATSAPP_PROVIDER = "carrier-pigeon"
    with pytest.raises(ChannelDown):
        get_text_provider("whatsapp")
    with pytest.raises(PermanentSendError):
        get_text_provider("letter")
    assert get_webhook_provider("twilio") is not None
    assert get_webhook_provider("file") is None


def test_send_sms(twilio_settings, fake):
    provider = get_text_provider("sms")
    receipt = provider.send(sms(to="06-12345678"))
    provider.close()
    assert receipt.provider_id.startswith("SM") and len(receipt.provider_id) == 34
    assert receipt.status == ACCEPTED
    method, path, form = fake.requests[-1]
    assert (method, path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    assert form == {"To": [MOBILE], "From": [SMS_FROM], "Body": [TEXT],
                    "StatusCallback": [f"{PUBLIC}/webhooks/twilio/status"]}


def test_send_sms_through_a_messaging_service(twilio_settings, fake):
    twilio_settings.VROEG_TWILIO_MESSAGING_SERVICE_SID = SERVICE
    provider = get_text_provider("sms")
    receipt = provider.send(sms())
    form = fake.requests[-1][2]
    assert form["MessagingServiceSid"] == [SERVICE] and "From" not in form
    # Twilio picks the number: the lookup filters on To and checks the service.
    found = provider.find_sent(sms(), dt.datetime.now(dt.UTC))
    assert found is not None and found.provider_id == receipt.provider_id
    assert "From" not in fake.requests[-1][2]


def test_send_whatsapp_with_a_template(twilio_settings, fake):
    provider = get_text_provider("whatsapp")
    variables = {"1": "Fatma", "2": "€ 652,40", "3": "https://betalen.example/x"}
    message = OutgoingText(to=MOBILE, text="(rendered text)", key="msg:1:step2",
                           template_id=TEMPLATE, template_variables=variables)
    receipt = provider.send(message)
    form = fake.requests[-1][2]
    assert form["To"] == [f"whatsapp:{MOBILE}"] and form["From"] == [WA_FROM]
    assert form["ContentSid"] == [TEMPLATE] and "Body" not in form
    assert json.loads(form["ContentVariables"][0]) == variables
    # Twilio fills in the template; the lookup recognises it by the variables.
    found = provider.find_sent(message, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert found is not None and found.provider_id == receipt.provider_id
    other = OutgoingText(to=MOBILE, text="x", key="k", template_id=TEMPLATE,
                         template_variables={**variables, "2": "€ 1,00"})
    assert provider.find_sent(other, dt.datetime.now(dt.UTC)) is None


def test_send_whatsapp_free_text(twilio_settings, fake):
    provider = get_text_provider("whatsapp")
    provider.send(sms())
    form = fake.requests[-1][2]
    assert form["To"] == [f"whatsapp:{MOBILE}"] and form["Body"] == [TEXT]


def test_landline_is_permanent_before_any_request(twilio_settings, fake):
    with pytest.raises(PermanentSendError):
        get_text_provider("sms").send(sms(to="020 123 45 67"))
    assert fake.requests == []


# --- find_sent ----------------------------------------------------------------------------

def test_find_sent_finds_and_does_not_find(twilio_settings, fake):
    provider = get_text_provider("sms")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    assert provider.find_sent(sms(), since) is None
    receipt = provider.send(sms())
    found = provider.find_sent(sms(), since)
    assert found is not None and found.provider_id == receipt.provider_id
    _, _, query = fake.requests[-1]
    assert query["To"] == [MOBILE] and query["From"] == [SMS_FROM]
    assert query["DateSent>"] == [since.date().isoformat()]
    # Other text, other number, or sent before `since`: not this message.
    assert provider.find_sent(sms(text="Een ander bericht"), since) is None
    assert provider.find_sent(sms(to="+31687654321"), since) is None
    assert provider.find_sent(sms(), dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) is None
    # Line ends and curly quotes as Smart Encoding may leave them: still the same text.
    fake.messages[-1]["body"] = TEXT.replace("’", "'") + "\r\n"
    assert provider.find_sent(sms(), since) is not None


def test_find_sent_sees_a_message_twilio_still_queues(twilio_settings, fake):
    fake.auto_send = False  # queued: no date_sent, so the DateSent filter leaves it out
    provider = get_text_provider("sms")
    receipt = provider.send(sms())
    found = provider.find_sent(sms(), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert found is not None and found.provider_id == receipt.provider_id
    assert found.status == ACCEPTED
    assert "DateSent>" not in fake.requests[-1][2]


def test_find_sent_reads_further_pages(twilio_settings, fake, monkeypatch):
    from vroeg.messaging.providers import twilio

    monkeypatch.setattr(twilio, "PAGE_SIZE", 2)
    provider = get_text_provider("sms")
    receipt = provider.send(sms())
    for n in range(4):
        provider.send(sms(text=f"Later bericht {n}"))
    for m, record in enumerate(fake.messages):  # ours is the oldest: on the last page
        record["date_sent"] = _rfc2822(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=m))
    found = provider.find_sent(sms(), dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    assert found is not None and found.provider_id == receipt.provider_id
    assert any("Page" in q for method, _, q in fake.requests if method == "GET")


# --- errors ---------------------------------------------------------------------------------

def test_timeout_is_no_answer(twilio_settings, fake):
    fake.script.append({"delay": 1.5})
    provider = get_text_provider("sms")
    started = time.monotonic()
    with pytest.raises(NoAnswer) as err:
        provider.send(sms())
    assert time.monotonic() - started < 1.4
    # Maybe sent (look it up first) and the provider is not answering (skip it).
    assert isinstance(err.value, DeliveryUnknown) and isinstance(err.value, ChannelDown)
    fake.script.append({"delay": 1.5})
    with pytest.raises(ChannelDown) as lookup:
        provider.find_sent(sms(), dt.datetime.now(dt.UTC))
    assert not isinstance(lookup.value, DeliveryUnknown)


def test_unreachable_is_channel_down_and_not_maybe_sent(twilio_settings, fake):
    fake.stop()
    with pytest.raises(ChannelDown) as err:
        get_text_provider("sms").send(sms())
    assert not isinstance(err.value, DeliveryUnknown)


def test_rate_limit_with_retry_after(twilio_settings, fake):
    fake.script.append({"status": 429, "headers": {"Retry-After": "7"},
                        "json": {"code": 20429, "message": "Too Many Requests",
                                 "more_info": "https://www.twilio.com/docs/errors/20429",
                                 "status": 429}})
    with pytest.raises(RateLimited) as err:
        get_text_provider("sms").send(sms())
    assert err.value.retry_after == 7.0
    assert "20429" in str(err.value)


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_transient_and_maybe_sent(twilio_settings, fake, status):
    fake.script.append({"status": status, "json": {"code": 20500, "message": "Internal",
                                                   "status": status}})
    with pytest.raises(DeliveryUnknown) as err:
        get_text_provider("sms").send(sms())
    assert isinstance(err.value, TransientSendError)
    assert not isinstance(err.value, PermanentSendError)


def test_invalid_to_is_permanent_without_the_number(twilio_settings, fake, monkeypatch):
    from vroeg.messaging.providers import twilio

    # A number our check lets through but Twilio refuses (code 21211).
    monkeypatch.setattr(twilio, "normalise_mobile", lambda raw: "+3161")
    with pytest.raises(PermanentSendError) as err:
        get_text_provider("sms").send(sms())
    assert "21211" in str(err.value)
    assert "3161" not in str(err.value) and "+31" not in str(err.value)


def test_unsubscribed_is_permanent(twilio_settings, fake):
    fake.unsubscribed.add(MOBILE)
    with pytest.raises(Unsubscribed) as err:
        get_text_provider("sms").send(sms())
    assert isinstance(err.value, PermanentSendError) and "21610" in str(err.value)
    assert MOBILE not in str(err.value) and TEXT not in str(err.value)


def test_bad_credentials_are_channel_down(twilio_settings, fake):
    twilio_settings.VROEG_TWILIO_AUTH_TOKEN = "wrong"
    with pytest.raises(ChannelDown) as err:
        get_text_provider("sms").send(sms())
    assert "401" in str(err.value) and "20003" in str(err.value)
    assert not isinstance(err.value, DeliveryUnknown)


def test_not_configured_is_channel_down(twilio_settings, fake):
    twilio_settings.VROEG_TWILIO_ACCOUNT_SID = ""
    with pytest.raises(ChannelDown):
        get_text_provider("sms").send(sms())
    twilio_settings.VROEG_TWILIO_ACCOUNT_SID = ACCOUNT
    twilio_settings.VROEG_TWILIO_WHATSAPP_FROM = ""
    with pytest.raises(ChannelDown):
        get_text_provider("whatsapp").send(sms())
    assert fake.requests == []


# --- the file provider ------------------------------------------------------------------------

def test_file_provider_writes_json_and_finds_it(vroeg_home, settings):
    settings.VROEG_WHATSAPP_PROVIDER = "file"
    provider = get_text_provider("whatsapp")
    message = OutgoingText(to="0612345678", text=TEXT, key="msg:7:step1",
                           template_id=TEMPLATE, template_variables={"1": "Fatma"})
    assert provider.find_sent(message, dt.datetime.now(dt.UTC)) is None
    receipt = provider.send(message)
    path = vroeg_home / "outbox" / "whatsapp" / f"{receipt.provider_id}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["to"] == MOBILE and data["text"] == TEXT
    assert data["template_id"] == TEMPLATE and data["template_variables"] == {"1": "Fatma"}
    assert data["idempotency_key"] == "msg:7:step1"
    assert provider.find_sent(message, dt.datetime.now(dt.UTC)) == receipt
    sms_file = FileTextProvider("sms").send(sms(key="msg:7:step2"))
    stored = json.loads((vroeg_home / "outbox" / "sms" / f"{sms_file.provider_id}.json")
                        .read_text(encoding="utf-8"))
    assert stored["segments"] >= 1 and stored["encoding"] in ("GSM-7", "UCS-2")


# --- webhooks -------------------------------------------------------------------------------

def twilio_signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """Twilio's documented algorithm: the full URL, then each POST parameter name and
    value, sorted by name; HMAC-SHA1 with the auth token; base64."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def test_signature_matches_twilios_published_example():
    # The example in Twilio's webhook security docs (auth token 12345).
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
              "From": "+12349013030", "To": "+18005551212"}
    assert compute_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def post_webhook(client, path: str, params: dict[str, str], *, signature: str | None = None,
                 url: str | None = None):
    sig = signature if signature is not None else twilio_signature(url or PUBLIC + path, params)
    return client.post(path, data=urlencode(params),
                       content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": sig})


@pytest.fixture
def household(db):
    from vroeg.portfolio.models import Household

    return Household.objects.create(code="REL-1", name="Fam. Yilmaz", mobile=MOBILE,
                                    whatsapp_opt_in_on=dt.date(2026, 1, 5))


@pytest.fixture
def sent_message(household):
    from vroeg.messaging.models import Message
    from vroeg.portfolio.models import Tenancy

    tenancy = Tenancy.objects.create(
        code="OVK-1", household=household, unit_code="EH-1", street="Lindelaan",
        house_number="12", postcode="1234AB", city="Amsterdam", start_on=dt.date(2020, 1, 1),
        net_rent=Decimal("612.40"), service_costs=Decimal("40.00"), payment_reference=ref(1))
    now = dt.datetime.now(dt.UTC)
    return Message.objects.create(
        household=household, tenancy=tenancy, step="reminder1", template="reminder_friendly",
        channel="sms", recipient=MOBILE, body_text=TEXT, decided_on=dt.date(2026, 10, 5),
        send_after=now, status=Message.Status.SENT, sent_at=now, provider="twilio",
        provider_id="SM" + "1" * 32, idempotency_key="msg:1:reminder1")


def status_params(message, status: str, error: str = "") -> dict[str, str]:
    params = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "From": SMS_FROM,
              "MessageSid": message.provider_id, "MessageStatus": status,
              "SmsSid": message.provider_id, "SmsStatus": status, "To": MOBILE}
    if error:
        params["ErrorCode"] = error
    return params


def inbound_params(body: str, sender: str = MOBILE, sid: str | None = None,
                   **extra: str) -> dict[str, str]:
    return {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "Body": body, "From": sender,
            "MessageSid": sid or "SM" + secrets.token_hex(16), "NumMedia": "0",
            "NumSegments": "1", "To": SMS_FROM if not sender.startswith("whatsapp:")
            else WA_FROM, **extra}


@pytest.mark.django_db
def test_status_callback_updates_the_message(client, twilio_settings, sent_message):
    from vroeg.audit.models import AuditEvent

    path = "/webhooks/twilio/status"
    response = post_webhook(client, path, status_params(sent_message, "sent"))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.delivery == ACCEPTED and sent_message.delivery_at is not None
    assert post_webhook(client, path, status_params(sent_message, "delivered")).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.delivery == DELIVERED
    # Out of order: a late "sent" does not undo "delivered"; "read" goes further.
    post_webhook(client, path, status_params(sent_message, "sent"))
    sent_message.refresh_from_db()
    assert sent_message.delivery == DELIVERED
    post_webhook(client, path, status_params(sent_message, "read"))
    sent_message.refresh_from_db()
    assert sent_message.delivery == READ
    events = AuditEvent.objects.filter(action="message.delivery",
                                       object_id=str(sent_message.pk))
    assert events.count() == 3
    assert all(MOBILE not in e.summary and MOBILE not in json.dumps(e.details) for e in events)


@pytest.mark.django_db
def test_undelivered_calls_the_dispatcher(client, twilio_settings, sent_message, monkeypatch):
    from vroeg.messaging import dispatch

    calls: list[tuple[int, str]] = []
    monkeypatch.setattr(dispatch, "on_undelivered",
                        lambda message, reason, *a, **k: calls.append((message.pk, reason)),
                        raising=False)
    path = "/webhooks/twilio/status"
    response = post_webhook(client, path, status_params(sent_message, "undelivered", "30003"))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.delivery == UNDELIVERED
    assert calls == [(sent_message.pk, "niet afgeleverd / undelivered (twilio 30003)")]
    post_webhook(client, path, status_params(sent_message, "failed", "30003"))  # again
    assert len(calls) == 1


@pytest.mark.django_db
def test_status_callback_for_an_unknown_message(client, twilio_settings, db):
    from vroeg.audit.models import AuditEvent

    params = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered", "To": MOBILE}
    assert post_webhook(client, "/webhooks/twilio/status", params).status_code == 200
    event = AuditEvent.objects.get(action="message.delivery_unknown")
    assert MOBILE not in event.summary + json.dumps(event.details)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/webhooks/twilio/status", "/webhooks/twilio/inbound"])
def test_bad_signatures_are_refused_and_change_nothing(client, twilio_settings, sent_message,
                                                       path):
    from vroeg.audit.models import AuditEvent
    from vroeg.collection.models import Task

    params = (status_params(sent_message, "undelivered", "30003") if path.endswith("status")
              else inbound_params("STOP"))
    good = twilio_signature(PUBLIC + path, params)
    tampered = dict(params, **({"MessageStatus": "delivered"} if path.endswith("status")
                               else {"Body": "hallo"}))
    before = AuditEvent.objects.count()
    for response in (
        post_webhook(client, path, tampered, signature=good),  # parameters changed
        post_webhook(client, path, params, signature=good[:-2] + "xx"),  # signature changed
        post_webhook(client, path, params, signature=""),  # no signature
        post_webhook(client, path, params,  # signed by someone without our token
                     signature=twilio_signature(PUBLIC + path, params, "other-token")),
        post_webhook(client, path, params,  # signed for another address
                     signature=twilio_signature("https://evil.example" + path, params)),
    ):
        assert response.status_code == 403
    sent_message.refresh_from_db()
    sent_message.household.refresh_from_db()
    assert sent_message.delivery == "" and sent_message.household.sms_opt_out_on is None
    assert AuditEvent.objects.count() == before and not Task.objects.exists()
    # The same request, signed properly, is taken.
    assert post_webhook(client, path, params).status_code == 200


@pytest.mark.django_db
def test_signature_with_and_without_port_and_without_public_url(client, twilio_settings,
                                                                 sent_message):
    path = "/webhooks/twilio/status"
    params = status_params(sent_message, "sent")
    signed = twilio_signature("https://vroeg.example:443" + path, params)
    assert post_webhook(client, path, params, signature=signed).status_code == 200
    twilio_settings.VROEG_PUBLIC_URL = ""
    params = status_params(sent_message, "delivered")
    assert post_webhook(client, path, params,
                        url="http://testserver" + path).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.delivery == DELIVERED


@pytest.mark.django_db
def test_no_auth_token_refuses_everything(client, twilio_settings, sent_message):
    twilio_settings.VROEG_TWILIO_AUTH_TOKEN = ""
    path = "/webhooks/twilio/status"
    params = status_params(sent_message, "delivered")
    assert post_webhook(client, path, params,
                        signature=twilio_signature(PUBLIC + path, params, "")).status_code == 403


@pytest.mark.django_db
def test_webhooks_take_post_only_and_known_providers(client, twilio_settings):
    assert client.get("/webhooks/twilio/status").status_code == 405
    assert post_webhook(client, "/webhooks/nobody/inbound", {"Body": "x"}).status_code == 404
    assert post_webhook(client, "/webhooks/file/inbound", {"Body": "x"}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("body,extra", [("STOP", {}), ("stoppen", {}), ("Uit", {}),
                                        ("AFMELDEN", {}), ("Stop", {"OptOutType": "STOP"})])
def test_sms_stop_sets_the_opt_out(client, twilio_settings, household, body, extra, caplog):
    from vroeg.audit.models import AuditEvent
    from vroeg.collection.models import Task

    response = post_webhook(client, "/webhooks/twilio/inbound", inbound_params(body, **extra))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response/>" in response.content
    household.refresh_from_db()
    assert household.sms_opt_out_on == today() and not household.no_sms
    assert household.whatsapp_opt_in_on == dt.date(2026, 1, 5)  # WhatsApp untouched
    task = Task.objects.get()
    assert task.kind == "inbound_message" and task.team == "incasso"
    assert task.household == household and task.reason == body
    assert AuditEvent.objects.filter(action="household.sms_opt_out",
                                     object_id=str(household.pk)).count() == 1
    for event in AuditEvent.objects.all():
        assert MOBILE not in event.summary + json.dumps(event.details)
    assert MOBILE not in caplog.text and body not in caplog.text


@pytest.mark.django_db
def test_optouttype_stop_counts_whatever_the_text(client, twilio_settings, household):
    params = inbound_params("Stop alsjeblieft", OptOutType="STOP")
    assert post_webhook(client, "/webhooks/twilio/inbound", params).status_code == 200
    household.refresh_from_db()
    assert household.sms_opt_out_on == today() and not household.no_sms


@pytest.mark.django_db
def test_whatsapp_stop_and_start(client, twilio_settings, household):
    from vroeg.collection.models import Task

    path = "/webhooks/twilio/inbound"
    assert post_webhook(client, path, inbound_params("STOP", f"whatsapp:{MOBILE}")).status_code \
        == 200
    household.refresh_from_db()
    assert household.whatsapp_opt_in_on is None and household.sms_opt_out_on is None
    assert post_webhook(client, path, inbound_params("Ja", f"whatsapp:{MOBILE}")).status_code \
        == 200
    household.refresh_from_db()
    assert household.whatsapp_opt_in_on == today() and household.sms_opt_out_on is None
    assert post_webhook(client, path, inbound_params("START", f"whatsapp:{MOBILE}")).status_code \
        == 200
    household.refresh_from_db()
    assert household.whatsapp_opt_in_on == today()
    titles = list(Task.objects.order_by("pk").values_list("title", flat=True))
    assert titles[0].startswith("Afgemeld voor WhatsApp")
    assert titles[1].startswith("Aangemeld voor WhatsApp")


@pytest.mark.django_db
def test_sms_start_leaves_the_opt_out_for_a_person(client, twilio_settings, household):
    from vroeg.collection.models import Task

    household.sms_opt_out_on = today()
    household.save()
    assert post_webhook(client, "/webhooks/twilio/inbound",
                        inbound_params("START")).status_code == 200
    household.refresh_from_db()
    assert household.sms_opt_out_on == today()
    task = Task.objects.get()
    assert task.title.startswith("Bericht van huurder via sms") and task.reason == "START"


@pytest.mark.django_db
def test_a_message_becomes_a_task_once(client, twilio_settings, household):
    from vroeg.collection.models import Task

    text = "Ik kan pas vrijdag betalen, mijn uitkering komt later. " * 10
    params = inbound_params(text, sid="SM" + "7" * 32)
    for _ in range(2):  # Twilio may deliver the same message twice
        assert post_webhook(client, "/webhooks/twilio/inbound", params).status_code == 200
    task = Task.objects.get()
    assert task.reason == text.strip()[:300] and len(task.reason) == 300
    assert task.idempotency_key == f"inbound:twilio:SM{'7' * 32}:{household.pk}"
    assert task.due_on > task.created_on
    household.refresh_from_db()
    assert household.sms_opt_out_on is None and household.whatsapp_opt_in_on is not None


@pytest.mark.django_db
def test_unknown_sender_stores_only_an_audit_row(client, twilio_settings, household):
    from vroeg.audit.models import AuditEvent
    from vroeg.collection.models import Task

    stranger = "+31687654321"
    response = post_webhook(client, "/webhooks/twilio/inbound", inbound_params("STOP", stranger))
    assert response.status_code == 200 and b"<Response/>" in response.content
    assert not Task.objects.exists()
    household.refresh_from_db()
    assert not household.no_sms
    event = AuditEvent.objects.get()
    assert event.action == "message.inbound_unknown"
    assert stranger not in event.summary + json.dumps(event.details) + event.object_id
    assert "87654321" not in event.summary + json.dumps(event.details)


def test_json_body_signature_with_body_hash(settings):
    from vroeg.messaging.providers.base import InvalidSignature, WebhookRequest
    from vroeg.messaging.providers.twilio import check_signature

    body = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered"}).encode()
    url = f"{PUBLIC}/webhooks/twilio/status?bodySHA256={hashlib.sha256(body).hexdigest()}"
    request = WebhookRequest(url=url, params={}, body=body,
                             headers={"x-twilio-signature": twilio_signature(url, {})})
    check_signature(TOKEN, request)
    with pytest.raises(InvalidSignature):
        check_signature(TOKEN, WebhookRequest(url=url, params={}, body=body + b" ",
                                              headers=request.headers))


def test_repeated_form_keys_are_signed_sorted():
    pairs = [("MediaUrl", "b"), ("Body", "x"), ("MediaUrl", "a")]
    expected = base64.b64encode(hmac.new(TOKEN.encode(), b"https://h/pBodyxMediaUrlaMediaUrlb",
                                         hashlib.sha1).digest()).decode()
    assert compute_signature(TOKEN, "https://h/p", pairs) == expected
    assert parse_qsl("a=1&a=2") == [("a", "1"), ("a", "2")]
