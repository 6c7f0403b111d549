"""The early signal to the municipality (vroegsignalering, Wgs and the Besluit
gemeentelijke schuldhulpverlening art. 2; RULES-NL rules 3-5 and 8).

A signal needs four recorded preconditions, each with a date and evidence (rule 3);
an objection stops it (rule 4); the waiting times and the municipality agreement are
configurable defaults (rule 5). Without an objection an eligible signal is mandatory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vroeg.domain.calendar import add_months

STALE_AFTER_MONTHS = 6  # rule 8: flag older signals as stale
SUMMONS_AFTER_MONTHS = 2  # rule 8: a summons sooner after the signal is rejected


@dataclass(frozen=True)
class Proof:
    """One recorded step: when, and a short note of what and where the evidence is."""

    on: date
    note: str


@dataclass(frozen=True)
class SignalEvidence:
    contact_attempt: Proof | None = None  # (a) call, visit or chat to solve the arrears
    debt_help_referral: Proof | None = None  # (b) pointed to municipal debt help, local contact
    written_reminder: Proof | None = None  # (c) a written reminder was sent
    objection_offer: Proof | None = None  # (d) it offered to pass details, explained objecting
    objected_on: date | None = None
    objection_note: str = ""


class Missing(str):
    """A code (the string itself, e.g. "contact_attempt") with a Dutch/English text."""

    text: str

    def __new__(cls, code: str, text: str) -> Missing:
        item = super().__new__(cls, code)
        item.text = text
        return item

    @property
    def code(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"Missing({str(self)!r}, {self.text!r})"


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    missing: tuple[Missing, ...]  # everything that blocks the signal; empty when eligible
    reasons: tuple[str, ...]  # every check, passed or not, readable


# (field, code, what it is) in the order of rule 3
PRECONDITIONS: tuple[tuple[str, str, str], ...] = (
    ("contact_attempt", "contact_attempt",
     "(a) poging tot persoonlijk contact / personal-contact attempt"),
    ("debt_help_referral", "debt_help_referral",
     "(b) gewezen op gemeentelijke schuldhulp met lokale contactgegevens / pointed to "
     "municipal debt help with local contact details"),
    ("written_reminder", "written_reminder",
     "(c) schriftelijke herinnering verstuurd / written reminder sent"),
    ("objection_offer", "objection_offer",
     "(d) herinnering bood aan gegevens door te geven en legde bezwaar uit / the reminder "
     "offered to pass details and explained the right to object"),
)


def precondition_checks(evidence: SignalEvidence,
                        today: date) -> tuple[tuple[str, bool, str], ...]:
    """(code, met, text) for each of the four preconditions, as of `today`.

    A precondition is met only when recorded with a date on or before today and a
    non-empty note: a date without evidence does not prove anything in court.
    """
    out = []
    for field, code, what in PRECONDITIONS:
        proof: Proof | None = getattr(evidence, field)
        if proof is None:
            out.append((code, False, f"{what}: ontbreekt / missing"))
        elif proof.on > today:
            out.append((code, False, f"{what}: gedateerd na vandaag / dated after today "
                                     f"({proof.on.isoformat()})"))
        elif not proof.note.strip():
            out.append((code, False, f"{what}: {proof.on.isoformat()} zonder bewijs / "
                                     "without evidence"))
        else:
            out.append((code, True, f"{what}: {proof.on.isoformat()}, {proof.note.strip()}"))
    return tuple(out)


def signal_eligibility(evidence: SignalEvidence, *, today: date, oldest_due_on: date | None,
                       days_after_reminder: int = 14, min_days_overdue: int = 30,
                       municipality_has_agreement: bool = True) -> Eligibility:
    """May (and, without objection, must) the arrears be signalled to the municipality?"""
    missing: list[Missing] = []
    reasons: list[str] = []

    def check(ok: bool, code: str, text: str) -> None:
        reasons.append(f"{'ok' if ok else 'NEE / NO'}: {text}")
        if not ok:
            missing.append(Missing(code, text))

    if evidence.objected_on is not None:
        # Any recorded objection stops the signal, whatever its date (rule 4).
        note = f" ({evidence.objection_note.strip()})" if evidence.objection_note.strip() else ""
        check(False, "objected",
              f"Huurder maakte bezwaar op {evidence.objected_on.isoformat()}{note}: geen "
              f"signaal / tenant objected on {evidence.objected_on.isoformat()}: no signal")
    for code, met, text in precondition_checks(evidence, today):
        check(met, code, text)
    if oldest_due_on is None:
        check(False, "no_arrears", "Geen achterstand / no arrears")
    else:
        age = (today - oldest_due_on).days
        check(age >= min_days_overdue, "arrears_too_recent",
              f"Oudste achterstand {age} dagen oud, minimaal {min_days_overdue} / oldest "
              f"arrears {age} days old, at least {min_days_overdue}")
    reminders = [p.on for p in (evidence.written_reminder, evidence.objection_offer)
                 if p is not None and p.on <= today]
    if reminders:
        # Count from the reminder that carried the offer: the tenant needs the time to object.
        waited = (today - max(reminders)).days
        check(waited >= days_after_reminder, "reminder_too_recent",
              f"{waited} dagen na de herinnering, minimaal {days_after_reminder} / {waited} "
              f"days after the reminder, at least {days_after_reminder}")
    check(municipality_has_agreement, "no_agreement",
          "Convenant met de gemeente / signed agreement with the municipality"
          if municipality_has_agreement else
          "Geen convenant met de gemeente / no signed agreement with the municipality")
    if not missing:
        reasons.append("Geen bezwaar: het signaal is verplicht / no objection: the signal is "
                       "mandatory (Wgs)")
    return Eligibility(eligible=not missing, missing=tuple(missing), reasons=tuple(reasons))


def signal_is_stale(sent_on: date, today: date) -> bool:
    """A signal older than 6 months is stale (rule 8); exactly 6 months is not yet."""
    return today > add_months(sent_on, STALE_AFTER_MONTHS)


def summons_allowed_after_signal(signal_on: date, summons_on: date) -> bool:
    """A summons needs at least 2 months after the signal (rule 8, Rotterdam case law)."""
    return summons_on >= add_months(signal_on, SUMMONS_AFTER_MONTHS)
