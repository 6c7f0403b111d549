"""Ingest: read new files (tenancy exports, bank files), detected by content.

Each file is imported in its own transaction; afterwards it moves to inbox/done
or, when refused, to inbox/rejected with a .reason.txt beside it. A statement whose
balances do not add up waits in inbox/held until a person accepts or rejects it. A crash between
import and move is harmless: importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from vroeg.banking.actions import import_bank_file, move_to_rejected
from vroeg.home import inbox
from vroeg.portfolio.actions import TenancyImportError, import_tenancies, is_tenancy_csv


@dataclass(frozen=True)
class FileOutcome:
    name: str
    kind: str  # tenancies | bank
    status: str  # imported | unchanged (tenancies) | duplicate_file (bank) | held | refused
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    file_id: int | None = None  # the BankFile row, for bank files
    warnings: tuple[str, ...] = ()  # e.g. a statement whose balances do not add up


def import_file(path: Path, actor: str = "system:import", on: date | None = None) -> FileOutcome:
    """Import one file of any supported kind; never raises for bad content."""
    try:
        head = path.read_bytes()[:4096]
    except OSError as exc:
        return FileOutcome(path.name, "unknown", "refused",
                           f"niet te lezen / cannot read: {exc.strerror}")
    if is_tenancy_csv(head):
        try:
            r = import_tenancies(path, actor=actor, on=on)
        except TenancyImportError as exc:
            return FileOutcome(path.name, "tenancies", "refused", str(exc))
        status = "imported" if (r.created or r.updated) else "unchanged"
        return FileOutcome(path.name, "tenancies", status, "", {
            "rows": r.rows, "created": r.created, "updated": r.updated,
            "unchanged": r.unchanged})
    res = import_bank_file(path, actor=actor)
    return FileOutcome(path.name, "bank", res.status, res.reason or res.format, {
        "statements": res.statements, "entries": res.entries,
        "new_entries": res.new_entries, "duplicate_entries": res.duplicate_entries},
        file_id=res.file_id, warnings=tuple(res.warnings) if res.status == "imported" else ())


def pending_files(folder: Path | None = None) -> list[Path]:
    root = folder or inbox()
    files = [p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")
             and not p.name.endswith(".reason.txt") and not p.name.endswith(".part")]
    # Tenancies before bank files, so payments find the tenancies they belong to.
    return sorted(files, key=lambda p: (0 if is_tenancy_csv(p.read_bytes()[:4096]) else 1, p.name))


def _move_done(path: Path) -> None:
    done = inbox() / "done"
    done.mkdir(parents=True, exist_ok=True)
    target = done / path.name
    if target.exists():
        data = path.read_bytes()
        if target.read_bytes() == data:
            path.unlink()  # the very same file was delivered again: one copy is enough
            return
        target = done / f"{path.stem}-{hashlib.sha256(data).hexdigest()[:8]}{path.suffix}"
    shutil.move(str(path), target)


def ingest_inbox(actor: str = "system:run", on: date | None = None) -> list[FileOutcome]:
    outcomes = []
    for path in pending_files():
        outcome = import_file(path, actor=actor, on=on)
        if outcome.status == "refused":
            move_to_rejected(path, outcome.detail)
        elif outcome.status == "held":
            path.unlink()  # its copy waits in inbox/held/ for a person to accept or reject
        else:
            _move_done(path)
        outcomes.append(outcome)
    return outcomes
