"""What a stopped direct debit tells the household and staff (values only, no writes).

The message template ``direct_debit_stopped`` (messaging/templates/messages/, Dutch
B1 and English) asks for a new payment method; the task puts the case in a staff
member's queue. vroeg/directdebit/actions.py writes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from vroeg.domain.bank.return_reasons import ReturnReason
from vroeg.domain.flow import Contact
from vroeg.messaging.render import RenderError, base_context, jsonable_context, render
from vroeg.portfolio.models import Household, Tenancy

TEMPLATE = "direct_debit_stopped"
TASK_STOPPED = "dd_stopped"
TASK_REVIEW = "dd_review"


def stop_task_title(reason: ReturnReason) -> str:
    if not reason.message_tenant:  # MD07: the payer died; a person, with care
        return (f"Incasso gestopt ({reason.code}, {reason.nl}): neem met zorg contact op / "
                f"Direct debit stopped ({reason.code}, {reason.en}): get in touch with care")[:200]
    return (f"Nieuwe betaalwijze regelen: incasso gestopt ({reason.code}, {reason.nl}) / "
            f"Arrange a new payment method: direct debit stopped ({reason.code})")[:200]


def review_task_title(reason: ReturnReason) -> str:
    return (f"Incassoretour controleren: {reason.code} {reason.nl} / "
            f"Check direct-debit return: {reason.code} {reason.en}")[:200]


def channel_for(h: Household) -> str | None:
    """The household's preferred channel when usable, else email, else a letter."""
    contact = Contact(preferred_channel=h.preferred_channel, has_email=bool(h.email),
                      has_mobile=bool(h.mobile), has_postal=True, letter_only=h.letter_only,
                      no_email=h.no_email, no_sms=h.no_sms)
    for channel in (h.preferred_channel, "email", "letter"):
        if contact.can_use(channel):
            return channel
    return None


def _recipient(h: Household, channel: str, ctx: dict[str, Any]) -> str:
    if channel == "email":
        return h.email
    if channel == "sms":
        return h.mobile
    p = ctx["postal"]
    return f"{h.name}, {p['street']} {p['house_number']}, {p['postcode']} {p['city']}"


@dataclass(frozen=True)
class StopMessage:
    channel: str
    recipient: str
    subject: str
    body_text: str
    context: dict[str, Any]


def stop_message(h: Household, t: Tenancy, reason: ReturnReason, amount: Decimal,
                 due_on: date, balance: Decimal, day: date) -> StopMessage | None:
    """The rendered message, or None when no channel can reach the household or the
    template cannot be rendered (the staff task then says so)."""
    channel = channel_for(h)
    if channel is None:
        return None
    ctx = base_context(h, t)
    monthly = t.net_rent + t.service_costs
    months = (max(balance, Decimal("0")) / monthly).quantize(Decimal("0.1"), ROUND_HALF_UP) \
        if monthly else Decimal("0")
    ctx.update({
        "amount": amount, "oldest_due_on": due_on, "months_owed": months,
        "pay_link": f"{ctx['corp']['pay_url']}?kenmerk={t.payment_reference}&bedrag={amount}",
        "decided_on": day, "reason_nl": reason.nl, "reason_en": reason.en,
    })
    try:
        rendered = render(TEMPLATE, channel, h.language, ctx)
    except RenderError:
        return None
    return StopMessage(channel, _recipient(h, channel, ctx), rendered.subject[:200],
                       rendered.text, jsonable_context(ctx))


__all__ = ["TASK_REVIEW", "TASK_STOPPED", "TEMPLATE", "StopMessage", "channel_for",
           "review_task_title", "stop_message", "stop_task_title"]
