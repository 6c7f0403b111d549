"""A flow for people: Markdown tables and a Mermaid diagram (GitHub and most wikis
draw Mermaid blocks as pictures), plus the case state machine as a diagram."""

from __future__ import annotations

from vroeg.domain import case_state as cs
from vroeg.domain.flow.model import ACTION_TITLES, Flow, Step, Trigger


def _channels(step: Step) -> str:
    return " > ".join(step.channels) if step.channels else ""


def _what(step: Step) -> str:
    what = ACTION_TITLES.get(step.action, step.action)
    if step.template:
        what += f" `{step.template}`"
    if step.task_kind:
        what += f" ({step.task_kind}, team {step.task_team}, {step.task_due_days} werkdagen / " \
                "working days)"
    return what


def _when(step: Step) -> str:
    return " **of / or** ".join(t.describe() for t in step.when)


def _reacts_to(r: Step) -> str:
    """A reaction's event, and its own `when` where it has one."""
    cond = " of / or ".join(t.describe() for t in r.when if t != Trigger())
    return f"{r.on}, als / if {cond}" if cond else r.on


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown(flow: Flow) -> str:
    g, lp = flow.guards, flow.legal
    lines = [f"# {flow.title}", "", f"`{flow.id}`" + (f": {flow.description}"
                                                     if flow.description else ""), "",
             "## Spelregels / Guards", "",
             f"- Minimaal bedrag / minimum arrears: EUR {g.min_arrears}",
             f"- Dossier open na / case opens after: {flow.open_case_after_days} dag(en) / day(s)",
             f"- Tussen twee stappen / between two steps: {g.min_days_between_steps} dagen / days",
             f"- Berichten per huishouden / messages per household: 1 per dag / a day, "
             f"{g.max_messages_per_week} per 7 dagen / days",
             f"- Contact / contact: {g.contact_from:%H:%M}-{g.contact_until:%H:%M}"
             + (", niet op zondag / not on Sundays" if g.no_contact_on_sundays else "")
             + (", niet op feestdagen / not on public holidays"
                if g.no_contact_on_holidays else ""),
             "- Bankafschriften / bank statements: geen nieuwe stappen als de laatste "
             f"{g.max_bank_days_behind} werkdagen ontbreken / no new steps when the last "
             f"{g.max_bank_days_behind} working days are missing",
             "- Betaling in de wachtrij / payment in the unmatched queue: de kandidaten wachten "
             f"{g.wait_for_unmatched_payment_days} dagen op koppelen / its candidates wait "
             f"{g.wait_for_unmatched_payment_days} days for it to be matched",
             f"- Vroegsignaal / municipal signal: achterstand minimaal / arrears at least "
             f"{lp.signal_min_days_overdue} dagen / days, {lp.signal_days_after_written_reminder}"
             " dagen na de schriftelijke herinnering / days after the written reminder; alleen "
             "met alle vier voorwaarden en zonder bezwaar / only with all four preconditions "
             "and no objection (Wgs)",
             "- Incassokosten / collection costs: " + (
                 "volgens de WIK-staffel na de veertiendagenbrief / per the WIK scale after the "
                 "14-day letter" if lp.charge_collection_costs else
                 "geen (EUR 0) tot een overdracht / none (EUR 0) until a hand-over"), ""]
    lines += ["## Segmenten / Segments", "",
              "Het eerste segment dat past, geldt / the first segment that fits applies.", "",
              _row("segment", "wanneer / when", "stappen / ladder"), "|---|---|---|"]
    for seg in flow.segments:
        lines.append(_row(f"**{seg.id}** {seg.title}", seg.rule.describe(),
                          " > ".join(seg.ladder) or "geen automatische stappen / no automated "
                                                    "steps"))
    lines += ["", "## Stappen / Steps", "",
              _row("stap / step", "actie / action", "kanalen / channels", "wanneer / when",
                   "legt vast / records"), "|---|---|---|---|---|"]
    for step in flow.steps.values():
        lines.append(_row(f"**{step.id}** {step.title}", _what(step), _channels(step),
                          _when(step), ", ".join(step.records)))
    if flow.reactions:
        lines += ["", "## Reacties / Reactions", "",
                  "Eenmaal per gebeurtenis, buiten de volgorde / once per event, outside the "
                  "ladder.", "",
                  _row("reactie / reaction", "op / on", "actie / action", "kanalen / channels",
                       "ook tijdens pauze / during a pause"), "|---|---|---|---|---|"]
        for r in flow.reactions:
            lines.append(_row(f"**{r.id}** {r.title}", _reacts_to(r), _what(r), _channels(r),
                              {"no": "nee / no", "also": "ja / yes",
                               "only": "alleen / only",
                               "debt_help": "alleen in schuldhulp / only in debt help"}[
                                   r.during_pause]))
    lines += ["", "## Schema / Diagram", "", "```mermaid", mermaid(flow), "```", ""]
    return "\n".join(lines)


def _node(text: str) -> str:
    return text.replace('"', "'")


def mermaid(flow: Flow) -> str:
    """Each segment's ladder as a chain; reactions hang off their event."""
    out = ["flowchart LR"]
    for seg in flow.segments:
        out.append(f'  subgraph {seg.id}["{_node(seg.title)}"]')
        prev = f"{seg.id}_start"
        out.append(f'    {prev}(["{_node(seg.rule.describe())}"])')
        for sid in seg.ladder:
            step = flow.steps[sid]
            node = f"{seg.id}_{sid}"
            shape = f'[/"{_node(step.title)}"/]' if step.is_communication else \
                f'["{_node(step.title)}"]'
            out.append(f"    {node}{shape}")
            label = _node(step.when[0].describe()) + (" ..." if len(step.when) > 1 else "")
            out.append(f'    {prev} -->|"{label}"| {node}')
            prev = node
        out.append("  end")
    for r in flow.reactions:
        out.append(f'  ev_{r.id}(("{_node(r.on)}")) --> re_{r.id}["{_node(r.title)}"]')
    return "\n".join(out)


def state_diagram() -> str:
    """The case state machine (case_state.TRANSITIONS) as a Mermaid state diagram."""
    out = ["stateDiagram-v2", f"  [*] --> {cs.OPEN}"]
    for (before, event), after in sorted(cs.TRANSITIONS.items()):
        if before != after and not (after == cs.CLOSED and before != cs.OPEN):
            out.append(f"  {before} --> {after}: {event}")
    out.append(f"  {cs.CLOSED} --> [*]")
    out.append("  note right of closed: elke fase sluit bij saldo voldaan / every state "
               "closes when the balance is settled")
    return "\n".join(out)


def text(flow: Flow) -> str:
    """Plain text for a terminal: the ladder per segment, one line per step."""
    lines = [f"{flow.title} ({flow.id})"]
    for seg in flow.segments:
        lines.append(f"\n[{seg.id}] {seg.title}: {seg.rule.describe()}")
        for n, sid in enumerate(seg.ladder, 1):
            step = flow.steps[sid]
            chans = f" [{_channels(step)}]" if step.channels else ""
            lines.append(f"  {n}. {step.id}: {ACTION_TITLES[step.action]}{chans} - "
                         f"{' of / or '.join(t.describe() for t in step.when)}")
        if not seg.ladder:
            lines.append("  (geen automatische stappen / no automated steps)")
    if flow.reactions:
        lines.append("\nReacties / reactions:")
        for r in flow.reactions:
            lines.append(f"  op / on {_reacts_to(r)}: {r.id} ({ACTION_TITLES[r.action]})")
    return "\n".join(lines)


__all__ = ["markdown", "mermaid", "state_diagram", "text"]
