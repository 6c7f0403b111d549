"""Benchmark: one day's run at national scale (15,000 to 1,000,000 tenancies).

For each size, database and day kind: an empty database (SQLite in a fresh VROEG_HOME,
or the PostgreSQL database `vroeg_bench_scale`, dropped and created again), the data
of benchmarks/gen_scale.py written into it in bulk (months of ledger, signals, open
cases with their steps, known payers, the day before completed, that day's camt.053
in the inbox), then `vroeg run --date D` as a child process: its wall time, its peak
memory (ru_maxrss of that process alone) and the day report's stage timings. Then,
over the same ledger, the SQL floor: the core of the day's work as plain SQL (every
tenancy's balance and, for those owing, the oldest unpaid due date, oldest debt
first, as one GROUP BY and a window over ledger_ledgerentry; plus the count of what
needs a decision), and the ratio run / floor; and the floor with the day's writes
(WRITES_SQL: the charges, the bank entries stored, matched by reference and posted, in a
transaction rolled back), with its ratio. Then each stage against its own part of that
floor (stage_ratios: ingest against a bare lxml parse of the day's file plus storing the
entries, ledger against the charges, match against matching by reference and posting,
decide against the aggregate), and the day without dispatch (the PDF letters have no
SQL floor) against their sum.

Day kinds: `first` is the 1st (every tenancy's rent is charged that day, and most
payments come in), `mid` a day in the middle of the month. Usage:

  python benchmarks/bench_scale.py --sizes 15000,100000
  python benchmarks/bench_scale.py --sizes 1000000 --databases postgresql \\
      --database-url postgres://postgres@127.0.0.1:5432/vroeg_bench_scale
  # generate now (it takes long, and may share the machine), measure later:
  python benchmarks/bench_scale.py --sizes 1000000 --databases postgresql --days first \\
      --generate-only /work/scale-1m
  python benchmarks/bench_scale.py --generated /work/scale-1m

Results: benchmarks/out/scale.json (one record per measurement, added to what is
there) and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DAYS = {"first": date(2026, 12, 1), "mid": date(2026, 11, 17)}
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/vroeg_bench_scale"


def measure(cmd: list[str], env: dict[str, str], capture: bool = False) -> dict[str, Any]:
    """Run a child; its wall time and its own peak RSS (wait4's ru_maxrss)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE if capture else
                            subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode() if proc.stdout else ""  # small outputs only
    err = proc.stderr.read().decode() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": out}


def reset_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        sys.exit(f"{name}: the benchmark only drops a database whose name contains 'bench'")
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- the SQL floor (runs in a child with vroeg's settings) -------------------------------

FLOOR_SQL = """
WITH bal AS MATERIALIZED (
    SELECT tenancy_id, SUM(amount) AS balance,
           SUM(CASE WHEN amount < 0 OR kind = 'reversal' THEN -amount ELSE 0 END) AS pool
    FROM ledger_ledgerentry WHERE booked_on <= %(day)s GROUP BY tenancy_id
), debt AS MATERIALIZED (
    SELECT e.tenancy_id, COALESCE(e.due_on, e.booked_on) AS due,
           SUM(e.amount) OVER (PARTITION BY e.tenancy_id
                               ORDER BY COALESCE(e.due_on, e.booked_on), e.booked_on, e.id
                               ROWS UNBOUNDED PRECEDING) AS cum
    FROM ledger_ledgerentry e JOIN bal b ON b.tenancy_id = e.tenancy_id AND b.balance > 0.005
    WHERE e.booked_on <= %(day)s AND e.amount > 0 AND e.kind <> 'reversal'
), oldest AS (
    SELECT d.tenancy_id, MIN(d.due) AS due FROM debt d JOIN bal b ON b.tenancy_id = d.tenancy_id
    WHERE d.cum > b.pool + 0.005 GROUP BY d.tenancy_id
)
SELECT b.tenancy_id, b.balance, o.due FROM bal b LEFT JOIN oldest o ON o.tenancy_id = b.tenancy_id
"""

# What needs a decision: an open case, arrears past due (what is owed minus what falls
# due today or later), or a direct debit returned today. A charge alone needs none.
DECIDE_SQL = """
SELECT COUNT(*) FROM (
    SELECT tenancy_id FROM collection_case WHERE status = 'open'
    UNION
    SELECT tenancy_id FROM ledger_ledgerentry
    WHERE booked_on = %(day)s AND kind = 'reversal'
    UNION
    SELECT tenancy_id FROM ledger_ledgerentry e
    WHERE e.booked_on <= %(day)s GROUP BY tenancy_id
    HAVING SUM(e.amount) - SUM(CASE WHEN e.amount > 0 AND e.kind <> 'reversal'
                                    AND COALESCE(e.due_on, e.booked_on) >= %(day)s
                               THEN e.amount ELSE 0 END) > 0.005
) needing
"""


# The day's writes as plain SQL, in a transaction that is rolled back: the rent due that
# day charged (INSERT ... SELECT), the day's bank entries stored again (a copy of the
# rows the run imported: the XML parse is not SQL's work), matched by their structured
# reference (one UPDATE) and posted to the ledger (INSERT ... SELECT); then the
# aggregate above. What the run does beyond this (names, IBANs, partial and combined
# payments, signals, decisions, audit rows) has no SQL counterpart here.
WRITES_SQL = [
    """INSERT INTO ledger_ledgerentry (tenancy_id, kind, amount, booked_on, due_on, description,
                                      return_reason, source_key, created_at)
       SELECT id, 'charge', net_rent + service_costs, %(day)s, %(day)s, 'Huur', '',
              'floor:charge:' || id, CURRENT_TIMESTAMP
       FROM portfolio_tenancy WHERE start_on <= %(day)s AND due_day = %(dom)s
                                AND (end_on IS NULL OR end_on >= %(day)s)""",
    "INSERT INTO banking_banktransaction ({columns}) SELECT {copied} "
    "FROM banking_banktransaction WHERE booked_on = %(day)s AND status <> 'new'",
    """UPDATE banking_banktransaction SET status = 'matched', match_rule = 'reference',
              tenancy_id = (SELECT t.id FROM portfolio_tenancy t
                            WHERE t.payment_reference = banking_banktransaction.creditor_reference)
       WHERE entry_key LIKE 'f:%%' AND creditor_reference <> ''""",
    """INSERT INTO ledger_ledgerentry (tenancy_id, kind, amount, booked_on, due_on, description,
                                      return_reason, source_key, created_at)
       SELECT tenancy_id, 'payment', -amount, booked_on, NULL, counterparty_name, '',
              'floor:bank:' || id, CURRENT_TIMESTAMP
       FROM banking_banktransaction WHERE entry_key LIKE 'f:%%' AND tenancy_id IS NOT NULL""",
]


def floor_writes(day: date) -> dict[str, Any]:
    """WRITES_SQL then FLOOR_SQL and DECIDE_SQL, timed, rolled back."""
    from django.db import connection, transaction

    from vroeg.banking.models import BankTransaction

    fields = [f for f in BankTransaction._meta.concrete_fields if not f.primary_key]
    names = [str(f.column) for f in fields]
    columns = ", ".join(names)
    # A copy of each entry, new and unmatched, under another key (same length: unique).
    copied = ", ".join({"entry_key": "'f:' || substr(entry_key, 3)", "status": "'new'",
                        "tenancy_id": "NULL"}.get(n, n) for n in names)
    param: date | str = day if connection.vendor == "postgresql" else day.isoformat()
    counts, times = [], []
    start = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for sql in WRITES_SQL:
                t0 = time.perf_counter()
                cursor.execute(sql.format(columns=columns, copied=copied),
                               {"day": param, "dom": day.day})
                counts.append(cursor.rowcount)
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cursor.execute(FLOOR_SQL, {"day": param})
            cursor.fetchall()
            cursor.execute(DECIDE_SQL, {"day": param})
            cursor.fetchone()
            times.append(time.perf_counter() - t0)
        seconds = time.perf_counter() - start
        transaction.set_rollback(True)
    # Per stage of the run: what plain SQL does of that stage's work.
    stages = {"ledger": times[0], "ingest": times[1], "match": times[2] + times[3],
              "decide": times[4]}
    return {"seconds": round(seconds, 3), "charges": counts[0], "bank_entries": counts[1],
            "matched": counts[2], "posted": counts[3],
            "stages": {k: round(v, 3) for k, v in stages.items()}}


def floor_parse(day: date) -> dict[str, Any]:
    """The floor of reading the day's camt.053: a bare lxml iterparse of every field
    vroeg's parser reads (bench_bank.py's (a2)), without its checks and objects."""
    from bench_bank import iterparse_fields

    path = Path(os.environ["VROEG_HOME"]) / "inbox" / "done" / f"camt053-{day.isoformat()}.xml"
    if not path.exists():
        return {"seconds": 0.0, "entries": 0}
    start = time.perf_counter()
    entries, _ = iterparse_fields(path)
    return {"seconds": round(time.perf_counter() - start, 3), "entries": entries}


def floor(day: date) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
    sys.path.insert(0, str(HERE.parent))
    import django

    django.setup()
    from django.db import connection

    param: date | str = day if connection.vendor == "postgresql" else day.isoformat()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, {"day": param})
        rows = cursor.fetchall()
        ledger_s = time.perf_counter() - start
        cursor.execute(DECIDE_SQL, {"day": param})
        needing = cursor.fetchone()[0]
    seconds = time.perf_counter() - start
    owing = sum(1 for _, b, _ in rows if b > 0.005)
    overdue = sum(1 for _, b, due in rows if b > 0.005 and due is not None
                  and str(due) < day.isoformat())
    return {"seconds": round(seconds, 3), "balances_s": round(ledger_s, 3),
            "tenancies": len(rows), "owing": owing, "owing_past_due": overdue,
            "needing_decision": needing, "with_writes": floor_writes(day),
            "parse": floor_parse(day)}


def stage_ratios(stages: dict[str, float], fl: dict[str, Any]) -> dict[str, Any]:
    """Each stage of the run against the plain SQL that does its part of the work
    (ingest: the bare parse plus storing the entries; decide: the aggregate floor), and
    the day without dispatch (the PDF letters have no SQL floor) against the sum."""
    writes = fl["with_writes"]["stages"]
    # Ratios of the rounded seconds shown, so that every line of the table adds up.
    floors = {k: round(v, 3) for k, v in {
        "ingest": fl["parse"]["seconds"] + writes["ingest"], "ledger": writes["ledger"],
        "match": writes["match"], "decide": fl["seconds"]}.items()}
    out: dict[str, Any] = {k: {"run_s": stages.get(k, 0.0), "floor_s": v,
                               "ratio": round(stages.get(k, 0.0) / max(v, 0.001), 1)}
                           for k, v in floors.items()}
    run = round(sum(v for k, v in stages.items() if k != "dispatch"), 3)
    floor_total = round(sum(floors.values()), 3)
    out["day_without_dispatch"] = {"run_s": run, "floor_s": floor_total,
                                   "ratio": round(run / max(floor_total, 0.001), 1)}
    return out


# --- one measurement --------------------------------------------------------------------

def generate(size: int, database: str, kind: str, url: str,
             home: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """An empty database in `home` (or at `url`), filled by gen_scale.py."""
    env = {**os.environ, "VROEG_HOME": str(home)}
    env.pop("VROEG_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    if database == "postgresql":
        reset_pg(url)
        env["VROEG_DATABASE_URL"] = url
    py = sys.executable
    measure([py, "-m", "vroeg", "migrate", "-v0"], env)
    gen = measure([py, str(HERE / "gen_scale.py"), "--tenancies", str(size), "--date",
                   DAYS[kind].isoformat()], env, capture=True)
    print(f"  generated in {gen['seconds']} s", file=sys.stderr, flush=True)
    generated = {"seconds": gen["seconds"], "peak_mb": gen["peak_mb"],
                 **json.loads(gen["stdout"])}
    (home / "generated.json").write_text(json.dumps(
        {"database": database, "url": url if database == "postgresql" else "", "kind": kind,
         "generate": generated}))
    return env, generated


def one(size: int, database: str, kind: str, url: str, keep: bool,
        generated: Path | None = None) -> dict[str, Any]:
    """Generate (or take the database `--generate-only` left in `generated`), run, floor."""
    day = DAYS[kind]
    py = sys.executable
    result: dict[str, Any] = {"tenancies": size, "database": database, "day": kind,
                              "date": day.isoformat(), "cpus": os.cpu_count()}
    if generated is not None:
        home = generated
        made = json.loads((home / "generated.json").read_text())
        database, kind, day = made["database"], made["kind"], DAYS[made["kind"]]
        result.update(database=database, day=kind, date=day.isoformat(),
                      generate=made["generate"], tenancies=made["generate"]["tenancies"])
        env = {**os.environ, "VROEG_HOME": str(home)}
        env.pop("DATABASE_URL", None)
        env.pop("VROEG_DATABASE_URL", None)
        if made["url"]:
            env["VROEG_DATABASE_URL"] = made["url"]
    else:
        home = Path(tempfile.mkdtemp(prefix=f"vroeg-scale-{size}-"))
    try:
        if generated is None:
            env, result["generate"] = generate(size, database, kind, url, home)
        run = measure([py, "-m", "vroeg", "run", "--date", day.isoformat()], env)
        report = json.loads((home / "reports" / f"dag-{day.isoformat()}.json").read_text())
        result["run"] = {"seconds": run["seconds"], "peak_mb": run["peak_mb"],
                         "stages": report["timing_seconds"],
                         "per_1000_tenancies_s": round(
                             run["seconds"] * 1000 / result["tenancies"], 4)}
        result["report"] = {
            "charges": report["ledger"]["charges"], "matched": report["payments"]["matched"],
            "unmatched_new": report["payments"]["unmatched_new"],
            "reversals": report["payments"]["reversals"],
            "evaluated": report["cases"]["evaluated_tenancies"],
            "cases_opened": report["cases"]["opened"], "cases_closed": report["cases"]["closed"],
            "open_cases": report["cases"]["open"], "signals": report["signals"],
            "messages": report["messages"]["decided"], "tasks": report["tasks"]["created"],
            "in_arrears": report["arrears"]["tenancies_in_arrears"]}
        fl = measure([py, str(HERE / "bench_scale.py"), "--floor", day.isoformat()], env,
                     capture=True)
        result["floor"] = json.loads(fl["stdout"])
        result["ratio"] = round(run["seconds"] / max(result["floor"]["seconds"], 0.001), 1)
        result["ratio_with_writes"] = round(
            run["seconds"] / max(result["floor"]["with_writes"]["seconds"], 0.001), 1)
        result["stage_ratios"] = stage_ratios(result["run"]["stages"], result["floor"])
    finally:
        if not keep and generated is None:
            shutil.rmtree(home, ignore_errors=True)
        else:
            result["home"] = str(home)
    return result


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| tenancies | database | day | run s | peak MB | ingest / ledger / match / "
             "decide / dispatch / report s | s per 1,000 | floor s | ratio | floor with "
             "writes s | ratio |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        st = r["run"]["stages"]
        stages = " / ".join(f"{st.get(k, 0):.1f}" for k in
                            ("ingest", "ledger", "match", "decide", "dispatch", "report"))
        writes = r["floor"].get("with_writes", {}).get("seconds")
        lines.append(f"| {r['tenancies']:,} | {r['database']} | {r['day']} {r['date']} | "
                     f"{r['run']['seconds']:.1f} | {r['run']['peak_mb']:.0f} | {stages} | "
                     f"{r['run']['per_1000_tenancies_s']:.3f} | {r['floor']['seconds']:.2f} | "
                     f"{r['ratio']:.1f}x | {writes if writes is not None else '-'} | "
                     f"{r.get('ratio_with_writes', '-')}x |")
    return "\n".join(lines)


def stage_table(results: list[dict[str, Any]]) -> str:
    """Per stage: the run's seconds / the floor's seconds = the ratio."""
    names = ("ingest", "ledger", "match", "decide", "day_without_dispatch")
    lines = ["| tenancies | database | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for r in results:
        sr = r.get("stage_ratios", {})
        cells = [f"{sr[k]['run_s']:.1f} / {sr[k]['floor_s']:.2f} = {sr[k]['ratio']:.1f}x"
                 if k in sr else "-" for k in names]
        lines.append(f"| {r['tenancies']:,} | {r['database']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--floor":
        print(json.dumps(floor(date.fromisoformat(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="15000,100000",
                    help="comma-separated tenancy counts (default 15000,100000)")
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--days", default="first,mid", help="first (the 1st), mid (mid-month)")
    ap.add_argument("--database-url", default=DEFAULT_PG,
                    help="PostgreSQL database to (re)create; its name must contain 'bench'")
    ap.add_argument("--keep", action="store_true", help="keep each VROEG_HOME")
    ap.add_argument("--generate-only", metavar="HOME", type=Path,
                    help="only generate (one size, database, day) into this VROEG_HOME")
    ap.add_argument("--generated", metavar="HOME", type=Path,
                    help="run and floor on what --generate-only left there (once: the run "
                         "changes it)")
    args = ap.parse_args()
    results = []
    OUT.mkdir(exist_ok=True)
    store = OUT / "scale.json"
    if args.generate_only:
        # Generating a million tenancies takes a long time, and may share the machine;
        # the run that is measured should not (then: --generated HOME).
        args.generate_only.mkdir(parents=True, exist_ok=True)
        generate(int(args.sizes), args.databases, args.days, args.database_url,
                 args.generate_only)
        return
    if args.generated:
        r = one(0, "", "first", args.database_url, False, generated=args.generated)
        print(json.dumps({k: r[k] for k in ("run", "floor", "ratio")}), file=sys.stderr)
        previous = json.loads(store.read_text()) if store.exists() else []
        store.write_text(json.dumps([*previous, r], indent=2))
        print(table([r]))
        print(stage_table([r]))
        return
    for size in (int(s) for s in args.sizes.split(",")):
        for database in args.databases.split(","):
            for kind in args.days.split(","):
                print(f"{size} tenancies, {database}, {kind}", file=sys.stderr, flush=True)
                r = one(size, database, kind, args.database_url, args.keep)
                print(json.dumps({k: r[k] for k in ("run", "floor", "ratio")}),
                      file=sys.stderr, flush=True)
                results.append(r)
                previous = json.loads(store.read_text()) if store.exists() else []
                store.write_text(json.dumps([*previous, r], indent=2))
    print(table(results))
    print(stage_table(results))


if __name__ == "__main__":
    main()
