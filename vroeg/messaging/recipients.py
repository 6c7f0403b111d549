"""Who a message goes to on a channel, and whether the household may be reached there.

One place for both the daily run (a step's first channel) and the dispatcher (the
next channel after a failure), so the restrictions hold the same way everywhere:
letter only, no SMS, no email, WhatsApp only with the tenant's own opt-in.
"""

from __future__ import annotations

from typing import Any

from vroeg.portfolio.models import Household, Tenancy


def can_reach(h: Household, channel: str) -> bool:
    if h.letter_only:
        return channel == "letter"
    if channel == "email":
        return bool(h.email) and not h.no_email
    if channel == "sms":
        return bool(h.mobile) and not h.no_sms and h.sms_opt_out_on is None
    if channel == "whatsapp":
        return bool(h.mobile) and h.whatsapp_opt_in_on is not None
    return channel == "letter"


def postal_lines(h: Household, t: Tenancy) -> dict[str, str]:
    """The household's postal address when filled in, else the rented home."""
    if h.postal_street and h.postal_postcode:
        return {"street": h.postal_street, "house_number": h.postal_house_number,
                "postcode": h.postal_postcode, "city": h.postal_city}
    return {"street": t.street, "house_number": t.house_number, "postcode": t.postcode,
            "city": t.city}


def recipient(h: Household, channel: str, ctx: dict[str, Any]) -> str:
    """The address a message is sent to (stored on the Message)."""
    if channel == "email":
        return h.email
    if channel in ("sms", "whatsapp"):
        return h.mobile
    p = ctx["postal"]
    return f"{h.name}, {p['street']} {p['house_number']}, {p['postcode']} {p['city']}"


__all__ = ["can_reach", "postal_lines", "recipient"]
