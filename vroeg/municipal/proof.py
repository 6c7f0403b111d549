"""The PDF proof of a municipal signal (RULES-NL rule 6: courts want proof the signal
was sent; a spreadsheet alone was judged not enough).

One A4 document per signal, in plain (B1) Dutch with English after a slash: what was
sent, when, to which municipality and through which platform; the four preconditions
of rule 3 with the dates and evidence on record; and whether an objection was
recorded (rule 4). Rendered from ``municipal/signal_proof.html`` with the letter style
sheet and WeasyPrint setup of the letter channel (messaging/channels.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from vroeg.collection.models import Evidence
from vroeg.domain.calendar import AMSTERDAM
from vroeg.messaging.channels import LetterChannel, atomic_write
from vroeg.messaging.render import format_date, format_money, format_postcode
from vroeg.municipal.models import MunicipalSignal

TEMPLATE = "municipal/signal_proof.html"

#: Payload key -> label in the proof (Dutch / English).
PAYLOAD_LABELS: dict[str, str] = {
    "gemeente": "Gemeente / Municipality",
    "naam": "Naam / Name",
    "straat": "Straat / Street",
    "huisnummer": "Huisnummer / Number",
    "postcode": "Postcode",
    "woonplaats": "Woonplaats / Place",
    "telefoon": "Telefoon / Phone",
    "email": "E-mail",
    "achterstand": "Achterstand / Arrears",
    "achterstand_sinds": "Achterstand sinds / Arrears since",
    "maanden_achterstand": "Maanden achterstand / Months in arrears",
    "maandhuur": "Maandhuur / Monthly rent",
    "kenmerk_verhuurder": "Kenmerk verhuurder / Landlord reference",
    "verhuurder_naam": "Verhuurder / Landlord",
    "verhuurder_telefoon": "Telefoon verhuurder / Landlord phone",
    "verhuurder_email": "E-mail verhuurder / Landlord email",
}
#: Adapter name -> how the proof names it; other adapters are shown by name.
PLATFORM_LABELS: dict[str, str] = {
    "file": "bestanden (CSV en JSON) voor de gemeente / files (CSV and JSON) for the "
            "municipality",
}
_MONEY_KEYS = ("achterstand", "maandhuur")
_DATE_KEYS = ("achterstand_sinds",)


def _when(at: dt.datetime | None) -> str:
    if at is None:
        return "-"
    local = at.astimezone(AMSTERDAM)
    return f"{format_date(local.date())} {local:%H:%M} (Europe/Amsterdam)"


def _value(key: str, value: Any) -> str:
    text = "" if value is None else str(value)
    if not text:
        return "-"
    try:
        if key in _MONEY_KEYS:
            return format_money(Decimal(text))
        if key in _DATE_KEYS:
            return f"{format_date(dt.date.fromisoformat(text))} ({text})"
        if key == "postcode":
            return format_postcode(text)
        if key == "maanden_achterstand":
            return text.replace(".", ",")
    except (ValueError, ArithmeticError):
        pass
    return text


def proof_context(signal: MunicipalSignal, *, platform: str, reference: str,
                  copy_made_at: dt.datetime | None = None) -> dict[str, Any]:
    """The template's facts. ``signal.sent_on``/``sent_at`` are the delivery's."""
    sent_on = signal.sent_on
    assert sent_on is not None, "a proof is made when the signal is sent"
    objections = list(Evidence.objects.filter(case_id=signal.case_id,
                                              kind=Evidence.Kind.OBJECTION).order_by("on", "id"))
    payload = signal.payload or {}
    preconditions = []
    for item in signal.preconditions or []:
        evidence = [{"on": format_date(dt.date.fromisoformat(e["on"])), "on_iso": e["on"],
                     "note": e.get("note", ""), "source": e.get("source", "")}
                    for e in item.get("evidence", [])]
        preconditions.append({"label": item.get("label", item.get("code", "")),
                              "evidence": evidence})
    return {
        "corp": dict(settings.VROEG_CORPORATION),
        "signal": signal,
        "municipality": signal.municipality,
        "platform": platform,
        "platform_label": PLATFORM_LABELS.get(platform, platform),
        "reference": reference,
        "created_on": format_date(signal.created_on),
        "sent_on": format_date(sent_on),
        "sent_on_iso": sent_on.isoformat(),
        "sent_at": _when(signal.sent_at),
        "copy_made_at": _when(copy_made_at) if copy_made_at else "",
        "rows": [(label, _value(key, payload.get(key))) for key, label in PAYLOAD_LABELS.items()],
        "preconditions": preconditions,
        "gate_checks": list(signal.gate_checks or []),
        "objections": [{"on": format_date(o.on), "after_sending": o.on > sent_on}
                       for o in objections],
        "case_id": signal.case_id,
    }


def render_proof_html(signal: MunicipalSignal, *, platform: str, reference: str,
                      copy_made_at: dt.datetime | None = None) -> str:
    return render_to_string(TEMPLATE, proof_context(signal, platform=platform,
                                                    reference=reference,
                                                    copy_made_at=copy_made_at))


class ProofWriter:
    """Writes proofs as PDF; one WeasyPrint set-up (fonts, style sheet) per batch."""

    def __init__(self) -> None:
        self._letters = LetterChannel()

    def write(self, signal: MunicipalSignal, path: Path, *, platform: str, reference: str,
              copy_made_at: dt.datetime | None = None) -> None:
        html = render_proof_html(signal, platform=platform, reference=reference,
                                 copy_made_at=copy_made_at)
        atomic_write(path, lambda tmp: self._letters.write_pdf(html, tmp))
