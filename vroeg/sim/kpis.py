"""The collection KPIs of a simulated (or real) installation, per month and in total.

From the database the run wrote, plus the day reports, plus what only the simulation
knows (court outcomes). Definitions:

- arrears_percent: arrears as % of the annual rent roll at the month's end (the
  sector's benchmark figure; from the day report);
- households_in_arrears / by_months_owed: the day report's count at the month's end;
- cases_opened / cases_closed: by opened_on / closed_on;
- automation_rate: of the cases closed in the period, the share resolved without any
  staff action: no task done by a person, no arrangement agreed by a person (one the
  tenant made online counts as automated), no payment matched by hand, no evidence
  recorded by a person. A case that closed before any step (paid a few days late, and
  vroeg waited) counts as automated: under a policy of calling every late tenant a
  person would have called;
- automation_rate_after_steps: the same share, only over the cases in which vroeg took
  at least one step (a message, a task): the stricter figure;
- staff_tasks / staff_hours: tasks done by a person (by kind) and the estimated hours
  (minutes per task kind from the parameters) plus unmatched payments matched by hand;
- messages: sent per channel; arrangements started, completed, broken; municipal
  signals sent; hand-over proposals made; evictions (simulated court outcomes).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from vroeg.collection.models import Arrangement, Case, CaseStep, Evidence, Task
from vroeg.handover.models import HandoverProposal
from vroeg.messaging.models import Message
from vroeg.municipal.models import MunicipalSignal

STAFF_PREFIX = "staff:"


def _month(d: date) -> str:
    return f"{d:%Y-%m}"


def _by_month(rows: Iterable[tuple[Any, ...]]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for month, key, n in rows:
        if month is not None:
            out[_month(month)][key] += n
    return out


def staff_cases(since: date, until: date) -> set[int]:
    """Cases in which a person did something (see the module text)."""
    touched: set[int] = set()
    touched.update(Task.objects.filter(status=Task.Status.DONE, done_by__startswith=STAFF_PREFIX,
                                       case__isnull=False).values_list("case_id", flat=True))
    touched.update(Arrangement.objects.filter(created_by__startswith=STAFF_PREFIX)
                   .values_list("case_id", flat=True))
    touched.update(Evidence.objects.filter(actor__startswith=STAFF_PREFIX)
                   .values_list("case_id", flat=True))
    from vroeg.banking.models import BankTransaction

    manual = BankTransaction.objects.filter(matched_by__startswith=STAFF_PREFIX,
                                            tenancy__isnull=False,
                                            booked_on__range=(since, until))
    for tid, booked_on in manual.values_list("tenancy_id", "booked_on"):
        touched.update(Case.objects.filter(tenancy_id=tid, opened_on__lte=booked_on).filter(
            Q(closed_on__isnull=True) | Q(closed_on__gte=booked_on)).values_list("id", flat=True))
    return touched


def compute(reports: list[dict[str, Any]], *, since: date, until: date,
            minutes: dict[str, float], evictions: Iterable[date] = (),
            manual_matches: Iterable[date] = ()) -> dict[str, Any]:
    """KPIs per month (months from `since` to `until`) and for the whole period."""
    by_day = {r["date"]: r for r in reports}
    months = sorted({_month(date.fromisoformat(d)) for d in by_day
                     if since <= date.fromisoformat(d) <= until})
    month_end = {m: max(d for d in by_day if d.startswith(m)) for m in months}
    opened = _by_month(Case.objects.filter(opened_on__range=(since, until))
                       .annotate(m=TruncMonth("opened_on")).values_list("m", "flow")
                       .annotate(n=Count("id")))
    closed_cases = list(Case.objects.filter(closed_on__range=(since, until))
                        .values_list("id", "closed_on"))
    with_steps = set(CaseStep.objects.filter(case__closed_on__range=(since, until))
                     .exclude(action="skipped").values_list("case_id", flat=True))
    touched = staff_cases(since, until)
    tasks = _by_month(Task.objects.filter(status=Task.Status.DONE,
                                          done_by__startswith=STAFF_PREFIX,
                                          done_on__range=(since, until))
                      .annotate(m=TruncMonth("done_on")).values_list("m", "kind")
                      .annotate(n=Count("id")))
    messages = _by_month(Message.objects.filter(status=Message.Status.SENT,
                                                sent_at__date__range=(since, until))
                         .annotate(m=TruncMonth("decided_on")).values_list("m", "channel")
                         .annotate(n=Count("id")))
    arr_started = _by_month(Arrangement.objects.filter(agreed_on__range=(since, until))
                            .annotate(m=TruncMonth("agreed_on")).values_list("m", "status")
                            .annotate(n=Count("id")))
    arr_closed = _by_month(Arrangement.objects.filter(closed_on__range=(since, until))
                           .annotate(m=TruncMonth("closed_on")).values_list("m", "status")
                           .annotate(n=Count("id")))
    signals = _by_month(MunicipalSignal.objects.filter(sent_on__range=(since, until))
                        .annotate(m=TruncMonth("sent_on")).values_list("m", "status")
                        .annotate(n=Count("id")))
    proposals = _by_month(HandoverProposal.objects.filter(proposed_on__range=(since, until))
                          .annotate(m=TruncMonth("proposed_on")).values_list("m", "status")
                          .annotate(n=Count("id")))
    evicted = Counter(_month(d) for d in evictions if since <= d <= until)
    matched = Counter(_month(d) for d in manual_matches if since <= d <= until)
    per_month: list[dict[str, Any]] = []
    for m in months:
        end = by_day[month_end[m]]
        arrears = end["arrears"]
        closed_all_here = [cid for cid, on in closed_cases if on is not None and _month(on) == m]
        closed_here = [cid for cid in closed_all_here if cid in with_steps]
        auto = [cid for cid in closed_here if cid not in touched]
        auto_all_here = [cid for cid in closed_all_here if cid not in touched]
        task_counts = tasks.get(m, Counter())
        hours = (sum(n * float(minutes.get(k, minutes.get("default", 10)))
                     for k, n in task_counts.items())
                 + matched.get(m, 0) * float(minutes.get("unmatched_payment", 4))) / 60
        per_month.append({
            "month": m,
            "arrears_percent": float(arrears["percent_of_rent_roll"]),
            "arrears_total": arrears["total"],
            "households_in_arrears": arrears["households_in_arrears"],
            "by_months_owed": arrears["by_months_of_rent"],
            "cases_opened": sum(opened.get(m, Counter()).values()),
            "cases_closed": len(closed_all_here),
            "closed_before_any_step": len(closed_all_here) - len(closed_here),
            "closed_after_steps": len(closed_here),
            "closed_without_staff": len(auto),
            "automation_rate": round(len(auto_all_here) / len(closed_all_here), 4)
            if closed_all_here else None,
            "automation_rate_after_steps": round(len(auto) / len(closed_here), 4)
            if closed_here else None,
            "staff_tasks": dict(task_counts),
            "staff_hours": round(hours, 1),
            "manual_matches": matched.get(m, 0),
            "messages": dict(messages.get(m, Counter())),
            "arrangements_started": sum(arr_started.get(m, Counter()).values()),
            "arrangements_completed": arr_closed.get(m, Counter()).get("completed", 0),
            "arrangements_broken": arr_closed.get(m, Counter()).get("broken", 0),
            "municipal_signals": sum(signals.get(m, Counter()).values()),
            "handover_proposals": sum(proposals.get(m, Counter()).values()),
            "evictions": evicted.get(m, 0),
        })
    closed_all = [cid for cid, _ in closed_cases if cid in with_steps]
    auto_all = [cid for cid in closed_all if cid not in touched]
    auto_any = [cid for cid, _ in closed_cases if cid not in touched]
    totals = {
        "months": len(months),
        "arrears_percent_mean": round(sum(p["arrears_percent"] for p in per_month)
                                      / len(per_month), 3) if per_month else None,
        "arrears_percent_last": per_month[-1]["arrears_percent"] if per_month else None,
        "households_in_arrears_mean": round(sum(p["households_in_arrears"]
                                                for p in per_month) / len(per_month), 1)
        if per_month else None,
        "cases_opened": sum(p["cases_opened"] for p in per_month),
        "cases_closed": len(closed_cases),
        "closed_after_steps": len(closed_all),
        "automation_rate": round(len(auto_any) / len(closed_cases), 4)
        if closed_cases else None,
        "automation_rate_after_steps": round(len(auto_all) / len(closed_all), 4)
        if closed_all else None,
        "staff_tasks": sum(sum(p["staff_tasks"].values()) for p in per_month),
        "staff_hours": round(sum(p["staff_hours"] for p in per_month), 1),
        "messages": dict(sum((Counter(p["messages"]) for p in per_month), Counter())),
        "arrangements_started": sum(p["arrangements_started"] for p in per_month),
        "arrangements_completed": sum(p["arrangements_completed"] for p in per_month),
        "arrangements_broken": sum(p["arrangements_broken"] for p in per_month),
        "municipal_signals": sum(p["municipal_signals"] for p in per_month),
        "handover_proposals": sum(p["handover_proposals"] for p in per_month),
        "evictions": sum(p["evictions"] for p in per_month),
    }
    return {"per_month": per_month, "totals": totals}


def money(value: Any) -> Decimal:
    return Decimal(str(value))


__all__ = ["compute", "staff_cases"]
