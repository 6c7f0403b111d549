"""Generate a benchmark portfolio: tenancies.csv plus camt.053 statements in a folder.

The same population code as `vroeg demo` (vroeg.demo.population), so the files are
what the demo corporation's ERP and bank deliver, at any size:

    python benchmarks/gen_portfolio.py /tmp/bench/15k --tenancies 15000
    python benchmarks/gen_portfolio.py /tmp/bench/100k --tenancies 100000
    python benchmarks/gen_portfolio.py /tmp/bench/1m --tenancies 1000000 --history-months 2

Without Django. Same arguments, same bytes. Statements are written one at a time, so
memory grows with the number of tenancies and events, not with the XML. Prints what
it did (and how long each step took) as one JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from vroeg.demo.build import write_portfolio
from vroeg.demo.population import DEFAULT_CORPORATION_IBAN, behaviour_counts, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="output folder (created if missing)")
    parser.add_argument("--tenancies", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 17),
                        help="the portfolio's today (default 2026-11-17, fixed so that "
                             "benchmarks compare like with like)")
    parser.add_argument("--history-months", type=int, default=12,
                        help="whole months of history before the window (default 12)")
    parser.add_argument("--window-days", type=int, default=30,
                        help="days with a daily statement, ending --date (default 30)")
    parser.add_argument("--iban", default=DEFAULT_CORPORATION_IBAN,
                        help="the corporation's account")
    parser.add_argument("--camt-version", default="001.02",
                        choices=("001.02", "001.04", "001.08"))
    parser.add_argument("--pretty", action="store_true",
                        help="indent the daily statements (monthly ones stay compact)")
    args = parser.parse_args(argv)
    if args.tenancies < 1:
        parser.error("--tenancies must be at least 1")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    say(f"generating {args.tenancies} tenancies (seed {args.seed}, date {args.date}) ...")
    portfolio = generate(args.tenancies, seed=args.seed, today=args.date,
                         corporation_iban=args.iban, history_months=args.history_months,
                         window_days=args.window_days)
    generated = time.perf_counter() - t0
    say(f"  {len(portfolio.events)} bank entries in {generated:.1f}s; writing files ...")
    t1 = time.perf_counter()
    written = write_portfolio(portfolio, args.folder, version=args.camt_version,
                              pretty_daily=args.pretty, progress=say)
    wrote = time.perf_counter() - t1
    csv_file = next(w for w in written if w.path.suffix == ".csv")
    camt = [w for w in written if w.path.suffix == ".xml"]
    result = {
        "folder": str(args.folder), "tenancies": args.tenancies,
        "households": portfolio.households(), "seed": args.seed,
        "date": args.date.isoformat(),
        "history_start": portfolio.period.history_start.isoformat(),
        "window_start": portfolio.period.window_start.isoformat(),
        "bank_entries": len(portfolio.events),
        "behaviour": behaviour_counts(portfolio),
        "files": len(written), "camt_files": len(camt),
        "csv_bytes": csv_file.size, "camt_bytes": sum(w.size for w in camt),
        "largest_camt": max(camt, key=lambda w: w.size).path.name if camt else None,
        "largest_camt_bytes": max((w.size for w in camt), default=0),
        "seconds": {"generate": round(generated, 2), "write": round(wrote, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
