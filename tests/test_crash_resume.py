"""A run killed midway loses nothing and completes when started again.

Two installations get the same files. One is killed (fault injection: the process
exits hard after the first household's decision is committed), then run again; the
other runs uninterrupted. Afterwards both hold exactly the same ledger, messages,
tasks and cases. Runs in subprocesses, on SQLite files or PostgreSQL databases.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest

from tests.builders import credit, tenancy_row, write_statement, write_tenancies

QUERIES = {
    "ledger": "SELECT source_key, amount FROM ledger_ledgerentry ORDER BY source_key",
    "messages": "SELECT idempotency_key, status, decided_on FROM messaging_message "
                "ORDER BY idempotency_key",
    "tasks": "SELECT idempotency_key, status FROM collection_task ORDER BY idempotency_key",
    "cases": "SELECT tenancy_id, status, stage, opened_on, closed_on FROM collection_case "
             "ORDER BY tenancy_id, opened_on",
    "steps": "SELECT case_id, step, taken_on FROM collection_casestep ORDER BY case_id, step",
    "runs": "SELECT run_on, status FROM runs_dayrun ORDER BY run_on",
}


def make_inbox(home: Path) -> None:
    inbox = home / "inbox"
    inbox.mkdir(parents=True)
    write_tenancies(inbox / "t.csv", [tenancy_row(n) for n in range(1, 21)])
    write_statement(inbox / "oct.xml", date(2026, 10, 1),
                    [credit(n, date(2026, 10, 1)) for n in range(1, 21)])
    # In November only the even ones pay: ten households get reminders.
    write_statement(inbox / "nov.xml", date(2026, 11, 2),
                    [credit(n, date(2026, 11, 2)) for n in range(2, 21, 2)])
    for day in (3, 4, 5, 6, 9, 10):  # the working days after: nothing came in
        write_statement(inbox / f"nov-{day}.xml", date(2026, 11, day), [])


class Installation:
    def __init__(self, home: Path, pg_url: str | None) -> None:
        self.home = home
        self.env = {**os.environ, "VROEG_HOME": str(home)}
        self.env.pop("VROEG_FAULT", None)
        self.pg_url = None
        if pg_url:
            import psycopg

            name = f"vroeg_crash_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.pg_url = pg_url.rsplit("/", 1)[0] + f"/{name}"
            self.admin_url, self.db_name = pg_url, name
            self.env["VROEG_DATABASE_URL"] = self.pg_url
        else:
            self.env.pop("VROEG_DATABASE_URL", None)
            self.env.pop("DATABASE_URL", None)

    def run(self, day: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if fault:
            env["VROEG_FAULT"] = fault
        return subprocess.run([sys.executable, "-m", "vroeg", "run", "--date", day, "--json"],
                              env=env, capture_output=True, text=True, timeout=300)

    def state(self) -> dict[str, list[tuple]]:
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.pg_url) as conn:
                return {k: [tuple(map(str, r)) for r in conn.execute(q).fetchall()]
                        for k, q in QUERIES.items()}
        with sqlite3.connect(self.home / "vroeg.sqlite3") as conn:
            return {k: [tuple(map(str, r)) for r in conn.execute(q).fetchall()]
                    for k, q in QUERIES.items()}

    def drop(self) -> None:
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


@pytest.fixture
def installations(tmp_path):
    pg = os.environ.get("VROEG_DATABASE_URL")
    made = []
    for name in ("killed", "clean"):
        home = tmp_path / name
        make_inbox(home)
        made.append(Installation(home, pg))
    yield made
    for inst in made:
        inst.drop()


def test_killed_run_resumes_to_the_same_state(installations):
    killed, clean = installations
    for inst in (killed, clean):
        for day in ("2026-10-31", "2026-11-05"):
            ok = inst.run(day)
            assert ok.returncode == 0, ok.stderr

    # 6 November: ten friendly reminders are due; die after three households.
    crashed = killed.run("2026-11-06", fault="evaluate:3")
    assert crashed.returncode == 3, crashed.stderr
    mid = killed.state()
    assert ("2026-11-06", "running") in mid["runs"]
    assert len(mid["messages"]) == 3  # committed per household; the rest not yet

    resumed = killed.run("2026-11-10")
    assert resumed.returncode == 0, resumed.stderr
    done = clean.run("2026-11-10")
    assert done.returncode == 0, done.stderr

    a, b = killed.state(), clean.state()
    assert len(a["messages"]) == 10  # the ten non-payers got their friendly reminder
    for key in QUERIES:
        assert a[key] == b[key], key
