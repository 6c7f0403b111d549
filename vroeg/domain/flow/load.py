"""Reading a flow from parsed YAML, checked on load: every error names the element.

The file (see vroeg/flows/sociaal-incasseren.yaml, docs/flows.md):

    name, version, title, description
    guards:     min_arrears, min_days_between_steps, max_messages_per_week,
                contact_hours {from, until}, no_contact_on [sunday, public_holiday],
                max_bank_days_behind, wait_for_unmatched_payment_days
    legal:      signal_min_days_overdue, signal_days_after_written_reminder,
                charge_collection_costs, vat_on_costs, letter_delivery_working_days
    open_case_after_days
    steps:      a list (in ladder order) of steps, each with an id
    segments:   a list, first match wins; each {id, title, when, ladder: [step ids]};
                the last one must match everyone (no `when`)
    reactions:  a list of steps with `reacts_to: <signal kind>`, taken once per event

Without `segments`, one segment holds every step in the listed order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any

from vroeg.domain.flow.model import (
    ACTIONS,
    CHANNELS,
    COMMUNICATIONS,
    FOURTEEN_DAY_LETTER,
    RECORDS,
    TASK,
    Flow,
    Guards,
    LegalPolicy,
    Segment,
    SegmentRule,
    Step,
    Trigger,
)

TRIGGER_KEYS = ("days_overdue_at_least", "months_owed_at_least", "arrears_at_least", "signal",
                "event", "after_step", "after_payday_days")
SEGMENT_KEYS = ("signal", "in_debt_help", "vulnerable", "tenancy_months_below", "first_time")
STEP_KEYS = ("id", "title", "action", "when", "template", "channels", "task", "records",
             "reacts_to", "during_pause", "description")
TOP_KEYS = ("name", "version", "title", "description", "guards", "legal",
            "open_case_after_days", "steps", "segments", "reactions",
            # version 1 files kept these at the top level
            "min_arrears", "min_days_between_steps")
GUARD_KEYS = ("min_arrears", "min_days_between_steps", "max_messages_per_week",
              "contact_hours", "no_contact_on", "max_bank_days_behind",
              "wait_for_unmatched_payment_days")
LEGAL_KEYS = ("signal_min_days_overdue", "signal_days_after_written_reminder",
              "charge_collection_costs", "vat_on_costs", "letter_delivery_working_days")


_ID = re.compile(r"[a-z][a-z0-9_]{0,29}")


class FlowError(ValueError):
    """A flow file that does not hold together; names the file and the element."""


def _unknown(raw: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(map(str, set(raw) - set(allowed)))
    if unknown:
        hint = (" (YAML leest on/off/yes/no als ja/nee: gebruik reacts_to / YAML reads "
                "on/off/yes/no as true/false: use reacts_to)"
                if any(k in ("True", "False") for k in unknown) else "")
        raise FlowError(f"{where}: onbekende sleutel / unknown key {', '.join(unknown)} (kies "
                        f"uit / choose from {', '.join(allowed)}){hint}")


def _int(raw: Any, where: str, minimum: int = 0) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise FlowError(f"{where}: geen geheel getal / not a whole number: {raw!r}")
    try:
        value = int(raw)
    except ValueError:
        raise FlowError(f"{where}: geen geheel getal / not a whole number: {raw!r}") from None
    if value < minimum:
        raise FlowError(f"{where}: mag niet negatief zijn / must not be negative"
                        if minimum == 0 else f"{where}: minimaal / at least {minimum}")
    return value


def _decimal(raw: Any, where: str) -> Decimal:
    if isinstance(raw, bool) or isinstance(raw, float) and raw != round(raw, 2):
        raise FlowError(f"{where}: ongeldig bedrag / invalid amount: {raw!r}")
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise FlowError(f"{where}: ongeldige waarde / invalid value: {raw!r}") from None
    if not value.is_finite():
        raise FlowError(f"{where}: ongeldige waarde / invalid value: {raw!r}")
    if value < 0:
        raise FlowError(f"{where}: mag niet negatief zijn / must not be negative")
    return value


def _bool(raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        raise FlowError(f"{where}: ja/nee verwacht (true/false) / expected true or false")
    return raw


def _during_pause(raw: Any, where: str) -> str:
    """false: not while paused (the default); true: also while paused; only; debt_help:
    only during debt help or a moratorium (not a dispute or a manual pause)."""
    if raw is True or raw == "also":
        return "also"
    if raw is False or raw == "no":
        return "no"
    if raw in ("only", "debt_help"):
        return str(raw)
    raise FlowError(f"{where}: false, true, only of / or debt_help")


def _time(raw: Any, where: str) -> time:
    try:
        h, m = str(raw).split(":")
        return time(int(h), int(m))
    except ValueError:
        raise FlowError(f"{where}: tijd als UU:MM / time as HH:MM: {raw!r}") from None


def _trigger(raw: Any, where: str) -> Trigger:
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: een voorwaarde is een mapping / a trigger must be a mapping")
    _unknown(raw, TRIGGER_KEYS, where)
    after = raw.get("after_step")
    after_step, after_days = None, 0
    if after is not None:
        if not isinstance(after, Mapping) or set(after) - {"id", "days"} or "id" not in after:
            raise FlowError(f"{where}.after_step: {{id: <stap/step>, days: N}} verwacht / "
                            "expected")
        after_step, after_days = str(after["id"]), _int(after.get("days", 0),
                                                        f"{where}.after_step.days")
    return Trigger(
        days_overdue_at_least=_int(raw["days_overdue_at_least"],
                                   f"{where}.days_overdue_at_least")
        if "days_overdue_at_least" in raw else None,
        months_owed_at_least=_decimal(raw["months_owed_at_least"],
                                      f"{where}.months_owed_at_least")
        if "months_owed_at_least" in raw else None,
        arrears_at_least=_decimal(raw["arrears_at_least"], f"{where}.arrears_at_least")
        if "arrears_at_least" in raw else None,
        signal=str(raw["signal"]) if "signal" in raw else None,
        event=str(raw["event"]) if "event" in raw else None,
        after_step=after_step, after_days=after_days,
        after_payday_days=_int(raw["after_payday_days"], f"{where}.after_payday_days")
        if "after_payday_days" in raw else None)


def _when(raw: Any, where: str) -> tuple[Trigger, ...]:
    if raw is None:
        raise FlowError(f"{where}: 'when' ontbreekt / is missing")
    whens = raw.get("any_of") if isinstance(raw, Mapping) and "any_of" in raw else [raw]
    if not isinstance(whens, list) or not whens:
        raise FlowError(f"{where}.any_of: een niet-lege lijst / a non-empty list")
    return tuple(_trigger(w, f"{where}.when") for w in whens)


def _step(raw: Any, where: str, reaction: bool = False) -> Step:
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise FlowError(f"{where}: 'id' ontbreekt / is missing")
    sid = str(raw["id"])
    where = f"{where} ({sid})"
    if not _ID.fullmatch(sid):
        raise FlowError(f"{where}: id in kleine letters, cijfers en _ (max 30) / id of "
                        "lower-case letters, digits and _ (at most 30)")
    _unknown(raw, STEP_KEYS, where)
    action = raw.get("action")
    if action not in ACTIONS:
        raise FlowError(f"{where}: action moet een van / must be one of {', '.join(ACTIONS)}")
    channels = tuple(str(c) for c in raw.get("channels", ()) or ())
    for ch in channels:
        if ch != "preferred" and ch not in CHANNELS:
            raise FlowError(f"{where}: onbekend kanaal / unknown channel {ch!r}")
    template = str(raw.get("template", "") or "")
    if action in COMMUNICATIONS:
        if action == FOURTEEN_DAY_LETTER and not channels:
            channels = ("letter",)
        if not template or not channels:
            raise FlowError(f"{where}: een bericht heeft template en channels nodig / a "
                            "message step needs template and channels")
        if action == FOURTEEN_DAY_LETTER and channels != ("letter",):
            raise FlowError(f"{where}: de veertiendagenbrief gaat per post (channels: "
                            "[letter]); de ontvangst moet aantoonbaar zijn / the 14-day letter "
                            "goes by post: its receipt must be provable")
    task = raw.get("task") or {}
    if not isinstance(task, Mapping):
        raise FlowError(f"{where}.task: een mapping / a mapping")
    _unknown(task, ("kind", "team", "due_in_days"), f"{where}.task")
    if action == TASK and not task.get("kind"):
        raise FlowError(f"{where}: task.kind ontbreekt / is missing")
    records = tuple(str(r) for r in raw.get("records", ()) or ())
    for r in records:
        if r not in RECORDS:
            raise FlowError(f"{where}: onbekend bewijs / unknown record {r!r} (kies uit / "
                            f"choose from {', '.join(RECORDS)})")
    on = str(raw.get("reacts_to", "") or "")
    if reaction and not on:
        raise FlowError(f"{where}: een reactie heeft 'reacts_to' nodig (een signaal) / a "
                        "reaction needs 'reacts_to' (a signal kind)")
    if not reaction and on:
        raise FlowError(f"{where}: 'reacts_to' hoort bij reactions / belongs under reactions")
    when = (Trigger(),) if reaction and raw.get("when") is None else _when(raw.get("when"),
                                                                           where)
    return Step(id=sid, title=str(raw.get("title", sid)), action=str(action), when=when,
                template=template, channels=channels, task_kind=str(task.get("kind", "")),
                task_team=str(task.get("team", "incasso")),
                task_due_days=_int(task.get("due_in_days", 2), f"{where}.task.due_in_days"),
                records=records, on=on,
                during_pause=_during_pause(raw.get("during_pause", False),
                                           f"{where}.during_pause"))


def _segment(raw: Any, where: str, steps: Mapping[str, Step]) -> Segment:
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise FlowError(f"{where}: 'id' ontbreekt / is missing")
    sid = str(raw["id"])
    where = f"{where} ({sid})"
    _unknown(raw, ("id", "title", "when", "ladder", "description"), where)
    when = raw.get("when") or {}
    if not isinstance(when, Mapping):
        raise FlowError(f"{where}.when: een mapping / a mapping")
    _unknown(when, SEGMENT_KEYS, f"{where}.when")
    rule = SegmentRule(
        signal=str(when["signal"]) if "signal" in when else None,
        in_debt_help=_bool(when["in_debt_help"], f"{where}.when.in_debt_help")
        if "in_debt_help" in when else None,
        vulnerable=_bool(when["vulnerable"], f"{where}.when.vulnerable")
        if "vulnerable" in when else None,
        tenancy_months_below=_int(when["tenancy_months_below"],
                                  f"{where}.when.tenancy_months_below", 1)
        if "tenancy_months_below" in when else None,
        first_time=_bool(when["first_time"], f"{where}.when.first_time")
        if "first_time" in when else None)
    ladder = raw.get("ladder")
    if not isinstance(ladder, list):
        raise FlowError(f"{where}: ladder moet een lijst van stappen zijn / ladder must be a "
                        "list of step ids (leeg mag / may be empty)")
    for n, step_id in enumerate(ladder):
        if str(step_id) not in steps:
            raise FlowError(f"{where}.ladder[{n}]: onbekende stap / unknown step {step_id!r}")
    if len(set(map(str, ladder))) != len(ladder):
        raise FlowError(f"{where}.ladder: een stap staat er twee keer in / a step is listed "
                        "twice")
    return Segment(id=sid, title=str(raw.get("title", sid)), rule=rule,
                   ladder=tuple(str(s) for s in ladder),
                   description=str(raw.get("description", "") or ""))


def _guards(data: Mapping[str, Any], source: str) -> Guards:
    raw = data.get("guards") or {}
    if not isinstance(raw, Mapping):
        raise FlowError(f"{source}: guards: een mapping / a mapping")
    _unknown(raw, GUARD_KEYS, f"{source}: guards")
    where = f"{source}: guards"
    merged = {**{k: data[k] for k in ("min_arrears", "min_days_between_steps") if k in data},
              **raw}
    hours = merged.get("contact_hours") or {}
    if not isinstance(hours, Mapping) or set(hours) - {"from", "until"}:
        raise FlowError(f"{where}.contact_hours: {{from: 'UU:MM', until: 'UU:MM'}}")
    start = _time(hours.get("from", "08:00"), f"{where}.contact_hours.from")
    until = _time(hours.get("until", "21:00"), f"{where}.contact_hours.until")
    if start >= until:
        raise FlowError(f"{where}.contact_hours: 'from' moet voor 'until' liggen / 'from' "
                        "must be before 'until'")
    days = merged.get("no_contact_on", ["sunday", "public_holiday"])
    if not isinstance(days, list) or set(days) - {"sunday", "public_holiday"}:
        raise FlowError(f"{where}.no_contact_on: een lijst uit / a list of [sunday, "
                        "public_holiday]")
    return Guards(
        min_arrears=_decimal(merged.get("min_arrears", "10.00"), f"{where}.min_arrears"),
        min_days_between_steps=_int(merged.get("min_days_between_steps", 5),
                                    f"{where}.min_days_between_steps"),
        max_messages_per_week=_int(merged.get("max_messages_per_week", 2),
                                   f"{where}.max_messages_per_week", 1),
        contact_from=start, contact_until=until,
        no_contact_on_sundays="sunday" in days,
        no_contact_on_holidays="public_holiday" in days,
        max_bank_days_behind=_int(merged.get("max_bank_days_behind", 3),
                                  f"{where}.max_bank_days_behind"),
        wait_for_unmatched_payment_days=_wait_days(merged, where))


def _wait_days(merged: Mapping[str, Any], where: str) -> int:
    days = _int(merged.get("wait_for_unmatched_payment_days", 10),
                f"{where}.wait_for_unmatched_payment_days")
    if days > 31:  # the run reads a month of the unmatched queue
        raise FlowError(f"{where}.wait_for_unmatched_payment_days: hoogstens / at most 31")
    return days


def _legal(data: Mapping[str, Any], source: str) -> LegalPolicy:
    raw = data.get("legal") or {}
    if not isinstance(raw, Mapping):
        raise FlowError(f"{source}: legal: een mapping / a mapping")
    _unknown(raw, LEGAL_KEYS, f"{source}: legal")
    where = f"{source}: legal"
    d = LegalPolicy()
    return LegalPolicy(
        signal_min_days_overdue=_int(raw.get("signal_min_days_overdue",
                                             d.signal_min_days_overdue),
                                     f"{where}.signal_min_days_overdue"),
        signal_days_after_written_reminder=_int(
            raw.get("signal_days_after_written_reminder", d.signal_days_after_written_reminder),
            f"{where}.signal_days_after_written_reminder"),
        charge_collection_costs=_bool(raw.get("charge_collection_costs", False),
                                      f"{where}.charge_collection_costs"),
        vat_on_costs=_bool(raw.get("vat_on_costs", False), f"{where}.vat_on_costs"),
        letter_delivery_working_days=_int(
            raw.get("letter_delivery_working_days", d.letter_delivery_working_days),
            f"{where}.letter_delivery_working_days", 2))


def _check_references(flow: Flow, source: str) -> None:
    """A step waiting for another (after_step) must be able to follow it."""
    for step in flow.all_steps():
        for tr in step.when:
            if tr.after_step is not None and tr.after_step not in flow.steps:
                raise FlowError(f"{source}: {step.id}.when.after_step: onbekende stap / "
                                f"unknown step {tr.after_step!r}")


def load_flow(data: Mapping[str, Any], source: str = "flow") -> Flow:
    """Build a Flow from parsed YAML; every error names the file and the element."""
    if not isinstance(data, Mapping):
        raise FlowError(f"{source}: verwacht een mapping / expected a mapping at the top")
    for key in ("name", "version", "steps"):
        if key not in data:
            raise FlowError(f"{source}: '{key}' ontbreekt / is missing")
    _unknown(data, TOP_KEYS, source)
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FlowError(f"{source}: steps moet een lijst zijn / steps must be a non-empty list")
    steps: dict[str, Step] = {}
    for n, raw in enumerate(raw_steps):
        step = _step(raw, f"{source}: steps[{n}]")
        if step.id in steps:
            raise FlowError(f"{source}: steps[{n}] ({step.id}): dubbele id / duplicate id")
        steps[step.id] = step
    reactions: list[Step] = []
    for n, raw in enumerate(data.get("reactions") or []):
        r = _step(raw, f"{source}: reactions[{n}]", reaction=True)
        if r.id in steps or any(x.id == r.id for x in reactions):
            raise FlowError(f"{source}: reactions[{n}] ({r.id}): dubbele id / duplicate id")
        reactions.append(r)
    raw_segments = data.get("segments")
    if raw_segments is None:
        segments: tuple[Segment, ...] = (Segment("alle", "Alle huurders / All tenants",
                                                 SegmentRule(), tuple(steps)),)
    else:
        if not isinstance(raw_segments, list) or not raw_segments:
            raise FlowError(f"{source}: segments moet een niet-lege lijst zijn / must be a "
                            "non-empty list")
        segments = tuple(_segment(s, f"{source}: segments[{n}]", steps)
                         for n, s in enumerate(raw_segments))
        if len({s.id for s in segments}) != len(segments):
            raise FlowError(f"{source}: segments: dubbele id / duplicate id")
        if segments[-1].rule != SegmentRule():
            raise FlowError(f"{source}: segments[{len(segments) - 1}] ({segments[-1].id}): het "
                            "laatste segment moet iedereen vangen (geen 'when') / the last "
                            "segment must catch everyone (no 'when')")
    try:
        version = _int(data["version"], f"{source}: version", 1)
    except FlowError:
        raise FlowError(f"{source}: version moet een geheel getal >= 1 zijn / must be a whole "
                        "number >= 1") from None
    flow = Flow(name=str(data["name"]), version=version,
                title=str(data.get("title", data["name"])), steps=steps, segments=segments,
                reactions=tuple(reactions), guards=_guards(data, source),
                legal=_legal(data, source),
                open_case_after_days=_int(data.get("open_case_after_days", 1),
                                          f"{source}: open_case_after_days"),
                description=str(data.get("description", "") or ""))
    _check_references(flow, source)
    return flow


__all__ = ["FlowError", "load_flow"]
