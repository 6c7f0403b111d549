"""A flow (incassobeleid) as data: segments, ordered steps, reactions, guards.

A team lead reads and changes the YAML file; this module holds what it becomes.
Law is not policy: the legal gates of the municipal signal (Wgs), the 14-day letter
(WIK) and the hand-over (rule 15) are built into `decide`, whatever the file says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal

from vroeg.domain import case_state as cs

# What a step can do.
MESSAGE = "message"                       # a reminder over a channel list with fallback
TASK = "task"                             # work for a person: call, visit, check
ARRANGEMENT_OFFER = "arrangement_offer"   # a message offering a payment arrangement
FOURTEEN_DAY_LETTER = "fourteen_day_letter"  # the statutory letter (WIK, rule 10)
MUNICIPAL_SIGNAL = "municipal_signal"     # the Wgs signal (rules 3-8)
HANDOVER_PROPOSAL = "handover_proposal"   # a proposal a person approves (rule 15)
ACTIONS = (MESSAGE, TASK, ARRANGEMENT_OFFER, FOURTEEN_DAY_LETTER, MUNICIPAL_SIGNAL,
           HANDOVER_PROPOSAL)
#: Actions that reach the tenant: at most one a day per household, capped per week.
COMMUNICATIONS = frozenset({MESSAGE, ARRANGEMENT_OFFER, FOURTEEN_DAY_LETTER})
CHANNELS = ("email", "sms", "whatsapp", "letter")

# Facts a step records when it is taken (evidence for the legal gates, rule 3).
RECORDS = ("written_reminder", "objection_offer", "debt_help_referral", "contact_attempt")

ACTION_TITLES = {
    MESSAGE: "bericht / message",
    TASK: "taak / task",
    ARRANGEMENT_OFFER: "aanbod betalingsregeling / arrangement offer",
    FOURTEEN_DAY_LETTER: "veertiendagenbrief / 14-day letter",
    MUNICIPAL_SIGNAL: "vroegsignaal gemeente / municipal signal",
    HANDOVER_PROPOSAL: "voorstel overdracht deurwaarder / bailiff hand-over proposal",
}


@dataclass(frozen=True)
class Trigger:
    """All given conditions must hold (a step's `when` is any of its triggers)."""

    days_overdue_at_least: int | None = None
    months_owed_at_least: Decimal | None = None
    arrears_at_least: Decimal | None = None
    signal: str | None = None          # an early-warning signal currently true
    event: str | None = None           # a signal first seen today (a reversal, ...)
    after_step: str | None = None      # days since this step of the case ...
    after_days: int = 0                # ... at least this many
    #: Wait for the household's income: at least this many days after the first payday
    #: on or after the oldest due date (when the payday is known or learned).
    after_payday_days: int | None = None

    def describe(self) -> str:
        parts = []
        if self.days_overdue_at_least is not None:
            parts.append(f"{self.days_overdue_at_least}+ dagen te laat / days overdue")
        if self.months_owed_at_least is not None:
            parts.append(f"{self.months_owed_at_least}+ maanden huur / months of rent owed")
        if self.arrears_at_least is not None:
            parts.append(f"achterstand / arrears >= {self.arrears_at_least}")
        if self.signal is not None:
            parts.append(f"signaal / signal {self.signal}")
        if self.event is not None:
            parts.append(f"vandaag / today: {self.event}")
        if self.after_step is not None:
            parts.append(f"{self.after_days}+ dagen na / days after {self.after_step}")
        if self.after_payday_days is not None:
            parts.append(f"{self.after_payday_days}+ dagen na de betaaldag / days after "
                         "payday")
        return " en / and ".join(parts) or "altijd / always"


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    action: str
    when: tuple[Trigger, ...]                 # any of these
    template: str = ""
    channels: tuple[str, ...] = ()            # in order; "preferred" = the household's choice
    task_kind: str = ""
    task_team: str = "incasso"
    task_due_days: int = 2                    # working days
    records: tuple[str, ...] = ()             # evidence kinds this step records
    on: str = ""                              # reactions: the event they react to
    during_pause: str = "no"  # reactions: "no", "also", "only" paused, "debt_help" only

    @property
    def case_event(self) -> str:
        """The case-state event taking this step raises (case_state.py)."""
        if self.action == FOURTEEN_DAY_LETTER:
            return cs.FOURTEEN_DAY_LETTER_SENT
        if self.action == MUNICIPAL_SIGNAL:
            return cs.SIGNAL_SENT
        if self.action == HANDOVER_PROPOSAL:
            return cs.HANDOVER_PROPOSED_EVENT
        if self.action == TASK:
            return cs.PERSONAL_CONTACT_TASK
        if "written_reminder" in self.records:
            return cs.WRITTEN_REMINDER_SENT
        return cs.REMINDER_SENT

    @property
    def is_communication(self) -> bool:
        return self.action in COMMUNICATIONS


@dataclass(frozen=True)
class SegmentRule:
    """When a tenancy belongs to a segment; every given condition must hold."""

    signal: str | None = None
    in_debt_help: bool | None = None
    vulnerable: bool | None = None
    tenancy_months_below: int | None = None
    first_time: bool | None = None            # no earlier case in the last 12 months

    def describe(self) -> str:
        parts = []
        if self.signal is not None:
            parts.append(f"signaal / signal {self.signal}")
        if self.in_debt_help is not None:
            parts.append("in schuldhulp / in debt help" if self.in_debt_help
                         else "niet in schuldhulp / not in debt help")
        if self.vulnerable is not None:
            parts.append("kwetsbaar huishouden / vulnerable household" if self.vulnerable
                         else "niet kwetsbaar / not vulnerable")
        if self.tenancy_months_below is not None:
            parts.append(f"huurovereenkomst < {self.tenancy_months_below} maanden / tenancy "
                         f"under {self.tenancy_months_below} months")
        if self.first_time is not None:
            parts.append("eerste keer te laat / first time late" if self.first_time
                         else "eerder te laat / late before")
        return " en / and ".join(parts) or "alle overige / everyone else"


@dataclass(frozen=True)
class Segment:
    id: str
    title: str
    rule: SegmentRule
    ladder: tuple[str, ...]                   # step ids, in order
    description: str = ""


@dataclass(frozen=True)
class Guards:
    min_arrears: Decimal = Decimal("10.00")
    min_days_between_steps: int = 5
    max_messages_per_week: int = 2            # per household, any 7 days
    contact_from: time = time(8, 0)           # messages, SMS and calls: local time
    contact_until: time = time(21, 0)
    no_contact_on_sundays: bool = True
    no_contact_on_holidays: bool = True
    # Without recent bank statements vroeg cannot know who paid: no new steps when the
    # latest booking day is this many working days behind (0: never hold).
    max_bank_days_behind: int = 3
    # A payment in the unmatched queue that may be this tenant's: wait this many days
    # for a person to match it before the next step (0: do not wait).
    wait_for_unmatched_payment_days: int = 10


@dataclass(frozen=True)
class LegalPolicy:
    """Defaults around the law, as agreed with the municipality (rules 5, 11)."""

    signal_min_days_overdue: int = 30
    signal_days_after_written_reminder: int = 14
    # Social landlords charge no collection costs before a bailiff hand-over (rule 11).
    charge_collection_costs: bool = False
    vat_on_costs: bool = False
    letter_delivery_working_days: int = 2


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    title: str
    steps: dict[str, Step]                    # the library, by id
    segments: tuple[Segment, ...]             # first matching wins
    reactions: tuple[Step, ...] = ()
    guards: Guards = field(default_factory=Guards)
    legal: LegalPolicy = field(default_factory=LegalPolicy)
    open_case_after_days: int = 1
    description: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def min_arrears(self) -> Decimal:
        return self.guards.min_arrears

    @property
    def min_days_between_steps(self) -> int:
        return self.guards.min_days_between_steps

    def ladder(self, segment_id: str) -> tuple[Step, ...]:
        seg = next(s for s in self.segments if s.id == segment_id)
        return tuple(self.steps[i] for i in seg.ladder)

    def step(self, step_id: str) -> Step:
        if step_id in self.steps:
            return self.steps[step_id]
        return next(r for r in self.reactions if r.id == step_id)

    def all_steps(self) -> tuple[Step, ...]:
        return (*self.steps.values(), *self.reactions)


__all__ = [
    "ACTIONS", "ACTION_TITLES", "ARRANGEMENT_OFFER", "CHANNELS", "COMMUNICATIONS",
    "FOURTEEN_DAY_LETTER", "HANDOVER_PROPOSAL", "MESSAGE", "MUNICIPAL_SIGNAL", "RECORDS",
    "TASK", "Flow", "Guards", "LegalPolicy", "Segment", "SegmentRule", "Step", "Trigger",
]
