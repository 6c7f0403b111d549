"""The daily decision for every tenancy that may need one.

Gathers snapshots in bulk (collection/snapshots.py), runs the pure decision
(vroeg/domain/flow), and applies each household's decision in its own atomic,
audited transaction (collection/apply.py): a crash between households loses
nothing, and the rerun finds the households already done.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from vroeg.collection.apply import Applied, apply_decision
from vroeg.collection.costs import book_collection_costs
from vroeg.collection.snapshots import gather, tenancies_to_evaluate
from vroeg.domain.flow import Flow, decide


@dataclass
class EvaluationResult:
    evaluated: int = 0
    households: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    signals: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    paused: int = 0
    municipal_signals: int = 0
    handover_proposals: int = 0
    costs_booked: int = 0
    segments: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)  # steps held by a legal gate
    capped: int = 0  # households whose message waited for the weekly cap
    refused: list[str] = field(default_factory=list)


def _municipal_agreement() -> Callable[[str], bool]:
    from vroeg.municipal.actions import has_agreement

    return has_agreement


def evaluate(run_on: date, now: datetime, flow: Flow,
             touched: Iterable[int] = ()) -> EvaluationResult:
    result = EvaluationResult()
    ids = sorted(tenancies_to_evaluate(run_on, touched))
    if not ids:
        return result
    facts = gather(run_on, ids, has_agreement=_municipal_agreement())
    result.evaluated = len(ids)
    fault_after = _fault_point()
    for n, (hid, snapshot) in enumerate(sorted(facts.households.items()), start=1):
        household = facts.tenancies[snapshot.tenancies[0].tenancy_id].household
        decision = decide(flow, snapshot, run_on)
        signals = facts.new_signals.get(hid, [])
        for _tid, seg in decision.segments:
            result.segments[seg] += 1
        if decision.open_cases or decision.close_cases or decision.steps or signals:
            applied = Applied()
            apply_decision(household, decision, facts, signals, run_on, now, flow, applied)
            _add(result, applied)
            result.households += 1
        for note in decision.notes:
            if note.startswith("pauze"):
                result.paused += 1
            elif " wacht / waits:" in note:
                result.waiting[note.split(" ", 1)[0]] += 1
            elif "deze week / this week" in note:
                result.capped += 1
        if fault_after is not None and n >= fault_after:
            os._exit(3)  # fault injection for the crash-and-resume test
    result.costs_booked = book_collection_costs(run_on, flow)
    return result


def _add(result: EvaluationResult, a: Applied) -> None:
    result.cases_opened += a.cases_opened
    result.cases_closed += a.cases_closed
    result.signals.update(a.signals)
    result.messages.update(a.messages)
    result.tasks.update(a.tasks)
    result.municipal_signals += a.municipal_signals
    result.handover_proposals += a.handover_proposals
    result.skipped.update(a.skipped)
    result.refused.extend(a.refused)


def _fault_point() -> int | None:
    spec = os.environ.get("VROEG_FAULT", "")
    return int(spec.split(":", 1)[1]) if spec.startswith("evaluate:") else None


__all__ = ["EvaluationResult", "evaluate"]
