"""Payment links: Mollie against a local fake of its v2 REST API, the built-in fake
provider end to end through the web pages, and the later bank statement entry of the
same money (a provider's payout) that must never book a second time."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.builders import credit, iban, ref, tenancy_row, write_statement, write_tenancies
from vroeg.audit.models import AuditEvent
from vroeg.banking.actions import import_bank_file
from vroeg.banking.matching import match_and_post
from vroeg.banking.models import BankTransaction, TxnStatus
from vroeg.domain.bank.model import BankEntry
from vroeg.domain.calendar import AMSTERDAM
from vroeg.ledger.actions import post_charges
from vroeg.ledger.models import LedgerEntry
from vroeg.ledger.queries import balance_of
from vroeg.payments import actions
from vroeg.payments.models import FakePayment, PaymentLink
from vroeg.payments.providers import fake
from vroeg.payments.providers.base import PaymentProviderError
from vroeg.payments.providers.mollie import due_date
from vroeg.payments.settlements import CHECK_RULE, IGNORED_REASON, PAYOUT_RULE
from vroeg.portfolio.actions import import_tenancies
from vroeg.portfolio.models import Tenancy

pytestmark = pytest.mark.django_db
D = Decimal
API_KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
ACCESS_TOKEN = "access_Wwvu7egPcJLLJ9Kb7J632x8wJ2zMeJ"
PAY_BASE = "https://betalen.woonstad.example/betaal"
SETTLEMENT_REF = "1234567.2611.01"
TIMEOUT = 0.5


# --- a local Mollie: the v2 REST API calls vroeg uses ------------------------------------

class FakeMollie:
    """POST /v2/payments, GET /v2/payments/{id}, GET /v2/settlements/{id or reference}
    and GET /v2/settlements/{id}/payments (paginated), with Mollie's error JSON."""

    page_size = 1  # small pages: the client must follow _links.next

    def __init__(self) -> None:
        self.payments: dict[str, dict[str, Any]] = {}
        self.settlements: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[Any] = []  # (status, body or None) or "timeout"
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what happens at Mollie's side ----------------------------------------------------

    def set_status(self, pid: str, status: str, *, method: str = "ideal",
                   paid_at: str = "2026-11-05T23:30:00+00:00") -> None:
        p = self.payments[pid]
        p["status"], p["method"] = status, method
        if status == "paid":
            p["paidAt"] = paid_at
            p.pop("expiresAt", None)
        p["_links"].pop("checkout", None) if status != "open" else None

    def add_payment(self, value: str, metadata: dict[str, str] | None = None) -> str:
        """A payment made outside vroeg (e.g. the corporation's own web shop)."""
        return self._create({"amount": {"currency": "EUR", "value": value},
                             "description": "elders / elsewhere", "redirectUrl": "https://x",
                             "metadata": metadata or {}})["id"]

    def add_settlement(self, payment_ids: list[str], net: str) -> str:
        sid = f"stl_{secrets.token_hex(5)}"
        self.settlements[sid] = {
            "resource": "settlement", "id": sid, "reference": SETTLEMENT_REF,
            "createdAt": "2026-11-06T04:00:00+00:00", "settledAt": "2026-11-06T06:00:00+00:00",
            "status": "paidout", "amount": {"currency": "EUR", "value": net},
            "payments": list(payment_ids)}
        for pid in payment_ids:
            self.payments[pid]["settlementId"] = sid
        return sid

    # --- the HTTP side ----------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        pid = f"tr_{secrets.token_hex(5)}"
        payment = {
            "resource": "payment", "id": pid, "mode": "test",
            "createdAt": timezone.now().isoformat(), "amount": body["amount"],
            "description": body["description"], "method": None,
            "metadata": body.get("metadata"), "status": "open", "isCancelable": False,
            "expiresAt": (timezone.now() + timedelta(minutes=15)).isoformat(),
            "profileId": "pfl_QkEhN94Ba", "sequenceType": "oneoff",
            "redirectUrl": body.get("redirectUrl"), "webhookUrl": body.get("webhookUrl"),
            "_links": {
                "self": {"href": f"{self.url}/v2/payments/{pid}",
                         "type": "application/hal+json"},
                "checkout": {"href": f"https://www.mollie.com/checkout/select-method/{pid}",
                             "type": "text/html"},
            },
        }
        self.payments[pid] = payment
        return payment

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mollie = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/hal+json"
                      ) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a time-out test)

            def _error(self, status: int, title: str, detail: str, field: str = "") -> None:
                body: dict[str, Any] = {
                    "status": status, "title": title, "detail": detail,
                    "_links": {"documentation": {
                        "href": "https://docs.mollie.com/overview/handling-errors",
                        "type": "text/html"}}}
                if field:
                    body["field"] = field
                self._send(status, body)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                auth = self.headers.get("Authorization", "")
                with mollie.lock:
                    mollie.requests.append({"method": method, "path": parts.path,
                                            "query": parse_qs(parts.query), "auth": auth,
                                            "body": body,
                                            "idempotency": self.headers.get("Idempotency-Key")})
                    failure = mollie.fail_next.pop(0) if mollie.fail_next else None
                if failure == "timeout":
                    time.sleep(TIMEOUT * 3)
                    return self._send(200, {})
                if failure is not None:
                    status, payload = failure
                    if payload is None:
                        return self._send(status, "<html><body>Service Unavailable</body></html>",
                                          "text/html")
                    return self._send(status, payload)
                segments = parts.path.strip("/").split("/")
                if segments[:1] != ["v2"]:
                    return self._error(404, "Not Found", "Unknown endpoint")
                if segments[1:2] == ["settlements"]:
                    # The Settlements API takes an access token, never an API key.
                    if not auth.startswith("Bearer access_"):
                        return self._error(401, "Unauthorized Request",
                                           "Missing authentication, or failed to authenticate")
                    return self._settlements(segments[2:], parse_qs(parts.query))
                if not (auth.startswith("Bearer test_") or auth.startswith("Bearer live_")):
                    return self._error(401, "Unauthorized Request",
                                       "Missing authentication, or failed to authenticate")
                if method == "POST" and segments[1:] == ["payments"]:
                    return self._create_payment(body or {})
                if method == "GET" and segments[1:2] == ["payments"] and len(segments) == 3:
                    payment = mollie.payments.get(segments[2])
                    if payment is None:
                        return self._error(404, "Not Found",
                                           f"No payment exists with token {segments[2]}.")
                    return self._send(200, payment)
                return self._error(404, "Not Found", "Unknown endpoint")

            def _create_payment(self, body: dict[str, Any]) -> None:
                amount = body.get("amount") or {}
                value = str(amount.get("value", ""))
                if amount.get("currency") != "EUR" or not value.replace(".", "").isdigit() \
                        or len(value.partition(".")[2]) != 2:
                    return self._error(422, "Unprocessable Entity",
                                       "The amount contains an invalid value", "amount.value")
                if D(value) < D("1.00"):
                    return self._error(422, "Unprocessable Entity",
                                       "The amount is lower than the minimum", "amount")
                for required in ("description", "redirectUrl"):
                    if not body.get(required):
                        return self._error(422, "Unprocessable Entity",
                                           f"The {required} is missing", required)
                self._send(201, mollie._create(body))

            def _settlements(self, rest: list[str], query: dict[str, list[str]]) -> None:
                found = next((s for s in mollie.settlements.values()
                              if rest and rest[0] in (s["id"], s["reference"])), None)
                if found is None:
                    return self._error(404, "Not Found", "No settlement exists with that id.")
                if len(rest) == 1:
                    return self._send(200, {k: v for k, v in found.items() if k != "payments"})
                if rest[1:] == ["payments"]:
                    ids: list[str] = found["payments"]
                    start = ids.index(query["from"][0]) if "from" in query else 0
                    page = ids[start:start + mollie.page_size]
                    after = ids[start + mollie.page_size:start + mollie.page_size + 1]
                    base = f"{mollie.url}/v2/settlements/{found['id']}/payments"
                    return self._send(200, {
                        "count": len(page),
                        "_embedded": {"payments": [mollie.payments[i] for i in page]},
                        "_links": {"self": {"href": base, "type": "application/hal+json"},
                                   "previous": None,
                                   "next": {"href": f"{base}?from={after[0]}&limit=250",
                                            "type": "application/hal+json"} if after else None}})
                return self._error(404, "Not Found", "Unknown endpoint")

            def do_GET(self) -> None:  # noqa: N802
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

        return Handler


# --- fixtures ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _pages(settings, tmp_path):
    # WhiteNoise indexes STATIC_ROOT when the test client starts; give it a folder.
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()
    settings.VROEG_PAY_URL = PAY_BASE
    settings.VROEG_PAY_LINK_DAYS = 14


@pytest.fixture
def portfolio(vroeg_home: Path) -> Path:
    rows = [tenancy_row(n) for n in (1, 2, 3)]
    for row in rows:
        row["beginsaldo_datum"] = "2026-10-31"  # only November's rent (700.00) is owed
    import_tenancies(write_tenancies(vroeg_home / "t.csv", rows), actor="test")
    post_charges(date(2026, 11, 1), takeover_on=date(2026, 11, 1))
    return vroeg_home


@pytest.fixture
def mollie(settings, portfolio) -> Iterator[FakeMollie]:
    server = FakeMollie()
    settings.VROEG_PAYMENT_PROVIDER = "mollie"
    settings.VROEG_MOLLIE_API_KEY = API_KEY
    settings.VROEG_MOLLIE_ACCESS_TOKEN = ""
    settings.VROEG_MOLLIE_API_ENDPOINT = server.url
    settings.VROEG_MOLLIE_METHODS = []
    settings.VROEG_MOLLIE_TIMEOUT = TIMEOUT
    yield server
    server.close()


@pytest.fixture
def fake_provider(settings, portfolio) -> None:
    settings.VROEG_PAYMENT_PROVIDER = "fake"


def t(n: int) -> Tenancy:
    return Tenancy.objects.get(code=f"OVK-{n:05d}")


def owed(n: int) -> Decimal:
    return balance_of(t(n).pk, date(2026, 12, 31))


def payments_booked() -> list[tuple[str, Decimal, date]]:
    return list(LedgerEntry.objects.filter(source_key__startswith="pay:").order_by("source_key")
                .values_list("source_key", "amount", "booked_on"))


def click(client, link: PaymentLink):
    return client.get(f"/betaal/{link.token}")


def webhook(client, provider: str, pid: str, **extra: str):
    return client.post(f"/betaal/webhook/{provider}", {"id": pid, **extra})


def book_statement(home: Path, day: date, entries: list[BankEntry]) -> None:
    path = write_statement(home / f"stmt-{day}-{len(list(home.glob('stmt-*')))}.xml", day,
                           entries)
    result = import_bank_file(path)
    assert result.status == "imported", result.reason


def mollie_payout(net: str, remittance: str = f"UITBETALING {SETTLEMENT_REF}") -> BankEntry:
    return BankEntry(amount=D(net), currency="EUR", booked_on=date(2026, 11, 9),
                     value_on=date(2026, 11, 9), counterparty_name="Stichting Mollie Payments",
                     counterparty_iban=iban(9999), remittance=remittance,
                     bank_reference=f"MOLLIE-{net}")


def paid_by_link(client, mollie: FakeMollie, n: int, *, hook: bool = True) -> str:
    """Tenant n clicks their link and pays 700.00 by iDEAL; returns the Mollie id."""
    link = actions.link_for(t(n), D("700.00"))
    assert click(client, link).status_code == 302
    link.refresh_from_db()
    mollie.set_status(link.provider_payment_id, "paid")
    if hook:
        assert webhook(client, "mollie", link.provider_payment_id).status_code == 200
    return link.provider_payment_id


# --- Mollie: create, click, webhook -> fetch -> book once ---------------------------------

def test_link_is_made_without_calling_mollie_and_the_click_creates_the_payment(
        client, mollie) -> None:
    url = actions.pay_url(t(1), D("700.00"), message_key="msg:1:reminder")
    link = PaymentLink.objects.get()
    assert url == f"{PAY_BASE}/{link.token}" and len(link.token) == 32
    assert link.provider == "mollie" and link.message_key == "msg:1:reminder"
    assert mollie.requests == []  # 15,000 reminders make no Mollie payments
    response = click(client, link)
    assert response.status_code == 302
    link.refresh_from_db()
    assert response["Location"] == f"https://www.mollie.com/checkout/select-method/" \
                                   f"{link.provider_payment_id}"
    assert response["Referrer-Policy"] == "no-referrer"
    sent = mollie.requests[0]
    assert sent["method"] == "POST" and sent["path"] == "/v2/payments"
    assert sent["auth"] == f"Bearer {API_KEY}" and sent["idempotency"]
    body = sent["body"]
    assert body["amount"] == {"currency": "EUR", "value": "700.00"}
    assert body["description"] == "Huur OVK-00001 Woonstad Voorbeeld"
    assert body["redirectUrl"] == f"{PAY_BASE}/{link.token}/terug"
    assert body["webhookUrl"] == f"{PAY_BASE}/webhook/mollie"
    assert body["metadata"] == {"link": link.token, "tenancy": "OVK-00001"}
    assert body["locale"] == "nl_NL" and "method" not in body
    # No method chosen: Mollie applies the bank transfer due date if the tenant picks it.
    assert body["dueDate"] == link.expires_at.astimezone(AMSTERDAM).date().isoformat()
    # Clicking again while the checkout is open: the same Mollie payment.
    assert click(client, link)["Location"] == response["Location"]
    assert [r["method"] for r in mollie.requests] == ["POST", "GET"]


def test_webhook_fetches_the_payment_and_books_it_once(client, mollie) -> None:
    pid = paid_by_link(client, mollie, 1)
    # paidAt 23:30 UTC on 5 November is 00:30 on 6 November in Amsterdam.
    assert payments_booked() == [(f"pay:mollie:{pid}", D("-700.00"), date(2026, 11, 6))]
    link = PaymentLink.objects.get()
    assert link.status == "paid" and link.paid_amount == D("700.00") and link.method == "ideal"
    assert link.ledger_source_key == f"pay:mollie:{pid}"
    assert link.paid_at == datetime(2026, 11, 5, 23, 30, tzinfo=UTC)
    assert owed(1) == 0
    fetched = [r for r in mollie.requests if r["method"] == "GET"]
    assert fetched[-1]["path"] == f"/v2/payments/{pid}"
    booked = AuditEvent.objects.filter(action="payments.booked")
    assert booked.count() == 1 and booked.get().object_id == str(link.pk)
    # Mollie calls again (it retries, or a refund changes the payment): nothing more.
    assert webhook(client, "mollie", pid).status_code == 200
    assert len(payments_booked()) == 1 and owed(1) == 0
    assert AuditEvent.objects.filter(action="payments.booked").count() == 1
    # The return page thanks the tenant; the link now says "already paid".
    page = client.get(f"/betaal/{link.token}/terug").content.decode()
    assert "Dank u wel!" in page and "€ 700,00" in page and "€700.00" in page
    page = click(client, link).content.decode()
    assert "U heeft al betaald" in page and "You have already paid" in page


def test_the_webhook_body_is_never_trusted(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"))
    click(client, link)
    link.refresh_from_db()
    # Someone posts "paid" for a payment that is still open at Mollie.
    response = webhook(client, "mollie", link.provider_payment_id, status="paid",
                       amount="700.00")
    assert response.status_code == 200 and payments_booked() == []
    link.refresh_from_db()
    assert link.status == "open" and link.provider_status == "open"
    # Unknown and malformed ids: 200 (the caller learns nothing), nothing changes.
    assert webhook(client, "mollie", "tr_doesnotexist").status_code == 200
    assert webhook(client, "mollie", "../../etc").status_code == 200
    assert client.get("/betaal/webhook/mollie").status_code == 405
    assert payments_booked() == []


@pytest.mark.parametrize("status", ["failed", "expired", "canceled"])
def test_a_payment_that_did_not_go_through_books_nothing_and_can_be_tried_again(
        client, mollie, status) -> None:
    link = actions.link_for(t(1), D("700.00"))
    click(client, link)
    link.refresh_from_db()
    first = link.provider_payment_id
    mollie.set_status(first, status)
    assert webhook(client, "mollie", first).status_code == 200
    assert payments_booked() == []
    link.refresh_from_db()
    assert link.status == "open" and link.provider_status == status
    page = client.get(f"/betaal/{link.token}/terug").content.decode()
    assert "De betaling is niet gelukt" in page and "Opnieuw proberen" in page
    # The tenant tries again: a new Mollie payment for the same link.
    response = click(client, link)
    link.refresh_from_db()
    assert response.status_code == 302 and link.provider_payment_id != first
    assert len(mollie.payments) == 2
    # The new one is paid; a late webhook for the first changes nothing.
    mollie.set_status(link.provider_payment_id, "paid")
    webhook(client, "mollie", link.provider_payment_id)
    webhook(client, "mollie", first)
    assert [k for k, _, _ in payments_booked()] == [f"pay:mollie:{link.provider_payment_id}"]


def test_back_from_the_checkout_unfinished_offers_to_pay_now(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"))
    checkout = click(client, link)["Location"]
    page = client.get(f"/betaal/{link.token}/terug").content.decode()
    assert "U heeft nog niet betaald" in page and "Nu betalen" in page and "Pay now" in page
    assert click(client, link)["Location"] == checkout  # the same Mollie payment again
    assert len(mollie.payments) == 1


def test_a_pending_payment_is_never_started_twice(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"))
    click(client, link)
    link.refresh_from_db()
    mollie.set_status(link.provider_payment_id, "pending", method="banktransfer")
    page = click(client, link)
    assert page.status_code == 200 and "We verwerken uw betaling" in page.content.decode()
    assert len(mollie.payments) == 1 and payments_booked() == []


def test_an_earlier_attempt_paid_after_all_is_booked_by_its_own_id(client, mollie) -> None:
    # Two tabs: two Mollie payments for one link, and the tenant pays in both.
    link = actions.link_for(t(1), D("700.00"))
    click(client, link)
    link.refresh_from_db()
    first = link.provider_payment_id
    mollie.set_status(first, "failed")
    webhook(client, "mollie", first)
    click(client, link)
    link.refresh_from_db()
    mollie.payments[first]["status"] = "paid"  # (does not happen at Mollie; money is money)
    mollie.payments[first]["paidAt"] = "2026-11-05T10:00:00+00:00"
    webhook(client, "mollie", first)
    assert [k for k, _, _ in payments_booked()] == [f"pay:mollie:{first}"]
    # A payment whose metadata names another tenancy is not ours to book.
    other = mollie.add_payment("700.00", {"link": link.token, "tenancy": "OVK-00002"})
    mollie.set_status(other, "paid")
    webhook(client, "mollie", other)
    assert len(payments_booked()) == 1


def test_methods_and_english_locale(client, mollie, settings) -> None:
    settings.VROEG_MOLLIE_METHODS = ["ideal"]
    household = t(2).household
    household.language = "en"
    household.save()
    click(client, actions.link_for(t(2), D("700.00")))
    body = mollie.requests[-1]["body"]
    assert body["method"] == "ideal" and "dueDate" not in body and body["locale"] == "en_US"
    settings.VROEG_MOLLIE_METHODS = ["ideal", "banktransfer"]
    click(client, actions.link_for(t(3), D("700.00")))
    body = mollie.requests[-1]["body"]
    assert body["method"] == ["ideal", "banktransfer"] and "dueDate" in body


def test_bank_transfer_due_date_stays_within_mollies_limits() -> None:
    today = date(2026, 11, 5)
    assert due_date(date(2026, 11, 19), today) == date(2026, 11, 19)
    assert due_date(date(2026, 11, 5), today) == date(2026, 11, 6)  # tomorrow at the earliest
    assert due_date(date(2027, 6, 1), today) == date(2027, 2, 14)  # 100 days after tomorrow


# --- Mollie errors: clear, and nothing half-written ----------------------------------------

def test_422_is_a_clear_refusal_and_leaves_no_link(mollie) -> None:
    with pytest.raises(PaymentProviderError) as caught:
        actions.link_for(t(1), D("0.50"), at_provider=True)
    text = str(caught.value)
    assert "HTTP 422" in text and "field amount" in text
    assert "The amount is lower than the minimum" in text and not caught.value.retry
    assert API_KEY not in text and "OVK" not in text
    assert PaymentLink.objects.count() == 0


@pytest.mark.parametrize("failure, expected", [
    ((503, None), "HTTP 503"),
    ((500, {"status": 500, "title": "Internal Server Error", "detail": "Something broke"}),
     "HTTP 500"),
    ("timeout", "time-out"),
])
def test_outage_and_timeout_are_clear_errors_and_leave_no_link(mollie, failure,
                                                               expected) -> None:
    mollie.fail_next = [failure]
    started = time.monotonic()
    with pytest.raises(PaymentProviderError) as caught:
        actions.link_for(t(1), D("700.00"), at_provider=True)
    assert expected in str(caught.value) and caught.value.retry
    assert time.monotonic() - started < TIMEOUT * 2 + 1
    assert PaymentLink.objects.count() == 0
    # Mollie is back: the same call makes the link and the payment.
    link = actions.link_for(t(1), D("700.00"), at_provider=True)
    assert link.provider_payment_id.startswith("tr_") and link.checkout_url


def test_a_click_during_an_outage_shows_how_to_transfer(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"))
    mollie.fail_next = [(503, None)]
    response = click(client, link)
    page = response.content.decode()
    assert response.status_code == 503
    assert "Online betalen lukt nu niet" in page and "Paying online does not work" in page
    assert "NL91 ABNA 0417 1643 00" in page and " ".join(
        ref(1)[i:i + 4] for i in range(0, 16, 4)) in page
    link.refresh_from_db()
    assert link.provider_payment_id == "" and link.status == "open"


def test_webhook_while_mollie_is_down_asks_mollie_to_call_again(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"))
    click(client, link)
    link.refresh_from_db()
    mollie.set_status(link.provider_payment_id, "paid")
    mollie.fail_next = ["timeout"]
    assert webhook(client, "mollie", link.provider_payment_id).status_code == 503
    assert payments_booked() == []
    assert webhook(client, "mollie", link.provider_payment_id).status_code == 200
    assert len(payments_booked()) == 1


# --- the payout on the bank statement: the same money books once ---------------------------

def test_link_payment_then_mollie_payout_on_the_statement_books_once(
        client, mollie, settings, portfolio) -> None:
    settings.VROEG_MOLLIE_ACCESS_TOKEN = ACCESS_TOKEN
    first = paid_by_link(client, mollie, 1)
    missed = paid_by_link(client, mollie, 3, hook=False)  # its webhook never came
    assert len(payments_booked()) == 1
    mollie.add_settlement([first, missed], net="1399.42")  # less Mollie's costs
    book_statement(portfolio, date(2026, 11, 9), [mollie_payout("1399.42")])
    run = match_and_post(date(2026, 11, 9))
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.IGNORED and txn.match_rule == PAYOUT_RULE
    assert txn.match_reason == IGNORED_REASON and txn.tenancy is None
    assert run.ignored == 1 and run.matched == 0
    # The missed one is booked now, by its payment id; nothing by the bank entry.
    assert [k for k, _, _ in payments_booked()] == sorted(
        [f"pay:mollie:{first}", f"pay:mollie:{missed}"])
    assert not LedgerEntry.objects.filter(source_key__startswith="bank:").exists()
    assert owed(1) == 0 == owed(3) and owed(2) == D("700.00")
    # The late webhook, a second run, the same statement again: nothing more.
    webhook(client, "mollie", missed)
    match_and_post(date(2026, 11, 10))
    # An overlapping statement: the payout again, and tenant 2's own transfer.
    book_statement(portfolio, date(2026, 11, 9), [mollie_payout("1399.42"),
                                                  credit(2, date(2026, 11, 9))])
    match_and_post(date(2026, 11, 10))
    assert len(payments_booked()) == 2 and LedgerEntry.objects.filter(
        kind="payment").count() == 3
    assert owed(1) == 0 == owed(3) and owed(2) == 0
    settlement_calls = [r["path"] for r in mollie.requests if "settlements" in r["path"]]
    assert settlement_calls[0] == f"/v2/settlements/{SETTLEMENT_REF}"
    assert len([p for p in settlement_calls if p.endswith("/payments")]) == 2  # two pages
    assert AuditEvent.objects.filter(action="payments.payout_recognised").count() == 1


def test_payout_without_access_token_goes_to_a_person(client, mollie, portfolio) -> None:
    paid_by_link(client, mollie, 1)
    book_statement(portfolio, date(2026, 11, 9), [mollie_payout("698.71")])
    match_and_post(date(2026, 11, 9))
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.UNMATCHED and txn.match_rule == CHECK_RULE
    assert "VROEG_MOLLIE_ACCESS_TOKEN" in txn.match_reason and SETTLEMENT_REF in txn.match_reason
    assert len(payments_booked()) == 1 and not LedgerEntry.objects.filter(
        source_key__startswith="bank:").exists()
    assert match_and_post(date(2026, 11, 10)).unmatched == 0  # reported once
    assert BankTransaction.objects.get().status == TxnStatus.UNMATCHED


def test_payout_with_a_payment_not_from_our_links_goes_to_a_person(
        client, mollie, settings, portfolio) -> None:
    settings.VROEG_MOLLIE_ACCESS_TOKEN = ACCESS_TOKEN
    ours = paid_by_link(client, mollie, 1)
    shop = mollie.add_payment("25.00")
    mollie.set_status(shop, "paid")
    mollie.add_settlement([ours, shop], net="723.90")
    book_statement(portfolio, date(2026, 11, 9), [mollie_payout("723.90")])
    match_and_post(date(2026, 11, 9))
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.UNMATCHED and "1 van 2" in txn.match_reason
    assert len(payments_booked()) == 1


def test_payout_lookup_failure_is_tried_again_next_run(client, mollie, settings,
                                                       portfolio) -> None:
    settings.VROEG_MOLLIE_ACCESS_TOKEN = ACCESS_TOKEN
    ours = paid_by_link(client, mollie, 1)
    mollie.add_settlement([ours], net="698.71")
    book_statement(portfolio, date(2026, 11, 9), [mollie_payout("698.71")])
    mollie.fail_next = [(502, None)]
    match_and_post(date(2026, 11, 9))
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.UNMATCHED and "HTTP 502" in txn.match_reason
    match_and_post(date(2026, 11, 10))
    txn.refresh_from_db()
    assert txn.status == TxnStatus.IGNORED and txn.match_reason == IGNORED_REASON
    assert len(payments_booked()) == 1


def test_payout_without_reference_goes_to_a_person_and_a_tenant_named_mollie_is_matched(
        mollie, portfolio) -> None:
    day = date(2026, 11, 9)
    book_statement(portfolio, day, [
        mollie_payout("100.00", remittance="uitbetaling"),
        BankEntry(amount=D("700.00"), currency="EUR", booked_on=day,
                  counterparty_name="Mollie Jansen", counterparty_iban=iban(3),
                  creditor_reference=ref(3), bank_reference="T3")])
    match_and_post(day)
    payout = BankTransaction.objects.get(bank_reference="MOLLIE-100.00")
    assert payout.status == TxnStatus.UNMATCHED and payout.match_rule == CHECK_RULE
    assert "zonder uitbetalingsreferentie" in payout.match_reason
    tenant = BankTransaction.objects.get(bank_reference="T3")
    assert tenant.status == TxnStatus.MATCHED and tenant.tenancy == t(3)


def test_a_tenants_own_transfer_is_still_matched_as_before(client, mollie, portfolio) -> None:
    # Paid by link and then also by transfer: two real payments, the second is credit.
    paid_by_link(client, mollie, 1)
    book_statement(portfolio, date(2026, 11, 9), [credit(1, date(2026, 11, 9))])
    run = match_and_post(date(2026, 11, 9))
    assert run.matched == 1 and owed(1) == D("-700.00")


# --- the built-in fake provider, end to end through the pages ------------------------------

def test_fake_provider_click_pay_page_pay_ledger_then_its_payout_books_once(
        fake_provider, portfolio) -> None:
    client = Client(enforce_csrf_checks=True)  # as a browser: the form carries its token
    url = actions.pay_url(t(1), D("700.00"))
    path = urlsplit(url).path.removeprefix("/betaal")
    link = PaymentLink.objects.get()
    response = client.get(f"/betaal{path}")
    assert response.status_code == 302
    assert response["Location"] == reverse("payments-fake", args=[link.token])
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "€ 700,00" in html
    assert "Betalen / Pay" in html and "Annuleren / Cancel" in html
    assert "geen echt geld" in html
    assert client.post(response["Location"], {"action": "pay"}).status_code == 403
    csrf = page.context["csrf_token"]
    back = client.post(response["Location"], {"action": "pay", "csrfmiddlewaretoken": csrf})
    assert back.status_code == 302 and back["Location"] == f"/betaal/{link.token}/terug"
    assert "Dank u wel!" in client.get(back["Location"]).content.decode()
    link.refresh_from_db()
    assert link.status == "paid" and link.provider_payment_id.startswith("fake_")
    today = timezone.now().astimezone(AMSTERDAM).date()
    assert payments_booked() == [(f"pay:fake:{link.provider_payment_id}", D("-700.00"), today)]
    # A second press of the (old) button changes nothing.
    client.post(response["Location"], {"action": "pay", "csrfmiddlewaretoken": csrf})
    assert len(payments_booked()) == 1
    # The fake provider's "bank": one credit per payment, "vroeg <token>".
    payout = fake.bank_entries(today + timedelta(days=1))
    assert [(e.amount, e.remittance, e.counterparty_name) for e in payout] == [
        (D("700.00"), f"vroeg {link.token}", fake.PAYER_NAME)]
    book_statement(portfolio, today + timedelta(days=1), payout)
    match_and_post(today + timedelta(days=1))
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.IGNORED and txn.match_reason == IGNORED_REASON
    assert len(payments_booked()) == 1 and LedgerEntry.objects.filter(kind="payment").count() == 1
    assert owed(1) == 0


def test_fake_provider_cancel_books_nothing_and_a_missed_webhook_is_caught_by_the_payout(
        client, fake_provider, portfolio) -> None:
    link = actions.link_for(t(1), D("700.00"))
    checkout = click(client, link)["Location"]
    back = client.post(checkout, {"action": "cancel"})
    assert "De betaling is niet gelukt" in client.get(back["Location"]).content.decode()
    assert payments_booked() == []
    # Again; this time paid, but the webhook is lost.
    checkout = click(client, link)["Location"]
    assert FakePayment.objects.count() == 2
    fake.finish(fake.open_payment(link.token), pay=True)  # type: ignore[arg-type]
    assert payments_booked() == []
    today = timezone.now().astimezone(AMSTERDAM).date()
    book_statement(portfolio, today + timedelta(days=1), fake.bank_entries(
        today + timedelta(days=1)))
    match_and_post(today + timedelta(days=1))
    assert BankTransaction.objects.get().status == TxnStatus.IGNORED
    assert len(payments_booked()) == 1 and owed(1) == 0
    assert client.get(checkout).status_code == 302  # nothing open to pay any more


def test_fake_payout_for_an_unknown_link_goes_to_a_person(fake_provider, portfolio) -> None:
    day = date(2026, 11, 9)
    book_statement(portfolio, day, [BankEntry(
        amount=D("700.00"), currency="EUR", booked_on=day, counterparty_name=fake.PAYER_NAME,
        remittance=f"vroeg {'0' * 32}", bank_reference="fake_x")])
    match_and_post(day)
    txn = BankTransaction.objects.get()
    assert txn.status == TxnStatus.UNMATCHED and txn.match_rule == CHECK_RULE
    assert payments_booked() == []


# --- reuse, expiry, pages ------------------------------------------------------------------

def test_one_open_link_per_tenancy_and_amount(fake_provider) -> None:
    now = timezone.now()
    first = actions.link_for(t(1), D("700.00"), now=now, message_key="msg:1:a")
    assert actions.link_for(t(1), D("700"), now=now + timedelta(days=3),
                            message_key="msg:1:b").pk == first.pk
    again = PaymentLink.objects.get(pk=first.pk)
    # Reused for a later message: it works the full period from that message.
    assert again.expires_at == now + timedelta(days=17) and again.message_key == "msg:1:a"
    assert actions.link_for(t(1), D("350.00"), now=now).pk != first.pk
    assert actions.link_for(t(2), D("700.00"), now=now).pk != first.pk
    later = actions.link_for(t(1), D("700.00"), now=now + timedelta(days=18))
    assert later.pk != first.pk and later.token != first.token
    assert PaymentLink.objects.get(pk=first.pk).status == "expired"
    with pytest.raises(actions.PaymentLinkError):
        actions.link_for(t(1), D("0.00"))


def test_expired_link_shows_how_to_pay_by_transfer(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"), now=timezone.now() - timedelta(days=15))
    response = click(client, link)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Deze betaallink werkt niet meer" in page and "This payment link no longer works" in page
    assert "NL91 ABNA 0417 1643 00" in page and "€ 700,00" in page and "€700.00" in page
    assert "Betalingskenmerk" in page and "Payment reference" in page
    assert "Fam. Test" not in page and "Teststraat" not in page  # no personal data
    assert response["Cache-Control"].startswith("max-age=0") and "noindex" in page
    assert mollie.requests == []
    link.refresh_from_db()
    assert link.status == "expired"


def test_unknown_link_and_no_provider(client, settings, portfolio) -> None:
    response = client.get(f"/betaal/{'a' * 32}")
    assert response.status_code == 404 and "Deze link kennen wij niet" in response.content.decode()
    assert client.get("/betaal/kort").status_code == 404
    settings.VROEG_PAYMENT_PROVIDER = "none"
    link = actions.link_for(t(1), D("700.00"))
    page = click(client, link).content.decode()
    assert "Betalen met een overboeking" in page and "NL91 ABNA 0417 1643 00" in page


def test_commands_list_check_expire(client, mollie) -> None:
    link = actions.link_for(t(1), D("700.00"))
    click(client, link)
    link.refresh_from_db()
    mollie.set_status(link.provider_payment_id, "paid")  # the webhook is lost
    out = StringIO()
    call_command("payments", "check", link.provider_payment_id, stdout=out)
    assert "paid" in out.getvalue() and len(payments_booked()) == 1
    call_command("payments", "check", str(link.pk), stdout=StringIO())
    assert len(payments_booked()) == 1
    old = actions.link_for(t(2), D("700.00"), now=timezone.now() - timedelta(days=20))
    out = StringIO()
    call_command("payments", "expire", stdout=out)
    assert out.getvalue().startswith("1 ") and PaymentLink.objects.get(pk=old.pk).status == \
        "expired"
    out = StringIO()
    call_command("payments", "list", "--json", stdout=out)
    rows = {r["tenancy"]: r for r in json.loads(out.getvalue())}
    assert rows["OVK-00001"]["status"] == "paid" and rows["OVK-00002"]["status"] == "expired"
    assert rows["OVK-00001"]["url"] == f"{PAY_BASE}/{link.token}"


def test_admin_lists_and_audits_payment_links(admin_client, fake_provider) -> None:
    link = actions.link_for(t(1), D("700.00"))
    response = admin_client.get(reverse("admin:payments_paymentlink_changelist"),
                                {"q": "OVK-00001"})
    assert response.status_code == 200 and list(response.context["cl"].result_list) == [link]
    response = admin_client.get(reverse("admin:payments_paymentlink_change", args=[link.pk]))
    assert response.status_code == 200 and f"{PAY_BASE}/{link.token}" in response.content.decode()
    assert AuditEvent.objects.filter(action="view", object_id=str(link.pk),
                                     object_type="payments.paymentlink").count() == 1
    response = admin_client.post(reverse("admin:payments_paymentlink_changelist"),
                                 {"action": "check_at_provider", "_selected_action": [link.pk]})
    assert response.status_code == 302


# --- paying in parts: the tenant arranges it alone, within policy ---------------------------

@pytest.mark.django_db
def test_the_tenant_arranges_small_arrears_online_within_policy(client, settings):
    from datetime import date as _date

    from vroeg.collection.models import Arrangement, Case
    from vroeg.ledger.models import LedgerEntry
    from vroeg.payments.actions import link_for
    from vroeg.portfolio.models import Household, Tenancy

    settings.VROEG_PAYMENT_PROVIDER = "fake"
    h = Household.objects.create(code="REL-A", name="Fam. Arslan")
    t = Tenancy.objects.create(code="OVK-A", household=h, unit_code="EH-A", street="Lindelaan",
                               house_number="3", postcode="1234AB", city="Utrecht",
                               start_on=_date(2019, 1, 1), net_rent=Decimal("600.00"),
                               payment_reference="1000000000000999")
    today = timezone.localdate()
    LedgerEntry.objects.create(tenancy=t, kind="charge", amount=Decimal("600.00"),
                               booked_on=today, due_on=today, source_key="charge:a")
    Case.objects.create(tenancy=t, flow="sociaal-incasseren@2", opened_on=today)
    link = link_for(t, Decimal("600.00"))
    page = client.get(f"/betaal/{link.token}/regeling")
    assert page.status_code == 200 and "6 keer" in page.content.decode()
    done = client.post(f"/betaal/{link.token}/regeling", {"terms": "3"})
    assert done.status_code == 200 and "Afgesproken" in done.content.decode()
    a = Arrangement.objects.get(tenancy=t)
    assert (a.terms, a.total, a.created_by) == (3, Decimal("600.00"), "tenant:OVK-A")
    assert Case.objects.get(tenancy=t).state == "arrangement"
    # More than a month's rent, or a second arrangement within a year: a person decides.
    again = client.post(f"/betaal/{link.token}/regeling", {"terms": "2"})
    assert "niet zelf online" in again.content.decode()
    assert Arrangement.objects.filter(tenancy=t, status="active").count() == 1


def test_the_day_report_counts_online_payments_and_the_run_expires_old_links(
        fake_provider, portfolio) -> None:
    made = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    # A link for part of the debt (messages reuse and extend the one for all of it).
    old = actions.link_for(t(1), D("350.00"), now=made)  # valid 14 days: to 16 Nov 09:00
    paid = actions.link_for(t(2), D("700.00"), now=made)
    evening = datetime(2026, 11, 15, 18, 30, tzinfo=UTC)  # 19:30 in Amsterdam
    actions.start_payment(paid, now=evening)
    payment = fake.open_payment(paid.token)
    assert payment is not None
    fake.finish(payment, pay=True, now=evening)
    actions.handle_webhook(payment.id, provider=fake.NAME)

    def run(day: str) -> dict:
        out = StringIO()
        call_command("run", date=day, json=True, stdout=out)
        return json.loads(out.getvalue())

    report = run("2026-11-15")
    assert report["payments"]["online"] == {"count": 1, "amount": "700.00"}
    assert report["payments"]["links_expired"] == 0
    report = run("2026-11-16")  # a past day runs at 10:00 Amsterdam: after 09:00
    assert report["payments"]["online"]["count"] == 0
    assert report["payments"]["links_expired"] == 1
    assert PaymentLink.objects.get(pk=old.pk).status == "expired"
    assert PaymentLink.objects.get(pk=paid.pk).status == "paid"
