"""`vroeg simulate`: what a policy does to arrears, staff time and evictions.

    vroeg simulate --tenancies 15000 --months 12 [--policy FILE] [--seeds K] [--json]
    vroeg simulate --tenancies 2000 --months 6 --policy A.yaml --compare B.yaml --seeds 3

Each seed runs in its own process with its own temporary database (never this
installation's): simulated households pay through bank files, payment links and
direct debits, staff work the queues, and the real daily run decides. Prints the KPIs
(mean and spread over the seeds; with --compare the difference B - A) and writes an
HTML report with charts to reports/ (and the JSON beside it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from vroeg.home import reports
from vroeg.sim.params import ParamsError, load_params
from vroeg.sim.report import TOTALS, compare, html_report, summarise


class Command(BaseCommand):
    help = "Simuleer een beleid / simulate a policy on a synthetic corporation."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenancies", type=int, default=2000)
        parser.add_argument("--months", type=int, default=6)
        parser.add_argument("--policy", default="", help="flow file (default: the active one)")
        parser.add_argument("--compare", default="", metavar="POLICY",
                            help="a second flow file: the difference per KPI")
        parser.add_argument("--seeds", type=int, default=1)
        parser.add_argument("--seed", type=int, default=1, help="the first seed")
        parser.add_argument("--params", default="", help="simulator parameters (YAML)")
        parser.add_argument("--start", default="", help="first day (default: months back)")
        parser.add_argument("--jobs", type=int, default=2, help="simulations at once")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["tenancies"] < 1 or opts["months"] < 1 or opts["seeds"] < 1:
            raise CommandError("--tenancies, --months en --seeds minstens 1 / at least 1")
        try:
            load_params(opts["params"] or None)
        except ParamsError as exc:
            raise CommandError(str(exc)) from None
        policies = [opts["policy"] or str(settings.VROEG_FLOW_FILE)]
        if opts["compare"]:
            policies.append(opts["compare"])
        for p in policies:
            if not Path(p).is_file():
                raise CommandError(f"beleid niet gevonden / policy not found: {p}")
        jobs = [(p, opts["seed"] + k) for p in policies for k in range(opts["seeds"])]
        with ThreadPoolExecutor(max_workers=max(1, opts["jobs"])) as pool:
            results = list(pool.map(lambda j: self._child(j[0], j[1], opts), jobs))
        by_policy: dict[str, list[dict[str, Any]]] = {}
        for (p, _seed), r in zip(jobs, results, strict=True):
            by_policy.setdefault(Path(p).stem, []).append(r)
        summaries = {p: summarise(runs) for p, runs in by_policy.items()}
        names = list(summaries)
        comparison = compare(summaries[names[0]], summaries[names[1]]) \
            if len(names) == 2 else None
        stamp = f"{date.today():%Y%m%d}-{opts['tenancies']}x{opts['months']}"
        folder = reports()
        folder.mkdir(parents=True, exist_ok=True)
        base = folder / f"simulatie-{stamp}-{'-'.join(names)}"
        result = {"policies": summaries, "comparison": comparison, "runs": by_policy}
        base.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str),
                                             encoding="utf-8")
        base.with_suffix(".html").write_text(html_report(by_policy, summaries, comparison),
                                             encoding="utf-8")
        if opts["json"]:
            self.stdout.write(json.dumps({"policies": summaries, "comparison": comparison,
                                          "report": str(base.with_suffix(".html"))},
                                         indent=2, default=str))
            return
        self.stdout.write(self._table(summaries, comparison))
        self.stdout.write(f"\nrapport / report: {base.with_suffix('.html')}")

    def _child(self, policy: str, seed: int, opts: dict[str, Any]) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "vroeg.sim.child", "--tenancies", str(opts["tenancies"]),
               "--months", str(opts["months"]), "--seed", str(seed), "--policy", policy]
        if opts["params"]:
            cmd += ["--params", opts["params"]]
        if opts["start"]:
            cmd += ["--start", opts["start"]]
        name = f"{Path(policy).stem}, seed {seed}"
        self.stderr.write(f"simulatie / simulation: {name} ...")
        # The child's progress lines (one per simulated month) are shown as they come.
        # The result goes to a file: a full stdout pipe would block the child.
        with tempfile.TemporaryFile("w+", encoding="utf-8") as result, subprocess.Popen(
                cmd, stdout=result, stderr=subprocess.PIPE, text=True) as child:
            assert child.stderr is not None
            tail: list[str] = []
            for line in child.stderr:
                line = line.rstrip()
                tail = [*tail[-4:], line]
                if line.startswith("sim"):
                    self.stderr.write(f"  [{name}] {line}")
            code = child.wait()
            result.seek(0)
            out = result.read()
        if code != 0:
            raise CommandError(f"simulatie mislukt / simulation failed ({name}): "
                               + " | ".join(tail))
        return json.loads(out)

    @staticmethod
    def _table(summaries: dict[str, dict[str, Any]], comparison: dict[str, Any] | None) -> str:
        names = list(summaries)
        lines = ["KPI".ljust(58) + "".join(n[:18].rjust(20) for n in names)
                 + ("   verschil / diff" if comparison else "")]
        for key, label, _ in TOTALS:
            row = label[:57].ljust(58)
            for n in names:
                s = summaries[n][key]
                cell = "-" if s["mean"] is None else f"{s['mean']:g}"
                if s.get("sd"):
                    cell += f" ±{s['sd']:.2g}"
                row += cell.rjust(20)
            if comparison:
                d = comparison[key]["difference"]
                row += ("-" if d is None else f"{d:+g}").rjust(18)
            lines.append(row)
        return "\n".join(lines)
