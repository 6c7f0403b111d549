"""Shared fixtures. The database is SQLite by default; set VROEG_DATABASE_URL
(e.g. postgres://postgres@127.0.0.1:5432/vroeg) to run the same tests on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real bank files not present at {REALDATA} (see README, 'Real data')")
    return REALDATA


@pytest.fixture
def vroeg_home(tmp_path, settings):
    """A fresh VROEG_HOME with its folders; every file the code writes lands here."""
    from vroeg.home import ensure_home

    settings.VROEG_HOME = tmp_path
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox" / "email")
    import os

    old = os.environ.get("VROEG_HOME")
    os.environ["VROEG_HOME"] = str(tmp_path)
    ensure_home()
    yield tmp_path
    if old is None:
        os.environ.pop("VROEG_HOME", None)
    else:
        os.environ["VROEG_HOME"] = old


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path_factory):
    # WhiteNoise indexes STATIC_ROOT when a test client starts; give it a folder.
    settings.STATIC_ROOT = tmp_path_factory.mktemp("static")
