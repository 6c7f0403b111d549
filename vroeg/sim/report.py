"""What-if results for people: totals with their spread over seeds, the difference
between two policies, and an HTML report with charts (matplotlib, embedded as SVG so
the file stands alone)."""

from __future__ import annotations

import html
import io
import statistics
from collections.abc import Sequence
from typing import Any

# The totals compared, with a Dutch / English label, and whether higher is better.
TOTALS: tuple[tuple[str, str, bool | None], ...] = (
    ("arrears_percent_mean", "Achterstand % jaarhuur (gem.) / arrears % of rent roll (mean)",
     False),
    ("arrears_percent_last", "Achterstand % jaarhuur (eind) / arrears % (end)", False),
    ("households_in_arrears_mean", "Huishoudens in achterstand / households in arrears", False),
    ("automation_rate", "Automatiseringsgraad / automation rate", True),
    ("automation_rate_after_steps",
     "Automatisering na een stap / automation rate after a step", True),
    ("staff_hours", "Uren medewerkers / staff hours", False),
    ("staff_tasks", "Taken / staff tasks", False),
    ("cases_opened", "Dossiers geopend / cases opened", None),
    ("cases_closed", "Dossiers gesloten / cases closed", None),
    ("closed_after_steps", "Dossiers gesloten na stappen / cases closed after steps", None),
    ("arrangements_started", "Regelingen gestart / arrangements started", None),
    ("arrangements_completed", "Regelingen afgerond / arrangements completed", True),
    ("arrangements_broken", "Regelingen gebroken / arrangements broken", False),
    ("municipal_signals", "Vroegsignalen / municipal signals", None),
    ("handover_proposals", "Overdrachtsvoorstellen / hand-over proposals", False),
    ("evictions", "Ontruimingen / evictions", False),
)


def spread(values: Sequence[float]) -> dict[str, float | None]:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"mean": None, "min": None, "max": None, "sd": None}
    return {"mean": round(statistics.fmean(vals), 4), "min": round(min(vals), 4),
            "max": round(max(vals), 4),
            "sd": round(statistics.stdev(vals), 4) if len(vals) > 1 else 0.0}


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One policy over its seeds: each total's mean, min, max and standard deviation."""
    out: dict[str, Any] = {}
    for key, _label, _better in TOTALS:
        out[key] = spread([r["kpis"]["totals"].get(key) for r in runs])
    messages: dict[str, list[float]] = {}
    for r in runs:
        for ch, n in r["kpis"]["totals"]["messages"].items():
            messages.setdefault(ch, []).append(n)
    out["messages"] = {ch: spread(v) for ch, v in sorted(messages.items())}
    out["seeds"] = [r["seed"] for r in runs]
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """B minus A for every total (means), with both spreads."""
    out = {}
    for key, label, better in TOTALS:
        ma, mb = a[key]["mean"], b[key]["mean"]
        out[key] = {"label": label, "a": a[key], "b": b[key],
                    "difference": None if ma is None or mb is None else round(mb - ma, 4),
                    "higher_is_better": better}
    return out


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def charts(policies: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """(title, svg) per chart: one line per seed, one colour per policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: list[tuple[str, str]] = []
    series = (("arrears_percent", "Achterstand als % van de jaarhuur / arrears as % of the "
                                  "annual rent roll"),
              ("households_in_arrears", "Huishoudens in achterstand / households in arrears"),
              ("staff_hours", "Uren medewerkers per maand / staff hours per month"),
              ("automation_rate", "Automatiseringsgraad / automation rate"))
    colours = ("#1d4e89", "#c0392b", "#27ae60", "#8e44ad")
    for key, title in series:
        fig, ax = plt.subplots(figsize=(7.5, 3.2))
        for n, (policy, runs) in enumerate(policies.items()):
            for i, r in enumerate(runs):
                months = [p["month"] for p in r["kpis"]["per_month"]]
                values = [p[key] if p[key] is not None else float("nan")
                          for p in r["kpis"]["per_month"]]
                ax.plot(months, values, color=colours[n % len(colours)], alpha=0.85,
                        linewidth=1.8 if i == 0 else 0.8, label=policy if i == 0 else None)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.legend(fontsize=8)
        out.append((title, _svg(fig)))
        plt.close(fig)
    # Households by months owed at the end of each month, for the first policy's first seed.
    for policy, runs in policies.items():
        per_month = runs[0]["kpis"]["per_month"]
        buckets = list(per_month[0]["by_months_owed"]) if per_month else []
        fig, ax = plt.subplots(figsize=(7.5, 3.2))
        bottom = [0] * len(per_month)
        for b, colour in zip(buckets, ("#f5b041", "#e67e22", "#d35400", "#922b21"),
                             strict=False):
            vals = [p["by_months_owed"].get(b, 0) for p in per_month]
            ax.bar([p["month"] for p in per_month], vals, bottom=bottom, label=b, color=colour)
            bottom = [x + y for x, y in zip(bottom, vals, strict=True)]
        ax.set_title(f"{policy}: maanden huur achter / months of rent owed", fontsize=10)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.legend(fontsize=8, title="maanden / months")
        out.append((f"{policy}: months owed", _svg(fig)))
        plt.close(fig)
    return out


def html_report(policies: dict[str, list[dict[str, Any]]],
                summaries: dict[str, dict[str, Any]],
                comparison: dict[str, Any] | None, params_note: str = "") -> str:
    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.3f}".rstrip("0").rstrip(".")
        return html.escape(str(v))

    names = list(policies)
    first = next(iter(policies.values()))[0]
    seeds = str(summaries[names[0]]["seeds"])
    rows = []
    for key, label, _better in TOTALS:
        cells = "".join(
            f"<td>{fmt(summaries[p][key]['mean'])}<br><small>{fmt(summaries[p][key]['min'])}"
            f" .. {fmt(summaries[p][key]['max'])}</small></td>" for p in names)
        diff = ""
        if comparison is not None:
            d = comparison[key]["difference"]
            diff = f"<td><b>{'+' if d is not None and d > 0 else ''}{fmt(d)}</b></td>"
        rows.append(f"<tr><th>{html.escape(label)}</th>{cells}{diff}</tr>")
    head = "".join(f"<th>{html.escape(p)}</th>" for p in names)
    diff_head = "<th>verschil / difference (B - A)</th>" if comparison is not None else ""
    figures = "".join(f"<figure>{svg}</figure>" for _title, svg in charts(policies))
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<title>vroeg simulatie / simulation</title>
<style>
body {{ font: 14px/1.5 "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #111; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }}
th:first-child {{ text-align: left; }}
small {{ color: #666; }}
figure {{ margin: 1.5em 0; }}
</style></head><body>
<h1>Simulatie / simulation</h1>
<p>{first["tenancies"]} huurovereenkomsten / tenancies, {first["months"]} maanden / months
({html.escape(" .. ".join(first["period"]))}), seeds {html.escape(seeds)}.
Gemiddelde met laagste .. hoogste over de seeds / mean with lowest .. highest over the seeds.
{html.escape(params_note)}</p>
<table><tr><th>KPI</th>{head}{diff_head}</tr>{"".join(rows)}</table>
{figures}
</body></html>
"""


__all__ = ["TOTALS", "charts", "compare", "html_report", "spread", "summarise"]
