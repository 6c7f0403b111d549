"""Writing the pain.008 collection file with sepaxml, validated against the XSD.

sepaxml builds the XML (one payment information block per sequence type and
collection date) and validates it against its bundled official XSD
(pain.008.001.02 or pain.008.001.08) before anything is written. vroeg makes the
group header deterministic: the message id is the day's (one file per day), the
creation time is passed in, and the payment information ids are numbered after the
message id, so the same collections always give the same file.

Errors never carry personal data: they name the setting, the tenancy code or the
XML path, never a name or an IBAN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from schwifty import BIC, IBAN
from sepaxml import SepaDD
from sepaxml.validation import ValidationError as SepaValidationError

from vroeg.domain.calendar import AMSTERDAM
from vroeg.domain.direct_debit import VERSIONS, is_valid_creditor_id


class SepaFileError(ValueError):
    """The file cannot be made: bad creditor settings or data the XSD refuses."""


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True)
class Debit:
    """One transaction of the file."""

    tenancy_code: str  # for error messages only
    end_to_end_id: str
    amount: Decimal
    sequence_type: str
    collect_on: date
    mandate_reference: str
    signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    remittance: str


def creditor_from_settings(cfg: Mapping[str, Any]) -> Creditor:
    """settings.VROEG_CREDITOR checked: a clear error naming the variable to fix."""
    name = str(cfg.get("name") or "").strip()
    if not name:
        raise SepaFileError("VROEG_CREDITOR_NAME is leeg / is empty")
    try:
        iban = IBAN(str(cfg.get("iban") or ""))
    except ValueError:
        raise SepaFileError("VROEG_CREDITOR_IBAN is geen geldig IBAN / is not a valid "
                            "IBAN") from None
    bic = str(cfg.get("bic") or "").replace(" ", "").upper()
    if bic:
        try:
            BIC(bic)
        except ValueError:
            raise SepaFileError("VROEG_CREDITOR_BIC is geen geldige BIC / is not a valid "
                                "BIC") from None
    else:
        found = iban.bic
        bic = str(found) if found is not None else ""
    creditor_id = str(cfg.get("creditor_id") or "").replace(" ", "").upper()
    if not is_valid_creditor_id(creditor_id):
        raise SepaFileError("VROEG_CREDITOR_ID is geen geldig incassant-ID (vorm NLkkZZZ + "
                            "KvK-nummer + 4 cijfers, controlegetal) / is not a valid SEPA "
                            "creditor identifier (form NLkkZZZ..., check digits)")
    return Creditor(name=name, iban=iban.compact, bic=bic, creditor_id=creditor_id)


def debtor_bic(iban: str) -> str:
    """The BIC of a debtor's bank from the IBAN, when schwifty knows it; else ''."""
    try:
        found = IBAN(iban).bic
    except ValueError:
        return ""
    return str(found) if found is not None else ""


class _DeterministicDD(SepaDD):  # type: ignore[misc]
    """sepaxml's SepaDD with our message id, creation time and payment info ids."""

    def __init__(self, config: dict[str, Any], schema: str, msg_id: str,
                 created_at: datetime) -> None:
        local = created_at.astimezone(AMSTERDAM) if created_at.tzinfo else created_at
        self._vroeg_header = (msg_id, local.strftime("%Y-%m-%dT%H:%M:%S"))
        super().__init__(config, schema=schema, clean=True)

    def _create_header(self) -> None:
        super()._create_header()
        msg_id, created = self._vroeg_header
        self.msg_id = msg_id
        header = self._xml.find("CstmrDrctDbtInitn/GrpHdr")
        header.find("MsgId").text = msg_id
        header.find("CreDtTm").text = created

    def _finalize_batch(self) -> None:
        super()._finalize_batch()
        for n, node in enumerate(self._xml.iter("PmtInfId"), start=1):
            node.text = f"{self.msg_id}-{n}"


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def build_pain008(debits: Sequence[Debit], creditor: Creditor, version: str,
                  message_id: str, created_at: datetime) -> bytes:
    """The pain.008 file as bytes, validated against the official XSD of the version."""
    if version not in VERSIONS:
        raise SepaFileError(f"onbekende pain.008-versie / unknown pain.008 version {version!r} "
                            f"(kies uit/choose from {', '.join(VERSIONS)})")
    if not debits:
        raise SepaFileError("geen incasso's voor dit bestand / no collections for this file")
    schema = f"pain.008.{version}"
    config: dict[str, Any] = {"name": creditor.name, "IBAN": creditor.iban, "batch": True,
                              "creditor_id": creditor.creditor_id, "currency": "EUR"}
    if creditor.bic:
        config["BIC"] = creditor.bic
    elif version == "001.02":
        raise SepaFileError("pain.008.001.02 heeft de BIC van de incassant nodig: zet "
                            "VROEG_CREDITOR_BIC / pain.008.001.02 needs the creditor's BIC: "
                            "set VROEG_CREDITOR_BIC")
    sepa = _DeterministicDD(config, schema, message_id, created_at)
    ordered = sorted(debits, key=lambda d: (d.sequence_type, d.collect_on, d.end_to_end_id))
    for d in ordered:
        payment: dict[str, Any] = {
            "name": d.debtor_name, "IBAN": d.debtor_iban, "amount": _cents(d.amount),
            "type": d.sequence_type, "collection_date": d.collect_on,
            "mandate_id": d.mandate_reference, "mandate_date": d.signed_on,
            "description": d.remittance, "endtoend_id": d.end_to_end_id,
        }
        if d.debtor_bic:
            payment["BIC"] = d.debtor_bic
        try:
            sepa.add_payment(payment)
        except Exception as exc:  # sepaxml raises bare Exceptions for bad payments
            raise SepaFileError(f"incasso voor {d.tenancy_code} ({d.end_to_end_id}) "
                                f"geweigerd door sepaxml / refused by sepaxml: "
                                f"{type(exc).__name__}") from None
    try:
        return bytes(sepa.export(validate=True))
    except SepaValidationError as exc:
        path = getattr(exc.__cause__, "path", None) or "?"
        raise SepaFileError(f"{schema}: het bestand voldoet niet aan het XSD bij {path}; "
                            f"niets geschreven / the file does not satisfy the XSD at "
                            f"{path}; nothing written") from None


__all__ = ["Creditor", "Debit", "SepaFileError", "build_pain008", "creditor_from_settings",
           "debtor_bic"]
