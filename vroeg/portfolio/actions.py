"""The one place portfolio data is written: the tenancy import.

`import_tenancies` reads a tenancy CSV (docs/import-format.md) exported from the
housing ERP and brings households, tenancies and known payers in line with it:

* all-or-nothing: any error in the file (or against the database) raises
  TenancyImportError listing every error, and nothing is written;
* idempotent: a row whose hash equals the stored hash is skipped, so importing the
  same file twice changes nothing the second time (no audit rows either);
* a changed row updates its tenancy (and its household, when the household's own
  columns changed), with an audit row naming the changed fields, never their values;
* one transaction for the file, bulk statements throughout.

The ledger posting of an opening balance is not done here (the ledger app does it from
Tenancy.opening_balance / opening_balance_on).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from vroeg.audit.actions import audit, audit_many
from vroeg.audit.models import AuditEvent
from vroeg.db import insert_rows, update_rows
from vroeg.domain.reference import tenancy_betalingskenmerk
from vroeg.domain.tenancy_csv import (
    RowError,
    TenancyRecord,
    decode_csv,
    household_hash,
    is_tenancy_csv_text,
    parse_tenancy_csv,
    row_hash,
)
from vroeg.portfolio.models import (
    Household,
    ImportBatch,
    KnownPayer,
    PaymentMethod,
    Tenancy,
    TenancyEvent,
)

log = logging.getLogger("vroeg.portfolio")

IMPORT_LINK = "import"  # KnownPayer.linked_by for the tenant IBAN from the ERP file
_CHUNK = 900  # ids per IN (...) query: below SQLite's oldest variable limit
_BATCH = 2000  # rows per bulk INSERT/UPDATE

#: Tenancy model fields the file sets, besides household, payment_reference and row_hash.
TENANCY_MODEL_FIELDS = (
    "unit_code", "street", "house_number", "postcode", "city", "start_on", "end_on",
    "net_rent", "service_costs", "due_day", "payment_method", "mandate_reference",
    "mandate_signed_on", "opening_balance", "opening_balance_on",
)
_RESTRICTION_FIELDS = ("letter_only", "no_sms", "no_email", "needs_interpreter",
                       "no_automated_calls")


@dataclass(frozen=True)
class TenancyImportResult:
    file: str
    rows: int
    created: int
    updated: int
    unchanged: int
    households_created: int
    households_updated: int


class TenancyImportError(Exception):
    """The file was refused; `errors` holds every problem found. Nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(errors)
        n = len(self.errors)
        head = (f"{n} fout(en), niets ingelezen / {n} error(s), nothing imported:")
        super().__init__("\n".join([head, *(str(e) for e in self.errors)]))


def is_tenancy_csv(data: bytes) -> bool:
    """True when `data` (the file, or its first few KB) starts with a tenancy CSV header.

    Never raises: any bytes at all (binary, any line endings) give True or False, since
    the run asks this of every file in the inbox."""
    text = data[:65536].decode("utf-8-sig", errors="replace")
    return is_tenancy_csv_text(text)


# --- mapping records onto models -------------------------------------------------------

def _household_values(rec: TenancyRecord) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": rec.household_name, "email": rec.email, "mobile": rec.mobile,
        "postal_street": rec.postal_street, "postal_house_number": rec.postal_house_number,
        "postal_postcode": rec.postal_postcode, "postal_city": rec.postal_city,
        "language": rec.language, "preferred_channel": rec.preferred_channel,
        "payday": rec.payday,
    }
    for name in _RESTRICTION_FIELDS:
        values[name] = name in rec.restrictions
    return values


_BENEFIT = {"yes": True, "no": False, "": None}


def _tenancy_values(rec: TenancyRecord) -> dict[str, Any]:
    values = {name: getattr(rec, name) for name in TENANCY_MODEL_FIELDS}
    values["housing_benefit"] = _BENEFIT[rec.housing_benefit]
    if rec.payment_reference:  # empty: keep the reference the tenancy has
        values["payment_reference"] = rec.payment_reference
    return values


def _changed(obj: Any, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(obj, name) != value]


T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: Any, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _execute_many(sql: str, params: Sequence[Sequence[Any]]) -> None:
    with connection.cursor() as cursor:
        for chunk in _chunks(params, _BATCH):
            cursor.executemany(sql, chunk)


def _payer(tenancy_id: int, rec: TenancyRecord) -> dict[str, Any]:
    return {"tenancy_id": tenancy_id, "iban": rec.iban, "name": rec.household_name[:200],
            "third_party": False, "linked_by": IMPORT_LINK}


def _load(model: Any, ids: Iterable[int]) -> dict[int, Any]:
    ids = list(ids)
    found: dict[int, Any] = {}
    for chunk in _chunks(ids):
        found.update(model.objects.in_bulk(chunk))
    return found


# --- the import --------------------------------------------------------------------------

def _events(obj: Tenancy, values: dict[str, Any], on: date, source: str) -> list[TenancyEvent]:
    """What a changed row tells the early warning: benefit stopped or started, a new rent."""
    out = []
    old, new = obj.housing_benefit, values["housing_benefit"]
    if old is True and new is False:
        out.append(TenancyEvent(tenancy_id=obj.pk, kind=TenancyEvent.Kind.BENEFIT_STOPPED, on=on,
                                source=source))
    elif old is False and new is True:
        out.append(TenancyEvent(tenancy_id=obj.pk, kind=TenancyEvent.Kind.BENEFIT_STARTED, on=on,
                                source=source))
    old_rent = obj.net_rent + obj.service_costs
    new_rent = values["net_rent"] + values["service_costs"]
    if old_rent != new_rent:
        out.append(TenancyEvent(tenancy_id=obj.pk, kind=TenancyEvent.Kind.RENT_CHANGED, on=on,
                                source=source, details={"old_rent": str(old_rent),
                                                        "new_rent": str(new_rent)}))
    return out


def import_tenancies(path: Path, *, actor: str = "system:import",
                     on: date | None = None) -> TenancyImportResult:
    """Import one tenancy CSV. Raises TenancyImportError (nothing written) on any error.
    `on` is the business date of the import (the run's day): changes seen in the file
    (benefit stopped, a new rent) are recorded as events of that date."""
    on = on or timezone.localdate()
    path = Path(path)
    data = path.read_bytes()
    file_name = path.name
    text, decode_error = decode_csv(data, file_name)
    if decode_error is not None:
        raise TenancyImportError([decode_error])
    parsed = parse_tenancy_csv(text, file_name)
    errors = list(parsed.errors)
    records = parsed.records

    with transaction.atomic():
        # Facts: what the database holds now.
        tenancies = {code: (pk, stored_hash, household_id, ref) for pk, code, stored_hash,
                     household_id, ref in Tenancy.objects.values_list(
                         "pk", "code", "row_hash", "household_id", "payment_reference")}
        households = {code: (pk, stored_hash) for pk, code, stored_hash in
                      Household.objects.values_list("pk", "code", "row_hash")}
        owner_of_ref = {ref: code for code, (_, _, _, ref) in tenancies.items()}

        # Every row with a valid reference, bad rows too: reported with all other errors.
        for line, code, ref in parsed.references:
            owner = owner_of_ref.get(ref)
            if owner is not None and owner != code:
                errors.append(RowError(file_name, line, "betalingskenmerk",
                                       f"al in gebruik bij huurovereenkomst {owner} / already "
                                       f"used by tenancy {owner}"))
        # An opening balance is what the ERP says is owed on a day that has come.
        for rec in records:
            if rec.opening_balance_on is not None and rec.opening_balance_on > on + \
                    timedelta(days=31):
                errors.append(RowError(file_name, rec.line, "beginsaldo_datum",
                                       f"ligt meer dan een maand na vandaag ({on.isoformat()}) "
                                       f"/ is more than a month after today"))
        if errors:
            errors.sort(key=lambda e: e.line)
            raise TenancyImportError(errors)

        batch = ImportBatch.objects.create(file_name=file_name[:255],
                                           sha256=hashlib.sha256(data).hexdigest(),
                                           rows=parsed.rows)
        audit_rows: list[AuditEvent] = []

        def audit_row(action: str, model: str, pk: int, rec: TenancyRecord,
                      changed: list[str] | None = None, **more: Any) -> None:
            details: dict[str, Any] = {"batch": batch.pk, "file": file_name, "line": rec.line,
                                       **more}
            summary = f"import {file_name}, regel/line {rec.line}"
            if changed is not None:
                details["fields"] = changed
                summary += ": " + ", ".join(changed)
            audit_rows.append(AuditEvent(actor=actor, action=action, object_type=model,
                                         object_id=str(pk), summary=summary[:300],
                                         details=details))

        # Households: one record speaks for each (the parser made sure they agree).
        first_of: dict[str, TenancyRecord] = {}
        for rec in records:
            first_of.setdefault(rec.household_code, rec)
        new_households = [code for code in first_of if code not in households]
        new_households_set = set(new_households)
        insert_rows(Household, [
            {"code": code, "row_hash": household_hash(first_of[code]),
             **_household_values(first_of[code])} for code in new_households])
        household_id = (dict(Household.objects.values_list("code", "pk")) if new_households
                        else {code: pk for code, (pk, _) in households.items()})
        stale = {households[code][0]: rec for code, rec in first_of.items()
                 if code in households and households[code][1] != household_hash(rec)}
        households_updated = 0
        refreshed: list[Household] = []
        changed_household_fields: set[str] = set()
        for pk, hh in _load(Household, stale).items():
            rec = stale[pk]
            values = _household_values(rec)
            changed = _changed(hh, values)
            for name, value in values.items():
                setattr(hh, name, value)
            hh.row_hash = household_hash(rec)
            refreshed.append(hh)
            if changed:
                households_updated += 1
                changed_household_fields.update(changed)
                audit_row("household.update", "portfolio.household", pk, rec, changed)
        update_rows(Household, refreshed, ["row_hash", *sorted(changed_household_fields)])

        # Tenancies: new ones first, with a unique placeholder reference until the id is
        # known (the placeholder is never a valid reference).
        token = f"~{secrets.token_hex(3)}"
        new_rows: list[dict[str, Any]] = []
        new_records: list[TenancyRecord] = []
        stale_tenancies: dict[int, TenancyRecord] = {}
        unchanged = 0
        for rec in records:
            known = tenancies.get(rec.code)
            digest = row_hash(rec)
            if known is None:
                values = _tenancy_values(rec)
                values.setdefault("payment_reference", f"{token}{len(new_rows):09d}")
                new_rows.append({"code": rec.code, "row_hash": digest,
                                 "household_id": household_id[rec.household_code], **values})
                new_records.append(rec)
            elif known[1] == digest:
                unchanged += 1
            else:
                stale_tenancies[known[0]] = rec
        insert_rows(Tenancy, new_rows)
        tenancy_id = dict(Tenancy.objects.values_list("code", "pk")) if new_rows else {}

        taken = set(owner_of_ref) | {r.payment_reference for r in records if r.payment_reference}
        generated: list[tuple[str, int]] = []
        payers: list[dict[str, Any]] = []
        for row, rec in zip(new_rows, new_records, strict=True):
            pk = tenancy_id[rec.code]
            if row["payment_reference"].startswith(token):
                ref = tenancy_betalingskenmerk(pk)
                if ref in taken:
                    errors.append(RowError(
                        file_name, rec.line, "betalingskenmerk",
                        "het gegenereerde betalingskenmerk is al in gebruik; geef er een op / "
                        "the generated payment reference is already in use; supply one"))
                generated.append((ref, pk))
            if rec.iban:
                payers.append(_payer(pk, rec))
            audit_row("tenancy.create", "portfolio.tenancy", pk, rec,
                      household_created=rec.household_code in new_households_set)
        if errors:
            raise TenancyImportError(errors)  # rolls the transaction back
        _execute_many(f"UPDATE {_table(Tenancy)} SET {_column(Tenancy, 'payment_reference')} "
                      f"= %s WHERE {_column(Tenancy, 'id')} = %s", generated)

        # Changed rows: compare field by field, so the audit names what changed.
        payers_of: dict[int, list[tuple[str, str, bool]]] = {}
        for chunk in _chunks(list(stale_tenancies)):
            for tid, iban, linked_by, third_party in KnownPayer.objects.filter(
                    tenancy_id__in=chunk).values_list("tenancy_id", "iban", "linked_by",
                                                      "third_party"):
                payers_of.setdefault(tid, []).append((iban, linked_by, third_party))
        updated = 0
        to_update: list[Tenancy] = []
        changed_fields: set[str] = set()
        drop_payers: list[tuple[int, str]] = []
        events: list[TenancyEvent] = []
        for pk, obj in _load(Tenancy, stale_tenancies).items():
            rec = stale_tenancies[pk]
            values = _tenancy_values(rec)
            values["household_id"] = household_id[rec.household_code]
            changed = _changed(obj, values)
            events += _events(obj, values, on, f"{file_name}:{rec.line}")
            for name, value in values.items():
                setattr(obj, name, value)
            obj.row_hash = row_hash(rec)
            to_update.append(obj)
            changed_fields.update(changed)
            known_payers = payers_of.get(pk, [])
            imported = {iban for iban, by, third in known_payers if by == IMPORT_LINK and not third}
            if imported != ({rec.iban} if rec.iban else set()):
                changed.append("iban")
                drop_payers += [(pk, iban) for iban in imported if iban != rec.iban]
                if rec.iban and rec.iban not in {iban for iban, _, _ in known_payers}:
                    payers.append(_payer(pk, rec))
            if changed:
                updated += 1
                audit_row("tenancy.update", "portfolio.tenancy", pk, rec,
                          [("household" if c == "household_id" else c) for c in changed])
            else:
                unchanged += 1  # only its household's columns changed
        update_rows(Tenancy, to_update, ["row_hash", *sorted(changed_fields)])
        for pairs in _chunks(drop_payers, 400):
            query = Q()
            for tid, iban in pairs:
                query |= Q(tenancy_id=tid, iban=iban)
            KnownPayer.objects.filter(query, linked_by=IMPORT_LINK, third_party=False).delete()
        insert_rows(KnownPayer, payers)
        TenancyEvent.objects.bulk_create(events, ignore_conflicts=True, batch_size=_BATCH)

        audit_many(audit_rows)
        result = TenancyImportResult(
            file=file_name, rows=parsed.rows, created=len(new_rows), updated=updated,
            unchanged=unchanged, households_created=len(new_households),
            households_updated=households_updated)
        batch.created, batch.updated, batch.unchanged = result.created, updated, unchanged
        batch.save(update_fields=["created", "updated", "unchanged"])
    log.info("tenancy import %s: %d rows, %d created, %d updated, %d unchanged", file_name,
             result.rows, result.created, result.updated, result.unchanged)
    return result


def set_care_flags(household: Household, *, actor: str, reason: str,
                   vulnerable: bool | None = None,
                   has_children: bool | None | str = "keep") -> list[str]:
    """Staff set what the ERP does not know: a vulnerable household (a person first, the
    flow's segment) and children in the household (extra care before a summons, rule
    16). Never from profiling (rule 20), never sent to the municipality (rule 6)."""
    changed = []
    if vulnerable is not None and household.vulnerable != vulnerable:
        household.vulnerable = vulnerable
        changed.append("vulnerable")
    if has_children != "keep" and household.has_children != has_children:
        household.has_children = has_children  # type: ignore[assignment]
        changed.append("has_children")
    if changed:
        with transaction.atomic():
            household.save(update_fields=changed)
            audit(actor, "household.care_flags", household,
                  summary=f"{', '.join(changed)}: {reason}"[:300], changed=changed)
    return changed


def switch_to_transfer(tenancy_id: int, *, actor: str, reason: str) -> bool:
    """Set a tenancy's payment method to transfer (direct debit stopped), audited.

    Call inside the caller's transaction. False when it already was transfer. The ERP
    may later say "incasso" again; the ended mandate stays ended regardless (see
    vroeg/directdebit/actions.py), so collection only restarts with a new mandate."""
    changed = Tenancy.objects.filter(pk=tenancy_id).exclude(
        payment_method=PaymentMethod.TRANSFER).update(payment_method=PaymentMethod.TRANSFER)
    if changed:
        audit(actor, "tenancy.payment_method", object_type="portfolio.tenancy",
              object_id=str(tenancy_id), summary=f"overboeking / transfer: {reason}"[:300],
              fields=["payment_method"], payment_method=PaymentMethod.TRANSFER.value)
    return bool(changed)


__all__ = ["TenancyImportError", "TenancyImportResult", "import_tenancies", "is_tenancy_csv",
           "set_care_flags",
           "switch_to_transfer"]
