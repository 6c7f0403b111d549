"""ISO 20022 XML: camt.052/053/054 account reports and pain.002 status reports.

Namespace-agnostic: every version (001.02, .04, .08, ...) is read by local element
names with the same paths; where versions differ (amounts on a transaction,
``Dbtr/Nm`` versus ``Dbtr/Pty/Nm``, ``Sts`` versus ``Sts/Cd``) both spellings are
tried. The exact version is reported in ``ParsedFile.format``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from lxml import etree

from vroeg.domain.bank.detect import XmlMessage, element_path
from vroeg.domain.bank.model import BankEntry, BankFileError, ParsedFile, Statement
from vroeg.domain.bank.mt940 import IBAN_SHAPE, NOT_PROVIDED, Details, parse_structured

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_AMOUNT = re.compile(r"\d+(\.\d+)?")
_CONTAINERS = {"camt.052": "Rpt", "camt.053": "Stmt", "camt.054": "Ntfctn"}
_OPENING = ("OPBD", "PRCD")
_CLOSING = ("CLBD",)
# Bank transaction sub-families that undo an earlier booking.
_RETURN_CODES = {"UPDD", "RRTN", "PRDD", "RPCR"}


class _Node:
    """An element with its descendants indexed by local-name path ('Refs/EndToEndId').

    Namespace-agnostic by construction (only local names count), and fast: one walk
    per element instead of one ElementPath search per field. Elements named in
    `stop` are indexed but not walked into: an entry does not index the insides of
    its transactions (each gets its own node), a statement never holds its entries.
    """

    __slots__ = ("el", "_index")

    def __init__(self, el: etree._Element, stop: frozenset[str] = frozenset()) -> None:
        self.el = el
        index: dict[str, list[etree._Element]] = {}
        todo = [(el, "")]
        while todo:
            parent, prefix = todo.pop()
            for child in parent:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                name = tag[tag.rfind("}") + 1:]
                path = prefix + name
                found = index.get(path)
                if found is None:
                    index[path] = [child]
                else:
                    found.append(child)
                if name not in stop:
                    todo.append((child, path + "/"))
        self._index = index

    def nodes(self, path: str, stop: frozenset[str] = frozenset()) -> list[_Node]:
        return [_Node(e, stop) for e in self._index.get(path, ())]

    def find(self, path: str) -> etree._Element | None:
        found = self._index.get(path)
        return found[0] if found else None

    def findall(self, path: str) -> list[etree._Element]:
        return self._index.get(path, [])

    def text(self, *paths: str) -> str:
        """The first non-empty text among `paths`, whitespace collapsed."""
        for path in paths:
            for found in self._index.get(path, ()):
                t = found.text
                if t and not t.isspace():
                    return " ".join(t.split())
        return ""

    def texts(self, path: str) -> list[str]:
        return [" ".join(t.split()) for e in self._index.get(path, ())
                if (t := e.text) and not t.isspace()]


_NO_ENTRIES = frozenset({"Ntry"})
_NO_TRANSACTIONS = frozenset({"TxDtls"})


def _money(el: etree._Element) -> tuple[Decimal, str]:
    raw = (el.text or "").strip()
    if not _AMOUNT.fullmatch(raw):
        raise BankFileError(f"Ongeldig bedrag / invalid amount: {raw!r}", element_path(el))
    try:
        amount = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern already guards this
        raise BankFileError(f"Ongeldig bedrag / invalid amount: {raw!r}",
                            element_path(el)) from None
    cents = amount.quantize(Decimal("0.01"))
    return (cents if cents == amount else amount), (el.get("Ccy") or "").strip().upper()


def _sign(node: _Node, *, required: bool) -> int:
    ind = node.text("CdtDbtInd")
    if ind == "CRDT":
        return 1
    if ind == "DBIT":
        return -1
    if not ind and not required:
        return 0
    raise BankFileError(f"CdtDbtInd moet CRDT of DBIT zijn / must be CRDT or DBIT: {ind!r}",
                        element_path(node.el))


def _date_of(node: _Node, path: str) -> date | None:
    """A date element (Dt or DtTm); a time with a zone becomes the Amsterdam date."""
    d = node.text(f"{path}/Dt")
    if d:
        try:
            return date.fromisoformat(d[:10])
        except ValueError:
            raise BankFileError(f"Ongeldige datum / invalid date: {d!r}",
                                element_path(node.findall(f"{path}/Dt")[0])) from None
    dt = node.text(f"{path}/DtTm")
    return _datetime_date(dt, node.findall(f"{path}/DtTm")[0]) if dt else None


def _datetime_date(raw: str, where: etree._Element) -> date:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BankFileError(f"Ongeldige datum-tijd / invalid date-time: {raw!r}",
                            element_path(where)) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_AMSTERDAM)
    return moment.date()


def _bank_code(node: _Node) -> str:
    domain = node.text("BkTxCd/Domn/Cd")
    if domain:
        return "-".join(p for p in (domain, node.text("BkTxCd/Domn/Fmly/Cd"),
                                    node.text("BkTxCd/Domn/Fmly/SubFmlyCd")) if p)
    return node.text("BkTxCd/Prtry/Cd")


def _e2e(value: str) -> str:
    return "" if value.upper() == NOT_PROVIDED else value


@dataclass(frozen=True)
class _Party:
    name: str = ""
    iban: str = ""
    bic: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.iban)


def _party(node: _Node, side: str, pties: str = "RltdPties/",
           agts: str = "RltdAgts/") -> _Party:
    """Dbtr or Cdtr with account and agent; versions 001.08+ wrap the name in Pty."""
    name = node.text(f"{pties}{side}/Nm", f"{pties}{side}/Pty/Nm",
                     f"{pties}Ultmt{side}/Nm", f"{pties}Ultmt{side}/Pty/Nm")
    iban = node.text(f"{pties}{side}Acct/Id/IBAN").replace(" ", "").upper()
    bic = node.text(f"{agts}{side}Agt/FinInstnId/BIC", f"{agts}{side}Agt/FinInstnId/BICFI")
    return _Party(name, iban if IBAN_SHAPE.fullmatch(iban) else "", bic.upper())


def _counterparty(debtor: _Party, creditor: _Party, *, credit: bool, undone: bool,
                  own: str) -> _Party:
    """The party on the other side of our account.

    For a credit that is the debtor, for a debit the creditor; a return or reversal
    undoes the original booking, so the roles of the original apply (a returned rent
    collection: the tenant, the original debtor). Banks disagree on how they fill a
    return (ABN AMRO puts the tenant under Cdtr), so the party holding our own account
    is never chosen, and an empty side falls back to the other one.
    """
    expected, other = (debtor, creditor) if credit != undone else (creditor, debtor)
    if own and expected.iban == own and other:
        return other
    if own and other.iban == own:
        return expected
    return expected if expected else other


def _details_from_text(text: str) -> Details:
    """ABN AMRO repeats its MT940 :86: layout in AddtlNtryInf; read it when structured."""
    if text.lstrip().startswith("/"):
        return parse_structured(text)
    return Details(remittance=text)


@dataclass(frozen=True)
class _EntryBase:
    currency: str
    booked_on: date
    value_on: date | None
    reversal: bool
    bank_reference: str
    bank_code: str


class _StatementReader:
    def __init__(self, stmt: etree._Element, warnings: list[str]) -> None:
        self.node = node = _Node(stmt, _NO_ENTRIES)
        self.warnings = warnings
        self.account = (node.text("Acct/Id/IBAN") or node.text("Acct/Id/Othr/Id"))
        self.account = self.account.replace(" ", "").upper()
        self.statement_id = node.text("Id")
        created = node.text("FrToDt/ToDtTm", "CreDtTm")
        self.fallback_on = _datetime_date(created, stmt) if created else None

    def read(self) -> Statement:
        node, stmt = self.node, self.node.el
        if not self.account:
            raise BankFileError("Geen rekening (Acct/Id) / no account (Acct/Id)",
                                element_path(stmt))
        opening = closing = None
        opening_on = closing_on = None
        opening_code = ""
        currencies: set[str] = set()
        for bal in node.nodes("Bal"):
            bal_el = bal.el
            code = bal.text("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
            if code not in _OPENING + _CLOSING:
                continue
            amt = bal.find("Amt")
            if amt is None:
                raise BankFileError("Saldo zonder bedrag / balance without Amt",
                                    element_path(bal_el))
            value, ccy = _money(amt)
            value *= _sign(bal, required=bool(value)) or 1
            on = _date_of(bal, "Dt")
            currencies.add(ccy)
            if code in _OPENING and (opening is None or code == "OPBD" and opening_code != "OPBD"):
                opening, opening_on, opening_code = value, on, code
            elif code in _CLOSING and closing is None:
                closing, closing_on = value, on
        entries: list[BankEntry] = []
        for ntry in node.findall("Ntry"):
            # One entry at a time, let go when read: a statement can hold 100,000.
            entries.extend(self._entries(_Node(ntry, _NO_TRANSACTIONS)))
        currency = (node.text("Acct/Ccy").upper()
                    or next(iter(sorted(currencies)), "")
                    or (entries[0].currency if entries else ""))
        odd = sorted(c for c in currencies if c and c != currency)
        if odd:
            self.warnings.append(
                f"Saldo in andere valuta / balance in another currency ({', '.join(odd)}) "
                f"dan het afschrift / than the statement ({currency}): {element_path(stmt)}")
        return Statement(account_iban=self.account, currency=currency, opening_balance=opening,
                         closing_balance=closing, opening_on=opening_on, closing_on=closing_on,
                         statement_id=self.statement_id[:80], entries=tuple(entries))

    def _entries(self, ntry: _Node) -> list[BankEntry]:
        amt = ntry.find("Amt")
        if amt is None:
            raise BankFileError("Boeking zonder bedrag / entry without Amt", element_path(ntry.el))
        amount, currency = _money(amt)
        sign = _sign(ntry, required=True)
        status = ntry.text("Sts", "Sts/Cd", "Sts/Prtry").upper()
        if status and status != "BOOK":
            self.warnings.append(f"Niet-geboekte post overgeslagen / entry not booked ({status}) "
                                 f"left out: {element_path(ntry.el)}")
            return []
        booked_on = _date_of(ntry, "BookgDt") or _date_of(ntry, "ValDt") or self.fallback_on
        if booked_on is None:
            raise BankFileError("Boeking zonder datum / entry without BookgDt",
                                element_path(ntry.el))
        base = _EntryBase(
            currency=currency, booked_on=booked_on, value_on=_date_of(ntry, "ValDt"),
            reversal=ntry.text("RvslInd").lower() in ("true", "1"),
            bank_reference=ntry.text("AcctSvcrRef", "NtryRef"), bank_code=_bank_code(ntry))
        txs = ntry.nodes("NtryDtls/TxDtls")
        addtl = ntry.text("AddtlNtryInf")
        if len(txs) > 1:
            parts = self._split(txs, amount * sign, currency)
            if parts is not None:
                return [self._from_tx(base, tx, part, fallback=None, batch=True)
                        for tx, part in zip(txs, parts, strict=True)]
            self.warnings.append(
                f"Verzamelboeking niet gesplitst / batch entry not split ({len(txs)} posten / "
                f"transactions; bedragen ontbreken of kloppen niet / amounts missing or not "
                f"adding up): {element_path(ntry.el)}")
            txs = []
        return [self._from_tx(base, txs[0] if txs else None, amount * sign,
                              fallback=_details_from_text(addtl) if addtl else None, batch=False)]

    @staticmethod
    def _tx_amount(tx: _Node, currency: str) -> Decimal | None:
        for path in ("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"):
            el = tx.find(path)
            if el is not None:
                value, ccy = _money(el)
                if ccy and ccy != currency:
                    continue
                return value
        return None

    def _split(self, txs: list[_Node], total: Decimal, currency: str) -> list[Decimal] | None:
        """Per-transaction signed amounts when they account for the whole entry."""
        entry_sign = 1 if total >= 0 else -1
        parts = []
        for tx in txs:
            value = self._tx_amount(tx, currency)
            if value is None:
                return None
            parts.append(value * (_sign(tx, required=False) or entry_sign))
        return parts if sum(parts, Decimal(0)) == total else None

    def _from_tx(self, base: _EntryBase, tx: _Node | None, amount: Decimal, *,
                 fallback: Details | None, batch: bool) -> BankEntry:
        d = fallback or Details()
        name, iban, bic = d.name, d.iban, d.bic
        e2e, mandate, return_reason = d.end_to_end_id, d.mandate_id, d.return_reason
        remittance, creditor_ref = d.remittance, d.creditor_reference
        bank_ref, code = base.bank_reference, base.bank_code
        if tx is not None:
            return_reason = (tx.text("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")[:4].upper()
                             or return_reason)
            undone = base.reversal or bool(return_reason) or any(
                part in _RETURN_CODES for part in base.bank_code.split("-"))
            cp = _counterparty(_party(tx, "Dbtr"), _party(tx, "Cdtr"),
                               credit=amount >= 0, undone=undone, own=self.account)
            name, iban, bic = cp.name or name, cp.iban or iban, cp.bic or bic
            e2e = _e2e(tx.text("Refs/EndToEndId")) or e2e
            mandate = tx.text("Refs/MndtId") or mandate
            refs = [r.replace(" ", "") for r in tx.texts("RmtInf/Strd/CdtrRefInf/Ref")]
            creditor_ref = next((r for r in refs if r), creditor_ref)
            ustrd = " ".join(tx.texts("RmtInf/Ustrd"))
            remittance = (ustrd or " ".join(tx.texts("RmtInf/Strd/AddtlRmtInf"))
                          or ("" if creditor_ref else tx.text("AddtlTxInf"))
                          or remittance)
            if batch:
                bank_ref = tx.text("Refs/AcctSvcrRef") or bank_ref
            tx_code = _bank_code(tx)
            code = tx_code if tx_code and (batch or not code) else code
        reversal = base.reversal or bool(return_reason)
        return BankEntry(
            amount=amount, currency=base.currency, booked_on=base.booked_on,
            value_on=base.value_on, counterparty_name=name, counterparty_iban=iban,
            counterparty_bic=bic, remittance=remittance, creditor_reference=creditor_ref,
            end_to_end_id=e2e, mandate_id=mandate, bank_reference=bank_ref, reversal=reversal,
            return_reason=return_reason, bank_code=code)


def parse_camt(msg: XmlMessage) -> ParsedFile:
    """camt.052 (account report), camt.053 (statement), camt.054 (notification)."""
    container = _CONTAINERS[msg.message]
    stmts = _Node(msg.body, frozenset({container})).findall(container)
    if not stmts:
        raise BankFileError(f"Geen <{container}> in het bericht / no <{container}> element",
                            element_path(msg.body))
    warnings: list[str] = []
    statements = tuple(_StatementReader(s, warnings).read() for s in stmts)
    return ParsedFile(format=msg.format, statements=statements,
                      is_statement=msg.message != "camt.054", warnings=tuple(warnings))


def parse_pain002(msg: XmlMessage) -> ParsedFile:
    """pain.002 payment status report: every rejected transaction becomes an entry.

    A rejected rent collection (pain.008) is a debit that undoes the collection it
    reports; a rejected payment of ours (pain.001) a credit. The report date is the
    booking date, the requested collection/execution date the value date. Nothing
    here is a booking on the account: ``is_statement`` is False.
    """
    body = _Node(msg.body, frozenset({"OrgnlPmtInfAndSts"}))
    group_el = body.find("OrgnlGrpInfAndSts")
    if group_el is None:
        raise BankFileError("Geen OrgnlGrpInfAndSts / no OrgnlGrpInfAndSts element",
                            element_path(msg.body))
    group = body.nodes("OrgnlGrpInfAndSts")[0]
    created = body.text("GrpHdr/CreDtTm")
    if not created:
        raise BankFileError("Geen GrpHdr/CreDtTm / no report date", element_path(msg.body))
    reported_on = _datetime_date(created, msg.body)
    original = group.text("OrgnlMsgNmId").lower()
    warnings: list[str] = []
    infos = body.nodes("OrgnlPmtInfAndSts", frozenset({"TxInfAndSts"}))
    if group.text("GrpSts") == "RJCT" and not any(i.findall("TxInfAndSts") for i in infos):
        reason = group.text("StsRsnInf/Rsn/Cd", "StsRsnInf/Rsn/Prtry")
        warnings.append(f"Hele opdracht geweigerd / whole message rejected ({reason or '?'}) "
                        f"zonder posten / without transaction details: {element_path(group_el)}")
    by_account: dict[tuple[str, str], list[BankEntry]] = defaultdict(list)
    for info in infos:
        if info.text("PmtInfSts") == "RJCT" and not info.findall("TxInfAndSts"):
            warnings.append(f"Betaalbatch geweigerd / payment batch rejected zonder posten / "
                            f"without transaction details: {element_path(info.el)}")
        for tx in info.nodes("TxInfAndSts"):
            if tx.text("TxSts") != "RJCT":
                continue
            entry, account = _pain_entry(tx, original, reported_on, warnings)
            if entry is not None:
                by_account[(account, entry.currency)].append(entry)
    statements = tuple(
        Statement(account_iban=account, currency=ccy, opening_balance=None,
                  closing_balance=None, statement_id=body.text("GrpHdr/MsgId")[:80],
                  entries=tuple(entries))
        for (account, ccy), entries in by_account.items())
    return ParsedFile(format=msg.format, statements=statements, is_statement=False,
                      warnings=tuple(warnings))


def _pain_entry(tx: _Node, original: str, reported_on: date,
                warnings: list[str]) -> tuple[BankEntry | None, str]:
    amt = tx.find("OrgnlTxRef/Amt/InstdAmt")
    if amt is None:
        amt = tx.find("OrgnlTxRef/Amt/EqvtAmt/Amt")
    if amt is None:
        warnings.append(f"Geweigerde post zonder bedrag / rejected transaction without amount: "
                        f"{element_path(tx.el)}")
        return None, ""
    value, ccy = _money(amt)
    ref = "OrgnlTxRef/"
    collection = (original.startswith("pain.008") or tx.find(f"{ref}MndtRltdInf") is not None
                  or bool(tx.text(f"{ref}ReqdColltnDt")))
    # Our side: the creditor of a collection, the debtor of a transfer.
    ours, theirs = ("Cdtr", "Dbtr") if collection else ("Dbtr", "Cdtr")
    account = tx.text(f"{ref}{ours}Acct/Id/IBAN", f"{ref}{ours}Acct/Id/Othr/Id")
    cp = _party(tx, theirs, pties=ref, agts=ref)
    refs = [r.replace(" ", "") for r in tx.texts(f"{ref}RmtInf/Strd/CdtrRefInf/Ref")]
    value_on = None
    requested = tx.text(f"{ref}ReqdColltnDt", f"{ref}ReqdExctnDt/Dt", f"{ref}ReqdExctnDt")
    if requested:
        try:
            value_on = date.fromisoformat(requested[:10])
        except ValueError:
            raise BankFileError(f"Ongeldige datum / invalid date: {requested!r}",
                                element_path(tx.el)) from None
    entry = BankEntry(
        amount=-value if collection else value, currency=ccy, booked_on=reported_on,
        value_on=value_on, counterparty_name=cp.name, counterparty_iban=cp.iban,
        counterparty_bic=cp.bic, remittance=" ".join(tx.texts(f"{ref}RmtInf/Ustrd")),
        creditor_reference=next((r for r in refs if r), ""),
        end_to_end_id=_e2e(tx.text("OrgnlEndToEndId")),
        mandate_id=tx.text(f"{ref}MndtRltdInf/MndtId"),
        bank_reference=tx.text("StsId", "OrgnlInstrId", "OrgnlTxId"),
        reversal=True,
        return_reason=tx.text("StsRsnInf/Rsn/Cd", "StsRsnInf/Rsn/Prtry")[:4].upper(),
        bank_code="pain.008-RJCT" if collection else "pain.001-RJCT")
    return entry, account.replace(" ", "").upper()
