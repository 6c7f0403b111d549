"""Benchmark: the daily run on a generated corporation, on SQLite or PostgreSQL.

Steps, each a separate `vroeg` process so its time and peak memory are its own:
  1. generate   `vroeg demo --no-run`: tenancies.csv + camt.053 files (12 months + 30 days)
  2. first run  `vroeg run --date D-30`: import everything, book 12 months of history
  3. catch-up   `vroeg run --date D`: 30 days, one by one (the demo's daily job)
  4. one day    `vroeg run --date D` again: a whole day's evaluation with nothing new
Per-day stage timings come from the day reports. Usage:

  python benchmarks/bench_daily_run.py --tenancies 15000 [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def measure(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenancies", type=int, default=15_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 30))
    ap.add_argument("--database-url", default="", help="PostgreSQL server URL (a fresh "
                    "database is created on it and dropped afterwards); default SQLite")
    args = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="vroeg-bench-"))
    env = {**os.environ, "VROEG_HOME": str(home)}
    env.pop("VROEG_DATABASE_URL", None)
    db_name = ""
    if args.database_url:
        import psycopg

        db_name = f"vroeg_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["VROEG_DATABASE_URL"] = args.database_url.rsplit("/", 1)[0] + f"/{db_name}"
    vroeg = [sys.executable, "-m", "vroeg"]
    first_day = args.date - timedelta(days=30)
    results: dict[str, object] = {
        "tenancies": args.tenancies, "database": "postgresql" if db_name else "sqlite",
        "date": args.date.isoformat(), "cpus": os.cpu_count()}
    try:
        measure([*vroeg, "migrate", "-v0"], env)
        results["generate"] = measure([*vroeg, "demo", "--tenancies", str(args.tenancies),
                                       "--seed", str(args.seed), "--date",
                                       args.date.isoformat(), "--no-run"], env)
        results["first_run"] = measure([*vroeg, "run", "--date", first_day.isoformat()], env)
        results["catch_up_30_days"] = measure([*vroeg, "run", "--date", args.date.isoformat()],
                                              env)
        results["one_day_rerun"] = measure([*vroeg, "run", "--date", args.date.isoformat()],
                                           env)
        days = []
        for n in range(1, 31):
            report = home / "reports" / f"dag-{(first_day + timedelta(days=n)).isoformat()}.json"
            days.append(json.loads(report.read_text())["timing_seconds"])
        totals = [sum(d.values()) for d in days]
        results["per_day_seconds"] = {
            "min": round(min(totals), 2), "median": round(statistics.median(totals), 2),
            "max": round(max(totals), 2),
            "stage_medians": {k: round(statistics.median(d[k] for d in days), 3)
                              for k in days[0]}}
    finally:
        if db_name:
            import psycopg

            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    OUT.mkdir(exist_ok=True)
    out = OUT / f"daily-run-{results['database']}-{args.tenancies}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
