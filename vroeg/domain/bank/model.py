"""The normalised bank entry model every parser produces (pure, no I/O)."""

from __future__ import annotations

import hashlib
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
    bank_code: str = ""  # bank transaction code: "PMNT-IDDT-UPDD" (camt), "NTRF"/"N654" (MT940)


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
    dated_on: date | None = None  # camt: FrToDt/ToDtTm, else CreDtTm


@dataclass(frozen=True)
class ParsedFile:
    format: str  # "camt.053.001.02", "mt940", ...
    statements: tuple[Statement, ...]
    is_statement: bool = True  # False for notifications/status reports (camt.054, pain.002)
    # Things a person should know but that do not stop the import: a statement whose
    # balances do not add up, a batch that could not be split, a pending entry left out.
    warnings: tuple[str, ...] = ()


class BankFileError(ValueError):
    """A bank file that cannot be read. `where` names the element or line."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.detail = message


# Bank amounts are stored in BankTransaction.amount (max_digits=14) and booked to
# LedgerEntry.amount (max_digits=12), both with 2 decimals: the narrower one rules.
AMOUNT_DIGITS, AMOUNT_PLACES = 12, 2
CENT = Decimal(1).scaleb(-AMOUNT_PLACES)
MAX_AMOUNT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES) - CENT


def amount_problem(amount: Decimal, raw: str, field: str = "") -> str:
    """Why `amount` (written `raw` in the file) cannot be stored, or "" if it can."""
    where = f" (veld / field {field})" if field else ""
    if abs(amount) > MAX_AMOUNT:  # before any quantize: that overflows at 28 digits
        return (f"Bedrag te groot / amount too large{where}: {raw!r} "
                f"(hoogstens / at most {MAX_AMOUNT})")
    if amount != amount.quantize(CENT):
        return (f"Te veel decimalen / too many decimals{where}: {raw!r} "
                f"(hoogstens / at most {AMOUNT_PLACES})")
    return ""


def _canonical_amount(amount: Decimal) -> str:
    """One spelling per value, so 9, 9.0 and 9.00 give the same key."""
    cents = amount.quantize(Decimal("0.01"))
    return format(cents if cents == amount else amount.normalize(), "f")


def entry_keys(statement: Statement) -> list[str]:
    """A stable identity per entry: the same booking in two overlapping statements
    (or files) gets the same key, two identical bookings in one statement get two.

    sha256 over account, booking date, amount, currency, bank reference, end-to-end
    id, counterparty IBAN, remittance and reversal flag, plus the occurrence index
    among identical entries of the statement.
    """
    seen: dict[tuple[str, ...], int] = {}
    keys = []
    account = statement.account_iban.replace(" ", "").upper()
    for e in statement.entries:
        base = (account, e.booked_on.isoformat(), _canonical_amount(e.amount), e.currency,
                e.bank_reference, e.end_to_end_id, e.counterparty_iban, e.remittance,
                "1" if e.reversal else "0")
        n = seen.get(base, 0)
        seen[base] = n + 1
        raw = "\x1f".join((*base, str(n)))
        keys.append(hashlib.sha256(raw.encode("utf-8")).hexdigest())
    return keys
