"""The daily run: ingest, ledger, match, signals and decisions, dispatch, report.

Every stage is idempotent (unique keys on ledger entries, case steps, messages and
tasks), so running a date again books and sends nothing new, a run killed midway
completes when started again, and missed days are caught up one by one in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Max, Sum
from django.utils import timezone

from vroeg.banking.matching import match_and_post
from vroeg.collection.evaluate import evaluate
from vroeg.collection.flows import active_flow
from vroeg.collection.models import Case
from vroeg.domain.flow import Flow
from vroeg.home import reports
from vroeg.ledger.actions import post_charges, post_opening_balances
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.dispatch import dispatch_pending
from vroeg.messaging.models import Message
from vroeg.runs.clock import run_clock, today
from vroeg.runs.ingest import ingest_inbox
from vroeg.runs.models import DayRun
from vroeg.runs.report import build_report

Progress = Callable[[str], None]


class RunError(Exception):
    pass


def days_to_run(target: date) -> list[date]:
    """The dates a run for `target` must cover: every day after the last completed one."""
    if target > today():
        raise RunError(f"{target} ligt in de toekomst / is in the future")
    last = DayRun.objects.filter(status=DayRun.Status.COMPLETED).aggregate(m=Max("run_on"))["m"]
    if last is None or target <= last:
        return [target]
    return [last + timedelta(days=n) for n in range(1, (target - last).days + 1)]


def run_through(target: date, progress: Progress | None = None) -> list[dict[str, Any]]:
    say = progress or (lambda _msg: None)
    days = days_to_run(target)
    last = DayRun.objects.filter(status=DayRun.Status.COMPLETED).aggregate(m=Max("run_on"))["m"]
    out = []
    for n, day in enumerate(days, start=1):
        if last is not None and day < last:
            # An earlier date than the last completed one: show what it did, change nothing.
            done = DayRun.objects.get(run_on=day) if DayRun.objects.filter(run_on=day).exists() \
                else None
            report = dict(done.report) if done else {"date": day.isoformat()}
            report["note"] = ("al gedraaid; latere dagen ook / already run, and later days too: "
                              "nothing changed")
            out.append(report)
            continue
        if len(days) > 1:
            say(f"dag / day {n}/{len(days)}: {day}")
        out.append(run_day(day, progress=say))
    return out


def run_day(day: date, progress: Progress | None = None,
            flow: Flow | None = None) -> dict[str, Any]:
    say = progress or (lambda _msg: None)
    run, _ = DayRun.objects.get_or_create(run_on=day)
    rerun = run.status == DayRun.Status.COMPLETED
    DayRun.objects.filter(pk=run.pk).update(status=DayRun.Status.RUNNING, attempts=run.attempts + 1,
                                            started_at=timezone.now())
    flow = flow or active_flow()
    now = run_clock(day)
    timing: dict[str, float] = {}

    def stage(name: str) -> None:
        DayRun.objects.filter(pk=run.pk).update(stage=name)
        timing[name] = time.perf_counter()

    def done(name: str) -> None:
        timing[name] = round(time.perf_counter() - timing[name], 3)

    stage("ingest")
    files = ingest_inbox()
    done("ingest")
    if files:
        say(f"  {len(files)} bestand(en) ingelezen / file(s) ingested")
    stage("ledger")
    opening = post_opening_balances()
    charges = post_charges(day)
    done("ledger")
    stage("match")
    matched = match_and_post(day)
    done("match")
    stage("decide")
    touched = set(matched.tenancies)
    touched.update(LedgerEntry.objects.filter(booked_on=day).values_list("tenancy_id", flat=True))
    decided = evaluate(day, now, flow, touched)
    done("decide")
    stage("dispatch")
    sent = dispatch_pending(now, still_needed=still_needed_factory(day, flow))
    done("dispatch")
    stage("report")
    report = build_report(day=day, rerun=rerun, files=files, opening=opening, charges=charges,
                          matched=matched, decided=decided, sent=sent, flow=flow)
    done("report")
    report["timing_seconds"] = timing
    DayRun.objects.filter(pk=run.pk).update(status=DayRun.Status.COMPLETED, stage="done",
                                            finished_at=timezone.now(), report=report)
    path = reports() / f"dag-{day.isoformat()}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def still_needed_factory(day: date, flow: Flow) -> Callable[[Message], str | None]:
    """Re-checked just before sending: a payment may have made the message pointless."""
    def still_needed(message: Message) -> str | None:
        if message.case_id and Case.objects.filter(pk=message.case_id,
                                                   status=Case.Status.CLOSED).exists():
            return "dossier gesloten / case closed"
        owed = LedgerEntry.objects.filter(tenancy_id=message.tenancy_id,
                                          booked_on__lte=max(day, message.decided_on)
                                          ).aggregate(s=Sum("amount"))["s"]
        if owed is None or owed < flow.min_arrears:
            return "inmiddels betaald / paid in the meantime"
        return None
    return still_needed


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj) if hasattr(obj, "__dataclass_fields__") else dict(obj)


def now_amsterdam() -> datetime:
    return timezone.localtime()
