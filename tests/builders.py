"""Small, exact portfolios for run tests: a tenancy CSV and camt.053 files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from vroeg.domain.bank.camt_writer import write_camt053
from vroeg.domain.bank.model import BankEntry, Statement
from vroeg.domain.reference import make_betalingskenmerk
from vroeg.domain.tenancy_columns import ALL

ACCOUNT = "NL91ABNA0417164300"
D = Decimal


def ref(n: int) -> str:
    return make_betalingskenmerk(90000 + n)


def tenancy_row(n: int, **over: str) -> dict[str, str]:
    row = {c: "" for c in ALL}
    row.update({
        "overeenkomst_code": f"OVK-{n:05d}", "relatie_code": f"REL-{n:05d}",
        "relatie_naam": f"Fam. Test {n}", "eenheid_code": f"EH-{n:05d}",
        "eenheid_straat": "Teststraat", "eenheid_huisnummer": str(n),
        "eenheid_postcode": "1011 AB", "eenheid_plaats": "Amsterdam",
        "ingangsdatum": "2020-01-01", "kale_huur": "650.00", "servicekosten": "50.00",
        "vervaldag": "1", "betaalwijze": "overboeking", "iban": iban(n),
        "betalingskenmerk": ref(n), "email": f"huurder{n}@example.org",
        "mobiel": "+31612345678", "voorkeurskanaal": "email",
        "beginsaldo": "0.00", "beginsaldo_datum": "2026-09-30",
    })
    row.update(over)
    return row


def iban(n: int) -> str:
    from schwifty import IBAN

    return str(IBAN.generate("NL", bank_code="INGB", account_code=f"{n:010d}")).replace(" ", "")


def write_tenancies(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ALL))
        w.writeheader()
        w.writerows(rows)
    return path


def credit(n: int, day: date, amount: str = "700.00", *, structured: bool = True,
           text: str = "", **kw: object) -> BankEntry:
    return BankEntry(amount=D(amount), currency="EUR", booked_on=day, value_on=day,
                     counterparty_name=f"Fam. Test {n}", counterparty_iban=iban(n),
                     creditor_reference=ref(n) if structured else "",
                     remittance=text, bank_reference=f"B{n}-{day:%m%d}-{amount}", **kw)  # type: ignore[arg-type]


def write_statement(path: Path, day: date, entries: Sequence[BankEntry],
                    opening: str = "10000.00") -> Path:
    total = sum((e.amount for e in entries), D("0"))
    stmt = Statement(account_iban=ACCOUNT, currency="EUR", opening_balance=D(opening),
                     closing_balance=D(opening) + total, opening_on=day, closing_on=day,
                     statement_id=f"STMT-{day:%Y%m%d}", entries=tuple(entries))
    path.write_bytes(write_camt053([stmt], message_id=f"MSG-{day:%Y%m%d}",
                                   created_at=datetime(day.year, day.month, day.day, 6, 0)))
    return path
