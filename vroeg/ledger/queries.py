"""Read-side ledger queries shared by the run, the report and the admin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from vroeg.domain.money import cents
from vroeg.ledger.models import LedgerEntry

# SQLite sums DECIMAL columns as floating point (a settled balance can come back as
# -9.09e-13): compare against half a cent and round to cents, never against zero.
HALF_CENT = Decimal("0.005")


def owing_balances(through: date) -> dict[int, Decimal]:
    """Tenancy id -> balance (rounded to cents) for every tenancy that owes money."""
    rows = (LedgerEntry.objects.filter(booked_on__lte=through).values("tenancy_id")
            .annotate(b=Sum("amount")).filter(b__gt=HALF_CENT).values_list("tenancy_id", "b"))
    return {tid: cents(Decimal(b)) for tid, b in rows}


def balance_of(tenancy_id: int, through: date) -> Decimal:
    total = LedgerEntry.objects.filter(tenancy_id=tenancy_id, booked_on__lte=through).aggregate(
        s=Sum("amount"))["s"]
    return cents(Decimal(total)) if total is not None else Decimal("0.00")
