"""The demo corporation's files: tenancies.csv and camt.053 statements (no Django).

The ERP delivers ``tenancies.csv`` (the columns of :mod:`vroeg.domain.tenancy_columns`);
the bank delivers one camt.053 statement per history month (``camt053-2025-11.xml``)
and one per business day of the window (``camt053-2026-11-17.xml``). The statements
chain: each opens with the previous one's closing balance.

Files are written atomically (a hidden temporary file, then a rename) and an existing
file with the same bytes is left alone, so building twice gives the same folder.
"""

from __future__ import annotations

import csv
import filecmp
import io
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from vroeg.demo.population import CURRENCY, Portfolio
from vroeg.domain.bank.camt_writer import write_camt053, write_camt053_to
from vroeg.domain.bank.model import Statement
from vroeg.domain.calendar import is_business_day
from vroeg.domain.tenancy_columns import ALL as TENANCY_COLUMNS

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TENANCIES_FILE = "tenancies.csv"
#: Statements are produced at the end of their last day, 18:00 Amsterdam time.
STATEMENT_TIME = time(18, 0)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BankFile:
    """One camt.053 file to write: a single statement."""

    name: str
    statement: Statement
    created_at: datetime
    message_id: str
    sequence: int  # ElctrncSeqNb, counting every statement of the account


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    size: int
    changed: bool  # False when an identical file was already there


def opening_account_balance(portfolio: Portfolio) -> Decimal:
    """The corporation account's balance before the first history day (seeded)."""
    rng = random.Random(f"vroeg-demo:{portfolio.seed}:account")
    return Decimal(rng.randint(250_000_00, 2_500_000_00)).scaleb(-2)


def tenancies_csv(portfolio: Portfolio) -> bytes:
    """tenancies.csv: a header with exactly the tenancy columns, one row per tenancy."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(TENANCY_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for t in portfolio.tenancies:
        writer.writerow(t.csv_row())
    return buf.getvalue().encode("utf-8")


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def statement_periods(portfolio: Portfolio, *,
                      business_day: Callable[[date], bool] = is_business_day,
                      ) -> list[tuple[str, date, date]]:
    """(label, first day, last day) per statement: the history months (the last one
    cut at the day before the window), then every business day of the window."""
    period = portfolio.period
    periods: list[tuple[str, date, date]] = []
    start = period.history_start
    while start <= period.history_end:
        end = min(_month_end(start), period.history_end)
        periods.append((f"{start:%Y-%m}", start, end))
        start = end + timedelta(days=1)
    d = period.window_start
    while d <= period.today:
        if business_day(d):
            periods.append((f"{d:%Y-%m-%d}", d, d))
        d += timedelta(days=1)
    return periods


def iter_bank_files(portfolio: Portfolio, *,
                    business_day: Callable[[date], bool] = is_business_day,
                    ) -> Iterator[BankFile]:
    """The statements, chained, one at a time (a large portfolio never holds all its
    entries at once): monthly over the history, daily over the window.

    Every entry lands in exactly one statement; the window has a statement for every
    business day, also one without entries.
    """
    iban = portfolio.corporation_iban
    periods = statement_periods(portfolio, business_day=business_day)
    placed = sum(portfolio.count_between(first, last) for _, first, last in periods)
    if placed != len(portfolio.events):
        raise AssertionError(f"{len(portfolio.events) - placed} entries fall outside every "
                             "statement (booked on a non-business day?)")
    balance = opening_account_balance(portfolio)
    for seq, (label, first, last) in enumerate(periods, 1):
        closing = balance + portfolio.total_between(first, last)
        stmt = Statement(account_iban=iban, currency=CURRENCY, opening_balance=balance,
                         closing_balance=closing, opening_on=first, closing_on=last,
                         statement_id=f"{iban}-{label}",
                         entries=tuple(portfolio.entries_between(first, last)))
        created = datetime.combine(last, STATEMENT_TIME, AMSTERDAM)
        yield BankFile(name=f"camt053-{label}.xml", statement=stmt, created_at=created,
                       message_id=f"VROEGDEMO-{label.replace('-', '')}-{seq}", sequence=seq)
        balance = closing


def plan_bank_files(portfolio: Portfolio, *,
                    business_day: Callable[[date], bool] = is_business_day) -> list[BankFile]:
    """All statements of :func:`iter_bank_files` as a list."""
    return list(iter_bank_files(portfolio, business_day=business_day))


def camt_bytes(bank_file: BankFile, version: str = "001.02", pretty: bool = True) -> bytes:
    return write_camt053([bank_file.statement], message_id=bank_file.message_id,
                         created_at=bank_file.created_at, version=version,
                         sequence_start=bank_file.sequence, pretty=pretty)


def camt_writer(bank_file: BankFile, version: str = "001.02",
                pretty: bool = True) -> Callable[[BinaryIO], object]:
    """Writes the statement to a file: compact ones entry by entry (large months)."""
    if pretty:
        return lambda out: out.write(camt_bytes(bank_file, version, pretty=True))
    return lambda out: write_camt053_to(
        out, [bank_file.statement], message_id=bank_file.message_id,
        created_at=bank_file.created_at, version=version, sequence_start=bank_file.sequence)


def write_file(path: Path, data: bytes | Callable[[BinaryIO], object]) -> WrittenFile:
    """Write atomically (a hidden .part file, then a rename); leave an identical
    existing file untouched. `data` is the bytes, or a function writing them."""
    if isinstance(data, bytes):
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return WrittenFile(path, len(data), changed=False)
        except FileNotFoundError:
            pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as fh:
            if isinstance(data, bytes):
                fh.write(data)
            else:
                data(fh)
            fh.flush()
            os.fsync(fh.fileno())
        size = tmp.stat().st_size
        if not isinstance(data, bytes) and path.exists() and filecmp.cmp(tmp, path,
                                                                          shallow=False):
            tmp.unlink()
            return WrittenFile(path, size, changed=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenFile(path, size, changed=True)


def write_portfolio(portfolio: Portfolio, folder: Path, *, version: str = "001.02",
                    pretty_daily: bool = True, progress: Progress | None = None,
                    ) -> list[WrittenFile]:
    """tenancies.csv and every camt.053 file of `portfolio` into `folder`.

    Monthly statements are compact XML (they are large); daily ones are indented
    for people to read, unless `pretty_daily` is False.
    """
    say = progress or (lambda _msg: None)
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_file(folder / TENANCIES_FILE, tenancies_csv(portfolio))]
    say(f"  {TENANCIES_FILE}: {len(portfolio.tenancies)} tenancies")
    periods = statement_periods(portfolio)
    monthly = sum(1 for _, first, _ in periods if first < portfolio.period.window_start)
    for i, bank_file in enumerate(iter_bank_files(portfolio), 1):
        is_monthly = i <= monthly
        write = camt_writer(bank_file, version, pretty=pretty_daily and not is_monthly)
        written.append(write_file(folder / bank_file.name, write))
        if is_monthly:
            say(f"  {bank_file.name}: {len(bank_file.statement.entries)} entries "
                f"({i}/{len(periods)} files)")
    daily = len(periods) - monthly
    if daily:
        say(f"  {daily} daily statements camt053-{periods[monthly][0]}.xml .. "
            f"camt053-{periods[-1][0]}.xml")
    return written
