"""Read-side ledger queries shared by the run, the report and the admin."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from vroeg.domain.money import cents
from vroeg.ledger.models import EntryKind, LedgerEntry

# SQLite sums DECIMAL columns as floating point (a settled balance can come back as
# -9.09e-13): compare against half a cent and round to cents, never against zero.
HALF_CENT = Decimal("0.005")


def owing_balances(through: date) -> dict[int, Decimal]:
    """Tenancy id -> balance (rounded to cents) for every tenancy that owes money."""
    rows = (LedgerEntry.objects.filter(booked_on__lte=through).values("tenancy_id")
            .annotate(b=Sum("amount")).filter(b__gt=HALF_CENT).values_list("tenancy_id", "b"))
    return {tid: cents(Decimal(b)) for tid, b in rows}


def past_due_balances(through: date) -> dict[int, Decimal]:
    """Tenancy id -> arrears past due on `through` for every tenancy that has them: the
    balance less every debt due on `through` or later (allocation is oldest-first, so
    what falls due today is paid last). The same sum as domain.ledger.age's arrears."""
    future = Q(amount__gt=0) & ~Q(kind=EntryKind.REVERSAL) & Q(
        due__gte=through)
    money = DecimalField(max_digits=14, decimal_places=2)
    rows = (LedgerEntry.objects.filter(booked_on__lte=through)
            .annotate(due=Coalesce("due_on", "booked_on"))
            .values("tenancy_id")
            .annotate(b=Sum("amount"), f=Sum(Case(When(future, then=F("amount")),
                                                  default=Value(0), output_field=money)))
            .annotate(p=F("b") - F("f")).filter(p__gt=HALF_CENT)
            .values_list("tenancy_id", "p"))
    return {tid: cents(Decimal(p)) for tid, p in rows}


def balance_of(tenancy_id: int, through: date) -> Decimal:
    total = LedgerEntry.objects.filter(tenancy_id=tenancy_id, booked_on__lte=through).aggregate(
        s=Sum("amount"))["s"]
    return cents(Decimal(total)) if total is not None else Decimal("0.00")
