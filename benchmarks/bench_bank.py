"""Benchmark: bank files, read and matched: speed against bare lxml, and matching quality.

Two measurements (data from benchmarks/gen_bank.py, see there for the noise classes):

speed    a portfolio and one camt.053.001.02 statement of --entries entries (default
         100,000). In one fresh process, each on the same file: (a) a bare lxml iterparse
         over the Ntry elements, reading only the amount, and (a2) reading every field
         vroeg's parser reads; (b) vroeg's parse_bank_file(bytes, name); (c)
         import_bank_file(path) then match_and_post(month end) into the database. Times
         (best and median of --repeat rounds for a and b, interleaved), the ratios
         parse / iterparse and (import + match) / iterparse, and the process's peak RSS
         after each step (ru_maxrss; it only grows, so each step's figure includes the
         ones before; the steps run from small to large).
quality  a month of payments for --tenancies tenancies (default 5,000) with realistic
         noise and the truth kept outside the bank file; imported and matched like the
         daily run does (tenancy CSV import, opening balances and the month's charges,
         import_bank_file, match_and_post), then compared entry by entry with the truth.

Both start from a fresh VROEG_HOME (a new temporary folder) and an empty database:
SQLite in that folder, or the PostgreSQL database named by --database-url (or
VROEG_DATABASE_URL); that database is created when missing and emptied first, so its
name must contain "bench". Usage:

  python benchmarks/bench_bank.py speed --entries 2000            # smoke test
  python benchmarks/bench_bank.py speed                           # 100,000 entries
  python benchmarks/bench_bank.py speed --database-url postgres://postgres@127.0.0.1:5432/vroeg_bench
  python benchmarks/bench_bank.py quality --tenancies 5000 [--share reference_mistyped=0.05]
  python benchmarks/bench_bank.py rematch /tmp/vroeg-bench-bank-XXXX   # after a matcher change

A right match: every ledger entry of the bank transaction (LedgerEntry.source_key
"bank:<pk>", or "bank:<pk>:..." for a split) goes to a tenancy the money is for (a
payment for two tenancies posted whole to one of them is right, and counted as not
split). Wrong: any entry to another tenancy. Left for staff: not posted and not ignored.
Results: a table on stdout, JSON in benchmarks/out/ (or --json PATH).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

import gen_bank  # noqa: E402  (beside this file)

CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- setting up vroeg ----------------------------------------------------------------------


def prepare_environment(database_url: str) -> tuple[Path, str]:
    """A fresh VROEG_HOME, the database chosen; before Django is imported."""
    home = Path(tempfile.mkdtemp(prefix="vroeg-bench-bank-"))
    os.environ["VROEG_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        name = database_url.rsplit("/", 1)[1].split("?")[0]
        if "bench" not in name:
            sys.exit(f"refusing to empty database {name!r}: its name must contain 'bench'")
        import psycopg

        server = database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["VROEG_DATABASE_URL"] = database_url
    else:
        os.environ.pop("VROEG_DATABASE_URL", None)
    return home, "postgresql" if database_url else "sqlite"


def setup_django(fresh: bool) -> None:
    from vroeg.home import ensure_home

    ensure_home()
    import django

    django.setup()
    if fresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)


def load_portfolio(p: gen_bank.Portfolio, work: Path) -> dict[str, Any]:
    """Tenancies through the ordinary CSV import, third-party payers linked as staff
    would, opening balances and the month's charges posted (as the day run does)."""
    from vroeg.ledger.actions import post_charges, post_opening_balances
    from vroeg.portfolio.actions import import_tenancies
    from vroeg.portfolio.models import KnownPayer, Tenancy

    csv_path = work / "tenancies.csv"
    csv_path.write_bytes(gen_bank.tenancies_csv(p))
    t0 = time.perf_counter()
    result = import_tenancies(csv_path)
    imported = time.perf_counter() - t0
    ids = dict(Tenancy.objects.values_list("code", "pk"))
    KnownPayer.objects.bulk_create(
        [KnownPayer(tenancy_id=ids[code], iban=iban, name=name[:200], third_party=True,
                    linked_by="staff:bench") for code, iban, name in gen_bank.linked_payers(p)],
        batch_size=2000, ignore_conflicts=True)
    t1 = time.perf_counter()
    post_opening_balances()
    post_charges(p.month_end, takeover_on=date(*p.month, 1))
    return {"tenancy_import_seconds": round(imported, 2),
            "ledger_seconds": round(time.perf_counter() - t1, 2),
            "tenancies": result.created, "households": result.households_created}


def references() -> dict[str, str]:
    from vroeg.portfolio.models import Tenancy

    return dict(Tenancy.objects.values_list("code", "payment_reference"))


# --- speed ---------------------------------------------------------------------------------


def iterparse_amounts(path: Path) -> tuple[int, Decimal]:
    """(a) The bare minimum: every entry's amount, element by element, then let go."""
    from lxml import etree

    amt = f"{{{CAMT_NS}}}Amt"
    n, total = 0, Decimal(0)
    for _, el in etree.iterparse(str(path), tag=f"{{{CAMT_NS}}}Ntry"):
        total += Decimal(el.findtext(amt))
        n += 1
        el.clear()
    return n, total


_LEAVES = ("Amt", "CdtDbtInd", "RvslInd", "Sts", "Dt", "AcctSvcrRef", "Cd", "SubFmlyCd",
           "EndToEndId", "MndtId", "Nm", "IBAN", "Ustrd", "Ref")
_BY_PARENT = ("Dt", "Cd", "Nm", "IBAN")  # their meaning depends on the parent element


def iterparse_fields(path: Path) -> tuple[int, Decimal]:
    """(a2) Every field vroeg's parser reads (amount, sign, reversal, status, dates, bank
    reference, transaction code, end-to-end and mandate id, names, IBANs, free text,
    structured reference, return reason): lxml hands over just those elements; the
    amount becomes a Decimal and the booking date a date. The same reading as (b),
    none of its checks, fallbacks or objects."""
    from lxml import etree

    q = f"{{{CAMT_NS}}}"
    ntry, amt = q + "Ntry", q + "Amt"
    by_parent = {q + t for t in _BY_PARENT}
    booked = q + "BookgDt" + q + "Dt"
    n, total = 0, Decimal(0)
    rows = []
    row: dict[str, str | None] = {}
    for _, el in etree.iterparse(str(path), tag=[ntry, *(q + t for t in _LEAVES)]):
        tag = el.tag
        if tag == ntry:
            amount = Decimal(row[amt] or "")
            rows.append((amount, date.fromisoformat(row[booked] or ""), row))
            total += amount
            n += 1
            row = {}
            el.clear()
        elif tag in by_parent:
            row[el.getparent().tag + tag] = el.text
        else:
            row[tag] = el.text
    return n, total


def vroeg_parse(path: Path) -> tuple[int, Decimal]:
    """(b) vroeg's parser, bytes in (the file read included)."""
    from vroeg.domain.bank.parse import parse_bank_file

    parsed = parse_bank_file(path.read_bytes(), path.name)
    entries = [e for s in parsed.statements for e in s.entries]
    return len(entries), sum((abs(e.amount) for e in entries), Decimal(0))


def pure_match(camt: Path, through: date) -> dict[str, Any]:
    """(b2) The functional core alone: parse, then the pure matcher over every entry with
    an index built once from the database (its build timed apart); nothing is stored."""
    from vroeg.banking.matching import build_index
    from vroeg.domain.bank.parse import parse_bank_file
    from vroeg.domain.matching import TxnFacts, match
    from vroeg.domain.reference import find_betalingskenmerken

    gc.collect()
    t0 = time.perf_counter()
    index = build_index(through)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    parsed = parse_bank_file(camt.read_bytes(), camt.name)
    rules: Counter[str] = Counter()
    for stmt in parsed.statements:
        for e in stmt.entries:
            rules[match(TxnFacts(amount=e.amount, creditor_reference=e.creditor_reference,
                                 remittance=e.remittance, counterparty_iban=e.counterparty_iban,
                                 return_reason=e.return_reason, reversal=e.reversal,
                                 counterparty_name=e.counterparty_name,
                                 end_to_end_id=e.end_to_end_id),
                        index, find_betalingskenmerken).rule] += 1
    return {"index_seconds": round(built, 3),
            "parse_and_pure_match": {"seconds": round(time.perf_counter() - t0, 3),
                                     "peak_mb": peak_mb(), "by_rule": dict(rules)}}


def measure_child(camt: Path, through: date, repeat: int) -> dict[str, Any]:
    """The measured steps, in this (fresh) process, on a database already holding the
    portfolio. Runs in a child of the speed command."""
    setup_django(fresh=False)
    from django.db import connection

    from vroeg.banking.actions import import_bank_file
    from vroeg.banking.matching import match_and_post

    connection.ensure_connection()
    out: dict[str, Any] = {"baseline_peak_mb": peak_mb()}
    steps = (("iterparse_amount", iterparse_amounts), ("iterparse_fields", iterparse_fields),
             ("vroeg_parse", vroeg_parse))
    times: dict[str, list[float]] = {name: [] for name, _ in steps}
    checks: dict[str, tuple[int, str]] = {}
    for _ in range(repeat):
        for name, fn in steps:  # interleaved, so a busy moment hurts each alike
            gc.collect()
            t0 = time.perf_counter()
            n, total = fn(camt)
            times[name].append(time.perf_counter() - t0)
            checks[name] = (n, str(total))
            out[f"{name}_peak_mb"] = peak_mb()
    if len({c for c in checks.values()}) != 1:
        raise SystemExit(f"the readers disagree: {checks}")
    for name, ts in times.items():
        out[name] = {"best": round(min(ts), 3), "median": round(statistics.median(ts), 3),
                     "runs": [round(t, 3) for t in ts]}
    out["entries_read"], out["total_amount"] = checks["vroeg_parse"]
    out.update(pure_match(camt, through))
    gc.collect()
    t0 = time.perf_counter()
    imported = import_bank_file(camt)
    out["import"] = {"seconds": round(time.perf_counter() - t0, 3), "peak_mb": peak_mb(),
                     "status": imported.status, "new_entries": imported.new_entries,
                     "warnings": list(imported.warnings)}
    gc.collect()
    t0 = time.perf_counter()
    matched = match_and_post(through)
    out["match"] = {"seconds": round(time.perf_counter() - t0, 3), "peak_mb": peak_mb(),
                    "result": jsonable(matched)}
    return out


def jsonable(obj: Any) -> Any:
    """A matcher result as JSON, whatever shape it has today."""
    if hasattr(obj, "__dict__"):
        obj = vars(obj)
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return len(obj)
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, int | float | str | bool) or obj is None:
        return obj
    return str(obj)


def run_speed(args: argparse.Namespace) -> dict[str, Any]:
    home, database = prepare_environment(args.database_url)
    setup_django(fresh=True)
    work = home / "bench"
    work.mkdir()

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    tenancies = args.tenancies or int(args.entries * 0.97) + 1
    t0 = time.perf_counter()
    p = gen_bank.make_portfolio(tenancies, seed=args.seed, month=args.month,
                                shares=gen_bank.parse_shares(args.share))
    say(f"portfolio: {tenancies} tenancies ({time.perf_counter() - t0:.1f}s); importing ...")
    loaded = load_portfolio(p, work)
    say(f"  imported in {loaded['tenancy_import_seconds']}s; writing the statement ...")
    t1 = time.perf_counter()
    month = gen_bank.make_month(p, references(), entries=args.entries)
    camt = work / f"camt053-{p.month[0]}-{p.month[1]:02d}.xml"
    size = gen_bank.write_month(month, camt, p)
    gen_bank.write_truth(month, work / "truth.jsonl")
    write_meta(work, p, database)
    generated = time.perf_counter() - t1
    say(f"  {len(month.entries)} entries, {size / 1e6:.1f} MB in {generated:.1f}s; measuring "
        f"({args.repeat} rounds) ...")
    from django.db import connections

    connections.close_all()
    child = subprocess.run(
        [sys.executable, __file__, "_measure", str(camt), "--through",
         p.month_end.isoformat(), "--repeat", str(args.repeat)],
        env=os.environ.copy(), stdout=subprocess.PIPE, text=True)
    if child.returncode != 0:
        sys.exit(f"measuring failed (exit {child.returncode})")
    m = json.loads(child.stdout)
    iterparse = m["iterparse_amount"]["best"]
    result: dict[str, Any] = {
        "benchmark": "bank-speed", "database": database, "entries": len(month.entries),
        "tenancies": tenancies, "file_mb": round(size / 1e6, 1), "seed": args.seed,
        "date": date.today().isoformat(), "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "setup": {**loaded, "statement_seconds": round(generated, 2),
                  "setup_peak_mb": peak_mb()},
        "measured": m,
        "ratios": {
            "parse_vs_iterparse_amount": round(m["vroeg_parse"]["best"] / iterparse, 2),
            "parse_vs_iterparse_fields": round(
                m["vroeg_parse"]["best"] / m["iterparse_fields"]["best"], 2),
            "import_plus_match_vs_iterparse_amount": round(
                (m["import"]["seconds"] + m["match"]["seconds"]) / iterparse, 2),
            "parse_and_pure_match_vs_iterparse_amount": round(
                m["parse_and_pure_match"]["seconds"] / iterparse, 2),
            "parse_and_pure_match_vs_iterparse_fields": round(
                m["parse_and_pure_match"]["seconds"] / m["iterparse_fields"]["best"], 2),
            "median_parse_vs_iterparse_amount": round(
                m["vroeg_parse"]["median"] / m["iterparse_amount"]["median"], 2)},
        "quality": evaluate(month.truth),
    }
    return result


# --- quality -------------------------------------------------------------------------------

_BANK_KEY = re.compile(r"^bank:(\d+)(?!\d)")


def short_reason(reason: str) -> str:
    return (reason or "").split(" / ")[0][:60] or "-"


def evaluate(truth: list[gen_bank.Truth], examples: int = 25) -> dict[str, Any]:
    """Compare every bank transaction of the database with the truth."""
    from vroeg.banking.models import BankTransaction
    from vroeg.ledger.models import LedgerEntry
    from vroeg.portfolio.models import Tenancy

    code_of = dict(Tenancy.objects.values_list("pk", "code"))
    household_of = dict(Tenancy.objects.values_list("code", "household_id"))
    by_ref = {t.bank_reference: t for t in truth}
    posted: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for key, tid, amount in LedgerEntry.objects.filter(source_key__startswith="bank:") \
            .values_list("source_key", "tenancy_id", "amount").iterator(chunk_size=5000):
        m = _BANK_KEY.match(key)
        if m:
            posted[int(m.group(1))][code_of[tid]] -= amount
    rows = BankTransaction.objects.values_list(
        "pk", "bank_reference", "status", "tenancy_id", "matched_by", "match_reason",
        "amount", "counterparty_name", "remittance", "creditor_reference").iterator(
        chunk_size=5000)

    classes: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    variants: dict[str, Counter[str]] = defaultdict(Counter)
    wrong_examples: list[dict[str, Any]] = []
    staff_examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen = 0
    for pk, bank_ref, status, tenancy_id, by, reason, amount, name, text, sref in rows:
        t = by_ref.get(bank_ref)
        if t is None:
            continue
        seen += 1
        to = dict(posted.get(pk, {}))
        if not to and tenancy_id is not None and status == "matched":
            to = {code_of[tenancy_id]: amount}
        right_codes = {c for c, _ in t.alloc}
        variant = t.variant or "-"
        if t.notes.get("still_valid"):  # a mistyped reference that passes the check
            variant += "+still_valid" + ("+another_tenancys" if t.notes.get(
                "is_other_tenancys") else "")
        c = classes[t.cls]
        c["count"] += 1
        c[f"status:{status}"] += 1
        if to:
            auto = not (by or "").startswith("staff")
            if set(to) <= right_codes:
                outcome = "right"
            elif {household_of[k] for k in to} <= {household_of[k] for k in right_codes}:
                outcome = "same_household"  # the household's other tenancy (a split)
            else:
                outcome = "wrong"
            c["auto" if auto else "by_staff"] += 1
            c[outcome] += 1
            if len(t.alloc) > 1:
                exact = {k: v for k, v in to.items()} == \
                    {k: Decimal(v).scaleb(-2) for k, v in t.alloc}
                c["split_as_truth" if exact else "split_other_amounts"] += 1
            if sum(to.values(), Decimal(0)) != amount:
                c["part_posted"] += 1
            if t.ref_form == "structured" and t.kind == "tenant":
                c["structured_" + outcome] += 1
            reasons[t.cls][short_reason(reason)] += 1
            variants[t.cls][f"{variant}:{outcome}"] += 1
            if outcome != "right" and len(wrong_examples) < examples and (
                    outcome == "wrong" or len(wrong_examples) < examples // 2):
                wrong_examples.append({
                    "outcome": outcome, "class": t.cls, "variant": t.variant, "amount": str(amount),
                    "name": name, "remittance": text, "structured_reference": sref,
                    "truth": t.alloc, "posted_to": {k: str(v) for k, v in to.items()},
                    "reason": reason, "notes": t.notes})
        elif status == "ignored":
            c["ignored"] += 1
            variants[t.cls][f"{variant}:ignored"] += 1
        else:
            c["staff"] += 1
            reasons[t.cls]["(staff) " + short_reason(reason)] += 1
            variants[t.cls][f"{variant}:staff"] += 1
            if len(staff_examples[t.cls]) < 3:
                staff_examples[t.cls].append({
                    "variant": t.variant, "amount": str(amount), "name": name,
                    "remittance": text, "structured_reference": sref, "reason": reason})
    if seen != len(truth):
        raise SystemExit(f"{len(truth) - seen} entries of the truth are not in the database")

    def total(names: tuple[str, ...], key: str) -> int:
        return sum(classes[n][key] for n in names)

    def pct(a: int, b: int) -> float:
        return round(100 * a / b, 3) if b else 0.0

    tenant = tuple(n for n in gen_bank.TENANT_CLASSES if n != "no_payment")
    transfers = tuple(n for n in tenant if not n.startswith("direct_debit"))
    n_tenant = total(tenant, "count")
    n_transfers = total(transfers, "count")
    n_all = sum(c["count"] for c in classes.values())
    structured = sum(total(tenant, f"structured_{o}")
                     for o in ("right", "wrong", "same_household"))
    wrong = sum(c["wrong"] for c in classes.values())
    same = sum(c["same_household"] for c in classes.values())
    n_structured = sum(1 for t in truth if t.kind == "tenant" and t.ref_form == "structured")
    summary = {
        "entries": n_all,
        "tenant_payments": n_tenant,
        "auto_matched_pct": pct(total(tenant, "auto"), n_tenant),
        "auto_matched_right_pct": pct(total(tenant, "right") - total(tenant, "by_staff"),
                                      n_tenant),
        "transfers": n_transfers,
        "transfers_auto_matched_pct": pct(total(transfers, "auto"), n_transfers),
        "left_for_staff": total(tenant, "staff"),
        "wrong": wrong,
        "wrong_pct_of_all_entries": pct(wrong, n_all),
        "wrong_pct_of_auto_matched": pct(wrong, sum(c["auto"] for c in classes.values())),
        # posted (partly) to another tenancy of the same household: a split or "oldest
        # debt first" against what the payer said; not counted in "wrong"
        "same_household_other_tenancy": same,
        "same_household_pct_of_all_entries": pct(same, n_all),
        "exact_structured_reference_payments": n_structured,
        "exact_structured_reference_matched": structured,
        "wrong_on_exact_structured_reference": total(tenant, "structured_wrong"),
        "same_household_on_exact_structured_reference": total(tenant,
                                                              "structured_same_household"),
        "noise_entries": total(gen_bank.NOISE_CLASSES, "count"),
        "noise_matched_wrongly": total(gen_bank.NOISE_CLASSES, "wrong"),
    }
    return {"summary": summary,
            "classes": {k: dict(v) for k, v in sorted(classes.items())},
            "match_reasons": {k: dict(v.most_common()) for k, v in sorted(reasons.items())},
            "variants": {k: dict(sorted(v.items())) for k, v in sorted(variants.items())},
            "wrong_examples": wrong_examples,
            "staff_examples": dict(staff_examples)}


def run_quality(args: argparse.Namespace) -> dict[str, Any]:
    home, database = prepare_environment(args.database_url)
    setup_django(fresh=True)
    from vroeg.banking.actions import import_bank_file
    from vroeg.banking.matching import match_and_post

    work = home / "bench"
    work.mkdir()
    p = gen_bank.make_portfolio(args.tenancies, seed=args.seed, month=args.month,
                                shares=gen_bank.parse_shares(args.share))
    loaded = load_portfolio(p, work)
    month = gen_bank.make_month(p, references())
    camt = work / f"camt053-{p.month[0]}-{p.month[1]:02d}.xml"
    gen_bank.write_month(month, camt, p)
    gen_bank.write_truth(month, work / "truth.jsonl")
    write_meta(work, p, database)
    t0 = time.perf_counter()
    imported = import_bank_file(camt)
    if imported.status != "imported":
        sys.exit(f"the statement was not imported: {imported}")
    matched = match_and_post(p.month_end)
    seconds = time.perf_counter() - t0
    return {"benchmark": "bank-quality", "database": database, "tenancies": args.tenancies,
            "households": loaded["households"], "seed": args.seed,
            "month": f"{p.month[0]}-{p.month[1]:02d}", "date": date.today().isoformat(),
            "cpus": os.cpu_count(), "shares": p.shares, "work_folder": str(work),
            "import_and_match_seconds": round(seconds, 2),
            "matcher_result": jsonable(matched), **evaluate(month.truth, args.examples)}


def write_meta(work: Path, p: gen_bank.Portfolio, database: str) -> None:
    (work / "meta.json").write_text(json.dumps({
        "month_end": p.month_end.isoformat(), "database": database,
        "database_url": os.environ.get("VROEG_DATABASE_URL", ""), "seed": p.seed,
        "tenancies": len(p.tenancies)}))


def run_rematch(args: argparse.Namespace) -> dict[str, Any]:
    """Match the stored month again (after changing the matcher): every bank posting and
    match is undone, then match_and_post runs and is evaluated against the same truth.
    Known payers the matcher may have learnt are not undone. --evaluate-only: no rerun."""
    work = args.home / "bench"
    meta = json.loads((work / "meta.json").read_text())
    os.environ["VROEG_HOME"] = str(args.home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
    if meta["database_url"]:
        os.environ["VROEG_DATABASE_URL"] = meta["database_url"]
    else:
        os.environ.pop("VROEG_DATABASE_URL", None)
    setup_django(fresh=False)
    from django.db import transaction

    from vroeg.banking.matching import match_and_post
    from vroeg.banking.models import BankTransaction
    from vroeg.ledger.models import LedgerEntry

    truth = gen_bank.read_truth(work / "truth.jsonl")
    result: dict[str, Any] = {"benchmark": "bank-rematch", "home": str(args.home), **meta}
    if not args.evaluate_only:
        names = {f.name for f in BankTransaction._meta.get_fields()}
        reset: dict[str, Any] = {"status": "new", "tenancy": None, "match_reason": "",
                                 "matched_by": "", "matched_on": None}
        reset.update({k: v for k, v in (("match_rule", ""), ("candidates", []))
                      if k in names})
        with transaction.atomic():
            LedgerEntry.objects.filter(source_key__startswith="bank:").delete()
            BankTransaction.objects.exclude(status="ignored", match_reason__startswith="Valuta") \
                .update(**reset)
        t0 = time.perf_counter()
        result["matcher_result"] = jsonable(match_and_post(date.fromisoformat(meta["month_end"])))
        result["match_seconds"] = round(time.perf_counter() - t0, 2)
    result.update(evaluate(truth, args.examples))
    return result


# --- output --------------------------------------------------------------------------------


def quality_table(q: dict[str, Any]) -> str:
    lines = [f"{'class':<26}{'count':>7}{'auto %':>8}{'right':>7}{'wrong':>7}{'same hh':>8}"
             f"{'staff':>7}{'ignored':>8}  notes"]
    for name, c in q["classes"].items():
        n = c.get("count", 0)
        notes = []
        for key in ("split_as_truth", "split_other_amounts", "part_posted", "by_staff"):
            if c.get(key):
                notes.append(f"{key} {c[key]}")
        lines.append(f"{name:<26}{n:>7}{100 * c.get('auto', 0) / n:>8.1f}{c.get('right', 0):>7}"
                     f"{c.get('wrong', 0):>7}{c.get('same_household', 0):>8}{c.get('staff', 0):>7}"
                     f"{c.get('ignored', 0):>8}  "
                     + ", ".join(notes))
    s = q["summary"]
    lines += [
        "",
        f"tenant payments {s['tenant_payments']}: auto-matched {s['auto_matched_pct']}% "
        f"(right {s['auto_matched_right_pct']}%); transfers only {s['transfers_auto_matched_pct']}%"
        f"; left for staff {s['left_for_staff']}",
        f"wrong matches {s['wrong']}: {s['wrong_pct_of_all_entries']}% of all {s['entries']} "
        f"entries, {s['wrong_pct_of_auto_matched']}% of the auto-matched; on exact structured "
        f"references {s['wrong_on_exact_structured_reference']} of "
        f"{s['exact_structured_reference_payments']}",
        f"same household, other tenancy (not counted as wrong) "
        f"{s['same_household_other_tenancy']} ({s['same_household_pct_of_all_entries']}%), on "
        f"exact structured references {s['same_household_on_exact_structured_reference']}",
        f"non-tenant noise {s['noise_entries']}: matched to a tenancy {s['noise_matched_wrongly']}",
    ]
    lines.append("by variant (variant:outcome count):")
    for name, v in q["variants"].items():
        lines.append(f"  {name}: " + ", ".join(f"{k} {n}" for k, n in v.items()))
    for w in q["wrong_examples"][:10]:
        lines.append(f"  {w['outcome'].upper()} {w['class']}/{w['variant']}: {w['amount']} "
                     f"{w['name']!r} "
                     f"{w['remittance']!r} ref={w['structured_reference']!r} truth={w['truth']} "
                     f"-> {w['posted_to']} ({short_reason(w['reason'])})")
    return "\n".join(lines)


def speed_table(r: dict[str, Any]) -> str:
    m = r["measured"]
    rows = [("(a) lxml iterparse, amount only", m["iterparse_amount"],
             m["iterparse_amount_peak_mb"]),
            ("(a2) lxml iterparse, all fields", m["iterparse_fields"],
             m["iterparse_fields_peak_mb"]),
            ("(b) vroeg parse_bank_file", m["vroeg_parse"], m["vroeg_parse_peak_mb"])]
    lines = [f"{r['entries']} entries, {r['file_mb']} MB camt.053.001.02, {r['database']}, "
             f"{r['cpus']} CPUs, load {r['load_average']}",
             f"{'step':<40}{'best s':>9}{'median s':>10}{'peak MB':>9}"]
    for label, t, mb in rows:
        lines.append(f"{label:<40}{t['best']:>9.2f}{t['median']:>10.2f}{mb:>9.0f}")
    for label, key in (("(b2) parse + pure match (no database)", "parse_and_pure_match"),
                       ("(c) import_bank_file", "import"), ("(c) match_and_post", "match")):
        lines.append(f"{label:<40}{m[key]['seconds']:>9.2f}{'':>10}{m[key]['peak_mb']:>9.0f}")
    ra = r["ratios"]
    lines += [f"parse / iterparse(amount) {ra['parse_vs_iterparse_amount']}x (median "
              f"{ra['median_parse_vs_iterparse_amount']}x); parse / iterparse(fields) "
              f"{ra['parse_vs_iterparse_fields']}x; (import + match) / iterparse(amount) "
              f"{ra['import_plus_match_vs_iterparse_amount']}x",
              f"(parse + pure match) / iterparse(amount) "
              f"{ra['parse_and_pure_match_vs_iterparse_amount']}x, / iterparse(fields) "
              f"{ra['parse_and_pure_match_vs_iterparse_fields']}x; index built in "
              f"{m['index_seconds']} s",
              f"setup: tenancy import {r['setup']['tenancy_import_seconds']} s, statement "
              f"{r['setup']['statement_seconds']} s", "", quality_table(r["quality"])]
    return "\n".join(lines)


def month_arg(text: str) -> tuple[int, int]:
    y, m = text.split("-")
    return int(y), int(m)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("speed", "quality"):
        s = sub.add_parser(name)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--month", type=month_arg, default=(2026, 11), help="YYYY-MM")
        s.add_argument("--share", action="append", default=[], metavar="NAME=VALUE",
                       help="override a share of gen_bank.DEFAULT_SHARES")
        s.add_argument("--database-url", default=os.environ.get("VROEG_DATABASE_URL", ""),
                       help="PostgreSQL database (name containing 'bench'; emptied first)")
        s.add_argument("--json", type=Path, help="where to write the result")
        s.add_argument("--examples", type=int, default=25)
    sub.choices["speed"].add_argument("--entries", type=int, default=100_000)
    sub.choices["speed"].add_argument("--tenancies", type=int, default=0,
                                      help="default: 97%% of --entries")
    sub.choices["speed"].add_argument("--repeat", type=int, default=3)
    sub.choices["quality"].add_argument("--tenancies", type=int, default=5000)
    again = sub.add_parser("rematch", help="match a kept run's month again and evaluate")
    again.add_argument("home", type=Path, help="the VROEG_HOME a speed or quality run made")
    again.add_argument("--evaluate-only", action="store_true")
    again.add_argument("--examples", type=int, default=25)
    again.add_argument("--json", type=Path)
    child = sub.add_parser("_measure")  # internal: the measured process of `speed`
    child.add_argument("camt", type=Path)
    child.add_argument("--through", type=date.fromisoformat, required=True)
    child.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    if args.command == "_measure":
        print(json.dumps(measure_child(args.camt, args.through, args.repeat)))
        return
    if args.command == "speed":
        result = run_speed(args)
        text = speed_table(result)
        default = OUT / f"bank-speed-{result['database']}-{result['entries']}.json"
    elif args.command == "rematch":
        result = run_rematch(args)
        text = quality_table(result) + (f"\nmatch_and_post: {result['match_seconds']} s"
                                        if "match_seconds" in result else "")
        default = OUT / f"bank-rematch-{result['database']}-{result['tenancies']}.json"
    else:
        result = run_quality(args)
        text = quality_table(result)
        default = OUT / f"bank-quality-{result['database']}-{args.tenancies}.json"
    path = args.json or default
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    print(text)
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
