"""The collection case (dossier) as a state machine: one transition table.

Like h11's connection states: every state a case can be in, every event that moves
it, and the one table that says where each (state, event) pair leads. Anything not
in the table is refused (IllegalTransition), so no code path can put a case in a
state the policy never meant. The shell records every transition (who or what made
it and why) in the same transaction as the change itself.

The states follow RULES-NL: friendly automated contact first, then a person, then
the written reminder with the municipal-signal offer, the signal, the 14-day letter,
and only at the end a hand-over proposal that a person approves. Arrangements and
debt help can interrupt the ladder at any point before the hand-over.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- states ------------------------------------------------------------------------------

OPEN = "open"                          # arrears seen, nothing sent yet
REMINDING = "reminding"                # automated friendly reminders
PERSONAL_CONTACT = "personal_contact"  # a person calls or visits
WRITTEN_REMINDER = "written_reminder"  # the letter with the signal offer (rule 3c/3d)
SIGNALLED = "signalled"                # municipal signal sent (Wgs)
FORMAL_NOTICE = "formal_notice"        # the 14-day letter sent (WIK, rule 10)
ARRANGEMENT = "arrangement"            # a payment arrangement runs
DEBT_HELP = "debt_help"                # in municipal debt help: no escalation (rule 9)
HANDOVER_PROPOSED = "handover_proposed"  # waits for a person's approval (rule 15)
HANDED_OVER = "handed_over"            # with the bailiff
CLOSED = "closed"

STATES: dict[str, str] = {
    OPEN: "Geopend / Opened",
    REMINDING: "Herinneringen / Reminding",
    PERSONAL_CONTACT: "Persoonlijk contact / Personal contact",
    WRITTEN_REMINDER: "Schriftelijke herinnering / Written reminder",
    SIGNALLED: "Vroegsignaal verstuurd / Municipal signal sent",
    FORMAL_NOTICE: "Veertiendagenbrief / 14-day letter",
    ARRANGEMENT: "Betalingsregeling / Payment arrangement",
    DEBT_HELP: "Schuldhulp / Debt help",
    HANDOVER_PROPOSED: "Overdracht voorgesteld / Hand-over proposed",
    HANDED_OVER: "Bij deurwaarder / With the bailiff",
    CLOSED: "Gesloten / Closed",
}
ACTIVE_STATES = frozenset(STATES) - {CLOSED}

# --- events ------------------------------------------------------------------------------

REMINDER_SENT = "reminder_sent"
PERSONAL_CONTACT_TASK = "personal_contact_task"
WRITTEN_REMINDER_SENT = "written_reminder_sent"
SIGNAL_SENT = "signal_sent"
FOURTEEN_DAY_LETTER_SENT = "fourteen_day_letter_sent"
ARRANGEMENT_AGREED = "arrangement_agreed"
ARRANGEMENT_BROKEN = "arrangement_broken"
ARRANGEMENT_COMPLETED = "arrangement_completed"
DEBT_HELP_STARTED = "debt_help_started"
DEBT_HELP_ENDED = "debt_help_ended"
HANDOVER_PROPOSED_EVENT = "handover_proposed"
HANDOVER_APPROVED = "handover_approved"
HANDOVER_REJECTED = "handover_rejected"
BALANCE_SETTLED = "balance_settled"
TENANCY_ENDED = "tenancy_ended"

EVENTS: dict[str, str] = {
    REMINDER_SENT: "Herinnering verstuurd / Reminder sent",
    PERSONAL_CONTACT_TASK: "Taak voor persoonlijk contact / Personal contact task",
    WRITTEN_REMINDER_SENT: "Schriftelijke herinnering verstuurd / Written reminder sent",
    SIGNAL_SENT: "Vroegsignaal verstuurd / Municipal signal sent",
    FOURTEEN_DAY_LETTER_SENT: "Veertiendagenbrief verstuurd / 14-day letter sent",
    ARRANGEMENT_AGREED: "Regeling afgesproken / Arrangement agreed",
    ARRANGEMENT_BROKEN: "Regeling niet nagekomen / Arrangement broken",
    ARRANGEMENT_COMPLETED: "Regeling afgerond / Arrangement completed",
    DEBT_HELP_STARTED: "Schuldhulp gestart / Debt help started",
    DEBT_HELP_ENDED: "Schuldhulp beëindigd / Debt help ended",
    HANDOVER_PROPOSED_EVENT: "Overdracht voorgesteld / Hand-over proposed",
    HANDOVER_APPROVED: "Overdracht goedgekeurd / Hand-over approved",
    HANDOVER_REJECTED: "Overdracht afgewezen / Hand-over rejected",
    BALANCE_SETTLED: "Saldo voldaan / Balance settled",
    TENANCY_ENDED: "Huurovereenkomst beëindigd / Tenancy ended",
}

# The ladder, in order: a ladder event never moves a case back down.
_LADDER = (OPEN, REMINDING, PERSONAL_CONTACT, WRITTEN_REMINDER, SIGNALLED, FORMAL_NOTICE)
_LADDER_EVENT_TARGET = {
    REMINDER_SENT: REMINDING,
    PERSONAL_CONTACT_TASK: PERSONAL_CONTACT,
    WRITTEN_REMINDER_SENT: WRITTEN_REMINDER,
    SIGNAL_SENT: SIGNALLED,
    FOURTEEN_DAY_LETTER_SENT: FORMAL_NOTICE,
}


def _table() -> dict[tuple[str, str], str]:
    t: dict[tuple[str, str], str] = {}
    # Up the ladder; a step lower than the current state (a reminder after the call,
    # say) is recorded but keeps the state: the case's state is its highest rung.
    for i, state in enumerate(_LADDER):
        for event, target in _LADDER_EVENT_TARGET.items():
            t[(state, event)] = target if _LADDER.index(target) > i else state
    # An arrangement or debt help interrupts the ladder at any rung, and from each
    # other; a broken arrangement goes back to the ladder at the formal stage it
    # had reached (the shell's flow picks the next step: rule 14).
    for state in (*_LADDER, ARRANGEMENT, DEBT_HELP):
        t[(state, ARRANGEMENT_AGREED)] = ARRANGEMENT
        t[(state, DEBT_HELP_STARTED)] = DEBT_HELP
    t[(ARRANGEMENT, ARRANGEMENT_BROKEN)] = PERSONAL_CONTACT
    t[(ARRANGEMENT, ARRANGEMENT_COMPLETED)] = REMINDING  # closes when the balance is paid
    t[(DEBT_HELP, DEBT_HELP_ENDED)] = PERSONAL_CONTACT
    # Letters and signals can still go out during an arrangement that was broken and
    # re-agreed, or at the flow's reaction to a broken arrangement (a new 14-day letter).
    for event in (FOURTEEN_DAY_LETTER_SENT, SIGNAL_SENT, WRITTEN_REMINDER_SENT, REMINDER_SENT,
                  PERSONAL_CONTACT_TASK):
        t[(ARRANGEMENT, event)] = ARRANGEMENT
    t[(DEBT_HELP, SIGNAL_SENT)] = DEBT_HELP  # the signal may start the debt help
    t[(DEBT_HELP, PERSONAL_CONTACT_TASK)] = DEBT_HELP
    # The last steps: only from the formal stage, and only a person moves them on.
    for state in (SIGNALLED, FORMAL_NOTICE):
        t[(state, HANDOVER_PROPOSED_EVENT)] = HANDOVER_PROPOSED
    t[(HANDOVER_PROPOSED, HANDOVER_APPROVED)] = HANDED_OVER
    t[(HANDOVER_PROPOSED, HANDOVER_REJECTED)] = FORMAL_NOTICE
    t[(HANDOVER_PROPOSED, ARRANGEMENT_AGREED)] = ARRANGEMENT
    t[(HANDOVER_PROPOSED, DEBT_HELP_STARTED)] = DEBT_HELP
    # Settled or ended: from every active state.
    for state in ACTIVE_STATES:
        t[(state, BALANCE_SETTLED)] = CLOSED
        t[(state, TENANCY_ENDED)] = CLOSED
    return t


TRANSITIONS: dict[tuple[str, str], str] = _table()


class IllegalTransition(ValueError):
    """An event that the table does not allow in the case's state."""


@dataclass(frozen=True)
class Transition:
    before: str
    event: str
    after: str

    @property
    def changes(self) -> bool:
        return self.before != self.after

    def describe(self) -> str:
        return f"{STATES[self.before]} -> {STATES[self.after]} ({EVENTS[self.event]})"


def transition(state: str, event: str) -> Transition:
    """Where `event` takes a case in `state`; IllegalTransition when nowhere."""
    after = TRANSITIONS.get((state, event))
    if after is None:
        raise IllegalTransition(
            f"{EVENTS.get(event, event)} kan niet in fase / is not allowed in state "
            f"{STATES.get(state, state)}")
    return Transition(state, event, after)


def allowed(state: str, event: str) -> bool:
    return (state, event) in TRANSITIONS


def events_from(state: str) -> list[str]:
    """The events allowed in a state, for screens and docs."""
    return sorted(e for (s, e) in TRANSITIONS if s == state)


__all__ = [
    "ACTIVE_STATES", "EVENTS", "STATES", "TRANSITIONS", "IllegalTransition", "Transition",
    "allowed", "events_from", "transition",
]
