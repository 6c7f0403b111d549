"""The daily decision for every tenancy that may need one.

Gathers snapshots in bulk (collection/snapshots.py), runs the pure decision
(vroeg/domain/flow), and applies each household's decision in its own atomic,
audited transaction (collection/apply.py): a crash between households loses
nothing, and the rerun finds the households already done.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from vroeg.collection.apply import Applied, apply_decision
from vroeg.collection.costs import book_collection_costs
from vroeg.collection.snapshots import chunks, gather, load_tenancies, tenancies_to_evaluate
from vroeg.db import relaxed_commits
from vroeg.domain.flow import UNMATCHED_NOTE, Flow, bank_hold, decide, held
from vroeg.portfolio.models import Tenancy


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
    waiting_for_match: int = 0  # tenancies waiting for an unmatched payment to be matched
    bank_hold: str = ""  # why no new steps today (bank statements behind), or ""


def _municipal_agreement() -> Callable[[str], bool]:
    from vroeg.municipal.actions import has_agreement

    return has_agreement


#: Tenancies gathered at once (whole households): the snapshots, postings and decisions
#: of one block are in memory at a time, not those of the whole portfolio.
BLOCK = 20_000


def _blocks(ids: list[int]) -> Iterator[list[int]]:
    """`ids` in blocks of whole households, in household id order (the order in which
    households are decided), each block at most BLOCK tenancies unless one household
    holds more."""
    household_of: dict[int, int] = {}
    for chunk in chunks(ids):
        household_of.update(Tenancy.objects.filter(pk__in=chunk)
                            .values_list("pk", "household_id").order_by())
    by_household: dict[int, list[int]] = {}
    for tid in ids:  # sorted: each household's tenancies stay in id order
        by_household.setdefault(household_of[tid], []).append(tid)
    block: list[int] = []
    for hid in sorted(by_household):
        if block and len(block) + len(by_household[hid]) > BLOCK:
            yield block
            block = []
        block.extend(by_household[hid])
    if block:
        yield block


def evaluate(run_on: date, now: datetime, flow: Flow) -> EvaluationResult:
    result = EvaluationResult()
    ids = sorted(tenancies_to_evaluate(run_on))
    if not ids:
        return result
    result.evaluated = len(ids)
    result.bank_hold = bank_hold(latest_booking_day(run_on), run_on, flow) or ""
    with relaxed_commits():
        _decide_blocks(ids, run_on, now, flow, result)
    result.costs_booked = 0 if result.bank_hold else book_collection_costs(run_on, flow)
    return result


def _decide_blocks(ids: list[int], run_on: date, now: datetime, flow: Flow,
                   result: EvaluationResult) -> None:
    fault_after = _fault_point()
    agreement = _municipal_agreement()
    n = 0
    # Block by block; within a block every household is decided first (pure), then the
    # Tenancy/Household rows of those with something to apply are loaded in bulk and the
    # decisions applied in household order, one transaction each, as before.
    for block in _blocks(ids):
        facts = gather(run_on, block, has_agreement=agreement, models=False)
        decided = []
        for hid, snapshot in sorted(facts.households.items()):
            decision = decide(flow, snapshot, run_on)
            if result.bank_hold:
                decision = held(decision, result.bank_hold)
            # Held: no signal is judged on bank data that is not in (it would be
            # recorded for good, and could end an arrangement); it comes when they are.
            signals = [] if result.bank_hold else facts.new_signals.get(hid, [])
            act = bool(decision.open_cases or decision.close_cases or decision.steps or signals)
            decided.append((snapshot, decision, signals, act))
        load_tenancies(facts, (t.tenancy_id for snapshot, _, _, act in decided if act
                               for t in snapshot.tenancies))
        for snapshot, decision, signals, act in decided:
            n += 1
            for _tid, seg in decision.segments:
                result.segments[seg] += 1
            if act:
                household = facts.tenancies[snapshot.tenancies[0].tenancy_id].household
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
                elif note == UNMATCHED_NOTE:
                    result.waiting_for_match += 1
            if fault_after is not None and n >= fault_after:
                os._exit(3)  # fault injection for the crash-and-resume test


def latest_booking_day(run_on: date) -> date | None:
    """The last day the bank statements cover, as of `run_on`."""
    from django.db.models import Max

    from vroeg.banking.models import BankFile, BankTransaction

    booked = BankTransaction.objects.filter(booked=True, booked_on__lte=run_on).aggregate(
        d=Max("booked_on"))["d"]
    covered = BankFile.objects.filter(status=BankFile.Status.IMPORTED,
                                      covers_until__lte=run_on).aggregate(
        d=Max("covers_until"))["d"]
    return max((d for d in (booked, covered) if d is not None), default=None)


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


__all__ = ["EvaluationResult", "evaluate", "latest_booking_day"]
