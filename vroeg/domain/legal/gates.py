"""The gates before the last steps (RULES-NL rules 15 and 16): always a human decision.

An open gate only means the step may be *proposed*: a person approves a bailiff
hand-over, a manager signs off a summons. A gate is open exactly when every check
passed; flags are care notes that never open or close it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vroeg.domain.calendar import add_months
from vroeg.domain.legal.deadline import fourteen_day_deadline
from vroeg.domain.legal.wgs import (
    SUMMONS_AFTER_MONTHS,
    SignalEvidence,
    precondition_checks,
    signal_is_stale,
    summons_allowed_after_signal,
)

HANDOVER_MIN_MONTHS = Decimal(2)  # rule 15 default
SUMMONS_MIN_MONTHS = Decimal(3)  # rule 16 default: courts dissolve from about 3 months


@dataclass(frozen=True, kw_only=True)
class EscalationFacts:
    """What the gates look at; every fact is explicit, none defaults to 'fine'."""

    months_in_arrears: Decimal
    evidence: SignalEvidence  # the four Wgs preconditions and any objection
    signal_sent_on: date | None
    fourteen_day_letter_sent_on: date | None
    debt_help_active: bool  # a debt-help programme (schuldhulptraject, Msnp/Wsnp)
    moratorium_active: bool  # a court breathing space (breed moratorium)
    children_in_household: bool | None  # None: not known
    delivery_working_days: int = 2


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool
    text: str


@dataclass(frozen=True)
class GateResult:
    open: bool
    checks: tuple[Check, ...]
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The invariant lives in the type: no open gate with a failed (or without a) check.
        if not self.checks or self.open != all(c.passed for c in self.checks):
            raise ValueError("open must equal all checks passed / open moet gelijk zijn aan "
                             "alle controles geslaagd")

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)


def _gate(checks: list[Check], flags: list[str]) -> GateResult:
    return GateResult(open=all(c.passed for c in checks), checks=tuple(checks),
                      flags=tuple(flags))


def _arrears(facts: EscalationFacts, minimum: Decimal) -> Check:
    m = facts.months_in_arrears
    return Check("arrears_months", m >= minimum,
                 f"Achterstand {m} maanden huur, minimaal {minimum} / arrears {m} months' "
                 f"rent, at least {minimum}")


def _wgs(facts: EscalationFacts, today: date) -> list[Check]:
    return [Check(f"wgs_{code}", met, text)
            for code, met, text in precondition_checks(facts.evidence, today)]


def _signal_on(facts: EscalationFacts, today: date) -> date | None:
    """The date the waiting time runs from: the signal, or (no signal allowed) the objection."""
    sent, objected = facts.signal_sent_on, facts.evidence.objected_on
    if sent is not None and sent <= today:
        return sent
    if sent is None and objected is not None and objected <= today:
        return objected
    return None


def _signal(facts: EscalationFacts, today: date) -> Check:
    sent, objected = facts.signal_sent_on, facts.evidence.objected_on
    if sent is not None and sent > today:
        return Check("signal_sent", False, f"Signaal gedateerd na vandaag / signal dated after "
                                           f"today ({sent.isoformat()})")
    if sent is not None and objected is not None and objected <= sent:
        return Check("signal_sent", False,
                     f"Signaal verstuurd ({sent.isoformat()}) na bezwaar ({objected.isoformat()}):"
                     " nagaan / signal sent after the objection: check")
    if sent is not None:
        return Check("signal_sent", True, f"Signaal aan de gemeente verstuurd op / signal to "
                                          f"the municipality sent on {sent.isoformat()}")
    if objected is not None and objected <= today:
        return Check("signal_sent", True,
                     f"Geen signaal: huurder maakte bezwaar op {objected.isoformat()} (regel 4) / "
                     f"no signal: tenant objected on {objected.isoformat()} (rule 4)")
    return Check("signal_sent", False, "Geen signaal aan de gemeente verstuurd / no signal sent "
                                       "to the municipality")


def _signal_waited(facts: EscalationFacts, today: date) -> Check:
    since = _signal_on(facts, today)
    if since is None:
        return Check("signal_waited", False, "Geen signaal om vanaf te wachten / no signal to "
                                             "wait from")
    until = add_months(since, SUMMONS_AFTER_MONTHS)
    return Check("signal_waited", summons_allowed_after_signal(since, today),
                 f"Minimaal {SUMMONS_AFTER_MONTHS} maanden na {since.isoformat()}: vanaf "
                 f"{until.isoformat()} / at least {SUMMONS_AFTER_MONTHS} months after "
                 f"{since.isoformat()}: from {until.isoformat()}")


def _letter(facts: EscalationFacts, today: date) -> Check:
    sent = facts.fourteen_day_letter_sent_on
    if sent is None or sent > today:
        return Check("fourteen_day_letter", False, "Geen veertiendagenbrief verstuurd / no "
                                                   "14-day letter sent")
    d = fourteen_day_deadline(sent, facts.delivery_working_days)
    passed = d.has_passed(today)
    return Check("fourteen_day_letter", passed,
                 f"Veertiendagenbrief {sent.isoformat()}, termijn tot en met / 14-day letter, "
                 f"deadline {d.deadline.isoformat()}: "
                 + ("verstreken / passed" if passed else "nog niet verstreken / not yet passed"))


def _no_debt_help(facts: EscalationFacts) -> list[Check]:
    return [
        Check("no_debt_help", not facts.debt_help_active,
              "Lopend schuldhulptraject: incasso gepauzeerd / active debt help: collection paused"
              if facts.debt_help_active else "Geen lopend schuldhulptraject / no active debt help"),
        Check("no_moratorium", not facts.moratorium_active,
              "Lopend moratorium / active moratorium" if facts.moratorium_active
              else "Geen moratorium / no moratorium"),
    ]


def _stale_flag(facts: EscalationFacts, today: date) -> list[str]:
    sent = facts.signal_sent_on
    if sent is not None and sent <= today and signal_is_stale(sent, today):
        return [f"Signaal van {sent.isoformat()} is ouder dan 6 maanden: verouderd, overweeg een "
                f"nieuw signaal / signal older than 6 months: stale, consider a new signal"]
    return []


def handover_gate(facts: EscalationFacts, today: date) -> GateResult:
    """May a bailiff hand-over be proposed today (rule 15)? A person approves."""
    checks = [_arrears(facts, HANDOVER_MIN_MONTHS), *_wgs(facts, today), _signal(facts, today),
              _signal_waited(facts, today), _letter(facts, today), *_no_debt_help(facts)]
    flags = [*_stale_flag(facts, today),
             "Alleen een voorstel: een medewerker keurt de overdracht goed / a proposal only: "
             "a person approves the hand-over"]
    return _gate(checks, flags)


def summons_gate(facts: EscalationFacts, today: date) -> GateResult:
    """May a summons (dissolution and eviction) be proposed today (rules 8, 16, 17)?"""
    checks = [_arrears(facts, SUMMONS_MIN_MONTHS), *_wgs(facts, today), _signal(facts, today),
              _signal_waited(facts, today), *_no_debt_help(facts)]
    flags = _stale_flag(facts, today)
    if facts.children_in_household:
        flags.append("Huishouden met kinderen: extra zorg, eerst persoonlijk contact en de "
                     "gemeente betrekken / household with children: extra care, personal "
                     "contact first and involve the municipality")
    elif facts.children_in_household is None:
        flags.append("Onbekend of er kinderen in het huishouden zijn: eerst nagaan / not known "
                     "whether children live in the household: check first")
    flags += ["Dreigende ontruiming: vraag de gemeente om urgente hulp, zij handelt binnen 3 "
              "werkdagen (Wgs) / eviction threatens: ask the municipality for urgent help, it "
              "must act within 3 working days",
              "Alleen een voorstel: een manager tekent af / a proposal only: a manager signs off"]
    return _gate(checks, flags)
