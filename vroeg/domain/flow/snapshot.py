"""What `decide` sees of a household on a day: facts gathered by the shell, frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from vroeg.domain import case_state as cs
from vroeg.domain.legal.wgs import SignalEvidence

# Pause kinds (RULES-NL rules 7, 9): debt help and a moratorium stop costs, bailiff and
# eviction steps until a documented breach; the others end on their date.
PAUSE_MANUAL = "manual"
PAUSE_DEBT_HELP = "debt_help"
PAUSE_MORATORIUM = "moratorium"
PAUSE_MUNICIPAL_HELP = "municipal_help"   # help accepted after a signal: up to 30 days
PAUSE_DISPUTE = "dispute"
PAUSE_KINDS = (PAUSE_MANUAL, PAUSE_DEBT_HELP, PAUSE_MORATORIUM, PAUSE_MUNICIPAL_HELP,
               PAUSE_DISPUTE)
DEBT_HELP_KINDS = frozenset({PAUSE_DEBT_HELP, PAUSE_MORATORIUM})

# Arrangement compliance, as the shell reports it.
ARRANGEMENT_ON_TRACK = "on_track"
ARRANGEMENT_BROKEN = "broken"
ARRANGEMENT_COMPLETED = "completed"
# One instalment missed and none left to come: held like a broken one (contact first),
# then ended with a new 14-day letter (rule 14; ArrangementStatus.ran_out_on).
ARRANGEMENT_RAN_OUT = "ran_out"


@dataclass(frozen=True)
class Pause:
    reason: str
    kind: str = PAUSE_MANUAL
    until: date | None = None
    since: date | None = None

    @property
    def debt_help(self) -> bool:
        return self.kind in DEBT_HELP_KINDS


@dataclass(frozen=True)
class OpenCase:
    case_id: int
    steps_taken: Mapping[str, date]
    state: str = cs.OPEN
    #: Reactions already done, as "reaction id:event key".
    reactions_done: frozenset[str] = frozenset()
    #: The day of the latest reaction taken: the ladder's next step keeps its distance
    #: from it too (no reminder the day after a rule-14 letter).
    last_reaction_on: date | None = None
    evidence: SignalEvidence = field(default_factory=SignalEvidence)
    signal_sent_on: date | None = None
    fourteen_day_letter_on: date | None = None
    #: A hand-over proposal is waiting for a person (or was decided): none again.
    handover_pending: bool = False
    #: The segment the case opened in: it keeps its ladder (see decide.segment_of).
    segment: str = ""


@dataclass(frozen=True)
class TenancySnapshot:
    tenancy_id: int
    monthly_rent: Decimal
    balance: Decimal
    arrears: Decimal
    oldest_due_on: date | None
    days_overdue: int
    months_owed: Decimal
    signals: frozenset[str] = frozenset()      # early-warning signal kinds true today
    #: Signals first seen today, as (kind, key): what reactions react to.
    events: tuple[tuple[str, str], ...] = ()
    open_case: OpenCase | None = None
    pause: Pause | None = None
    start_on: date | None = None
    prior_cases_12m: int = 0                   # closed cases in the last 12 months
    arrangement: str | None = None  # on_track | broken | ran_out | completed
    #: The household's payday (day of the month): from the ERP (betaaldag) or learned
    #: from when the rent was paid (signals.usual_payday); None: not known.
    payday: int | None = None
    #: The newest payment in the unmatched queue with this tenancy among its best
    #: candidates (its booking day); None: none.
    unmatched_payment_on: date | None = None
    unmatched_payment_amount: Decimal | None = None  # the largest such payment

    @property
    def pause_reason(self) -> str | None:
        return self.pause.reason if self.pause else None


@dataclass(frozen=True)
class Contact:
    preferred_channel: str = "email"
    has_email: bool = False
    has_mobile: bool = False
    has_postal: bool = True
    letter_only: bool = False
    no_email: bool = False
    no_sms: bool = False
    whatsapp: bool = False  # the tenant opted in to WhatsApp

    def can_use(self, channel: str) -> bool:
        if self.letter_only:
            return channel == "letter"
        if channel == "email":
            return self.has_email and not self.no_email
        if channel == "sms":
            return self.has_mobile and not self.no_sms
        if channel == "whatsapp":
            return self.has_mobile and self.whatsapp
        return self.has_postal


@dataclass(frozen=True)
class HouseholdSnapshot:
    household_id: int
    contact: Contact
    tenancies: tuple[TenancySnapshot, ...]
    messaged_on: frozenset[date] = frozenset()  # days a message was already decided
    messages_last_7_days: int = 0               # decided in the 6 days before today
    pause: Pause | None = None
    vulnerable: bool = False
    children: bool | None = None
    municipality_has_agreement: bool = True

    @property
    def paused_reason(self) -> str | None:
        return self.pause.reason if self.pause else None


__all__ = [
    "ARRANGEMENT_BROKEN", "ARRANGEMENT_COMPLETED", "ARRANGEMENT_ON_TRACK", "ARRANGEMENT_RAN_OUT",
    "DEBT_HELP_KINDS", "PAUSE_DEBT_HELP", "PAUSE_DISPUTE", "PAUSE_KINDS", "PAUSE_MANUAL",
    "PAUSE_MORATORIUM", "PAUSE_MUNICIPAL_HELP", "Contact", "HouseholdSnapshot", "OpenCase",
    "Pause", "TenancySnapshot",
]
