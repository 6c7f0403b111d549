"""Mollie, through its official client (mollie-api-python, ``mollie.api.client.Client``).

Calls used: ``client.payments.create({...})`` (POST /v2/payments),
``client.payments.get(id)`` (GET /v2/payments/{id}) and, for payouts,
``client.settlements.get(reference)`` plus ``settlement.payments.list()``
(GET /v2/settlements/{reference}, GET /v2/settlements/{id}/payments). The Settlements
API takes an organization access token (settlements.read), not an API key: without
VROEG_MOLLIE_ACCESS_TOKEN, :meth:`MollieProvider.settlement` answers None.

Expiry: a Mollie payment's lifetime is set by its method (an iDEAL checkout lasts
minutes), not by us; the only method parameter for it is ``dueDate`` for bank transfer
(tomorrow at the earliest, 100 days after tomorrow at the latest). That is why vroeg
creates the Mollie payment only when the tenant clicks the link, and sends the link's
last day as ``dueDate``, clamped to Mollie's range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from mollie.api.client import Client
from mollie.api.error import (
    Error,
    IdentifierError,
    RequestError,
    RequestSetupError,
    ResponseError,
    ResponseHandlingError,
)

from vroeg.domain.calendar import AMSTERDAM
from vroeg.payments.providers.base import (
    NewPayment,
    PaymentProviderError,
    PaymentStatus,
    ProviderPayment,
    Settlement,
)

NAME = "mollie"
# Mollie's bank transfer dueDate: from tomorrow up to 100 days after tomorrow.
MAX_DUE_DAYS = 100
_STATUSES = {"open": PaymentStatus.OPEN, "pending": PaymentStatus.PENDING,
             "authorized": PaymentStatus.PENDING, "paid": PaymentStatus.PAID,
             "failed": PaymentStatus.FAILED, "canceled": PaymentStatus.CANCELED,
             "expired": PaymentStatus.EXPIRED}
_HTTP_STATUS = re.compile(r"status code: (\d{3})")


def due_date(expires_on: date, today: date) -> date:
    """The bank transfer due date Mollie accepts that is closest to the link's last day."""
    tomorrow = today + timedelta(days=1)
    return min(max(expires_on, tomorrow), tomorrow + timedelta(days=MAX_DUE_DAYS))


def _amount(data: Mapping[str, Any] | None) -> Decimal:
    if not data or data.get("currency") != "EUR":
        raise PaymentProviderError("Mollie: bedrag niet in euro / amount not in EUR")
    try:
        return Decimal(str(data["value"]))
    except (KeyError, InvalidOperation) as exc:
        raise PaymentProviderError("Mollie: onleesbaar bedrag / unreadable amount") from exc


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _payment(data: Mapping[str, Any]) -> ProviderPayment:
    meta = data.get("metadata")
    links = data.get("_links") or {}
    checkout = (links.get("checkout") or {}).get("href", "") if isinstance(links, dict) else ""
    return ProviderPayment(
        id=str(data.get("id", "")), status=_STATUSES.get(str(data.get("status")),
                                                         PaymentStatus.PENDING),
        amount=_amount(data.get("amount")), paid_at=_instant(data.get("paidAt")),
        method=str(data.get("method") or ""), settlement_id=str(data.get("settlementId") or ""),
        checkout_url=checkout or "",
        metadata={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {})


def _error(exc: Error, doing: str) -> PaymentProviderError:
    """One line for a person; never the key, the URL or the tenant."""
    if isinstance(exc, IdentifierError):  # checked by the client before any request
        return PaymentProviderError(f"Mollie: {doing}: onbekende id / unknown id", status=404)
    if isinstance(exc, RequestSetupError):
        return PaymentProviderError(
            f"Mollie: {doing}: instelling onjuist (VROEG_MOLLIE_API_KEY) / setting invalid")
    if isinstance(exc, ResponseError):
        status = int(exc.status or 0)
        detail = str(exc)[:200]
        field = f", veld / field {exc.field}" if exc.field else ""
        if status == 401:
            text = "sleutel geweigerd / key refused (VROEG_MOLLIE_API_KEY)"
        elif status == 404:
            text = "onbekend bij Mollie / not known to Mollie"
        elif status >= 500 or status == 429:
            text = f"storing bij Mollie, later opnieuw / Mollie is down, try later: {detail}"
        else:
            text = f"geweigerd / refused{field}: {detail}"
        return PaymentProviderError(f"Mollie: {doing}: HTTP {status}: {text}",
                                    retry=status >= 500 or status == 429, status=status)
    if isinstance(exc, ResponseHandlingError):
        found = _HTTP_STATUS.search(str(exc))
        code = int(found.group(1)) if found else None
        return PaymentProviderError(
            f"Mollie: {doing}: onverwacht antwoord / unexpected answer (HTTP {code or '?'})",
            retry=code is None or code >= 500, status=code)
    if isinstance(exc, RequestError):
        if isinstance(exc.__context__, requests.exceptions.Timeout):
            return PaymentProviderError(
                f"Mollie: {doing}: geen antwoord binnen de tijd (time-out) / no answer in time",
                retry=True)
        return PaymentProviderError(
            f"Mollie: {doing}: niet bereikbaar / cannot be reached", retry=True)
    return PaymentProviderError(f"Mollie: {doing}: {type(exc).__name__}")


class MollieProvider:
    name = NAME

    def __init__(self, api_key: str | None = None, *, access_token: str | None = None,
                 endpoint: str | None = None, methods: list[str] | None = None,
                 timeout: float | None = None) -> None:
        self.api_key = settings.VROEG_MOLLIE_API_KEY if api_key is None else api_key
        self.access_token = (settings.VROEG_MOLLIE_ACCESS_TOKEN if access_token is None
                             else access_token)
        self.endpoint = settings.VROEG_MOLLIE_API_ENDPOINT if endpoint is None else endpoint
        self.methods = list(settings.VROEG_MOLLIE_METHODS if methods is None else methods)
        seconds = settings.VROEG_MOLLIE_TIMEOUT if timeout is None else timeout
        # (connect, read): the tenant is waiting on the other end of the click.
        self.timeout: Any = (min(seconds, 5.0), seconds)

    def _client(self, *, token: str = "") -> Client:
        client = Client(api_endpoint=self.endpoint, timeout=self.timeout)
        try:
            if token:
                client.set_access_token(token)
            else:
                client.set_api_key(self.api_key)
        except RequestSetupError as exc:
            raise _error(exc, "instellen / set-up") from None
        return client

    def create_payment(self, new: NewPayment) -> ProviderPayment:
        if new.amount <= 0 or new.amount != new.amount.quantize(Decimal("0.01")):
            raise PaymentProviderError("Mollie: bedrag moet positief zijn, in centen / amount "
                                       "must be positive, in cents")
        body: dict[str, Any] = {
            "amount": {"currency": "EUR", "value": f"{new.amount:.2f}"},
            "description": new.description[:255],
            "redirectUrl": new.redirect_url,
            "webhookUrl": new.webhook_url,
            "metadata": dict(new.metadata),
            "locale": new.locale,
        }
        if not self.methods or "banktransfer" in self.methods:
            today = timezone.now().astimezone(AMSTERDAM).date()
            body["dueDate"] = due_date(new.expires_on, today).isoformat()
        if self.methods:
            body["method"] = self.methods[0] if len(self.methods) == 1 else self.methods
        try:
            data = self._client().payments.create(body)
        except Error as exc:
            raise _error(exc, "betaling aanmaken / create payment") from None
        payment = _payment(data)
        if not payment.id or not payment.checkout_url:
            raise PaymentProviderError("Mollie: antwoord zonder id of betaalpagina / answer "
                                       "without id or checkout URL")
        return payment

    def get_payment(self, payment_id: str) -> ProviderPayment:
        try:
            data = self._client().payments.get(payment_id)
        except Error as exc:
            raise _error(exc, "betaling ophalen / fetch payment") from None
        return _payment(data)

    def settlement(self, reference: str) -> Settlement | None:
        if not self.access_token:
            return None
        try:
            client = self._client(token=self.access_token)
            found = client.settlements.get(reference)
            payments: list[ProviderPayment] = []
            page = found.payments.list(limit=250)
            while page is not None:
                payments.extend(_payment(p) for p in page)
                page = page.get_next() if page.has_next() else None
        except Error as exc:
            raise _error(exc, "uitbetaling ophalen / fetch settlement") from None
        return Settlement(id=str(found.id), reference=str(found.reference or reference),
                          payments=tuple(payments))
