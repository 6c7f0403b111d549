"""One simulation in its own process: its own VROEG_HOME (a temporary folder) and its own
SQLite database (or a PostgreSQL database given with --database-url, emptied first),
so a simulation never touches an installation. Prints its result as JSON on stdout.

    python -m vroeg.sim.child --tenancies 2000 --months 6 --seed 1 [--policy FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenancies", type=int, required=True)
    ap.add_argument("--months", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--policy", default="")
    ap.add_argument("--params", default="")
    ap.add_argument("--start", default="")
    ap.add_argument("--warmup-months", type=int, default=1)
    ap.add_argument("--home", default="")
    ap.add_argument("--database-url", default="")
    args = ap.parse_args(argv)
    home = Path(args.home or tempfile.mkdtemp(prefix="vroeg-sim-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["VROEG_HOME"] = str(home)
    os.environ.pop("VROEG_DATABASE_URL", None)
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["VROEG_DATABASE_URL"] = args.database_url
    if args.policy:
        os.environ["VROEG_FLOW_FILE"] = str(Path(args.policy).resolve())
    # The simulated corporation: payment links through the built-in test provider; the
    # sim's own account; no SMTP (emails are .eml files), no real providers.
    os.environ["VROEG_PAYMENT_PROVIDER"] = "fake"
    os.environ["VROEG_PAY_URL"] = "http://127.0.0.1:8000/betaal"
    for name in ("VROEG_SMTP_HOST", "VROEG_SMS_PROVIDER", "VROEG_WHATSAPP_PROVIDER",
                 "VROEG_BANK_ACCOUNTS", "VROEG_BOUNCE_MAILDIR"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
    import django

    django.setup()
    from datetime import date

    from django.core.management import call_command

    from vroeg.home import ensure_home
    from vroeg.sim.kpis import compute
    from vroeg.sim.params import load_params
    from vroeg.sim.world import SimConfig, simulate

    if args.database_url:
        call_command("flush", interactive=False, verbosity=0)
    ensure_home()
    call_command("migrate", verbosity=0, interactive=False)
    params = load_params(args.params or None)
    config = SimConfig(tenancies=args.tenancies, months=args.months, seed=args.seed,
                       start=date.fromisoformat(args.start) if args.start else None,
                       warmup_months=args.warmup_months,
                       progress=lambda m: print(m, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    run = simulate(config, params)
    reports = [f.report for f in run.days]
    since = run.measured_from
    until = run.days[-1].day
    assert since is not None
    pop = run.population  # type: ignore[attr-defined]
    manual = [f.day for f in run.days for _ in range(f.manual_matches)]
    kpis = compute(reports, since=since, until=until,
                   minutes={k: float(v) for k, v in params.get("staff", "minutes").items()},
                   evictions=[d for d, _ in pop.stats.evictions], manual_matches=manual)
    from django.conf import settings

    out = {
        "tenancies": args.tenancies, "months": args.months, "seed": args.seed,
        "policy": Path(settings.VROEG_FLOW_FILE).name,
        "flow": reports[-1]["flow"] if reports else "",
        "period": [since.isoformat(), until.isoformat()],
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "truth": {
            "households_in_arrears_share_end": round(pop.in_arrears_share(), 4),
            "owed_total_end": f"{pop.owed_total_cents() / 100:.2f}",
            "money_states_end": {k: round(v, 4) for k, v in pop.money_shares().items()},
            "evictions": len(pop.stats.evictions), "court_cases": pop.stats.court_cases,
            "paid_after_bailiff": pop.stats.paid_after_bailiff,
            "debt_help_started": pop.stats.debt_help_started,
            "objections": pop.stats.objections,
            "payments": sum(f.payments for f in run.days),
            "link_payments": sum(f.link_payments for f in run.days),
        },
        "kpis": kpis, "home": str(home),
    }
    json.dump(out, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
