"""Data for the national-scale benchmark, written straight into the database in bulk.

One corporation of N tenancies the day before `--date`, as vroeg would hold it after
months of daily runs, and that day's camt.053 in the inbox:

- households, tenancies and known payers with the values the tenancy import gives
  them (the demo's tenancies.csv rows, read with vroeg's own CSV parser, in chunks);
  third-party payers linked by staff;
- 3-6 months of ledger (``--months``, default 5 before the date's month): opening
  balances, every rent charge on its due day before the date, and every payment,
  direct debit and return from the demo's behaviour model (vroeg/demo/population.py:
  ~5-6% of households in arrears on a day, about half of those 1-3 months behind),
  each with its matched bank transaction in a monthly statement;
- the early-warning signals that held the day before (detect), with the day they were
  first seen;
- an open case for every tenancy in arrears the day before, with the steps of its
  segment's ladder it would have taken by then (messages sent, calls and visits as
  tasks, done with a contact attempt after two days, the written reminder's and the
  14-day letter's evidence, the municipal signal when its preconditions were on
  record; a hand-over proposal is left to the run);
- the day before as a completed DayRun, so `vroeg run --date D` runs exactly one day;
- `inbox/camt053-D.xml`: that day's bank entries, written with
  vroeg.domain.bank.camt_writer.write_camt053.

PostgreSQL: COPY (psycopg's cursor.copy); SQLite: executemany in large batches. Ids
are given explicitly (sequences are moved past them afterwards). Run inside vroeg's
settings (VROEG_HOME, VROEG_DATABASE_URL) after `vroeg migrate`:

  python benchmarks/gen_scale.py --tenancies 100000 --date 2026-12-01
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vroeg.settings")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from vroeg.banking.models import BankFile, BankTransaction  # noqa: E402
from vroeg.collection.flows import active_flow  # noqa: E402
from vroeg.collection.models import (  # noqa: E402
    Case,
    CaseStep,
    CaseTransition,
    Evidence,
    Signal,
    Task,
)
from vroeg.demo.build import opening_account_balance  # noqa: E402
from vroeg.demo.population import (  # noqa: E402
    CURRENCY,
    ON_TIME,
    DemoTenancy,
    Portfolio,
    generate,
)
from vroeg.domain import case_state as cs  # noqa: E402
from vroeg.domain.bank.camt_writer import write_camt053  # noqa: E402
from vroeg.domain.bank.model import BankEntry, Statement, entry_keys  # noqa: E402
from vroeg.domain.calendar import AMSTERDAM, add_months, due_dates_between  # noqa: E402
from vroeg.domain.flow import Contact, HouseholdSnapshot, OpenCase, TenancySnapshot  # noqa: E402
from vroeg.domain.flow.decide import _first_segment, choose_channels, trigger_met  # noqa: E402
from vroeg.domain.flow.model import (  # noqa: E402
    FOURTEEN_DAY_LETTER,
    HANDOVER_PROPOSAL,
    MUNICIPAL_SIGNAL,
    TASK,
    Flow,
)
from vroeg.domain.ledger import Posting, age  # noqa: E402
from vroeg.domain.legal.wgs import Proof, SignalEvidence  # noqa: E402
from vroeg.domain.signals import (  # noqa: E402
    DD_REVERSAL,
    LATE_REPEATEDLY,
    MISSED_MONTH,
    PARTIAL_PAYMENT,
    PAYDAY_DRIFT,
    detect,
)
from vroeg.domain.tenancy_csv import household_hash, parse_tenancy_csv, row_hash  # noqa: E402
from vroeg.home import inbox  # noqa: E402
from vroeg.ledger.actions import MONTHS_NL  # noqa: E402
from vroeg.ledger.models import LedgerEntry as LedgerEntryModel  # noqa: E402
from vroeg.messaging.models import Message  # noqa: E402
from vroeg.portfolio.actions import _household_values, _tenancy_values  # noqa: E402
from vroeg.portfolio.models import Household, ImportBatch, KnownPayer, Tenancy  # noqa: E402
from vroeg.runs.models import DayRun  # noqa: E402

CSV_CHUNK = 50_000
SQLITE_BATCH = 20_000
ACTOR = "system:run"
STAFF = "medewerker:benchmark"


def say(msg: str) -> None:
    print(f"[gen {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- bulk writing -----------------------------------------------------------------------

class Loader:
    """Rows as tuples in a model's column order (explicit ids): COPY or executemany."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.now = timezone.now()
        self.counts: Counter[str] = Counter()

    def fields(self, model: type[models.Model]) -> list[models.Field]:
        return list(model._meta.concrete_fields)

    def defaults(self, model: type[models.Model]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields(model):
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                out[f.attname] = self.now
            elif f.has_default() or f.null or f.blank:
                out[f.attname] = f.get_default()
        return out

    def dicts(self, model: type[models.Model], rows: Iterable[dict[str, Any]]) -> int:
        """Rows as dicts (attname -> value); missing fields take their defaults."""
        names = [f.attname for f in self.fields(model)]
        base = self.defaults(model)
        return self.tuples(model, names, ([row[n] if n in row else base[n] for n in names]
                                          for row in rows))

    def _prep(self, model: type[models.Model], names: list[str]):  # type: ignore[no-untyped-def]
        kinds = []
        for n in names:
            f = model._meta.get_field(n)
            kinds.append("json" if isinstance(f, models.JSONField) else
                         "dt" if isinstance(f, models.DateTimeField) else "")
        conv: list[tuple[int, str]] = [(i, k) for i, k in enumerate(kinds) if k]
        ops = connection.ops

        def fix(row: Sequence[Any]) -> Sequence[Any]:
            if not conv:
                return row
            row = list(row)
            for i, k in conv:
                v = row[i]
                if v is None:
                    continue
                if k == "json":
                    row[i] = json.dumps(v)
                elif not self.pg:
                    row[i] = ops.adapt_datetimefield_value(v)
            return row
        return fix

    def tuples(self, model: type[models.Model], names: list[str],
               rows: Iterable[Sequence[Any]]) -> int:
        table = connection.ops.quote_name(model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column)
                         for n in names)
        fix = self._prep(model, names)
        n = 0
        with connection.cursor() as cursor:
            if self.pg:
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(fix(row))
                        n += 1
            else:
                raw = cursor.cursor
                sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(names))})"
                batch: list[Sequence[Any]] = []
                for row in rows:
                    batch.append(fix(row))
                    if len(batch) >= SQLITE_BATCH:
                        raw.executemany(sql, batch)
                        n += len(batch)
                        batch = []
                if batch:
                    raw.executemany(sql, batch)
                    n += len(batch)
        self.counts[model._meta.db_table] += n
        return n

    def finish(self) -> None:
        if not self.pg:
            return
        with connection.cursor() as cursor:
            for table in self.counts:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"COALESCE((SELECT MAX(id) FROM {table}), 1))")
            cursor.execute("ANALYZE")  # as autovacuum would have by the next morning


class Ids:
    """Explicit primary keys, per model."""

    def __init__(self) -> None:
        self.last: Counter[str] = Counter()

    def next(self, name: str) -> int:
        self.last[name] += 1
        return self.last[name]


# --- the portfolio ----------------------------------------------------------------------

def csv_text(rows: list[dict[str, str]]) -> str:
    import csv
    import io

    from vroeg.domain.tenancy_columns import ALL as TENANCY_COLUMNS

    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(TENANCY_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def load_portfolio(p: Portfolio, load: Loader) -> dict[str, int]:
    """Households, tenancies (id = index + 1) and known payers, as the import makes them."""
    household_ids: dict[str, int] = {}
    batch = ImportBatch.objects.create(file_name="tenancies.csv", sha256="0" * 64,
                                       rows=len(p.tenancies), created=len(p.tenancies))
    payer_id = 0
    for lo in range(0, len(p.tenancies), CSV_CHUNK):
        part = p.tenancies[lo:lo + CSV_CHUNK]
        parsed = parse_tenancy_csv(csv_text([t.csv_row() for t in part]), "tenancies.csv")
        if parsed.errors:
            raise SystemExit(f"tenancies.csv: {parsed.errors[:3]}")
        households = []
        for rec in parsed.records:
            if rec.household_code not in household_ids:
                hid = household_ids[rec.household_code] = len(household_ids) + 1
                households.append({"id": hid, "code": rec.household_code,
                                   "row_hash": household_hash(rec), **_household_values(rec)})
        load.dicts(Household, households)
        tenancies = []
        payers = []
        for i, (rec, t) in enumerate(zip(parsed.records, part, strict=True)):
            tid = lo + i + 1
            tenancies.append({"id": tid, "code": rec.code, "row_hash": row_hash(rec),
                              "household_id": household_ids[rec.household_code],
                              **_tenancy_values(rec)})
            if rec.iban:
                payer_id += 1
                payers.append({"id": payer_id, "tenancy_id": tid, "iban": rec.iban,
                               "name": rec.household_name[:200], "third_party": False,
                               "linked_by": "import"})
            if t.third_party and t.payer_iban and t.payer_iban != rec.iban:
                # A person linked the municipality, debt-help organisation or parent.
                payer_id += 1
                payers.append({"id": payer_id, "tenancy_id": tid, "iban": t.payer_iban,
                               "name": t.payer_name[:200], "third_party": True,
                               "linked_by": STAFF})
        load.dicts(Tenancy, tenancies)
        load.dicts(KnownPayer, payers)
    del batch
    return {"households": len(household_ids), "known_payers": payer_id}


def monthly_periods(first: date, last: date) -> list[tuple[date, date]]:
    out = []
    start = first
    while start <= last:
        nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        end = min(nxt - timedelta(days=1), last)
        out.append((start, end))
        start = end + timedelta(days=1)
    return out


LEDGER_NAMES = ["id", "tenancy_id", "kind", "amount", "booked_on", "due_on", "description",
                "return_reason", "source_key", "created_at"]


def load_ledger(p: Portfolio, day: date, load: Loader,
                ids: Ids) -> tuple[list[list[Posting]], dict[str, int], Decimal]:
    """Opening balances, charges before `day`, and the bank history before `day`."""
    opening_on = p.period.opening_on
    through = day - timedelta(days=1)
    postings: list[list[Posting]] = [[] for _ in p.tenancies]
    now = load.now
    rows: list[tuple[Any, ...]] = []
    charges = 0
    for idx, t in enumerate(p.tenancies):
        tid = idx + 1
        if t.opening_cents:
            amount = Decimal(t.opening_cents).scaleb(-2)
            rows.append((ids.next("ledger"), tid, "opening", amount, opening_on, opening_on,
                         "Beginsaldo / opening balance", "", f"opening:{tid}", now))
            postings[idx].append(Posting("opening", amount, opening_on, opening_on, "",
                                         f"opening:{tid}"))
        # As post_charges: the opening balance covers everything due on or before its date.
        start = max(t.start_on - timedelta(days=1), opening_on)
        rent = Decimal(t.monthly_cents).scaleb(-2)
        for due in due_dates_between(start, through, t.due_day):
            key = f"charge:{tid}:{due.isoformat()}"
            rows.append((ids.next("ledger"), tid, "charge", rent, due, due,
                         f"Huur {MONTHS_NL[due.month - 1]} {due.year} / rent {due:%Y-%m}", "",
                         key, now))
            postings[idx].append(Posting("charge", rent, due, due, "", key))
            charges += 1
    load.tuples(LedgerEntryModel, LEDGER_NAMES, rows)
    del rows
    say(f"  ledger: {charges} charges")

    balance = opening_account_balance(p)
    payments = 0
    bank_names = ["id", "file_id", "entry_key", "account_iban", "statement_id", "booked",
                  "amount", "currency", "booked_on", "value_on", "counterparty_name",
                  "counterparty_iban", "counterparty_bic", "remittance", "creditor_reference",
                  "end_to_end_id", "mandate_id", "bank_reference", "reversal", "return_reason",
                  "bank_code", "status", "tenancy_id", "match_reason", "match_rule",
                  "candidates", "matched_by", "matched_on"]
    for first, last in monthly_periods(p.period.history_start, through):
        lo, hi = p._span(first, last)
        entries = p.entries_between(first, last)
        label = f"{first:%Y-%m}"
        closing = balance + p.total_between(first, last)
        stmt = Statement(account_iban=p.corporation_iban, currency=CURRENCY,
                         opening_balance=balance, closing_balance=closing, opening_on=first,
                         closing_on=last, statement_id=f"{p.corporation_iban}-{label}",
                         entries=tuple(entries))
        balance = closing
        keys = entry_keys(stmt)
        file_id = ids.next("bankfile")
        load.dicts(BankFile, [{
            "id": file_id, "name": f"camt053-{label}.xml", "sha256": f"{file_id:064x}",
            "format": "camt.053.001.02", "status": BankFile.Status.IMPORTED, "statements": 1,
            "entries": len(entries), "new_entries": len(entries), "duplicate_entries": 0}])
        txns: list[tuple[Any, ...]] = []
        ledger: list[tuple[Any, ...]] = []
        for e, key, ev in zip(entries, keys, p.events[lo:hi], strict=True):
            idx = ev[1]
            tid = idx + 1
            txn_id = ids.next("txn")
            rule = ("end_to_end" if e.end_to_end_id else "reference" if e.creditor_reference
                    else "text" if any(ch.isdigit() for ch in e.remittance) else "iban")
            txns.append((txn_id, file_id, key, p.corporation_iban, stmt.statement_id, True,
                         e.amount, e.currency, e.booked_on, e.value_on, e.counterparty_name,
                         e.counterparty_iban, e.counterparty_bic, e.remittance,
                         e.creditor_reference, e.end_to_end_id, e.mandate_id,
                         e.bank_reference, e.reversal, e.return_reason, e.bank_code,
                         "matched", tid, f"benchmark: {rule}", rule, [], ACTOR, e.booked_on))
            kind = "payment" if e.amount > 0 else "reversal"
            label_text = "Betaling / payment" if kind == "payment" else "Storno / reversal"
            src = f"bank:{txn_id}"
            ledger.append((ids.next("ledger"), tid, kind, -e.amount, e.booked_on, None,
                           f"{label_text} {e.counterparty_name}"[:200], e.return_reason, src,
                           now))
            postings[idx].append(Posting(kind, -e.amount, e.booked_on, None, e.return_reason,
                                         src))
            payments += 1
        load.tuples(BankTransaction, bank_names, txns)
        load.tuples(LedgerEntryModel, LEDGER_NAMES, ledger)
        say(f"  {label}: {len(entries)} bank entries")
    return postings, {"charges": charges, "bank_history": payments}, balance



# --- signals and cases ------------------------------------------------------------------

def first_seen(kind: str, key: str, booked: dict[str, date], asof: date) -> date:
    """When a signal that holds on `asof` was first seen (the daily run records it then)."""
    if kind == DD_REVERSAL:
        return min(booked.get(key, asof), asof)
    try:
        month = date(int(key[:4]), int(key[5:7]), 1)
    except ValueError:
        return asof
    seen = {MISSED_MONTH: add_months(month, 1), LATE_REPEATEDLY: month + timedelta(days=4),
            PARTIAL_PAYMENT: add_months(month, 1),
            PAYDAY_DRIFT: month + timedelta(days=5)}.get(kind, asof)
    return min(seen, asof)


class CaseBuilder:
    """An open case per tenancy in arrears, with the ladder steps it would have taken."""

    def __init__(self, flow: Flow, asof: date, load: Loader, ids: Ids) -> None:
        self.flow, self.asof, self.load, self.ids = flow, asof, load, ids
        self.rows: dict[type[models.Model], list[dict[str, Any]]] = {
            m: [] for m in (Case, CaseStep, CaseTransition, Evidence, Message, Task)}
        self.counts: Counter[str] = Counter()

    def add(self, tid: int, hid: int, t: DemoTenancy, snap: TenancySnapshot,
            contact: Contact) -> None:
        flow, asof = self.flow, self.asof
        assert snap.oldest_due_on is not None
        oldest = snap.oldest_due_on
        opened = max(oldest + timedelta(days=flow.open_case_after_days), oldest)
        household = HouseholdSnapshot(household_id=hid, contact=contact, tenancies=(snap,))
        segment = _first_segment(flow, household, snap, asof)
        case_id = self.ids.next("case")
        state = cs.OPEN
        taken: dict[str, date] = {}
        evidence: dict[str, Proof] = {}
        last: date | None = None
        stage = "opened"
        x = opened
        ladder = list(segment.ladder)
        while x <= asof and ladder:
            if last is not None and (x - last).days < flow.min_days_between_steps:
                x += timedelta(days=1)
                continue
            step = flow.steps[ladder[0]]
            view = replace(snap, days_overdue=(x - oldest).days, open_case=OpenCase(
                case_id, dict(taken), state=state, segment=segment.id,
                evidence=SignalEvidence(**{k: v for k, v in evidence.items()})))
            if trigger_met(step, view, x) is None:
                x += timedelta(days=1)
                continue
            if step.action == HANDOVER_PROPOSAL:
                break  # a person decides: left to the run
            if step.action == MUNICIPAL_SIGNAL:
                needed = ("contact_attempt", "debt_help_referral", "written_reminder",
                          "objection_offer")
                if any(k not in evidence or evidence[k].on > x for k in needed):
                    break  # waits for its preconditions
            ladder.pop(0)
            taken[step.id] = x
            last, stage = x, step.id
            self.rows[CaseStep].append({"id": self.ids.next("step"), "case_id": case_id,
                                        "step": step.id, "taken_on": x, "action": step.action,
                                        "reason": f"benchmark: {step.id}"})
            self.counts[step.id] += 1
            if step.is_communication:
                channels = choose_channels(step, contact)
                channel = channels[0] if channels else "letter"
                mid = self.ids.next("message")
                sent = datetime.combine(x, dtime(9, 0), AMSTERDAM)
                self.rows[Message].append({
                    "id": mid, "household_id": hid, "tenancy_id": tid, "case_id": case_id,
                    "step": step.id, "template": step.template, "channel": channel,
                    "language": "nl", "recipient": t.email or t.mobile or t.street,
                    "subject": step.title[:200], "body_text": f"(benchmark) {step.title}",
                    "context": {}, "decided_on": x, "send_after": sent, "status": "sent",
                    "sent_at": sent, "attempts": 1, "provider": "benchmark",
                    "idempotency_key": f"msg:{case_id}:{step.id}"})
                for kind in step.records:
                    self._evidence(case_id, kind, x, f"message:{mid}", evidence)
                if step.action == FOURTEEN_DAY_LETTER:
                    self._evidence(case_id, "fourteen_day_letter", x, f"message:{mid}",
                                   evidence, {"principal": str(snap.arrears)})
            elif step.action == TASK:
                task_id = self.ids.next("task")
                done_on = x + timedelta(days=2)
                done = done_on <= asof
                self.rows[Task].append({
                    "id": task_id, "kind": step.task_kind, "title": step.title[:200],
                    "team": step.task_team or "incasso", "household_id": hid,
                    "tenancy_id": tid, "case_id": case_id, "created_on": x,
                    "due_on": x + timedelta(days=2), "status": "done" if done else "open",
                    "reason": f"benchmark: {step.id}", "idempotency_key":
                        f"task:{case_id}:{step.id}", "outcome": "no_answer" if done else "",
                    "done_on": done_on if done else None, "done_by": STAFF if done else ""})
                if done and step.task_kind in ("call", "visit"):
                    self._evidence(case_id, "contact_attempt", done_on, f"task:{task_id}",
                                   evidence)
            elif step.action == MUNICIPAL_SIGNAL:
                self._evidence(case_id, "signal_sent", x, f"signal:{case_id}", evidence)
            event = step.case_event
            if event and cs.allowed(state, event):
                after = cs.transition(state, event).after
                self.rows[CaseTransition].append({
                    "id": self.ids.next("transition"), "case_id": case_id, "before": state,
                    "after": after, "event": event, "on": x, "actor": ACTOR,
                    "reason": f"{step.id}: benchmark", "at": self.load.now})
                state = after
            x += timedelta(days=1)
        self.rows[Case].append({"id": case_id, "tenancy_id": tid, "status": "open",
                                "state": state, "stage": stage, "segment": segment.id,
                                "flow": flow.id, "opened_on": opened})
        self.counts["cases"] += 1

    def _evidence(self, case_id: int, kind: str, on: date, source: str,
                  evidence: dict[str, Proof], details: dict[str, str] | None = None) -> None:
        note = f"{kind} (benchmark)"
        self.rows[Evidence].append({"id": self.ids.next("evidence"), "case_id": case_id,
                                    "kind": kind, "on": on, "note": note, "source": source,
                                    "actor": ACTOR, "details": details or {}})
        if kind in ("contact_attempt", "debt_help_referral", "written_reminder",
                    "objection_offer"):
            evidence[kind] = Proof(on, note)

    def flush(self) -> None:
        for model, rows in self.rows.items():
            self.load.dicts(model, rows)
            rows.clear()


def analyse(p: Portfolio, postings: list[list[Posting]], day: date, flow: Flow,
            load: Loader, ids: Ids) -> dict[str, Any]:
    """Signals and open cases as the run would have left them the evening before `day`."""
    asof = day - timedelta(days=1)
    signals: list[dict[str, Any]] = []
    builder = CaseBuilder(flow, asof, load, ids)
    household_of = dict(Tenancy.objects.values_list("pk", "household_id"))
    contacts: dict[int, Contact] = {}
    for hid, channel, email, mobile, letter_only, no_email, no_sms in \
            Household.objects.values_list("pk", "preferred_channel", "email", "mobile",
                                          "letter_only", "no_email", "no_sms"):
        contacts[hid] = Contact(preferred_channel=channel, has_email=bool(email),
                                has_mobile=bool(mobile), letter_only=letter_only,
                                no_email=no_email, no_sms=no_sms)
    kinds: Counter[str] = Counter()
    in_arrears = 0
    for idx, t in enumerate(p.tenancies):
        tid = idx + 1
        ps = postings[idx]
        monthly = Decimal(t.monthly_cents).scaleb(-2)
        ageing = age(ps, asof, monthly)
        found = []
        # On-time payers are never late (see population.py): detect finds nothing there.
        if t.behaviour != ON_TIME or t.opening_cents or ageing.arrears > 0:
            found = detect(ps, asof)
            booked = {q.ref: q.booked_on for q in ps if q.kind == "reversal"}
            for f in found:
                signals.append({"id": ids.next("signal"), "tenancy_id": tid, "kind": f.kind,
                                "key": f.key, "reason": f.reason,
                                "detected_on": first_seen(f.kind, f.key, booked, asof)})
                kinds[f.kind] += 1
        if ageing.arrears >= flow.min_arrears and ageing.days_overdue >= \
                flow.open_case_after_days:
            in_arrears += 1
            hid = household_of[tid]
            snap = TenancySnapshot(
                tenancy_id=tid, monthly_rent=monthly, balance=ageing.balance,
                arrears=ageing.arrears, oldest_due_on=ageing.oldest_due_on,
                days_overdue=ageing.days_overdue, months_owed=ageing.months_owed,
                signals=frozenset(f.kind for f in found), start_on=t.start_on)
            builder.add(tid, hid, t, snap, contacts[hid])
        if len(signals) >= 50_000:
            load.dicts(Signal, signals)
            signals = []
            builder.flush()
    load.dicts(Signal, signals)
    builder.flush()
    return {"signals": dict(kinds), "tenancies_in_arrears": in_arrears,
            "case_steps": dict(builder.counts)}


# --- the day's bank file ----------------------------------------------------------------

def write_day_file(p: Portfolio, day: date, opening: Decimal, sequence: int) -> dict[str, Any]:
    entries: list[BankEntry] = p.entries_between(day, day)
    closing = opening + p.total_between(day, day)
    label = day.isoformat()
    stmt = Statement(account_iban=p.corporation_iban, currency=CURRENCY,
                     opening_balance=opening, closing_balance=closing, opening_on=day,
                     closing_on=day, statement_id=f"{p.corporation_iban}-{label}",
                     entries=tuple(entries))
    data = write_camt053([stmt], message_id=f"VROEGSCALE-{label.replace('-', '')}",
                         created_at=datetime.combine(day, dtime(6, 30), AMSTERDAM),
                         sequence_start=sequence, pretty=False)
    path = inbox() / f"camt053-{label}.xml"
    path.write_bytes(data)
    structured = sum(1 for e in entries if e.creditor_reference)
    return {"file": path.name, "entries": len(entries), "structured_reference": structured,
            "bytes": len(data)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenancies", type=int, required=True)
    ap.add_argument("--date", type=date.fromisoformat, required=True)
    ap.add_argument("--months", type=int, default=5,
                    help="history months before the date's month (3-6 months of ledger)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    day: date = args.date
    started = time.perf_counter()
    if Tenancy.objects.exists():
        raise SystemExit("the database is not empty")
    say(f"generate {args.tenancies} tenancies through {day}")
    p = generate(args.tenancies, seed=args.seed, today=day, history_months=args.months,
                 window_days=1)
    load = Loader()
    ids = Ids()
    flow = active_flow()
    out: dict[str, Any] = {"tenancies": len(p.tenancies), "date": day.isoformat(),
                           "history_start": p.period.history_start.isoformat()}
    if not load.pg:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    with transaction.atomic():
        out.update(load_portfolio(p, load))
        say(f"  {out['households']} households")
        postings, counts, balance = load_ledger(p, day, load, ids)
        out.update(counts)
    with transaction.atomic():
        out.update(analyse(p, postings, day, flow, load, ids))
        load.dicts(DayRun, [{"id": 1, "run_on": day - timedelta(days=1), "status": "completed",
                             "stage": "done", "attempts": 1, "started_at": load.now,
                             "finished_at": load.now, "report": {"benchmark": True}}])
    load.finish()
    out["day_file"] = write_day_file(p, day, balance, len(monthly_periods(
        p.period.history_start, day - timedelta(days=1))) + 1)
    out["rows"] = dict(load.counts)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
