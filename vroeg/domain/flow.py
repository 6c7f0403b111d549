"""Flows (incassobeleid) as data, and the pure decision of the next step.

`decide(flow, household, today)` looks at a household snapshot (its tenancies'
arrears, signals, case progress, pauses, contact facts) and returns what to do
today: open or close cases and at most one step per tenancy, with at most one
message for the whole household (the highest step wins). Like Kill Bill's overdue
engine: snapshot in, first matching rule, side effects applied by the shell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

ACTIONS = ("message", "task")
CHANNELS = ("email", "sms", "letter")
TRIGGER_KEYS = ("days_overdue_at_least", "months_owed_at_least", "signal", "arrears_at_least")


class FlowError(ValueError):
    """A flow file that does not hold together; names the file and the element."""


@dataclass(frozen=True)
class Trigger:
    days_overdue_at_least: int | None = None
    months_owed_at_least: Decimal | None = None
    arrears_at_least: Decimal | None = None
    signal: str | None = None

    def holds(self, t: TenancySnapshot) -> bool:
        if self.days_overdue_at_least is not None and t.days_overdue < self.days_overdue_at_least:
            return False
        if self.months_owed_at_least is not None and t.months_owed < self.months_owed_at_least:
            return False
        if self.arrears_at_least is not None and t.arrears < self.arrears_at_least:
            return False
        return self.signal is None or self.signal in t.signals

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
        return " en / and ".join(parts) or "altijd / always"


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    action: str  # message | task
    when: tuple[Trigger, ...]  # any of these
    template: str = ""
    channels: tuple[str, ...] = ()  # "preferred" resolves to the household's choice
    task_kind: str = ""
    task_team: str = "incasso"
    task_due_days: int = 2
    records: tuple[str, ...] = ()  # facts this step records, e.g. signal_offer

    def trigger_met(self, t: TenancySnapshot) -> Trigger | None:
        return next((tr for tr in self.when if tr.holds(t)), None)


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    title: str
    steps: tuple[Step, ...]
    min_arrears: Decimal = Decimal("10.00")
    min_days_between_steps: int = 5
    open_case_after_days: int = 1


@dataclass(frozen=True)
class OpenCase:
    case_id: int
    steps_taken: Mapping[str, date]


@dataclass(frozen=True)
class TenancySnapshot:
    tenancy_id: int
    monthly_rent: Decimal
    balance: Decimal
    arrears: Decimal
    oldest_due_on: date | None
    days_overdue: int
    months_owed: Decimal
    signals: frozenset[str] = frozenset()
    open_case: OpenCase | None = None
    pause_reason: str | None = None


@dataclass(frozen=True)
class Contact:
    preferred_channel: str = "email"
    has_email: bool = False
    has_mobile: bool = False
    has_postal: bool = True
    letter_only: bool = False
    no_email: bool = False
    no_sms: bool = False

    def can_use(self, channel: str) -> bool:
        if self.letter_only:
            return channel == "letter"
        if channel == "email":
            return self.has_email and not self.no_email
        if channel == "sms":
            return self.has_mobile and not self.no_sms
        return self.has_postal


@dataclass(frozen=True)
class HouseholdSnapshot:
    household_id: int
    contact: Contact
    tenancies: tuple[TenancySnapshot, ...]
    messaged_on: frozenset[date] = frozenset()  # days a message was already decided
    paused_reason: str | None = None


@dataclass(frozen=True)
class StepDecision:
    tenancy_id: int
    case_id: int | None  # None: the case opened in this same decision
    step: Step
    channel: str  # for messages; "" for tasks
    reason: str


@dataclass(frozen=True)
class Decision:
    open_cases: tuple[int, ...] = ()  # tenancy ids
    close_cases: tuple[tuple[int, str], ...] = ()  # (case id, reason)
    steps: tuple[StepDecision, ...] = ()
    notes: tuple[str, ...] = field(default=())  # why nothing happened, for the report


def _days_since_last_step(case: OpenCase | None, today: date) -> int | None:
    if case is None or not case.steps_taken:
        return None
    return (today - max(case.steps_taken.values())).days


def choose_channel(step: Step, contact: Contact) -> str | None:
    for ch in step.channels:
        ch = contact.preferred_channel if ch == "preferred" else ch
        if contact.can_use(ch):
            return ch
    return None


def decide(flow: Flow, household: HouseholdSnapshot, today: date) -> Decision:
    opens: list[int] = []
    closes: list[tuple[int, str]] = []
    candidates: list[tuple[int, StepDecision]] = []  # (step index, decision)
    notes: list[str] = []

    for t in household.tenancies:
        case = t.open_case
        if case is not None and t.balance <= 0:
            # A case resolves on the tenancy's total balance, never on one line.
            closes.append((case.case_id, "saldo voldaan / balance settled"))
            continue
        if t.arrears < flow.min_arrears or t.days_overdue < flow.open_case_after_days:
            continue
        if case is None:
            opens.append(t.tenancy_id)
        pause = t.pause_reason or household.paused_reason
        if pause:
            notes.append(f"pauze / paused: {pause}")
            continue
        since = _days_since_last_step(case, today)
        if since is not None and since < flow.min_days_between_steps:
            continue
        taken = case.steps_taken if case else {}
        for i, step in enumerate(flow.steps):
            if step.id in taken:
                continue
            trigger = step.trigger_met(t)
            if trigger is None:
                break  # steps go in order: the first one not taken must be due first
            channel = ""
            if step.action == "message":
                chosen = choose_channel(step, household.contact)
                if chosen is None:
                    # Nowhere to send it: a person has to reach the tenant instead.
                    step = Step(id=step.id, title=step.title, action="task", when=step.when,
                                task_kind="no_channel", task_team=step.task_team,
                                records=step.records)
                else:
                    channel = chosen
            candidates.append((i, StepDecision(
                tenancy_id=t.tenancy_id, case_id=case.case_id if case else None, step=step,
                channel=channel, reason=trigger.describe())))
            break

    # Guard: one message per household per day; the highest step wins.
    messages = [c for c in candidates if c[1].step.action == "message"]
    chosen_steps = [c[1] for c in candidates if c[1].step.action != "message"]
    if messages:
        if today in household.messaged_on:
            notes.append("al een bericht vandaag / already messaged today")
        else:
            chosen_steps.append(max(messages, key=lambda c: c[0])[1])
    return Decision(open_cases=tuple(opens), close_cases=tuple(closes),
                    steps=tuple(chosen_steps), notes=tuple(notes))


# --- loading flows from data -------------------------------------------------------------


def _trigger(raw: Any, where: str) -> Trigger:
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: een voorwaarde is een mapping / a trigger must be a mapping")
    unknown = set(raw) - set(TRIGGER_KEYS)
    if unknown:
        raise FlowError(f"{where}: onbekende voorwaarde / unknown trigger key {sorted(unknown)}")
    try:
        trigger = Trigger(
            days_overdue_at_least=int(raw["days_overdue_at_least"])
            if "days_overdue_at_least" in raw else None,
            months_owed_at_least=Decimal(str(raw["months_owed_at_least"]))
            if "months_owed_at_least" in raw else None,
            arrears_at_least=Decimal(str(raw["arrears_at_least"]))
            if "arrears_at_least" in raw else None,
            signal=str(raw["signal"]) if "signal" in raw else None,
        )
    except (ValueError, ArithmeticError) as exc:
        raise FlowError(f"{where}: ongeldige waarde / invalid value: {exc}") from exc
    for name in ("days_overdue_at_least", "months_owed_at_least", "arrears_at_least"):
        value = getattr(trigger, name)
        if value is not None and value < 0:
            raise FlowError(f"{where}.{name}: mag niet negatief zijn / must not be negative")
    return trigger


def load_flow(data: Mapping[str, Any], source: str = "flow") -> Flow:
    """Build a Flow from parsed YAML; every error names the file and the element."""
    for key in ("name", "version", "steps"):
        if key not in data:
            raise FlowError(f"{source}: '{key}' ontbreekt / is missing")
    steps: list[Step] = []
    seen: set[str] = set()
    raw_steps: Sequence[Any] = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FlowError(f"{source}: steps moet een lijst zijn / steps must be a non-empty list")
    for n, raw in enumerate(raw_steps):
        where = f"{source}: steps[{n}]"
        if not isinstance(raw, Mapping) or "id" not in raw:
            raise FlowError(f"{where}: 'id' ontbreekt / is missing")
        sid = str(raw["id"])
        where = f"{source}: steps[{n}] ({sid})"
        if sid in seen:
            raise FlowError(f"{where}: dubbele id / duplicate id")
        seen.add(sid)
        action = raw.get("action")
        if action not in ACTIONS:
            raise FlowError(f"{where}: action moet een van / must be one of {ACTIONS}")
        when_raw = raw.get("when")
        whens = when_raw.get("any_of") if isinstance(when_raw, Mapping) and "any_of" in when_raw \
            else [when_raw]
        if not whens or whens == [None]:
            raise FlowError(f"{where}: 'when' ontbreekt / is missing")
        when = tuple(_trigger(w, f"{where}.when") for w in whens)
        channels = tuple(raw.get("channels", ()))
        for ch in channels:
            if ch != "preferred" and ch not in CHANNELS:
                raise FlowError(f"{where}: onbekend kanaal / unknown channel {ch!r}")
        if action == "message" and (not raw.get("template") or not channels):
            raise FlowError(f"{where}: een bericht heeft template en channels nodig / "
                            "a message step needs template and channels")
        task = raw.get("task", {}) or {}
        if action == "task" and not task.get("kind"):
            raise FlowError(f"{where}: task.kind ontbreekt / is missing")
        steps.append(Step(
            id=sid, title=str(raw.get("title", sid)), action=action, when=when,
            template=str(raw.get("template", "")), channels=channels,
            task_kind=str(task.get("kind", "")), task_team=str(task.get("team", "incasso")),
            task_due_days=int(task.get("due_in_days", 2)),
            records=tuple(raw.get("records", ())),
        ))
    try:
        return Flow(
            name=str(data["name"]), version=int(data["version"]),
            title=str(data.get("title", data["name"])), steps=tuple(steps),
            min_arrears=Decimal(str(data.get("min_arrears", "10.00"))),
            min_days_between_steps=int(data.get("min_days_between_steps", 5)),
            open_case_after_days=int(data.get("open_case_after_days", 1)),
        )
    except (ValueError, ArithmeticError) as exc:
        raise FlowError(f"{source}: ongeldige waarde / invalid value (min_arrears, version, "
                        f"min_days_between_steps, open_case_after_days): {exc}") from exc


def task_due_on(step: Step, today: date) -> date:
    return today + timedelta(days=step.task_due_days)
