"""The daily run: ingest, ledger, match, signals and decisions, dispatch, report.

Every stage is idempotent (unique keys on ledger entries, case steps, messages and
tasks), so running a date again books and sends nothing new, a run killed midway
completes when started again, and missed days are caught up one by one in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.db.models import Max, Min
from django.utils import timezone

from vroeg.banking.matching import match_and_post
from vroeg.collection.evaluate import evaluate
from vroeg.collection.flows import active_flow
from vroeg.collection.models import Case
from vroeg.directdebit.actions import handle_returns
from vroeg.domain.flow import Flow
from vroeg.handover.actions import build_missing_dossiers
from vroeg.home import reports
from vroeg.ledger.actions import post_charges, post_opening_balances
from vroeg.ledger.queries import balance_of
from vroeg.messaging.dispatch import dispatch_pending
from vroeg.messaging.models import Message
from vroeg.municipal.actions import deliver_signals
from vroeg.payments.actions import expire_links
from vroeg.runs.clock import run_clock, today
from vroeg.runs.ingest import ingest_inbox
from vroeg.runs.models import DayRun
from vroeg.runs.report import build_report

Progress = Callable[[str], None]


class RunError(Exception):
    pass


def last_completed() -> date | None:
    return DayRun.objects.filter(status=DayRun.Status.COMPLETED).aggregate(
        m=Max("run_on"))["m"]


def days_to_run(target: date, max_catch_up: int = 62) -> list[date]:
    """The dates a run for `target` must cover: every day after the last completed one."""
    if target > today():
        raise RunError(f"{target} ligt in de toekomst / is in the future")
    last = last_completed()
    if last is None or target == last:
        return [target]
    if target < last:
        if DayRun.objects.filter(run_on=target, status=DayRun.Status.COMPLETED).exists():
            return [target]
        raise RunError(
            f"{target} ligt vóór de laatste run ({last}) en is nooit gedraaid; vroeg draait "
            f"geen dagen terug in de tijd / {target} is before the last completed run ({last}) "
            "and was never run; vroeg does not run days back in time")
    gap = (target - last).days
    if gap > max_catch_up:
        raise RunError(
            f"{gap} dagen in te halen sinds {last}; meer dan {max_catch_up}. Controleer de "
            "datum, of geef --max-catch-up / "
            f"{gap} days to catch up since {last}, more than {max_catch_up}: check the date, "
            "or pass --max-catch-up")
    return [last + timedelta(days=n) for n in range(1, gap + 1)]


def run_through(target: date, progress: Progress | None = None,
                max_catch_up: int = 62, replay: bool = False) -> list[dict[str, Any]]:
    say = progress or (lambda _msg: None)
    days = days_to_run(target, max_catch_up)
    last = last_completed()
    out = []
    for n, day in enumerate(days, start=1):
        if last is not None and day < last:
            # An earlier, completed date: show what it did, change nothing.
            report = dict(DayRun.objects.get(run_on=day).report)
            report["note"] = ("al gedraaid, en latere dagen ook: niets veranderd / already run, "
                              "and later days too: nothing changed")
            out.append(report)
            continue
        if len(days) > 1:
            say(f"dag / day {n}/{len(days)}: {day}")
        # Catching up to today after an outage: the missed days decide, but send nothing;
        # today's dispatch sends what is still needed, dated today (a replay of a past
        # date, as the demo and tests do, sends each day on its own date).
        catching_up = not replay and target == today() and day < target
        out.append(run_day(day, progress=say, dispatch=not catching_up))
    return out


def run_day(day: date, progress: Progress | None = None,
            flow: Flow | None = None, dispatch: bool = True) -> dict[str, Any]:
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
    files = ingest_inbox(on=day)
    done("ingest")
    if files:
        refused = sum(1 for f in files if f.status == "refused")
        say(f"  {len(files)} bestand(en) verwerkt, {refused} geweigerd / "
            f"file(s) processed, {refused} refused")
    stage("ledger")
    opening = post_opening_balances()
    takeover = DayRun.objects.aggregate(m=Min("run_on"))["m"] or day
    charges = post_charges(day, takeover_on=takeover)
    done("ledger")
    stage("match")
    matched = match_and_post(day)
    dd_returns = handle_returns(day, now=now)  # our direct debits: settled, returned
    done("match")
    stage("decide")
    # evaluate() picks the tenancies with something to decide (snapshots.py): arrears
    # past due, an open case, a reversal today. The day's payments make nothing due.
    decided = evaluate(day, now, flow)
    done("decide")
    stage("dispatch")
    bounced = _read_bounces()  # first: a bounced email's next channel goes out today
    sent = dispatch_pending(now, still_needed=still_needed_factory(day, flow)) if dispatch \
        else None
    printed = _print_batch(day) if dispatch else {}
    delivered = deliver_signals(day)  # municipal signals decided today (or still waiting)
    build_missing_dossiers()  # hand-over proposals a person will look at
    links_expired = expire_links(now=now, actor="system:run") if dispatch else 0
    done("dispatch")
    stage("report")
    report = build_report(day=day, rerun=rerun, files=files, opening=opening, charges=charges,
                          matched=matched, decided=decided, sent=sent, flow=flow,
                          dd_returns=dd_returns, delivered=delivered,
                          links_expired=links_expired)
    done("report")
    report["messages"]["bounced"] = bounced
    report["messages"]["print_batch"] = printed
    report["timing_seconds"] = timing
    stored = report
    if rerun and run.report:
        # Keep the day's own report; a rerun is added to it, never written over it.
        stored = {**run.report, "reruns": [*run.report.get("reruns", []), {
            "at": timezone.now().isoformat(timespec="seconds"),
            "nothing_new": report["nothing_new"], "files": report["files"],
            "ledger": report["ledger"], "payments": report["payments"],
            "messages": report["messages"], "tasks": report["tasks"]["created"]}]}
    DayRun.objects.filter(pk=run.pk).update(status=DayRun.Status.COMPLETED, stage="done",
                                            finished_at=timezone.now(), report=stored)
    path = reports() / f"dag-{day.isoformat()}.json"
    path.write_text(json.dumps(stored, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _print_batch(day: date) -> dict[str, Any]:
    """The day's letters in one PDF plus a CSV manifest for the print house."""
    from vroeg.messaging.print_batch import PrintBatchError, build_print_batch

    try:
        pdf, csv, count = build_print_batch(day)
    except PrintBatchError as exc:
        return {"error": str(exc)[:300]}
    return {"letters": count, "pdf": pdf.name if pdf else "", "manifest": csv.name if csv else ""}


def _read_bounces() -> int:
    """Bounce reports in VROEG_BOUNCE_MAILDIR: failed emails hand over to the next channel."""
    from pathlib import Path

    from django.conf import settings

    from vroeg.messaging.bounces import read_bounces

    folder = getattr(settings, "VROEG_BOUNCE_MAILDIR", "")
    if not folder or not Path(folder).is_dir():
        return 0
    return read_bounces([Path(folder)]).bounced


def still_needed_factory(day: date, flow: Flow) -> Callable[[Message], str | None]:
    """Re-checked just before sending: a payment may have made the message pointless."""
    def still_needed(message: Message) -> str | None:
        if message.case_id is None:
            return None  # a service message (direct debit stopped), not about arrears
        if message.case_id and Case.objects.filter(pk=message.case_id,
                                                   status=Case.Status.CLOSED).exists():
            return "dossier gesloten / case closed"
        if message.case_id and Message.objects.filter(
                case_id=message.case_id, decided_on__gt=message.decided_on).exclude(
                status=Message.Status.CANCELLED).exists():
            # After a catch-up several steps may wait: only the latest one goes out.
            return "vervangen door een latere stap / superseded by a later step"
        owed = balance_of(message.tenancy_id, max(day, message.decided_on))
        if owed < flow.min_arrears:
            return "inmiddels betaald / paid in the meantime"
        return None
    return still_needed


