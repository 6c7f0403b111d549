"""Booking collection costs (incassokosten) when the flow's policy charges them.

The decision is pure (vroeg/domain/legal/charging.py): after the 14-day letter's
deadline, not during debt help, once per case, within the small-claim cap. Booked as
a ledger entry of kind "costs" (source key "costs:<case id>", so never twice), with
an audit row, in one transaction per case.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum

from vroeg.audit.actions import audit
from vroeg.collection.models import Case, Evidence, Pause
from vroeg.domain.flow import Flow
from vroeg.domain.flow.snapshot import DEBT_HELP_KINDS
from vroeg.domain.ledger import Posting, age
from vroeg.domain.legal.charging import LetterFacts, costs_to_charge
from vroeg.ledger.actions import insert_entries
from vroeg.ledger.models import EntryKind, LedgerEntry

ACTOR = "system:run"


def book_collection_costs(run_on: date, flow: Flow) -> int:
    """Book the costs now due; returns how many cases were charged."""
    if not flow.legal.charge_collection_costs:
        return 0
    letters = (Evidence.objects.filter(kind=Evidence.Kind.FOURTEEN_DAY_LETTER,
                                       case__status=Case.Status.OPEN, on__lte=run_on)
               .select_related("case__tenancy").order_by("case_id", "-on"))
    latest: dict[int, Evidence] = {}
    for ev in letters:
        latest.setdefault(ev.case_id, ev)
    if not latest:
        return 0
    charged = set(LedgerEntry.objects.filter(
        source_key__in=[f"costs:{cid}" for cid in latest]).values_list("source_key", flat=True))
    paused = set(Pause.objects.filter(kind__in=DEBT_HELP_KINDS, starts_on__lte=run_on).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=run_on)).values_list("tenancy_id", flat=True))
    booked = 0
    for case_id, ev in latest.items():
        tenancy = ev.case.tenancy
        if f"costs:{case_id}" in charged:
            continue
        postings = [Posting(k, a, b, d) for k, a, b, d in LedgerEntry.objects.filter(
            tenancy=tenancy, booked_on__lte=run_on).values_list("kind", "amount", "booked_on",
                                                                "due_on")]
        recent = LedgerEntry.objects.filter(
            tenancy=tenancy, kind=EntryKind.COSTS,
            booked_on__gt=run_on - timedelta(days=183)).aggregate(s=Sum("amount"))["s"]
        letter = LetterFacts(
            case_id=case_id, tenancy_id=tenancy.pk, sent_on=ev.on,
            principal=Decimal(str(ev.details.get("principal", "0"))),
            arrears_today=age(postings, run_on, tenancy.monthly_rent).arrears,
            monthly_rent=tenancy.monthly_rent,
            charged_last_6_months=Decimal(recent or 0), debt_help=tenancy.pk in paused)
        result = costs_to_charge(letter, run_on, vat=flow.legal.vat_on_costs,
                                 delivery_working_days=flow.legal.letter_delivery_working_days)
        if result is None:
            continue
        with transaction.atomic():
            insert_entries([LedgerEntry(
                tenancy_id=tenancy.pk, kind=EntryKind.COSTS, amount=result.costs_with_vat,
                booked_on=run_on, due_on=run_on, source_key=f"costs:{case_id}",
                description=f"Incassokosten (WIK) na veertiendagenbrief van {ev.on} / "
                            f"collection costs after the 14-day letter"[:200])])
            audit(ACTOR, "costs.book", ev.case, summary=f"incassokosten / collection costs "
                                                        f"{result.costs_with_vat}",
                  principal=str(result.principal), letter_on=ev.on.isoformat())
        booked += 1
    return booked


__all__ = ["book_collection_costs"]
