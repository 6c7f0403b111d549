"""The national-scale benchmark itself, at a small size: it generates, runs and measures
what it says (benchmarks/bench_scale.py), so its numbers can be trusted at 1,000,000."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_scale", None)


def test_one_day_at_small_scale(bench, tmp_path, monkeypatch):
    # SQLite in its own home, whatever database the suite runs on (one() drops the URL).
    monkeypatch.setattr(bench.tempfile, "mkdtemp", lambda prefix="": str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    r = bench.one(400, "sqlite", "first", bench.DEFAULT_PG, keep=True)
    generated, run, floor = r["generate"], r["run"], r["floor"]
    assert generated["tenancies"] == 400
    assert run["seconds"] > 0 and run["peak_mb"] > 0
    assert set(run["stages"]) >= {"ingest", "ledger", "match", "decide", "dispatch", "report"}
    # The 1st: every running tenancy is charged, the day's camt.053 is matched.
    assert r["report"]["charges"] == floor["with_writes"]["charges"] > 350
    assert r["report"]["matched"] > 0.8 * generated["day_file"]["entries"]
    writes = floor["with_writes"]
    assert writes["bank_entries"] == generated["day_file"]["entries"]
    assert 0 < writes["matched"] == writes["posted"] <= writes["bank_entries"]
    # Only what needs a decision is decided: the tenancies the floor counts, and those in
    # debt help (a pause the generator does not make).
    assert r["report"]["evaluated"] <= floor["needing_decision"] + r["report"]["cases_opened"]
    assert r["report"]["evaluated"] >= floor["owing_past_due"] > 0
    assert r["ratio"] == round(run["seconds"] / floor["seconds"], 1)
    # Nothing of the floor's writes stays behind (rolled back): a second floor is the same.
    env = {k: v for k, v in bench.os.environ.items()
           if k not in ("VROEG_DATABASE_URL", "DATABASE_URL")}  # the home's SQLite
    again = bench.measure([sys.executable, str(BENCH), "--floor", r["date"]],
                          {**env, "VROEG_HOME": r["home"]}, capture=True)
    assert f'"charges": {writes["charges"]}' in again["stdout"]
    table = bench.table([r])
    assert "| 400 | sqlite | first 2026-12-01 |" in table
    # Per stage against its floor: the parse read every entry of the day's file; each
    # ratio is the run's stage over the floor's part, and the day without dispatch
    # against their sum.
    assert floor["parse"]["entries"] == generated["day_file"]["entries"]
    ratios = r["stage_ratios"]
    assert ratios["ledger"]["floor_s"] == writes["stages"]["ledger"]
    assert ratios["decide"]["floor_s"] == floor["seconds"]
    assert ratios["ingest"]["floor_s"] == round(
        floor["parse"]["seconds"] + writes["stages"]["ingest"], 3)
    whole = ratios["day_without_dispatch"]
    assert whole["run_s"] == round(sum(v for k, v in run["stages"].items()
                                       if k != "dispatch"), 3)
    assert whole["ratio"] == round(whole["run_s"] / max(whole["floor_s"], 0.001), 1)
    assert whole["floor_s"] == round(sum(ratios[k]["floor_s"] for k in
                                         ("ingest", "ledger", "match", "decide")), 3)
    for k in ("ingest", "ledger", "match", "decide"):
        assert ratios[k]["ratio"] == round(ratios[k]["run_s"] / max(ratios[k]["floor_s"], 0.001), 1)
    assert "| 400 | sqlite | " in bench.stage_table([r])
