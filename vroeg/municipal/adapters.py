"""Adapters: how a municipal signal reaches the municipality's platform.

Two platforms are in use (VPS and xxllnc Vroegsignalering); neither publishes a file
format or API we can code against, so no adapter for them is guessed here. Each
platform gets an adapter that implements :class:`Adapter` and is registered with
:func:`register_adapter`; ``VROEG_MUNICIPAL_ADAPTERS`` says which municipality uses
which (vroeg/municipal/config.py).

The baseline is :class:`FileAdapter` ("file"): per municipality and day it writes ::

    outbox/municipal/<YYYY-MM-DD>/<municipality>/signals.csv
                                               /signals.json
                                               /signal-<id>.pdf   (one proof per signal)

``<municipality>`` is the place name as a folder name (config.folder_name: "den-haag").
Both batch files hold every signal sent to that municipality on that day (a second
delivery the same day rewrites them with all rows, never a duplicate row); a
receiving system recognises a signal by ``signaal_id``. Delivery is at least once: a
crash after the files were written but before the signal was marked SENT sends it
again on the next run (same id, same proof name). Files appear whole: each is
written to a hidden temporary file beside it and renamed (messaging.channels.atomic_write);
the proofs are written before the batch files, so a batch never names a missing proof.

Columns of signals.csv (UTF-8, comma-separated, a header row, CRLF line ends) and the
keys of each object in signals.json's "signalen" list, in this order (COLUMNS):

=====================  =====================================================  =========
column                 meaning                                                rule 6
=====================  =====================================================  =========
signaal_id             vroeg's number of the signal (unique, stable)          -
aangemaakt_op          date the signal was decided (YYYY-MM-DD)               -
verstuurd_op           date it was sent (YYYY-MM-DD)                          -
gemeente               receiving municipality (where the tenant lives)        law
naam                   tenant's name as known to the landlord                 law
straat                 street of the rented home                              law
huisnummer             house number (with addition)                           law
postcode               postcode ("1234 AB")                                   law
woonplaats             place                                                  law
telefoon               phone (E.164, may be empty)                            law
email                  email (may be empty)                                   law
achterstand            arrears in euros, decimal string "1234.56"             law
achterstand_sinds      oldest unpaid due date (YYYY-MM-DD)                    optional
maanden_achterstand    arrears in months of rent, decimal string "2.50"       optional
maandhuur              monthly rent (net rent + service costs), "775.00"      optional
kenmerk_verhuurder     landlord reference: the tenancy code                   optional
verhuurder_naam        landlord (corporation) name                            optional
verhuurder_telefoon    landlord contact phone                                 optional
verhuurder_email       landlord contact email                                 optional
=====================  =====================================================  =========

signals.json is ``{"formaat": "vroeg-vroegsignalen/1", "gemeente": ..., "datum": ...,
"aantal": N, "signalen": [{column: value, ...}, ...]}`` with every value a string
(amounts as decimal strings, never floats). Nothing else about the household ever
goes out: no BSN, no health, vulnerability or household notes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from django.utils import timezone

from vroeg.home import home
from vroeg.messaging.channels import atomic_write_bytes
from vroeg.municipal.config import adapter_name_for, folder_name, has_agreement
from vroeg.municipal.models import MunicipalSignal
from vroeg.municipal.proof import ProofWriter

FORMAT = "vroeg-vroegsignalen/1"
#: The signal's own columns, then the payload keys (municipal.actions.PAYLOAD_KEYS).
META_COLUMNS = ("signaal_id", "aangemaakt_op", "verstuurd_op")
PAYLOAD_COLUMNS = (
    "gemeente", "naam", "straat", "huisnummer", "postcode", "woonplaats", "telefoon", "email",
    "achterstand", "achterstand_sinds", "maanden_achterstand", "maandhuur",
    "kenmerk_verhuurder", "verhuurder_naam", "verhuurder_telefoon", "verhuurder_email",
)
COLUMNS = META_COLUMNS + PAYLOAD_COLUMNS


class AdapterError(Exception):
    """A delivery failed; str(error) is safe to store and log (no personal data)."""

    permanent = False


@dataclass(frozen=True)
class AdapterResult:
    """What became of one signal. ``error`` never holds personal data; ``permanent``:
    the platform refused it for good (retrying cannot help, a person looks)."""

    signal_id: int
    ok: bool
    reference: str = ""  # the platform's reference (file adapter: batch file + id)
    proof_file: str = ""  # the PDF proof, relative to VROEG_HOME
    error: str = ""
    permanent: bool = False


class Adapter(Protocol):
    """A receiving platform. ``deliver`` gets one municipality's READY signals with
    ``sent_on`` and ``sent_at`` already set to the delivery date and instant (not yet
    saved) and the day's folder for that municipality (for files and proofs); it
    returns one result per signal, or raises AdapterError for the whole batch."""

    name: str

    def deliver(self, signals: Sequence[MunicipalSignal], folder: Path) -> list[AdapterResult]:
        ...


def signal_row(signal: MunicipalSignal) -> dict[str, str]:
    """The CSV/JSON row of a signal: all strings, in COLUMNS order."""
    row = {
        "signaal_id": str(signal.pk),
        "aangemaakt_op": signal.created_on.isoformat(),
        "verstuurd_op": signal.sent_on.isoformat() if signal.sent_on else "",
    }
    payload = signal.payload or {}
    for key in PAYLOAD_COLUMNS:
        value = payload.get(key, "")
        row[key] = "" if value is None else str(value)
    return row


def _relative(path: Path) -> str:
    try:
        return path.relative_to(home()).as_posix()
    except ValueError:
        return str(path)


def _csv_bytes(rows: Sequence[dict[str, str]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _json_bytes(rows: Sequence[dict[str, str]], municipality: str, day: date) -> bytes:
    doc: dict[str, Any] = {"formaat": FORMAT, "gemeente": municipality, "datum": day.isoformat(),
                           "aantal": len(rows), "signalen": list(rows)}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _os_error(exc: OSError) -> AdapterError:
    import errno

    name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return AdapterError(f"kon bestand niet schrijven / could not write a file ({name})")


class FileAdapter:
    """The baseline: CSV and JSON per municipality and day, a PDF proof per signal."""

    name = "file"

    def deliver(self, signals: Sequence[MunicipalSignal], folder: Path) -> list[AdapterResult]:
        if not signals:
            return []
        day = signals[0].sent_on
        if day is None or any(s.sent_on != day for s in signals):
            raise AdapterError("signalen zonder of met verschillende verzenddatum / signals "
                               "without or with different send dates")
        csv_ref = f"{_relative(folder / 'signals.csv')}"
        try:
            proofs = self.write_proofs(signals, folder, reference=lambda s: f"{csv_ref}#{s.pk}")
            # The batch holds the day's earlier deliveries for this municipality too.
            new_ids = {s.pk for s in signals}
            earlier = [s for s in MunicipalSignal.objects.filter(
                status=MunicipalSignal.Status.SENT, sent_on=day, adapter=self.name)
                .exclude(pk__in=new_ids).order_by("id")
                if folder_name(s.municipality) == folder.name]
            self.write_batch([*earlier, *signals], folder, signals[0].municipality, day)
        except OSError as exc:
            raise _os_error(exc) from None
        return [AdapterResult(signal_id=s.pk, ok=True, reference=f"{csv_ref}#{s.pk}",
                              proof_file=proofs[s.pk]) for s in signals]

    def write_proofs(self, signals: Sequence[MunicipalSignal], folder: Path, *,
                     reference: Callable[[MunicipalSignal], str],
                     copy_made_at: Any = None) -> dict[int, str]:
        """signal id -> proof path (relative to VROEG_HOME)."""
        writer = ProofWriter()
        out: dict[int, str] = {}
        for s in signals:
            path = folder / f"signal-{s.pk}.pdf"
            writer.write(s, path, platform=self.name, reference=reference(s),
                         copy_made_at=copy_made_at)
            out[s.pk] = _relative(path)
        return out

    def write_batch(self, signals: Sequence[MunicipalSignal], folder: Path, municipality: str,
                    day: date) -> list[str]:
        rows = [signal_row(s) for s in sorted(signals, key=lambda s: s.pk)]
        csv_path, json_path = folder / "signals.csv", folder / "signals.json"
        atomic_write_bytes(csv_path, _csv_bytes(rows))
        atomic_write_bytes(json_path, _json_bytes(rows, municipality, day))
        return [_relative(csv_path), _relative(json_path)]

    def export(self, signals: Sequence[MunicipalSignal], folder: Path) -> list[str]:
        """Write a day's files again from the database (a copy: the proofs say so)."""
        if not signals:
            return []
        day = signals[0].sent_on
        assert day is not None
        made_at = timezone.now()
        try:
            proofs = self.write_proofs(
                signals, folder, reference=lambda s: s.external_reference or str(s.pk),
                copy_made_at=made_at)
            files = self.write_batch(signals, folder, signals[0].municipality, day)
        except OSError as exc:
            raise _os_error(exc) from None
        return [*files, *(proofs[s.pk] for s in sorted(signals, key=lambda s: s.pk))]


#: Adapter name -> factory. A platform adapter registers itself here.
ADAPTERS: dict[str, Callable[[], Adapter]] = {"file": FileAdapter}


def register_adapter(name: str, factory: Callable[[], Adapter]) -> None:
    ADAPTERS[name] = factory


def get_adapter(name: str) -> Adapter:
    factory = ADAPTERS.get(name)
    if factory is None:
        raise AdapterError(f"onbekend platform / unknown adapter {name!r} (known: "
                           f"{', '.join(sorted(ADAPTERS))})")
    return factory()


__all__ = ["ADAPTERS", "COLUMNS", "Adapter", "AdapterError", "AdapterResult", "FileAdapter",
           "adapter_name_for", "folder_name", "get_adapter", "has_agreement",
           "register_adapter", "signal_row"]
