"""Dutch law for rent collection, as pure functions over dated tables (RULES-NL 3-5, 8,
10-12, 15-16). No Django, no I/O beyond reading the shipped tables once, no clock:
every date is a parameter.

- costs: collection costs (WIK) and when they may be charged
- deadline: the 14-day letter's deadline
- interest: statutory interest (art. 6:119 BW)
- wgs: the municipal early signal's preconditions
- gates: bailiff hand-over and summons gates
- tables: the dated tables and their loader
"""

from vroeg.domain.legal.costs import CostResult, collection_costs, costs_allowed
from vroeg.domain.legal.deadline import Deadline, atw_last_day, fourteen_day_deadline
from vroeg.domain.legal.gates import (
    Check,
    EscalationFacts,
    GateResult,
    handover_gate,
    summons_gate,
)
from vroeg.domain.legal.interest import InterestPeriod, InterestResult, statutory_interest
from vroeg.domain.legal.tables import (
    InterestTable,
    LegalTableError,
    WikTable,
    default_interest_table,
    default_wik_table,
    parse_interest,
    parse_wik,
)
from vroeg.domain.legal.wgs import (
    Eligibility,
    Missing,
    Proof,
    SignalEvidence,
    signal_eligibility,
    signal_is_stale,
    summons_allowed_after_signal,
)

__all__ = [
    "Check", "CostResult", "Deadline", "Eligibility", "EscalationFacts", "GateResult",
    "InterestPeriod", "InterestResult", "InterestTable", "LegalTableError", "Missing", "Proof",
    "SignalEvidence", "WikTable", "atw_last_day", "collection_costs", "costs_allowed",
    "default_interest_table", "default_wik_table", "fourteen_day_deadline", "handover_gate",
    "parse_interest", "parse_wik", "signal_eligibility", "signal_is_stale", "statutory_interest",
    "summons_allowed_after_signal", "summons_gate",
]
