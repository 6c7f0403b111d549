"""Importing bank files: the one place that writes BankFile and BankTransaction rows.

A file is read, parsed by the pure domain parser and stored in one transaction:
its BankFile row, its new transactions and one audit row. The same file twice
(same sha256) adds nothing; an entry already stored from an overlapping statement
(same entry key) is counted as a duplicate and not stored again. A file that
cannot be read gets a BankFile row with status "refused" and the reason; the
caller moves it away with :func:`move_to_rejected`.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from vroeg.audit.actions import audit
from vroeg.banking.models import BankFile, BankTransaction, TxnStatus
from vroeg.db import insert_rows
from vroeg.domain.bank.model import BankEntry, BankFileError, ParsedFile, Statement, entry_keys
from vroeg.domain.bank.mt940 import with_warnings
from vroeg.domain.bank.parse import balance_warnings, future_warnings, parse_bank_file
from vroeg.home import inbox
from vroeg.runs import clock

_LOOKUP_CHUNK = 900  # stays under SQLite's oldest limit of 999 query variables
_BATCH = 2000


@dataclass(frozen=True)
class FileResult:
    name: str
    status: str  # "imported" | "refused" | "duplicate_file" | "held"
    format: str = ""
    reason: str = ""
    statements: int = 0
    entries: int = 0
    new_entries: int = 0
    duplicate_entries: int = 0
    warnings: tuple[str, ...] = ()
    file_id: int | None = None


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _own(account: str) -> str:
    return account.replace(" ", "").upper()


def _foreign_accounts(parsed: ParsedFile) -> list[str]:
    """Accounts in the file that are not ours, when our accounts are configured."""
    allowed = {_own(a) for a in getattr(settings, "VROEG_BANK_ACCOUNTS", [])}
    if not allowed:
        return []
    return sorted({s.account_iban for s in parsed.statements
                   if s.account_iban and _own(s.account_iban) not in allowed})


def _refuse(name: str, sha: str, reason: str, fmt: str, previous: BankFile | None,
            actor: str) -> FileResult:
    with transaction.atomic():
        if previous is not None:
            previous.name, previous.reason, previous.format = name, reason, fmt
            previous.save(update_fields=["name", "reason", "format"])
            bank_file = previous
        else:
            bank_file = BankFile.objects.create(name=name, sha256=sha, format=fmt,
                                                status=BankFile.Status.REFUSED, reason=reason)
        audit(actor, "bank.file_refused", bank_file, summary=f"{name}: {reason}",
              format=fmt, reason=reason)
    return FileResult(name=name, status="refused", format=fmt, reason=reason,
                      file_id=bank_file.pk)


def _values(bank_file: BankFile, stmt: Statement, e: BankEntry, key: str,
            booked: bool) -> dict[str, object]:
    status, reason = TxnStatus.NEW.value, ""
    if e.currency != "EUR":
        status = TxnStatus.IGNORED.value
        reason = (f"Valuta {e.currency or '?'}: alleen euro's worden gekoppeld / "
                  f"currency {e.currency or '?'}: only euros are matched")
    return {
        "file_id": bank_file.pk, "entry_key": key, "account_iban": stmt.account_iban,
        "statement_id": stmt.statement_id, "booked": booked, "amount": e.amount,
        "currency": e.currency, "booked_on": e.booked_on, "value_on": e.value_on,
        "counterparty_name": e.counterparty_name, "counterparty_iban": e.counterparty_iban,
        "counterparty_bic": e.counterparty_bic, "remittance": e.remittance,
        "creditor_reference": e.creditor_reference, "end_to_end_id": e.end_to_end_id,
        "mandate_id": e.mandate_id, "bank_reference": e.bank_reference,
        "reversal": e.reversal, "return_reason": e.return_reason, "bank_code": e.bank_code,
        "status": status, "match_reason": reason,
    }


def _store(name: str, sha: str, parsed: ParsedFile, previous: BankFile | None,
           actor: str) -> FileResult:
    pairs = [(stmt, e, key) for stmt in parsed.statements
             for e, key in zip(stmt.entries, entry_keys(stmt), strict=True)]
    unique = list(dict.fromkeys(key for _, _, key in pairs))
    stored: dict[str, bool] = {}
    for chunk in _chunks(unique, _LOOKUP_CHUNK):
        stored.update(BankTransaction.objects.filter(entry_key__in=chunk)
                      .values_list("entry_key", "booked"))
    booked = parsed.is_statement
    warnings = "\n".join(parsed.warnings)
    with transaction.atomic():
        if previous is not None:  # refused before (e.g. an older parser): now it reads
            bank_file = previous
            bank_file.name, bank_file.status, bank_file.reason = name, BankFile.Status.IMPORTED, ""
        else:
            bank_file = BankFile(name=name, sha256=sha, status=BankFile.Status.IMPORTED)
        bank_file.format = parsed.format
        bank_file.warnings = warnings
        bank_file.covers_until = _covers_until(parsed)
        bank_file.save()
        rows: list[dict[str, object]] = []
        seen = set(stored)
        for stmt, e, key in pairs:
            if key in seen:
                continue
            seen.add(key)
            rows.append(_values(bank_file, stmt, e, key, booked))
        insert_rows(BankTransaction, rows)
        if booked:
            # A notification (camt.054) stored first, now confirmed by the statement.
            promote = [k for k, was_booked in stored.items() if not was_booked]
            for chunk in _chunks(promote, _LOOKUP_CHUNK):
                BankTransaction.objects.filter(entry_key__in=chunk).update(booked=True)
        bank_file.statements = len(parsed.statements)
        bank_file.entries = len(pairs)
        bank_file.new_entries = len(rows)
        bank_file.duplicate_entries = len(pairs) - len(rows)
        bank_file.save(update_fields=["statements", "entries", "new_entries",
                                      "duplicate_entries"])
        audit(actor, "bank.file_imported", bank_file,
              summary=(f"{name}: {parsed.format}, {len(rows)} nieuw / new, "
                       f"{len(pairs) - len(rows)} dubbel / duplicate"),
              format=parsed.format, statements=len(parsed.statements), entries=len(pairs),
              new_entries=len(rows), duplicate_entries=len(pairs) - len(rows),
              is_statement=parsed.is_statement, warnings=list(parsed.warnings))
    return FileResult(name=name, status="imported", format=parsed.format,
                      statements=len(parsed.statements), entries=len(pairs),
                      new_entries=len(rows), duplicate_entries=len(pairs) - len(rows),
                      warnings=parsed.warnings, file_id=bank_file.pk)


def _covers_until(parsed: ParsedFile) -> date | None:
    if not parsed.is_statement:
        return None
    # The statement's own closing date; only without one its last booking (a single
    # entry dated ahead must not stand for the whole file).
    days = [s.closing_on if s.closing_on is not None else
            max((e.booked_on for e in s.entries), default=None) for s in parsed.statements]
    return max((d for d in days if d is not None), default=None)


def held_path(bank_file: BankFile) -> Path:
    """Where a file waiting for review is kept: inbox/held/<sha prefix>-<name>."""
    return inbox() / "held" / f"{bank_file.sha256[:12]}-{bank_file.name}"


def _hold(name: str, sha: str, data: bytes, parsed: ParsedFile, problems: list[str],
          previous: BankFile | None, actor: str) -> FileResult:
    """Keep an unbalanced statement aside: nothing of it is stored or booked."""
    entries = sum(len(s.entries) for s in parsed.statements)
    reason = "\n".join(problems)
    with transaction.atomic():
        bank_file = previous or BankFile(name=name, sha256=sha)
        bank_file.name, bank_file.format, bank_file.status = name, parsed.format, \
            BankFile.Status.HELD
        bank_file.reason, bank_file.warnings = reason, "\n".join(parsed.warnings)
        bank_file.statements, bank_file.entries = len(parsed.statements), entries
        bank_file.save()
        target = held_path(bank_file)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        part.write_bytes(data)
        part.replace(target)
        audit(actor, "bank.file_held", bank_file,
              summary=f"{name}: saldo klopt niet, wacht op controle / balance does not add up, "
                      f"awaiting review", format=parsed.format, problems=problems)
    return FileResult(name=name, status="held", format=parsed.format, reason=reason,
                      statements=len(parsed.statements), entries=entries,
                      warnings=parsed.warnings, file_id=bank_file.pk)


def import_bank_file(path: Path, *, actor: str = "system",
                     accept_unbalanced: bool = False) -> FileResult:
    """Import one bank file (camt.052/053/054, pain.002, MT940); never raises for content.

    A statement whose opening balance plus entries is not its closing balance is
    held for a person (status "held"), unless `accept_unbalanced` (a person did).
    """
    name = path.name
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    for attempt in range(2):
        previous = BankFile.objects.filter(sha256=sha).first()
        if previous is not None and previous.status == BankFile.Status.IMPORTED:
            return FileResult(
                name=name, status="duplicate_file", format=previous.format,
                reason=f"Al ingelezen / already imported: {previous.name} (#{previous.pk})",
                statements=previous.statements, entries=previous.entries,
                duplicate_entries=previous.entries,
                warnings=tuple(w for w in previous.warnings.splitlines() if w),
                file_id=previous.pk)
        if previous is not None and previous.status == BankFile.Status.REJECTED:
            return FileResult(
                name=name, status="refused", format=previous.format,
                reason=(f"{name}: eerder afgewezen door / rejected earlier by "
                        f"{previous.reviewed_by or '?'}: {previous.reason}"),
                file_id=previous.pk)
        if previous is not None and previous.status == BankFile.Status.HELD \
                and not accept_unbalanced:
            return FileResult(
                name=name, status="held", format=previous.format,
                reason=(f"Wacht al op controle / already awaiting review (#{previous.pk}): "
                        f"{previous.reason}"),
                statements=previous.statements, entries=previous.entries,
                file_id=previous.pk)
        try:
            parsed = parse_bank_file(data, name)
        except BankFileError as exc:
            return _refuse(name, sha, str(exc), "", previous, actor)
        # Booked after the run date is fine (matched on a later run); after today is odd.
        parsed = with_warnings(parsed, future_warnings(parsed, clock.today()))
        foreign = _foreign_accounts(parsed)
        if foreign:
            reason = (f"{name}: rekening niet van ons / account not ours: {', '.join(foreign)} "
                      f"(VROEG_BANK_ACCOUNTS)")
            return _refuse(name, sha, reason, parsed.format, previous, actor)
        problems = balance_warnings(parsed) if parsed.is_statement else []
        if problems and not accept_unbalanced:
            return _hold(name, sha, data, parsed, problems, previous, actor)
        try:
            return _store(name, sha, parsed, previous, actor)
        except IntegrityError:
            # Another import stored this file or some of its entries at the same
            # moment; look again (the second time the duplicates are seen).
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class ReviewError(ValueError):
    """A held file cannot be accepted or rejected (not held, its copy is gone)."""


def _held_file(bank_file: BankFile) -> tuple[BankFile, Path]:
    locked = BankFile.objects.select_for_update().get(pk=bank_file.pk)
    if locked.status != BankFile.Status.HELD:
        raise ReviewError(f"bankbestand {locked.pk} wacht niet op controle (status "
                          f"{locked.status}) / bank file {locked.pk} is not awaiting review")
    path = held_path(locked)
    if not path.is_file():
        raise ReviewError(f"{path}: kopie ontbreekt / held copy is missing")
    return locked, path


def accept_held(bank_file: BankFile, actor: str, note: str = "") -> FileResult:
    """A person accepts an unbalanced statement: it is stored like any other file."""
    with transaction.atomic():
        locked, path = _held_file(bank_file)
        result = import_bank_file(path, actor=actor, accept_unbalanced=True)
        locked.refresh_from_db()
        locked.name = bank_file.name
        locked.reviewed_by, locked.reviewed_at = actor, timezone.now()
        locked.reason = f"Geaccepteerd ondanks saldoverschil / accepted despite balance " \
                        f"difference{': ' + note if note else ''}\n{bank_file.reason}"
        locked.save(update_fields=["name", "reviewed_by", "reviewed_at", "reason"])
        audit(actor, "bank.file_accepted", locked, summary=f"{locked.name}: geaccepteerd / "
              f"accepted", note=note, new_entries=result.new_entries)
    done = inbox() / "done"
    done.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), done / path.name)
    return result


def reject_held(bank_file: BankFile, actor: str, reason: str) -> None:
    """A person rejects an unbalanced statement: nothing of it is ever booked."""
    if not reason.strip():
        raise ReviewError("Geef een reden / give a reason")
    with transaction.atomic():
        locked, path = _held_file(bank_file)
        locked.status = BankFile.Status.REJECTED
        locked.reason = f"{reason.strip()}\n{locked.reason}"
        locked.reviewed_by, locked.reviewed_at = actor, timezone.now()
        locked.save(update_fields=["status", "reason", "reviewed_by", "reviewed_at"])
        audit(actor, "bank.file_rejected", locked, summary=f"{locked.name}: afgewezen / "
              f"rejected: {reason.strip()}", reason=reason.strip())
    move_to_rejected(path, locked.reason)


def move_to_rejected(path: Path, reason: str) -> Path:
    """Move a refused file to inbox/rejected/ with `<name>.reason.txt` beside it."""
    folder = inbox() / "rejected"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists() or (folder / f"{target.name}.reason.txt").exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    shutil.move(str(path), target)
    (folder / f"{target.name}.reason.txt").write_text(reason.rstrip("\n") + "\n",
                                                     encoding="utf-8")
    return target
