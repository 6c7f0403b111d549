"""Loading flow files (YAML) into the pure Flow model."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

from vroeg.domain.flow import Flow, FlowError, load_flow
from vroeg.messaging.render import RenderError, template_keys


def load_flow_file(path: str | Path) -> Flow:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FlowError(f"{p}: niet te lezen / cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise FlowError(f"{p}: geen tekstbestand (UTF-8), byte {exc.start} / not a text file "
                        f"(UTF-8), byte {exc.start}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", regel/line {mark.line + 1}" if mark is not None else ""
        raise FlowError(f"{p}{line}: geen geldige YAML / invalid YAML") from exc
    if not isinstance(data, dict):
        raise FlowError(f"{p}: verwacht een mapping / expected a mapping at the top")
    flow = load_flow(data, source=p.name)
    places = [*(f"steps[{n}]" for n in range(len(flow.steps))),
              *(f"reactions[{n}]" for n in range(len(flow.reactions)))]
    for where, step in zip(places, flow.all_steps(), strict=True):
        if not step.is_communication:
            continue
        for channel in step.channels:
            try:
                template_keys(step.template, None if channel == "preferred" else channel)
            except RenderError as exc:
                raise FlowError(f"{p.name}: {where} ({step.id}): {exc}") from exc
    return flow


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> Flow:
    return load_flow_file(path)


def active_flow() -> Flow:
    path = str(settings.VROEG_FLOW_FILE)
    try:
        mtime = Path(path).stat().st_mtime
    except OSError as exc:
        raise FlowError(f"{path}: beleidsbestand niet gevonden / flow file not found "
                        f"(VROEG_FLOW_FILE): {exc.strerror}") from exc
    return _cached(path, mtime)
