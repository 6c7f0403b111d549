"""The normalised bank entry model every parser produces (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class BankEntry:
    """One transaction on the account. amount: credit positive, debit negative."""

    amount: Decimal
    currency: str
    booked_on: date
    value_on: date | None = None
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    remittance: str = ""
    creditor_reference: str = ""  # betalingskenmerk or RF reference, digits/characters only
    end_to_end_id: str = ""
    mandate_id: str = ""
    bank_reference: str = ""
    reversal: bool = False
    return_reason: str = ""  # ISO code, e.g. AM04, MD06


@dataclass(frozen=True)
class Statement:
    account_iban: str
    currency: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    opening_on: date | None = None
    closing_on: date | None = None
    statement_id: str = ""
    entries: tuple[BankEntry, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ParsedFile:
    format: str  # "camt.053.001.02", "mt940", ...
    statements: tuple[Statement, ...]
    is_statement: bool = True  # False for notifications/status reports (camt.054, pain.002)


class BankFileError(ValueError):
    """A bank file that cannot be read. `where` names the element or line."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.detail = message
