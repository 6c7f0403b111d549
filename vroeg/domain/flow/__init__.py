"""Flows (incassobeleid) as data, and the pure decision of the next step.

model.py holds what a flow is, load.py reads and checks it, snapshot.py is what the
decision sees, decide.py decides, show.py renders a flow for people.
"""

from __future__ import annotations

from datetime import date

from vroeg.domain.calendar import add_business_days
from vroeg.domain.flow.decide import (
    SKIP,
    TAKE,
    UNMATCHED_NOTE,
    Decision,
    StepDecision,
    bank_hold,
    choose_channels,
    decide,
    held,
    segment_of,
    trigger_holds,
    trigger_met,
)
from vroeg.domain.flow.load import FlowError, load_flow
from vroeg.domain.flow.model import (
    ACTIONS,
    CHANNELS,
    COMMUNICATIONS,
    Flow,
    Guards,
    LegalPolicy,
    Segment,
    SegmentRule,
    Step,
    Trigger,
)
from vroeg.domain.flow.snapshot import (
    Contact,
    HouseholdSnapshot,
    OpenCase,
    Pause,
    TenancySnapshot,
)


def task_due_on(step: Step, today: date) -> date:
    """A task is due the given number of working days after it was made."""
    return add_business_days(today, step.task_due_days)


__all__ = [
    "ACTIONS", "CHANNELS", "COMMUNICATIONS", "SKIP", "TAKE", "UNMATCHED_NOTE", "Contact",
    "Decision", "Flow", "FlowError", "Guards", "HouseholdSnapshot", "LegalPolicy", "OpenCase",
    "Pause", "Segment", "SegmentRule", "Step", "StepDecision", "TenancySnapshot", "Trigger",
    "bank_hold", "choose_channels", "decide", "held", "load_flow", "segment_of", "task_due_on",
    "trigger_holds", "trigger_met",
]
