"""The day report: what came in, what was matched, sent and decided, and where
arrears stand (as % of the annual rent roll, the sector's benchmark figure)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from vroeg.banking.matching import MatchRun
from vroeg.banking.models import BankFile, BankTransaction, TxnStatus
from vroeg.collection.evaluate import EvaluationResult
from vroeg.collection.models import Case, Task
from vroeg.domain.flow import Flow
from vroeg.domain.money import ZERO
from vroeg.ledger.actions import PostingResult
from vroeg.ledger.queries import owing_balances
from vroeg.messaging.models import Message
from vroeg.portfolio.models import Tenancy
from vroeg.runs.ingest import FileOutcome


def _money(d: Decimal) -> str:
    return str(d.quantize(Decimal("0.01")))


def arrears_position(day: date) -> dict[str, Any]:
    """Positive balances through `day` per tenancy; buckets in months of rent owed."""
    balances = owing_balances(day)
    active = Tenancy.objects.filter(start_on__lte=day).filter(
        Q(end_on__isnull=True) | Q(end_on__gte=day))
    rent: dict[int, Decimal] = {}
    households: dict[int, int] = {}
    for pk, net, svc, hid in active.values_list("pk", "net_rent", "service_costs", "household_id"):
        rent[pk] = net + svc
        households[pk] = hid
    buckets: Counter[str] = Counter()
    for tid, bal in balances.items():
        monthly = rent.get(tid) or Decimal("1")
        months = bal / monthly
        bucket = ("< 1" if months < 1 else "1-2" if months < 2 else "2-3" if months < 3 else "3+")
        buckets[bucket] += 1
    total = sum(balances.values(), ZERO)
    roll = sum(rent.values(), ZERO) * 12
    pct = (total / roll * 100).quantize(Decimal("0.01")) if roll else ZERO
    return {
        "total": _money(total),
        "tenancies_in_arrears": len(balances),
        "households_in_arrears": len({households.get(t) for t in balances}),
        "active_tenancies": len(rent),
        "annual_rent_roll": _money(roll),
        "percent_of_rent_roll": str(pct),
        "by_months_of_rent": {k: buckets.get(k, 0) for k in ("< 1", "1-2", "2-3", "3+")},
    }


def online_payments(day: date) -> dict[str, Any]:
    """Payments made through a payment link on `day` (booked at once, not waiting for
    the bank statement)."""
    from vroeg.domain.calendar import AMSTERDAM
    from vroeg.payments.models import PaymentLink

    start = datetime.combine(day, dt_time(0, 0), tzinfo=AMSTERDAM)
    row = PaymentLink.objects.filter(paid_at__gte=start, paid_at__lt=start + timedelta(days=1),
                                     status=PaymentLink.Status.PAID).aggregate(
        n=Count("id"), s=Sum("paid_amount"))
    return {"count": row["n"] or 0, "amount": _money(row["s"] or ZERO)}


def build_report(*, day: date, rerun: bool, files: list[FileOutcome], opening: PostingResult,
                 charges: PostingResult, matched: MatchRun, decided: EvaluationResult,
                 sent: Any, flow: Flow, dd_returns: Any = None,
                 delivered: Any = None, links_expired: int = 0) -> dict[str, Any]:
    sent_by_channel = dict(getattr(sent, "sent", {}) or {})
    unmatched = BankTransaction.objects.filter(status=TxnStatus.UNMATCHED).aggregate(
        n=Count("id"), s=Sum("amount"))
    new_entries = sum(f.counts.get("new_entries", 0) for f in files)
    report: dict[str, Any] = {
        "date": day.isoformat(),
        "flow": f"{flow.name}@{flow.version}",
        "rerun": rerun,
        "files": [{"name": f.name, "kind": f.kind, "status": f.status, "detail": f.detail[:500],
                   "warnings": list(f.warnings), **f.counts} for f in files],
        "ingested": {
            "files": len(files),
            "refused": sum(1 for f in files if f.status == "refused"),
            "held": sum(1 for f in files if f.status == "held"),
            "duplicate_files": sum(1 for f in files
                                   if f.status in ("duplicate_file", "unchanged")),
            "new_bank_entries": new_entries,
        },
        "ledger": {"opening_balances": opening.count, "charges": charges.count,
                   "charged_amount": _money(charges.amount),
                   "collection_costs": decided.costs_booked},
        "payments": {
            "matched": matched.matched, "matched_amount": _money(matched.matched_amount),
            "by_rule": dict(matched.by_rule), "reversals": matched.reversals,
            "reversed_amount": _money(matched.reversed_amount),
            "unmatched_new": matched.unmatched,
            "unmatched_new_amount": _money(matched.unmatched_amount),
            "ignored": matched.ignored, "split": matched.split,
            "online": online_payments(day), "links_expired": links_expired,
        },
        "signals": dict(decided.signals),
        "cases": {"evaluated_tenancies": decided.evaluated, "opened": decided.cases_opened,
                  "closed": decided.cases_closed,
                  "open": Case.objects.filter(status=Case.Status.OPEN).count()},
        "messages": {
            "decided": dict(decided.messages),
            "sent": sent_by_channel,
            "cancelled": int(getattr(sent, "cancelled", 0) or 0),
            "failed": int(getattr(sent, "failed", 0) or 0),
            "pending": Message.objects.filter(status=Message.Status.PENDING).count(),
        },
        "tasks": {"created": dict(decided.tasks),
                  "open": Task.objects.filter(status=Task.Status.OPEN).count()},
        "decisions": {
            "segments": dict(decided.segments), "paused": decided.paused,
            "waiting_for_a_legal_gate": dict(decided.waiting),
            "skipped": dict(decided.skipped), "weekly_cap": decided.capped,
            "refused_by_state": decided.refused[:50],
            "waiting_for_unmatched_payment": decided.waiting_for_match,
            "held_bank_behind": decided.bank_hold,
        },
        "municipal_signals": {
            "decided": decided.municipal_signals,
            "delivered": int(getattr(delivered, "sent", 0) or 0),
            "failed": int(getattr(delivered, "failed", 0) or 0),
            "ready": _count("municipal.MunicipalSignal", status="ready"),
        },
        "handover": {"proposed": decided.handover_proposals,
                     "awaiting_decision": _count("handover.HandoverProposal",
                                                 status="proposed")},
        "queues": {"unmatched_payments": unmatched["n"] or 0,
                   "held_bank_files": BankFile.objects.filter(
                       status=BankFile.Status.HELD).count(),
                   "unmatched_amount": _money(unmatched["s"] or ZERO),
                   "open_tasks": Task.objects.filter(status=Task.Status.OPEN).count()},
        "arrears": arrears_position(day),
        "direct_debit": dd_returns.as_json() if dd_returns is not None else {},
    }
    new_things = (new_entries + sum(1 for f in files
                                    if f.status not in ("duplicate_file", "unchanged"))
                  + opening.count + charges.count + matched.matched + matched.reversals
                  + matched.unmatched
                  + decided.cases_opened + decided.cases_closed + sum(decided.messages.values())
                  + sum(decided.tasks.values()) + sum(sent_by_channel.values())
                  + sum(decided.signals.values()) + decided.municipal_signals
                  + decided.handover_proposals + sum(decided.skipped.values())
                  + decided.costs_booked
                  + int(getattr(delivered, "sent", 0) or 0)
                  + (dd_returns.handled + dd_returns.settled if dd_returns is not None else 0))
    report["nothing_new"] = new_things == 0
    return report


def format_report(r: dict[str, Any]) -> str:
    """The report for people: Dutch first, English second."""
    if "ingested" not in r:
        return f"Dagrapport / day report {r.get('date')}: {r.get('note', '')}"
    a, p, m, t = r["arrears"], r["payments"], r["messages"], r["tasks"]
    lines = [
        f"vroeg dagrapport / day report {r['date']}  (beleid / flow {r['flow']})",
        "=" * 64,
    ]
    if r.get("note"):
        lines.append(r["note"])
    held_why = (r.get("decisions") or {}).get("held_bank_behind")
    if held_why:  # first: it explains the numbers below
        lines.append(f"LET OP / WARNING: {held_why}")
    if r["nothing_new"]:
        lines.append("Niets nieuws: deze dag is al verwerkt / nothing new: this day was "
                     "already processed." if r["rerun"] else
                     "Niets nieuws vandaag / nothing new today.")
    ing = r["ingested"]
    lines += [
        f"Binnengekomen / came in:   {ing['files']} bestanden/files "
        f"({ing['refused']} geweigerd/refused, {ing.get('held', 0)} wacht op controle/held, "
        f"{ing['duplicate_files']} dubbel/duplicate), "
        f"{ing['new_bank_entries']} nieuwe bankregels / new bank entries",
        f"Geboekt / booked:          {r['ledger']['charges']} huurregels/rent charges "
        f"(EUR {r['ledger']['charged_amount']}), {r['ledger']['opening_balances']} beginsaldi",
        f"Gekoppeld / matched:       {p['matched']} betalingen/payments (EUR {p['matched_amount']})"
        f", {p['reversals']} stornos/reversals (EUR {p['reversed_amount']})"
        + "".join(f"; {k} {v}" for k, v in sorted(p["by_rule"].items())),
        f"Online betaald / paid online: {(p.get('online') or {}).get('count', 0)} "
        f"(EUR {(p.get('online') or {}).get('amount', '0.00')}); betaallinks verlopen / "
        f"payment links expired: {p.get('links_expired', 0)}",
        f"Niet gekoppeld / unmatched: {p['unmatched_new']} nieuw/new "
        f"(EUR {p['unmatched_new_amount']}); wachtrij/queue {r['queues']['unmatched_payments']}"
        f" (EUR {r['queues']['unmatched_amount']}); {p['ignored']} genegeerd/ignored",
        "Signalen / signals:        " + (", ".join(f"{k} {v}" for k, v in
                                                  sorted(r["signals"].items())) or "0"),
        f"Dossiers / cases:          {r['cases']['opened']} geopend/opened, "
        f"{r['cases']['closed']} gesloten/closed, {r['cases']['open']} open",
        "Berichten / messages:      besloten/decided " + _counts(m["decided"])
        + "; verstuurd/sent " + _counts(m["sent"])
        + f"; {m['cancelled']} geannuleerd/cancelled, {m['pending']} wachtend/pending",
        "Taken / staff tasks:       nieuw/new " + _counts(t["created"]) + f"; open {t['open']}",
        _direct_debit_line(r.get("direct_debit") or {}),
        _legal_line(r),
        f"Achterstand / arrears:     EUR {a['total']} = {a['percent_of_rent_roll']}% van de "
        f"jaarhuur / of the annual rent roll (EUR {a['annual_rent_roll']})",
        f"  {a['tenancies_in_arrears']} huurovereenkomsten/tenancies, "
        f"{a['households_in_arrears']} huishoudens/households; maanden huur / months owed: "
        + ", ".join(f"{k}: {v}" for k, v in a["by_months_of_rent"].items()),
    ]
    d = r.get("decisions") or {}
    if d.get("waiting_for_unmatched_payment"):
        lines.append(f"  {d['waiting_for_unmatched_payment']} huurovereenkomst(en) wacht(en) "
                     "op het koppelen van een betaling in de wachtrij / tenancies wait for a "
                     "payment in the unmatched queue to be matched")
    held = r["queues"].get("held_bank_files", 0)
    if held:
        lines.append(f"  {held} bankbestand(en) wacht(en) op controle: saldo klopt niet; "
                     f"accepteer of wijs af in Bankbestanden / {held} bank file(s) awaiting "
                     "review: balances do not add up; accept or reject under Bank files")
    for f in [f for f in r["files"] if f["status"] == "held"][:20]:
        lines.append(f"  wacht op controle / held: {f['name']}: {f['detail'][:300]}")
    refused = [f for f in r["files"] if f["status"] == "refused"]
    for f in refused[:20]:
        lines.append(f"  geweigerd / refused: {f['name']}: {f['detail'][:200]}")
    for f in r["files"]:
        for w in f.get("warnings", [])[:5]:
            lines.append(f"  let op / note: {f['name']}: {w[:200]}")
    return "\n".join(lines)


def _direct_debit_line(d: dict[str, Any]) -> str:
    reasons = f" ({_counts(d['by_reason'])})" if d.get("by_reason") else ""
    return (f"Incasso-retouren / direct-debit returns: {d.get('handled', 0)} verwerkt/handled"
            f"{reasons}; {d.get('retries_planned', 0)} nieuwe "
            f"poging/retry planned, {d.get('stopped', 0)} incasso gestopt/stopped, "
            f"{d.get('refunded', 0)} terugboeking/refund; {d.get('settled', 0)} incasso's "
            "ontvangen/collections settled")


def _legal_line(r: dict[str, Any]) -> str:
    s, h, d = r.get("municipal_signals") or {}, r.get("handover") or {}, r.get("decisions") or {}
    waiting = d.get("waiting_for_a_legal_gate") or {}
    return (f"Vroegsignalen / municipal signals: {s.get('decided', 0)} besloten/decided, "
            f"{s.get('delivered', 0)} verstuurd/delivered, {s.get('ready', 0)} klaar/ready; "
            f"overdracht / hand-over: {h.get('proposed', 0)} voorgesteld/proposed, "
            f"{h.get('awaiting_decision', 0)} wacht op besluit/awaiting a decision; "
            f"wacht op wettelijke voorwaarde / waiting for a legal gate: {_counts(waiting)}")


def _count(model: str, **filters: Any) -> int:
    from django.apps import apps

    return apps.get_model(model).objects.filter(**filters).count()


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) if c else "0"
