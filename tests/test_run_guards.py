"""Guards around the day run: one at a time, no silent time travel, bounded catch-up."""

from __future__ import annotations

import fcntl
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from vroeg.runs.lock import ADVISORY_KEY

pytestmark = pytest.mark.django_db(transaction=True)


def run(day: str) -> None:
    call_command("run", date=day, json=True, stdout=StringIO())


def test_a_second_run_at_the_same_time_is_refused(vroeg_home):
    if connection.vendor == "postgresql":
        import psycopg

        s = connection.settings_dict
        other = psycopg.connect(host=s["HOST"] or None, port=s["PORT"] or None,
                                user=s["USER"], dbname=s["NAME"], autocommit=True)
        other.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
        release = other.close
    else:
        fh = (vroeg_home / "run.lock").open("a")
        fcntl.flock(fh, fcntl.LOCK_EX)
        release = fh.close
    try:
        with pytest.raises(CommandError, match="already in progress"):
            run("2026-11-02")
        out = StringIO()
        call_command("dispatch", stdout=out)
        assert "skipped" in out.getvalue()
        with pytest.raises(CommandError, match="already in progress.*try again later"):
            call_command("import", str(vroeg_home / "nothing.csv"), stdout=StringIO())
    finally:
        release()
    run("2026-11-02")  # free again


def test_dates_before_the_last_run_that_never_ran_are_refused(vroeg_home):
    run("2026-11-02")
    with pytest.raises(CommandError, match="never run"):
        run("2026-06-01")


def test_a_very_long_catch_up_needs_to_be_asked_for(vroeg_home):
    run("2026-01-02")
    with pytest.raises(CommandError, match="--max-catch-up"):
        run(date(2026, 11, 2).isoformat())


def test_future_dates_are_refused(vroeg_home):
    with pytest.raises(CommandError, match="future"):
        run("2999-01-01")


def test_a_date_that_is_not_a_date_is_named_in_dutch_and_english(vroeg_home):
    with pytest.raises(CommandError, match=r"--date: geen datum \(JJJJ-MM-DD\) / not a date"):
        call_command("run", date="5-11-2026", stdout=StringIO())
