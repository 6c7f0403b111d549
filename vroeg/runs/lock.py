"""One day run (or dispatch) at a time per installation.

PostgreSQL: a session advisory lock (released by the server if the process dies).
SQLite: an exclusive flock on VROEG_HOME/run.lock (released by the OS likewise).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from vroeg.home import home

# An arbitrary constant naming vroeg's lock among the database's advisory locks.
ADVISORY_KEY = 0x76726F6567  # "vroeg"


class RunLocked(RuntimeError):
    def __init__(self) -> None:
        super().__init__("er draait al een run of verzending op deze installatie / "
                         "a run or dispatch is already in progress on this installation")


@contextmanager
def run_lock() -> Iterator[None]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
            if not cursor.fetchone()[0]:
                raise RunLocked()
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
        return
    path = home() / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked() from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
