"""Dated legal tables (rules are data): the WIK cost scale, VAT and statutory interest.

The rows live in YAML files shipped in `vroeg/data/legal/`. `parse_wik` and
`parse_interest` turn loaded data into frozen tables (pure, testable with any data);
`default_wik_table` and `default_interest_table` read the shipped file once.
A row holds from its `valid_from` until the next row's; a change in the law is a new
row, never a change in code.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib.resources import files
from typing import Any, TypeVar

import yaml

WIK_FILE = "data/legal/wik.yaml"
INTEREST_FILE = "data/legal/statutory_interest.yaml"
WIK_SOURCE = f"vroeg/{WIK_FILE}"
INTEREST_SOURCE = f"vroeg/{INTEREST_FILE}"


class LegalTableError(ValueError):
    """A table file is malformed, or a date falls before a table's first row."""


@dataclass(frozen=True)
class Band:
    """One slice of the principal and its rate; `up_to` None means no upper bound."""

    up_to: Decimal | None
    percent: Decimal


@dataclass(frozen=True)
class RecurringCap:
    """Recurring claims with a monthly amount below `monthly_below`: at most
    `max_costs` (excluding VAT) per `period_months` months."""

    monthly_below: Decimal
    max_costs: Decimal
    period_months: int


@dataclass(frozen=True)
class CostScale:
    valid_from: date
    minimum: Decimal
    maximum: Decimal
    bands: tuple[Band, ...]
    recurring_cap: RecurringCap | None


@dataclass(frozen=True)
class Rate:
    valid_from: date
    percent: Decimal


R = TypeVar("R", CostScale, Rate)


def _row_on(rows: Sequence[R], on: date, what: str) -> R:
    i = bisect_right([r.valid_from for r in rows], on)
    if i == 0:
        raise LegalTableError(
            f"{what}: geen rij vóór / no row before {rows[0].valid_from.isoformat()} "
            f"(datum / date {on.isoformat()})")
    return rows[i - 1]


@dataclass(frozen=True)
class WikTable:
    scales: tuple[CostScale, ...]
    vat: tuple[Rate, ...]
    source: str = WIK_SOURCE

    def scale_on(self, on: date) -> CostScale:
        return _row_on(self.scales, on, f"{self.source} scales")

    def vat_on(self, on: date) -> Rate:
        return _row_on(self.vat, on, f"{self.source} vat")


@dataclass(frozen=True)
class InterestTable:
    rates: tuple[Rate, ...]
    source: str = INTEREST_SOURCE

    @property
    def starts_on(self) -> date:
        return self.rates[0].valid_from

    def rate_on(self, on: date) -> Rate:
        return _row_on(self.rates, on, f"{self.source} rates")

    def next_change_after(self, on: date) -> date | None:
        """The first valid_from after `on`, or None: the last rate continues."""
        i = bisect_right([r.valid_from for r in self.rates], on)
        return self.rates[i].valid_from if i < len(self.rates) else None


# --- parsing (pure) --------------------------------------------------------------------

def _fail(where: str, message: str) -> LegalTableError:
    return LegalTableError(f"{where}: {message}")


def _decimal(value: Any, where: str) -> Decimal:
    # Strings only: a YAML float (0.15) would already have lost exactness.
    if not isinstance(value, str):
        raise _fail(where, f"bedrag als tekst verwacht / expected a quoted decimal, got {value!r}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise _fail(where, f"geen getal / not a number: {value!r}") from None
    if not result.is_finite() or result < 0:
        raise _fail(where, f"geen geldig getal / not a valid number: {value!r}")
    return result


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(where, f"geen datum / not a date (YYYY-MM-DD): {value!r}")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "verwacht een tabel / expected a mapping")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _fail(where, "verwacht een niet-lege lijst / expected a non-empty list")
    return value


def _ascending(rows: Sequence[R], where: str) -> tuple[R, ...]:
    for before, after in zip(rows, rows[1:], strict=False):
        if after.valid_from <= before.valid_from:
            raise _fail(where, "valid_from moet oplopen / valid_from must increase: "
                               f"{after.valid_from.isoformat()}")
    return tuple(rows)


def _rates(value: Any, where: str) -> tuple[Rate, ...]:
    rows = []
    for i, raw in enumerate(_list(value, where)):
        row = _mapping(raw, f"{where}[{i}]")
        rows.append(Rate(valid_from=_date(row.get("valid_from"), f"{where}[{i}].valid_from"),
                         percent=_decimal(row.get("percent"), f"{where}[{i}].percent")))
    return _ascending(rows, where)


def _bands(value: Any, where: str) -> tuple[Band, ...]:
    bands: list[Band] = []
    for i, raw in enumerate(_list(value, where)):
        row = _mapping(raw, f"{where}[{i}]")
        up = row.get("up_to")
        up_to = None if up is None else _decimal(up, f"{where}[{i}].up_to")
        if bands and (bands[-1].up_to is None or (up_to is not None
                                                  and up_to <= bands[-1].up_to)):
            raise _fail(f"{where}[{i}].up_to", "grenzen moeten oplopen / bounds must increase")
        bands.append(Band(up_to=up_to, percent=_decimal(row.get("percent"),
                                                        f"{where}[{i}].percent")))
    if bands[-1].up_to is not None:
        raise _fail(where, "laatste schijf zonder bovengrens / last band needs up_to: null")
    return tuple(bands)


def _cap(value: Any, where: str) -> RecurringCap | None:
    if value is None:
        return None
    row = _mapping(value, where)
    months = row.get("period_months")
    if not isinstance(months, int) or isinstance(months, bool) or months <= 0:
        raise _fail(f"{where}.period_months", f"geen aantal maanden / not a month count: "
                                              f"{months!r}")
    return RecurringCap(monthly_below=_decimal(row.get("monthly_below"), f"{where}.monthly_below"),
                        max_costs=_decimal(row.get("max_costs"), f"{where}.max_costs"),
                        period_months=months)


def parse_wik(data: Any, source: str = WIK_SOURCE) -> WikTable:
    top = _mapping(data, source)
    scales = []
    for i, raw in enumerate(_list(top.get("scales"), f"{source}: scales")):
        where = f"{source}: scales[{i}]"
        row = _mapping(raw, where)
        scales.append(CostScale(
            valid_from=_date(row.get("valid_from"), f"{where}.valid_from"),
            minimum=_decimal(row.get("minimum"), f"{where}.minimum"),
            maximum=_decimal(row.get("maximum"), f"{where}.maximum"),
            bands=_bands(row.get("bands"), f"{where}.bands"),
            recurring_cap=_cap(row.get("recurring_cap"), f"{where}.recurring_cap")))
    return WikTable(scales=_ascending(scales, f"{source}: scales"),
                    vat=_rates(top.get("vat"), f"{source}: vat"), source=source)


def parse_interest(data: Any, source: str = INTEREST_SOURCE) -> InterestTable:
    top = _mapping(data, source)
    return InterestTable(rates=_rates(top.get("rates"), f"{source}: rates"), source=source)


# --- the shipped tables (read once) ----------------------------------------------------

def _read(name: str) -> Any:
    return yaml.safe_load(files("vroeg").joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def default_wik_table() -> WikTable:
    return parse_wik(_read(WIK_FILE), WIK_SOURCE)


@lru_cache(maxsize=1)
def default_interest_table() -> InterestTable:
    return parse_interest(_read(INTEREST_FILE), INTEREST_SOURCE)
