"""What vroeg needs from a payment provider (PSP), whatever the provider is.

Two calls: create a payment and fetch one. Optionally a third: the payments inside a
payout (settlement), so the bank entry of that payout is not booked a second time.
Errors are PaymentProviderError with one line for a person (Dutch / English), never
with personal data: they go into logs and onto the pay page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class PaymentStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"


#: Statuses after which a payment never changes again (and may be tried anew).
FINAL_UNPAID = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED})


@dataclass(frozen=True)
class NewPayment:
    amount: Decimal  # EUR, > 0, whole cents
    description: str  # shown on the tenant's bank statement where the method allows
    redirect_url: str  # where the tenant lands after the checkout
    webhook_url: str  # where the provider reports a status change
    metadata: Mapping[str, str]  # {"link": our token, "tenancy": tenancy code}
    expires_on: date  # the link's last day; each provider applies its own limits
    locale: str = "nl_NL"


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: PaymentStatus
    amount: Decimal
    paid_at: datetime | None = None  # aware
    method: str = ""
    settlement_id: str = ""
    checkout_url: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def paid_amount(self) -> Decimal | None:
        return self.amount if self.status == PaymentStatus.PAID else None


@dataclass(frozen=True)
class Settlement:
    """A payout to the corporation's bank account and the payments it carries."""

    id: str
    reference: str  # as on the bank statement, e.g. "1234567.2611.01"
    payments: tuple[ProviderPayment, ...]


class PaymentProviderError(Exception):
    """The provider refused or could not be reached. `retry`: trying later may work."""

    def __init__(self, message: str, *, retry: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.status = status


class Provider(Protocol):
    name: str

    def create_payment(self, new: NewPayment) -> ProviderPayment: ...

    def get_payment(self, payment_id: str) -> ProviderPayment: ...

    def settlement(self, reference: str) -> Settlement | None:
        """The payout with this bank reference; None when this provider cannot tell."""
        ...
