"""The simulator's parameters (parameters.yaml), read and checked. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILE = Path(__file__).resolve().parent / "parameters.yaml"
MONEY_STATES = ("ok", "tight", "crisis")
HABITS = ("on_time", "forgetful", "late_by_habit")
CHANNELS = ("email", "sms", "whatsapp", "letter")


class ParamsError(ValueError):
    """A parameter file that does not hold together; names the key."""


@dataclass(frozen=True)
class Params:
    raw: Mapping[str, Any]

    def get(self, *path: str) -> Any:
        node: Any = self.raw
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                raise ParamsError(f"parameters: {'.'.join(path)} ontbreekt / is missing")
            node = node[key]
        return node

    def chance(self, *path: str) -> float:
        value = float(self.get(*path))
        if not 0.0 <= value <= 1.0:
            raise ParamsError(f"parameters: {'.'.join(path)} moet tussen 0 en 1 liggen / "
                              f"must be between 0 and 1")
        return value

    def span(self, *path: str) -> tuple[float, float]:
        lo, hi = self.get(*path)
        if float(lo) > float(hi):
            raise ParamsError(f"parameters: {'.'.join(path)}: [laag, hoog] / [low, high]")
        return float(lo), float(hi)

    def transitions(self) -> dict[str, dict[str, float]]:
        out = {}
        for state in MONEY_STATES:
            row = {k: float(v) for k, v in self.get("households", "transitions", state).items()}
            if set(row) - set(MONEY_STATES) or sum(row.values()) > 1:
                raise ParamsError(f"parameters: households.transitions.{state}: chances to "
                                  "other states, adding up to at most 1")
            out[state] = row
        return out

    def stationary(self) -> dict[str, float]:
        """The long-run share of households in each money state (power iteration)."""
        t = self.transitions()
        p = {"ok": 1.0, "tight": 0.0, "crisis": 0.0}
        for _ in range(2000):
            nxt = dict.fromkeys(MONEY_STATES, 0.0)
            for s, share in p.items():
                stay = 1.0 - sum(t[s].values())
                nxt[s] += share * stay
                for to, chance in t[s].items():
                    nxt[to] += share * chance
            p = nxt
        return p


def _same_keys(default: Any, given: Any, p: Path, where: str) -> None:
    if not isinstance(default, Mapping):
        if isinstance(given, Mapping):
            raise ParamsError(f"{p}: {where}: een waarde, geen mapping / a value, not a mapping")
        if isinstance(default, list) and not (isinstance(given, list)
                                              and len(given) == len(default)):
            raise ParamsError(f"{p}: {where}: een lijst van {len(default)} / a list of "
                              f"{len(default)}, as {default}")
        if isinstance(default, (int, float)) and not isinstance(default, bool) and not (
                isinstance(given, (int, float)) and not isinstance(given, bool)):
            raise ParamsError(f"{p}: {where}: een getal / a number, not {given!r}")
        return
    if not isinstance(given, Mapping):
        raise ParamsError(f"{p}: {where or 'top'}: verwacht een mapping / expected a mapping")
    # Per-kind tables (task minutes, per-step help) may name fewer or more kinds.
    open_ended = where in ("staff.minutes", "contact.offer_helps")
    for key, value in default.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in given:
            if open_ended:
                continue
            raise ParamsError(f"{p}: {path} ontbreekt / is missing")
        _same_keys(value, given[key], p, path)


def load_params(path: str | Path | None = None) -> Params:
    p = Path(path) if path else DEFAULT_FILE
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParamsError(f"{p}: niet te lezen / cannot read: {exc.strerror}") from None
    except yaml.YAMLError:
        raise ParamsError(f"{p}: geen geldige YAML / invalid YAML") from None
    if not isinstance(data, Mapping):
        raise ParamsError(f"{p}: verwacht een mapping / expected a mapping")
    if p.resolve() != DEFAULT_FILE:
        # A copy must hold every key the default file has: a run that fails in its
        # tenth month over a missing key wastes an hour.
        _same_keys(yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8")), data, p, "")
    params = Params(data)
    params.transitions()  # checks
    habits = params.get("households", "habits")
    if set(habits) != set(HABITS) or abs(sum(map(float, habits.values())) - 1) > 1e-9:
        raise ParamsError(f"{p}: households.habits: {', '.join(HABITS)}, adding up to 1")
    for name in ("call_answered", "visit_found_home", "objects_to_signal",
                 "debt_help_after_signal", "via_payment_link"):
        params.chance("contact", name)
    return params


__all__ = ["CHANNELS", "HABITS", "MONEY_STATES", "Params", "ParamsError", "load_params"]
