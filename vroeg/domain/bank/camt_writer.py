"""Writing ISO 20022 camt.053 bank statements (pure: data in, bytes out).

The demo corporation and the benchmark generator use this to produce the files a
bank would deliver; tests use it to build inputs for the parsers. Versions
001.02 (the one Dutch banks deliver most), 001.04 and 001.08 are supported; the
output is valid against the official XSDs (tested against realdata/camt/assets).

Mapping from :class:`BankEntry` (amount: credit positive, debit negative):

- ``Amt`` + ``CdtDbtInd`` from the sign; ``RvslInd`` true when ``reversal``.
- ``BookgDt``, ``ValDt`` (when ``value_on`` is known), ``AcctSvcrRef`` from
  ``bank_reference``.
- ``BkTxCd``, seen from our account: a received credit transfer (PMNT/RCDT/ESCT), a
  direct debit we collected (a credit with a mandate: PMNT/IDDT/ESDD), one of those
  returned or refunded (a debit with a return reason: PMNT/IDDT/UPDD), a direct debit
  collected from us (PMNT/RDDT/ESDD), a transfer we made (PMNT/ICDT/ESCT).
- ``TxDtls/Refs``: ``EndToEndId`` and ``MndtId``.
- ``RltdPties``: the counterparty is the debtor (``Dbtr``/``DbtrAcct``) of a credit
  and the creditor (``Cdtr``/``CdtrAcct``) of a debit; a return or reversal undoes an
  original booking and keeps its roles (a returned rent collection, a debit, still
  names the tenant as the debtor).
- ``RmtInf``: ``Ustrd`` from ``remittance``, ``Strd/CdtrRefInf`` from
  ``creditor_reference`` (type SCOR; issuer CUR for a Dutch betalingskenmerk, ISO for
  an RF creditor reference).
- ``RtrInf/Rsn/Cd`` from ``return_reason``.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO, NamedTuple, cast

from lxml import etree

from vroeg.domain.bank.model import BankEntry, Statement

SUPPORTED_VERSIONS = ("001.02", "001.04", "001.08")
_CENT = Decimal("0.01")


class _Shape(NamedTuple):
    """Which elements an entry has and its constant codes; entries of one shape differ
    only in their texts."""

    currency: str
    credit: bool
    reversal: bool
    family: str
    sub_family: str
    has_value_date: bool
    has_bank_ref: bool
    has_e2e: bool
    has_mandate: bool
    has_name: bool
    has_iban: bool
    has_bic: bool
    has_ustrd: bool
    issuer: str  # "" when there is no structured reference
    has_return: bool


class CamtWriteError(ValueError):
    """Statements that cannot be written as a valid camt.053 file."""


def _amount(value: Decimal) -> str:
    return str(abs(value).quantize(_CENT))


_NOT_XML = dict.fromkeys([*range(0x20), 0xFFFE, 0xFFFF], " ")


def _text(value: str, limit: int) -> str:
    """Collapse whitespace, drop characters XML cannot carry, cut to the schema's length."""
    return " ".join(value.translate(_NOT_XML).split())[:limit]


def _iso_datetime(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _family(entry: BankEntry) -> tuple[str, str]:
    """ISO bank transaction code family and sub-family, seen from our account."""
    if entry.amount >= 0:
        # a collection we issued (IDDT), or a transfer we received (RCDT)
        return ("IDDT", "ESDD") if entry.mandate_id else ("RCDT", "ESCT")
    if entry.return_reason:
        return ("IDDT", "UPDD")  # our collection, returned or refunded
    # a direct debit someone collected from us (RDDT), or a transfer we made (ICDT)
    return ("RDDT", "ESDD") if entry.mandate_id else ("ICDT", "ESCT")


def _check_statement(stmt: Statement, index: int) -> tuple[Decimal, Decimal, date, date]:
    where = f"statement {index + 1} ({stmt.statement_id or 'no id'})"
    if stmt.opening_balance is None or stmt.closing_balance is None:
        raise CamtWriteError(f"{where}: opening and closing balance are required")
    total = sum((e.amount for e in stmt.entries), Decimal("0"))
    if stmt.opening_balance + total != stmt.closing_balance:
        raise CamtWriteError(
            f"{where}: opening {stmt.opening_balance} + entries {total} "
            f"!= closing {stmt.closing_balance}")
    for amount, what in ((stmt.opening_balance, "opening balance"),
                         (stmt.closing_balance, "closing balance")):
        if amount != amount.quantize(_CENT):
            raise CamtWriteError(f"{where}: {what} {amount} is not in whole cents")
    for n, e in enumerate(stmt.entries, 1):
        if e.amount != e.amount.quantize(_CENT):
            raise CamtWriteError(f"{where}, entry {n}: amount {e.amount} is not in whole cents")
        if e.currency != stmt.currency:
            raise CamtWriteError(f"{where}, entry {n}: currency {e.currency} "
                                 f"differs from the statement's {stmt.currency}")
    booked = [e.booked_on for e in stmt.entries]
    opening_on = stmt.opening_on or (min(booked) if booked else None)
    closing_on = stmt.closing_on or (max(booked) if booked else opening_on)
    if opening_on is None or closing_on is None:
        raise CamtWriteError(f"{where}: balance dates are required for a statement "
                             "without entries")
    return stmt.opening_balance, stmt.closing_balance, opening_on, closing_on


class _Writer:
    def __init__(self, version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise CamtWriteError(f"camt.053 version {version!r} is not supported "
                                 f"(supported: {', '.join(SUPPORTED_VERSIONS)})")
        self.version = version
        self.ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.{version}"
        self.v2 = version == "001.02"
        self.v8 = version == "001.08"
        self.bic_tag = "BIC" if self.v2 else "BICFI"
        self.q = f"{{{self.ns}}}"
        self.templates: dict[_Shape, tuple[etree._Element, list[int]]] = {}

    def el(self, parent: etree._Element, tag: str, text: str | None = None,
           **attrib: str) -> etree._Element:
        node = etree.SubElement(parent, self.q + tag, attrib)
        if text is not None:
            node.text = text
        return node

    def date_choice(self, parent: etree._Element, tag: str, day: date) -> None:
        self.el(self.el(parent, tag), "Dt", day.isoformat())

    def balance(self, parent: etree._Element, code: str, amount: Decimal, currency: str,
                day: date) -> None:
        bal = self.el(parent, "Bal")
        self.el(self.el(self.el(bal, "Tp"), "CdOrPrtry"), "Cd", code)
        self.el(bal, "Amt", _amount(amount), Ccy=currency)
        self.el(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
        self.date_choice(bal, "Dt", day)

    # An entry is rendered from its shape (which elements exist, and the constant
    # codes) and its values (the variable texts, in document order). Entries of the
    # same shape are copies of one template with the texts filled in: the same
    # output as rendering each one, several times faster for files of many entries.

    def plan(self, e: BankEntry) -> tuple[_Shape, list[str]]:
        credit = e.amount >= 0
        amount = _amount(e.amount)
        bank_ref = _text(e.bank_reference, 35)
        e2e = _text(e.end_to_end_id, 35)
        mandate = _text(e.mandate_id, 35)
        name = _text(e.counterparty_name, 140)
        iban = e.counterparty_iban.replace(" ", "").upper()
        bic = _text(e.counterparty_bic, 11).upper()
        ustrd = _text(e.remittance, 140)
        ref = _text(e.creditor_reference, 70).replace(" ", "")[:35]
        reason = _text(e.return_reason, 4)
        issuer = ("ISO" if ref[:2].upper() == "RF" else "CUR") if ref else ""
        values = [amount, e.booked_on.isoformat()]
        if e.value_on:
            values.append(e.value_on.isoformat())
        # in document order; an element whose text is empty is left out
        values += [v for v in (bank_ref, e2e, mandate) if v]
        if not self.v2:
            values.append(amount)
        values += [v for v in (name, iban, bic, ustrd, ref, reason) if v]
        shape = _Shape(e.currency, credit, e.reversal, *_family(e), bool(e.value_on),
                       bool(bank_ref), bool(e2e), bool(mandate), bool(name), bool(iban),
                       bool(bic), bool(ustrd), issuer, bool(reason))
        return shape, values

    def render(self, parent: etree._Element, shape: _Shape,
               values: list[str]) -> tuple[etree._Element, list[etree._Element]]:
        """Build one Ntry; return it and the elements holding `values`, in order."""
        (currency, credit, reversal, family, sub, has_valdt, has_acct_ref, has_e2e, has_mndt,
         has_name, has_iban, has_bic, has_ustrd, issuer, has_rtr) = shape
        el = self.el
        it = iter(values)
        slots: list[etree._Element] = []

        def var(node_parent: etree._Element, tag: str, **attrib: str) -> etree._Element:
            node = el(node_parent, tag, next(it), **attrib)
            slots.append(node)
            return node

        cdt_dbt = "CRDT" if credit else "DBIT"
        ntry = el(parent, "Ntry")
        var(ntry, "Amt", Ccy=currency)
        el(ntry, "CdtDbtInd", cdt_dbt)
        if reversal:
            el(ntry, "RvslInd", "true")
        if self.v8:
            el(el(ntry, "Sts"), "Cd", "BOOK")
        else:
            el(ntry, "Sts", "BOOK")
        var(el(ntry, "BookgDt"), "Dt")
        if has_valdt:
            var(el(ntry, "ValDt"), "Dt")
        if has_acct_ref:
            var(ntry, "AcctSvcrRef")
        domn = el(el(ntry, "BkTxCd"), "Domn")
        el(domn, "Cd", "PMNT")
        fmly = el(domn, "Fmly")
        el(fmly, "Cd", family)
        el(fmly, "SubFmlyCd", sub)

        tx = el(el(ntry, "NtryDtls"), "TxDtls")
        if has_e2e or has_mndt:
            refs = el(tx, "Refs")
            if has_e2e:
                var(refs, "EndToEndId")
            if has_mndt:
                var(refs, "MndtId")
        if not self.v2:  # 001.04 requires the transaction amount; 001.08 allows it
            var(tx, "Amt", Ccy=currency)
            el(tx, "CdtDbtInd", cdt_dbt)
        # A return or reversal undoes an original booking: the original's roles apply
        # (a returned rent collection keeps the tenant as the debtor).
        debtor_side = credit != bool(reversal or has_rtr)
        if has_name or has_iban:
            pties = el(tx, "RltdPties")
            if has_name:
                party = el(pties, "Dbtr" if debtor_side else "Cdtr")
                if self.v8:  # Party40Choice
                    party = el(party, "Pty")
                var(party, "Nm")
            if has_iban:
                acct = el(pties, "DbtrAcct" if debtor_side else "CdtrAcct")
                var(el(acct, "Id"), "IBAN")
        if has_bic:
            agt = el(el(tx, "RltdAgts"), "DbtrAgt" if debtor_side else "CdtrAgt")
            var(el(agt, "FinInstnId"), self.bic_tag)
        if has_ustrd or issuer:
            rmt = el(tx, "RmtInf")
            if has_ustrd:
                var(rmt, "Ustrd")
            if issuer:
                cri = el(el(rmt, "Strd"), "CdtrRefInf")
                tp = el(cri, "Tp")
                el(el(tp, "CdOrPrtry"), "Cd", "SCOR")
                el(tp, "Issr", issuer)
                var(cri, "Ref")
        if has_rtr:
            var(el(el(tx, "RtrInf"), "Rsn"), "Cd")
        return ntry, slots

    def filled(self, e: BankEntry) -> etree._Element:
        """A new Ntry for `e`: a copy of its shape's template with the texts set."""
        shape, values = self.plan(e)
        template = self.templates.get(shape)
        if template is None:
            holder = etree.Element(self.q + "Stmt", nsmap={None: self.ns})
            ntry, slots = self.render(holder, shape, values)
            nodes = list(ntry.iter())
            template = self.templates[shape] = (ntry, [nodes.index(n) for n in slots])
        ntry, positions = template
        node = ntry.__deepcopy__(None)  # lxml: a deep copy, without copy.deepcopy's memo
        nodes = list(node.iter())
        for i, value in zip(positions, values, strict=True):
            nodes[i].text = value
        return node

    def skeleton(self, statements: Sequence[Statement], message_id: str,
                 created_at: datetime, sequence_start: int,
                 ) -> tuple[etree._Element, list[etree._Element]]:
        """The document without entries, and each statement's element."""
        if not message_id or len(message_id) > 35:
            raise CamtWriteError("message_id must be 1 to 35 characters")
        checked = [_check_statement(s, i) for i, s in enumerate(statements)]
        root = etree.Element(self.q + "Document", nsmap={None: self.ns})
        body = self.el(root, "BkToCstmrStmt")
        hdr = self.el(body, "GrpHdr")
        self.el(hdr, "MsgId", message_id)
        created = _iso_datetime(created_at)
        self.el(hdr, "CreDtTm", created)
        stmt_els = []
        for n, (stmt, (opening, closing, opening_on, closing_on)) in enumerate(
                zip(statements, checked, strict=True)):
            s = self.el(body, "Stmt")
            self.el(s, "Id", _text(stmt.statement_id or f"{message_id}-{n + 1}", 35))
            self.el(s, "ElctrncSeqNb", str(sequence_start + n))
            self.el(s, "CreDtTm", created)
            acct = self.el(s, "Acct")
            self.el(self.el(acct, "Id"), "IBAN", stmt.account_iban.replace(" ", "").upper())
            self.el(acct, "Ccy", stmt.currency)
            self.balance(s, "OPBD", opening, stmt.currency, opening_on)
            self.balance(s, "CLBD", closing, stmt.currency, closing_on)
            stmt_els.append(s)
        return root, stmt_els

    def document(self, statements: Sequence[Statement], message_id: str,
                 created_at: datetime, sequence_start: int, pretty: bool) -> bytes:
        """The whole document as one tree, then serialised."""
        root, stmt_els = self.skeleton(statements, message_id, created_at, sequence_start)
        for stmt, s in zip(statements, stmt_els, strict=True):
            for e in stmt.entries:
                s.append(self.filled(e))
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                              pretty_print=pretty)

    def stream(self, out: BinaryIO, statements: Sequence[Statement], message_id: str,
               created_at: datetime, sequence_start: int) -> int:
        """The compact document, entry by entry: the same bytes as :meth:`document`
        without indentation, in memory for one entry at a time instead of the tree."""
        root, stmt_els = self.skeleton(statements, message_id, created_at, sequence_start)
        markers: list[bytes] = []
        for n, s in enumerate(stmt_els):
            label = f"vroeg-entries-{n}"
            s.append(etree.Comment(label))
            markers.append(f"<!--{label}-->".encode("ascii"))
        rest = cast(bytes, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        # A serialised entry carries the namespace declaration its ancestors already
        # have; it stands first, in the Ntry start tag.
        declaration = f' xmlns="{self.ns}"'.encode("ascii")
        written = 0
        for stmt, marker in zip(statements, markers, strict=True):
            head, rest = rest.split(marker, 1)
            written += out.write(head)
            for e in stmt.entries:
                chunk = cast(bytes, etree.tostring(self.filled(e), encoding="UTF-8"))
                written += out.write(chunk.replace(declaration, b"", 1))
        written += out.write(rest)
        return written


def write_camt053(statements: Sequence[Statement], *, message_id: str, created_at: datetime,
                  version: str = "001.02", sequence_start: int = 1,
                  pretty: bool = True) -> bytes:
    """One camt.053 BkToCstmrStmt message holding `statements`, as UTF-8 XML bytes.

    Each statement needs its opening and closing balance, and opening + the sum of
    its entries must equal closing (else :class:`CamtWriteError`); amounts are whole
    cents. Balance dates default to the first/last booking date. `sequence_start`
    numbers the statements' ElctrncSeqNb consecutively. `pretty` indents the XML
    (about twice the size of the compact form, which banks also deliver).
    Deterministic: the same input gives the same bytes.
    """
    if not pretty:
        buf = io.BytesIO()
        write_camt053_to(buf, statements, message_id=message_id, created_at=created_at,
                         version=version, sequence_start=sequence_start)
        return buf.getvalue()
    with _no_cyclic_gc():
        return _Writer(version).document(statements, message_id, created_at, sequence_start,
                                         pretty=True)


def write_camt053_to(out: BinaryIO, statements: Sequence[Statement], *, message_id: str,
                     created_at: datetime, version: str = "001.02",
                     sequence_start: int = 1) -> int:
    """Like :func:`write_camt053` with ``pretty=False``, written to `out` entry by entry
    (for statements of millions of entries); returns the number of bytes written.
    Everything is checked before the first byte is written."""
    with _no_cyclic_gc():
        return _Writer(version).stream(out, statements, message_id, created_at,
                                       sequence_start)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Many small objects, no cycles: the cyclic collector only slows the writer down.
    Restores whatever state the caller had."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
