"""Collection costs (incassokosten, WIK: art. 6:96 BW and the Besluit vergoeding voor
buitengerechtelijke incassokosten; RULES-NL rules 10 and 11).

The scale and caps come from a dated table (`vroeg/data/legal/wik.yaml`). Policy is
not decided here: whether to charge at all (the social-landlord default is €0 until a
bailiff hand-over) and "once per dossier" are the caller's to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vroeg.domain.legal.deadline import fourteen_day_deadline
from vroeg.domain.legal.tables import CostScale, WikTable, default_wik_table
from vroeg.domain.legal.text import euro, percent
from vroeg.domain.money import ZERO, cents

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CostResult:
    principal: Decimal
    costs: Decimal  # excluding VAT
    vat: Decimal
    total: Decimal  # principal + costs + VAT: what the letter asks to be paid
    explanation: str
    scale_costs: Decimal  # what the scale gives, before the recurring-claim cap
    capped: bool  # the recurring-claim cap lowered the costs

    @property
    def costs_with_vat(self) -> Decimal:
        return self.costs + self.vat


def _scale(principal: Decimal, scale: CostScale) -> tuple[Decimal, list[str]]:
    """The exact (unrounded) scale amount and one line per band used."""
    raw, lower, lines = ZERO, ZERO, []
    for band in scale.bands:
        upper = principal if band.up_to is None else min(principal, band.up_to)
        if upper <= lower:
            break
        part = (upper - lower) * band.percent / HUNDRED
        lines.append(f"  {percent(band.percent)} over / of {euro(upper - lower)} "
                     f"(van / from {euro(lower)} tot / to {euro(upper)}) = {euro(part)}")
        raw += part
        lower = upper
    return raw, lines


def collection_costs(principal: Decimal, on: date, *, monthly_amount: Decimal | None = None,
                     vat: bool = False, charged_last_6_months: Decimal = ZERO,
                     table: WikTable | None = None) -> CostResult:
    """The statutory collection costs on `principal` for costs charged on `on`.

    Scale: the bands of the table row valid on `on` (15% / 10% / 5% / 1% / 0.5%),
    computed exactly in Decimal; then the minimum (€40) and maximum (€6,775); then
    rounded once, half-up to cents (ROUND_HALF_UP). A principal of 0 gives no costs.
    Recurring claims (`monthly_amount` below the row's threshold, €266.67 since
    2024-10-01): the costs are at most the cap (€140 per 6 months, excluding VAT)
    minus `charged_last_6_months` (costs excluding VAT already charged in that window),
    never below 0. VAT (`vat=True`, only when the landlord cannot reclaim it): the
    rate valid on `on` over the rounded costs, rounded half-up to cents.
    """
    table = table or default_wik_table()
    if principal < 0 or cents(principal) != principal:
        raise ValueError(f"hoofdsom / principal: een bedrag ≥ 0 in hele centen / an amount "
                         f">= 0 in whole cents, not {principal}")
    principal = cents(principal)  # 1000 and 1000.00 read the same everywhere
    if charged_last_6_months < 0:
        raise ValueError("charged_last_6_months: niet negatief / not negative")
    if monthly_amount is not None and monthly_amount < 0:
        raise ValueError("monthly_amount: niet negatief / not negative")
    scale = table.scale_on(on)
    lines = [f"Incassokosten (WIK) op / collection costs (WIK) on {on.isoformat()}; "
             f"staffel geldig vanaf / scale valid from {scale.valid_from.isoformat()}",
             f"Hoofdsom / principal: {euro(principal)}"]
    if principal == 0:
        raw = ZERO
        lines.append("Geen hoofdsom, geen kosten / no principal, no costs")
    else:
        raw, band_lines = _scale(principal, scale)
        lines += band_lines
        if raw < scale.minimum:
            lines.append(f"  {euro(raw)} is minder dan het minimum / is below the minimum "
                         f"{euro(scale.minimum)}")
            raw = scale.minimum
        elif raw > scale.maximum:
            lines.append(f"  {euro(raw)} is meer dan het maximum / is above the maximum "
                         f"{euro(scale.maximum)}")
            raw = scale.maximum
    scale_costs = cents(raw)
    lines.append(f"Staffel / scale: {euro(scale_costs)} (afgerond op centen, half omhoog / "
                 "rounded half-up to cents)")
    costs, capped = scale_costs, False
    cap = scale.recurring_cap
    if monthly_amount is not None and cap is None:
        lines.append("Geen maximum voor kleine terugkerende vorderingen op deze datum / "
                     "no cap for small recurring claims on this date")
    elif monthly_amount is not None and cap is not None and monthly_amount < cap.monthly_below:
        room = max(ZERO, cap.max_costs - charged_last_6_months)
        capped = room < scale_costs
        costs = min(scale_costs, room)
        lines.append(
            f"Kleine terugkerende vordering (maandbedrag {euro(monthly_amount)} < "
            f"{euro(cap.monthly_below)}): hoogstens {euro(cap.max_costs)} per "
            f"{cap.period_months} maanden, al berekend {euro(charged_last_6_months)}, nog "
            f"mogelijk {euro(room)} / small recurring claim (monthly amount below "
            f"{euro(cap.monthly_below)}): at most {euro(cap.max_costs)} per "
            f"{cap.period_months} months, already charged {euro(charged_last_6_months)}, "
            f"still allowed {euro(room)}")
    elif monthly_amount is not None and cap is not None:
        lines.append(f"Maandbedrag {euro(monthly_amount)} niet onder / monthly amount not "
                     f"below {euro(cap.monthly_below)}: geen maximum per periode / no cap")
    lines.append(f"Kosten / costs: {euro(costs)}")
    if vat:
        rate = table.vat_on(on).percent
        vat_amount = cents(costs * rate / HUNDRED)
        lines.append(f"BTW / VAT {percent(rate)} over / of {euro(costs)} (niet verrekenbaar / "
                     f"not reclaimable): {euro(vat_amount)}")
    else:
        vat_amount = ZERO
        lines.append("Geen btw (verhuurder verrekent btw) / no VAT (landlord reclaims VAT)")
    total = principal + costs + vat_amount
    lines.append(f"Totaal (hoofdsom + kosten + btw) / total (principal + costs + VAT): "
                 f"{euro(total)}")
    return CostResult(principal=principal, costs=costs, vat=vat_amount, total=total,
                      explanation="\n".join(lines), scale_costs=scale_costs, capped=capped)


def costs_allowed(letter_sent_on: date | None, today: date, *, delivery_working_days: int = 2,
                  in_default_on: date | None = None) -> bool:
    """May collection costs be charged `today` (rule 10)?

    Only after a 14-day letter was sent and its deadline has passed: never on or before
    the deadline. With `in_default_on` (the first day of default), a letter sent before
    that day does not count.
    """
    if letter_sent_on is None or letter_sent_on > today:
        return False
    if in_default_on is not None and letter_sent_on < in_default_on:
        return False
    return fourteen_day_deadline(letter_sent_on, delivery_working_days).has_passed(today)
