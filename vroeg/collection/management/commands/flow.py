"""`vroeg flow check FILE`, `vroeg flow show [FILE] [--format md|text|mermaid|states]`,
`vroeg flow segment TENANCY_CODE`: policy files for the people who write them.

check: reads the file as the daily run would (YAML, every step and segment, the
message templates it names) and prints what it holds, or one line per error naming
the file and the element, with exit code 2.
show: the flow as Markdown tables with a Mermaid diagram (for the docs), as plain
text, as the Mermaid diagram alone, or the case state machine (`states`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from vroeg.collection.flows import load_flow_file
from vroeg.domain.flow import FlowError
from vroeg.domain.flow.show import markdown, mermaid, state_diagram, text


class Command(BaseCommand):
    help = "Beleidsbestanden controleren en tonen / check and show flow (policy) files."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="controleer een beleidsbestand / check a flow file")
        check.add_argument("file")
        show = sub.add_parser("show", help="toon een beleid / show a flow")
        show.add_argument("file", nargs="?", default=None,
                          help="default: the active flow (VROEG_FLOW_FILE)")
        show.add_argument("--format", choices=("md", "text", "mermaid", "states"),
                          default="md")

    def handle(self, *args, **opts) -> None:  # type: ignore[no-untyped-def]
        path = Path(opts.get("file") or settings.VROEG_FLOW_FILE)
        if opts["action"] == "show" and opts["format"] == "states":
            self.stdout.write(state_diagram())
            return
        try:
            flow = load_flow_file(path)
        except FlowError as exc:
            self.stderr.write(f"FOUT / ERROR: {exc}")
            sys.exit(2)
        if opts["action"] == "check":
            steps = sum(len(s.ladder) for s in flow.segments)
            self.stdout.write(
                f"OK: {path.name}: {flow.id}, {len(flow.steps)} stappen / steps, "
                f"{len(flow.segments)} segmenten / segments ({steps} in ladders), "
                f"{len(flow.reactions)} reacties / reactions")
            unused = set(flow.steps) - {i for s in flow.segments for i in s.ladder}
            if unused:
                self.stdout.write("let op / note: stappen in geen enkel segment / steps in no "
                                  f"segment: {', '.join(sorted(unused))}")
            return
        render = {"md": markdown, "text": text, "mermaid": mermaid}[opts["format"]]
        self.stdout.write(render(flow))
