"""The hand-over dossier: what the bailiff gets, and what the team lead sees first.

``outbox/handover/<proposal id>/``:

- ``dossier.pdf``: B1 Dutch first, English headings: tenant and tenancy, the arrears
  with every ledger entry, letters and reminders sent, contact attempts, the Wgs
  preconditions and the signal proof, the gate checks as stored, the decision. Made
  with WeasyPrint through the letter channel (letter.css, data: URLs only).
- ``ledger.csv``: every ledger entry with its running balance (Decimal strings).
- ``externe-incasso.json``: the case as a VERA ExterneIncasso (below).

Every file is written to a temporary file beside it and renamed, so a reader never sees half a
file. The CSV and JSON are a function of the database only: rebuilding writes the same
bytes (an unchanged file is not rewritten). The PDF carries its generation time.

VERA: the ExterneIncasso object follows schema ``ExterneIncassos-ExterneIncasso`` plus
``Bericht-basis`` (``extra-attributen``, ``informatieobjecten``) of the VERA "Incasso"
chain-process API, Aedes-datastandaarden/vera-openapi, ``docs/Ketenprocessen/INC.yaml``
at commit 042e5c6b1a192a520afc1a8c2585f551f1cb7f4d (VERA 4.2.0+250117.7; the same
schema as ``Ketenprocessen/INC.yaml`` at 0b8f7227d7de01e3051087d65441020f6f9e2bba,
VERA 4.1.6). Codes are from Aedes-datastandaarden/vera-referentiedata
``Referentiedata.csv`` at 0058411c1cc4e355eb2e616b36faef577942b359: EXTERNEINCASSOSOORT
DEU Deurwaarder; EXTERNEINCASSOSTATUS NIE Nieuw, ACT Actief, EIN Beëindigd; RELATIESOORT
GRO Relatiegroep; OVEREENKOMSTSOORT HUU Huurovereenkomst.

Fields used: id, code, soort, omschrijving, status, begindatum, overdrachtsdatum (on
approval), einddatum (rejected or withdrawn), bedrag, saldo, boekingen (Boeking-sleutels
id, code), debiteur (id, code, relatie: id, code, soort), overeenkomsten
(Overeenkomst-sleutels id, code, soort), extra-attributen (naam/waarde strings: what the
model has no field for: name and address, months in arrears, costs), informatieobjecten
(code, titel, bestandsnaam, beschrijving). Amounts are JSON numbers written exactly from
Decimal (never through float).

Left out: idExtern, idGegevensbeheerder, idOrganisatie, idAdministratie (ids of other
systems: vroeg does not know them); relatie (the bailiff firm: vroeg keeps no register
of bailiffs; the receiving system fills it in); externeincassoacties (the bailiff's own
actions, reported back by the bailiff); overeenkomst (deprecated in favour of
overeenkomsten); sturingslabels (none apply); debiteur.relatie.detailSoort and rollen,
Informatieobject.formaat and the other Informatieobject fields (codes not verified
against the reference data, or nothing to fill in).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from vroeg.collection.models import Case, Evidence, Task
from vroeg.domain.calendar import AMSTERDAM
from vroeg.handover.models import HandoverProposal
from vroeg.home import outbox
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.models import Message
from vroeg.messaging.pdf import atomic_write
from vroeg.messaging.render import format_money, format_number, format_postcode
from vroeg.portfolio.models import Household, Tenancy

PDF, CSV, JSON = "dossier.pdf", "ledger.csv", "externe-incasso.json"
FILES = (PDF, CSV, JSON)
CSV_HEADER = ("boekdatum", "vervaldatum", "soort", "omschrijving", "bedrag", "saldo")
PROOF_KINDS = (Evidence.Kind.WRITTEN_REMINDER, Evidence.Kind.OBJECTION_OFFER,
               Evidence.Kind.DEBT_HELP_REFERRAL, Evidence.Kind.OBJECTION,
               Evidence.Kind.SIGNAL_SENT, Evidence.Kind.FOURTEEN_DAY_LETTER)
CONTACT_TASK_KINDS = ("call", "visit", "no_channel")
TASK_KIND_LABELS = {"call": "bellen / call", "visit": "huisbezoek / visit",
                    "no_channel": "geen kanaal: persoonlijk contact / no channel: in person"}
TEMPLATE_LABELS = {
    "reminder_friendly": "vriendelijke herinnering / friendly reminder",
    "reminder_second": "tweede herinnering / second reminder",
    "written_reminder": "schriftelijke herinnering met aanbod vroegsignaal / written reminder",
    "fourteen_day_letter": "veertiendagenbrief / 14-day letter",
    "direct_debit_stopped": "incasso gestopt / direct debit stopped",
}
CHANNEL_LABELS = {"email": "e-mail", "sms": "sms", "letter": "brief / letter"}

# VERA reference data (see the module docstring for the source).
SOORT_DEURWAARDER = {"code": "DEU", "naam": "Deurwaarder"}
STATUS = {
    HandoverProposal.Status.PROPOSED: {"code": "NIE", "naam": "Nieuw"},
    HandoverProposal.Status.APPROVED: {"code": "ACT", "naam": "Actief"},
    HandoverProposal.Status.REJECTED: {"code": "EIN", "naam": "Beëindigd"},
    HandoverProposal.Status.WITHDRAWN: {"code": "EIN", "naam": "Beëindigd"},
}
RELATIESOORT_GROEP = {"code": "GRO", "naam": "Relatiegroep"}
OVEREENKOMSTSOORT_HUUR = {"code": "HUU", "naam": "Huurovereenkomst"}


@dataclass(frozen=True)
class LedgerRow:
    entry: LedgerEntry
    balance: Decimal  # running balance after this entry


@dataclass(frozen=True)
class Facts:
    proposal: HandoverProposal
    case: Case
    tenancy: Tenancy
    household: Household
    ledger: list[LedgerRow]
    balance: Decimal
    messages: list[Message]
    contact_evidence: list[Evidence]
    contact_tasks: list[Task]
    proof: list[Evidence]


def gather(p: HandoverProposal) -> Facts:
    case, tenancy = p.case, p.tenancy
    running, rows = Decimal("0.00"), []
    for entry in LedgerEntry.objects.filter(tenancy=tenancy).order_by("booked_on", "id"):
        running += entry.amount
        rows.append(LedgerRow(entry, running))
    # Messages of this case; ones written without a case count from its opening day.
    since_opened = Q(case__isnull=True, tenancy=tenancy)
    messages = list(Message.objects.filter(
        Q(case=case) | since_opened & Q(decided_on__gte=case.opened_on))
        .order_by("decided_on", "id"))
    tasks = list(Task.objects.filter(
        Q(case=case) | since_opened & Q(created_on__gte=case.opened_on),
        kind__in=CONTACT_TASK_KINDS).order_by("created_on", "id"))
    evidence = list(Evidence.objects.filter(case=case).order_by("on", "id"))
    return Facts(
        proposal=p, case=case, tenancy=tenancy, household=tenancy.household, ledger=rows,
        balance=running, messages=messages,
        contact_evidence=[e for e in evidence if e.kind == Evidence.Kind.CONTACT_ATTEMPT],
        contact_tasks=tasks, proof=[e for e in evidence if e.kind in PROOF_KINDS])


# --- files -----------------------------------------------------------------------------


def folder_for(p: HandoverProposal) -> Path:
    return outbox() / "handover" / str(p.pk)


def relative(path: Path) -> str:
    try:
        return path.relative_to(Path(settings.VROEG_HOME)).as_posix()
    except ValueError:
        return str(path)


# Written atomically (messaging/pdf.py): a crash leaves the old file or none.
write_atomic = atomic_write


def _write_if_changed(path: Path, data: bytes) -> None:
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write(p: HandoverProposal) -> Path:
    """Build and write the three files; returns the folder."""
    from vroeg.messaging.channels import LetterChannel  # WeasyPrint: loaded when needed

    facts = gather(p)
    folder = folder_for(p)
    folder.mkdir(parents=True, exist_ok=True)
    _write_if_changed(folder / CSV, ledger_csv(facts))
    _write_if_changed(folder / JSON, (to_json(externe_incasso(facts)) + "\n").encode())
    page = dossier_html(facts, timezone.now())
    channel = LetterChannel()
    write_atomic(folder / PDF, lambda tmp: channel.write_pdf(page, tmp))
    return folder


# --- ledger.csv ------------------------------------------------------------------------


def ledger_csv(facts: Facts) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for row in facts.ledger:
        e = row.entry
        w.writerow([e.booked_on.isoformat(), e.due_on.isoformat() if e.due_on else "", e.kind,
                    e.description, f"{e.amount:f}", f"{row.balance:f}"])
    return buf.getvalue().encode("utf-8")


# --- externe-incasso.json --------------------------------------------------------------


def _extra(naam: str, waarde: object) -> dict[str, str]:
    if isinstance(waarde, Decimal):
        text = f"{waarde:f}"
    elif isinstance(waarde, date):
        text = waarde.isoformat()
    else:
        text = str(waarde)
    return {"naam": naam, "waarde": text}


def _evidence_on(facts: Facts, kind: str) -> date | None:
    days = [e.on for e in facts.proof if e.kind == kind]
    return max(days) if days else None


def externe_incasso(facts: Facts) -> dict[str, Any]:
    """The case as a VERA ExterneIncasso (field names exactly as in the schema)."""
    p, t, h = facts.proposal, facts.tenancy, facts.household
    Status = HandoverProposal.Status
    obj: dict[str, Any] = {
        "id": str(p.pk),
        "code": f"OVD-{p.pk}",
        "soort": SOORT_DEURWAARDER,
        "omschrijving": (f"Huurachterstand huurovereenkomst {t.code}, dossier {facts.case.pk} "
                         f"/ rent arrears of tenancy {t.code}, case {facts.case.pk}"),
        "status": STATUS[Status(p.status)],
        "begindatum": p.proposed_on.isoformat(),
    }
    if p.status == Status.APPROVED and p.decided_on:
        obj["overdrachtsdatum"] = p.decided_on.isoformat()
    if p.status in (Status.REJECTED, Status.WITHDRAWN) and p.decided_on:
        obj["einddatum"] = p.decided_on.isoformat()
    obj["bedrag"] = p.principal if p.status == Status.APPROVED and p.principal is not None \
        else p.arrears
    obj["saldo"] = facts.balance
    obj["boekingen"] = [{"id": str(r.entry.pk), "code": r.entry.source_key}
                        for r in facts.ledger]
    obj["debiteur"] = {"id": str(h.pk), "code": h.code,
                       "relatie": {"id": str(h.pk), "code": h.code, "soort": RELATIESOORT_GROEP}}
    obj["overeenkomsten"] = [{"id": str(t.pk), "code": t.code,
                              "soort": OVEREENKOMSTSOORT_HUUR}]
    extra = [
        _extra("relatieNaam", h.name),
        _extra("eenheidAdres", f"{t.street} {t.house_number}"),
        _extra("eenheidPostcode", format_postcode(t.postcode)),
        _extra("eenheidWoonplaats", t.city),
    ]
    if h.postal_street and h.postal_postcode:
        extra.append(_extra("correspondentieadres",
                            f"{h.postal_street} {h.postal_house_number}, "
                            f"{format_postcode(h.postal_postcode)} {h.postal_city}"))
    extra += [
        _extra("maandhuur", t.monthly_rent),
        _extra("achterstandBijVoorstel", p.arrears),
        _extra("maandenAchterstand", p.months_in_arrears),
    ]
    for naam, kind in (("vroegsignaalVerstuurd", Evidence.Kind.SIGNAL_SENT),
                       ("bezwaarTegenSignaal", Evidence.Kind.OBJECTION),
                       ("veertiendagenbriefVerstuurd", Evidence.Kind.FOURTEEN_DAY_LETTER)):
        on = _evidence_on(facts, kind)
        if on is not None:
            extra.append(_extra(naam, on))
    if p.principal is not None:
        extra.append(_extra("hoofdsom", p.principal))
    if p.collection_costs is not None:
        vat = p.collection_costs_vat or Decimal("0.00")
        extra += [_extra("incassokosten", p.collection_costs),
                  _extra("incassokostenBtw", vat),
                  _extra("incassokostenTotaal", p.collection_costs + vat)]
    if p.costs_explanation:
        extra.append(_extra("incassokostenToelichting", p.costs_explanation))
    obj["extra-attributen"] = extra
    obj["informatieobjecten"] = [
        {"code": PDF, "titel": "Dossier overdracht deurwaarder / bailiff hand-over dossier",
         "bestandsnaam": PDF,
         "beschrijving": "Huurder, achterstand, brieven, contactpogingen, Wgs-bewijs, "
                         "poortcontroles / tenant, arrears, letters, contact, Wgs proof, "
                         "gate checks"},
        {"code": CSV, "titel": "Huurdersgrootboek / tenant ledger", "bestandsnaam": CSV,
         "beschrijving": "Alle boekingen met lopend saldo / every entry with its running "
                         "balance"},
    ]
    return obj


def to_json(value: Any, level: int = 0) -> str:
    """Indented JSON with Decimal written as an exact number (json.dumps cannot)."""
    inner, outer = "  " * (level + 1), "  " * level
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {to_json(v, level + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{outer}}}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{to_json(v, level + 1)}" for v in value) + \
            f"\n{outer}]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite amount")
        return f"{value:f}"
    if isinstance(value, float):
        raise TypeError("floats are not allowed; use Decimal")
    return json.dumps(value, ensure_ascii=False)


# --- dossier.pdf -----------------------------------------------------------------------


def _d(day: date | None) -> str:
    return day.strftime("%d-%m-%Y") if day else "-"


def _euro(amount: Decimal | None) -> str:
    return format_money(amount) if amount is not None else "-"


def dossier_html(facts: Facts, generated_at: datetime) -> str:
    p, t, h, case = facts.proposal, facts.tenancy, facts.household, facts.case
    first = {kind: next((e for e in facts.proof if e.kind == kind), None) for kind in
             (Evidence.Kind.DEBT_HELP_REFERRAL, Evidence.Kind.WRITTEN_REMINDER,
              Evidence.Kind.OBJECTION_OFFER)}
    contact = facts.contact_evidence[0] if facts.contact_evidence else None
    preconditions = [
        ("a", "poging tot persoonlijk contact / attempt at personal contact", contact),
        ("b", "gewezen op schuldhulp van de gemeente / pointed to municipal debt help",
         first[Evidence.Kind.DEBT_HELP_REFERRAL]),
        ("c", "schriftelijke herinnering verstuurd / written reminder sent",
         first[Evidence.Kind.WRITTEN_REMINDER]),
        ("d", "aanbod signaal en recht op bezwaar / signal offer and right to object",
         first[Evidence.Kind.OBJECTION_OFFER]),
    ]
    postal = ""
    if h.postal_street and h.postal_postcode:
        postal = (f"{h.postal_street} {h.postal_house_number}, "
                  f"{format_postcode(h.postal_postcode)} {h.postal_city}")
    context = {
        "p": p, "case": case, "tenancy": t, "household": h,
        "corp": settings.VROEG_CORPORATION,
        "status": p.get_status_display(),
        "case_state": case.get_state_display(),
        "address": f"{t.street} {t.house_number}",
        "postcode_city": f"{format_postcode(t.postcode)} {t.city}",
        "postal": postal,
        "start_on": _d(t.start_on), "end_on": _d(t.end_on),
        "net_rent": _euro(t.net_rent), "service_costs": _euro(t.service_costs),
        "monthly_rent": _euro(t.monthly_rent),
        "payment_method": t.get_payment_method_display(),
        "proposed_on": _d(p.proposed_on), "opened_on": _d(case.opened_on),
        "decided_on": _d(p.decided_on),
        "arrears": _euro(p.arrears), "months": format_number(p.months_in_arrears),
        "balance": _euro(facts.balance),
        "ledger": [{"booked_on": _d(r.entry.booked_on), "due_on": _d(r.entry.due_on),
                    "kind": r.entry.get_kind_display(), "description": r.entry.description,
                    "amount": _euro(r.entry.amount), "balance": _euro(r.balance)}
                   for r in facts.ledger],
        "messages": [{"decided_on": _d(m.decided_on),
                      "sent_on": _d(m.sent_at.astimezone(AMSTERDAM).date()
                                    if m.sent_at else None),
                      "channel": CHANNEL_LABELS.get(m.channel, m.channel),
                      "template": TEMPLATE_LABELS.get(m.template, m.template),
                      "status": m.get_status_display()} for m in facts.messages],
        "contact_evidence": [{"on": _d(e.on), "note": e.note, "actor": e.actor}
                             for e in facts.contact_evidence],
        "contact_tasks": [{"created_on": _d(task.created_on),
                           "kind": TASK_KIND_LABELS.get(task.kind, task.kind),
                           "status": task.get_status_display(),
                           "outcome": task.get_outcome_display() if task.outcome else "-",
                           "done_on": _d(task.done_on)} for task in facts.contact_tasks],
        "preconditions": [{"code": code, "text": text, "met": ev is not None,
                           "on": _d(ev.on if ev else None)}
                          for code, text, ev in preconditions],
        "proof": [{"kind": e.get_kind_display(), "on": _d(e.on), "note": e.note,
                   "source": e.source} for e in facts.proof],
        "gate": [str(text) for text in (p.gate or [])],
        "principal": _euro(p.principal),
        "costs": _euro(p.collection_costs), "costs_vat": _euro(p.collection_costs_vat),
        "costs_total": _euro(p.collection_costs + (p.collection_costs_vat or Decimal(0))
                             if p.collection_costs is not None else None),
        "generated_at": generated_at.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
    }
    return render_to_string("handover/dossier.html", context)


__all__ = ["CSV", "CSV_HEADER", "FILES", "JSON", "PDF", "Facts", "dossier_html",
           "externe_incasso", "folder_for", "gather", "ledger_csv", "relative", "to_json",
           "write", "write_atomic"]
