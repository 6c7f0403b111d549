"""Money: Decimal only, rounded half-up to cents where it is posted."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(text: str) -> Decimal:
    """'1234.56', '1.234,56', '1234,56' -> Decimal. Raises ValueError on anything else."""
    raw = text.strip().replace("\u00a0", "").replace(" ", "")
    if not raw:
        raise ValueError("leeg bedrag / empty amount")
    if "," in raw and "." in raw:
        # The last separator is the decimal one: 1.234,56 or 1,234.56
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(f"geen bedrag / not an amount: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"geen bedrag / not an amount: {text!r}")
    return value
