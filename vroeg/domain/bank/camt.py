"""ISO 20022 XML: camt.052/053/054 account reports and pain.002 status reports.

Namespace-agnostic: every version (001.02, .04, .08, ...) is read by local element
names with the same paths; where versions differ (amounts on a transaction,
``Dbtr/Nm`` versus ``Dbtr/Pty/Nm``, ``Sts`` versus ``Sts/Cd``) both spellings are
tried. The exact version is reported in ``ParsedFile.format``.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from operator import attrgetter
from zoneinfo import ZoneInfo

from lxml import etree

from vroeg.domain.bank.detect import (
    SAFE_OPTIONS,
    SUPPORTED,
    XmlKind,
    XmlMessage,
    element_path,
    identify_xml,
    local,
    wellformed,
)
from vroeg.domain.bank.model import (
    CENT,
    BankEntry,
    BankFileError,
    ParsedFile,
    Statement,
    amount_problem,
)
from vroeg.domain.bank.mt940 import IBAN_SHAPE, NOT_PROVIDED, Details, parse_structured

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_AMOUNT = re.compile(r"\d+(\.\d+)?")
_CONTAINERS = {"camt.052": "Rpt", "camt.053": "Stmt", "camt.054": "Ntfctn"}
_OPENING = ("OPBD", "PRCD")
_CLOSING = ("CLBD",)
# Bank transaction sub-families that undo an earlier booking.
_RETURN_CODES = {"UPDD", "RRTN", "PRDD", "RPCR"}


class _Invalid(Exception):
    """A BankFileError at `el`, named by whoever reads the element (tree or stream)."""

    def __init__(self, detail: str, el: etree._Element) -> None:
        super().__init__(detail)
        self.detail, self.el = detail, el


class _Node:
    """An element with its descendants indexed by local-name path ('Refs/EndToEndId').

    Namespace-agnostic by construction (only local names count), and fast: one walk
    per element instead of one ElementPath search per field. Elements named in
    `stop` are indexed but not walked into: an entry does not index the insides of
    its transactions (each gets its own node), a statement never holds its entries.
    The index holds positions in `els`, so that entries of one shape can share it
    (see `_Shapes`).
    """

    __slots__ = ("el", "_els", "_index")

    def __init__(self, el: etree._Element, els: list[etree._Element],
                 index: dict[str, list[int]]) -> None:
        self.el, self._els, self._index = el, els, index

    @classmethod
    def walk(cls, el: etree._Element, stop: frozenset[str] = frozenset()) -> _Node:
        els: list[etree._Element] = []
        index: dict[str, list[int]] = {}
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
                    index[path] = [len(els)]
                else:
                    found.append(len(els))
                els.append(child)
                if name not in stop:
                    todo.append((child, path + "/"))
        return cls(el, els, index)

    def nodes(self, path: str, stop: frozenset[str] = frozenset()) -> list[_Node]:
        return [_Node.walk(e, stop) for e in self.findall(path)]

    def find(self, path: str) -> etree._Element | None:
        found = self._index.get(path)
        return self._els[found[0]] if found else None

    def findall(self, path: str) -> list[etree._Element]:
        els = self._els
        return [els[i] for i in self._index.get(path, ())]

    def text(self, *paths: str) -> str:
        """The first non-empty text among `paths`, whitespace collapsed."""
        els, index = self._els, self._index
        for path in paths:
            for i in index.get(path, ()):
                t = els[i].text
                if t and not t.isspace():
                    return " ".join(t.split())
        return ""

    def texts(self, path: str) -> list[str]:
        els = self._els
        return [" ".join(t.split()) for i in self._index.get(path, ())
                if (t := els[i].text) and not t.isspace()]


_NO_ENTRIES = frozenset({"Ntry"})
_NO_TRANSACTIONS = frozenset({"TxDtls"})
_TAG = attrgetter("tag")
_Plan = tuple[dict[str, list[int]], tuple[tuple[int, dict[str, list[int]]], ...]]


class _Shapes:
    """Entries as `_Node`s, indexed once per shape instead of once per entry.

    A bank writes its entries alike: the same elements in the same nesting. The
    preorder of an entry's nodes with each node's tag and number of children pins
    that shape down exactly; for each shape the index of the entry (its transactions
    not walked into) and of each transaction is made once, by `_Node.walk`, and kept
    as positions in the preorder. Indexing a 100,000-entry statement this way takes
    a third of the time of walking every entry. At most `limit` shapes are kept.
    """

    def __init__(self, limit: int = 1024) -> None:
        self._plans: dict[tuple[tuple[object, ...], tuple[int, ...]], _Plan] = {}
        self._limit = limit

    def entry(self, ntry: etree._Element) -> tuple[_Node, list[_Node]]:
        """The entry and its transactions (NtryDtls/TxDtls), each a full `_Node`."""
        els = list(ntry.iter())
        key = (tuple(map(_TAG, els)), tuple(map(len, els)))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= self._limit:
                self._plans.clear()
            plan = self._plans[key] = self._plan(ntry, els)
        index, txs = plan
        return _Node(ntry, els, index), [_Node(els[at], els, tx) for at, tx in txs]

    @staticmethod
    def _plan(ntry: etree._Element, els: list[etree._Element]) -> _Plan:
        at = {el: i for i, el in enumerate(els)}

        def positions(node: _Node) -> dict[str, list[int]]:
            return {path: [at[e] for e in node.findall(path)] for path in node._index}

        entry = _Node.walk(ntry, _NO_TRANSACTIONS)
        return positions(entry), tuple((at[tx.el], positions(tx))
                                       for tx in entry.nodes("NtryDtls/TxDtls"))


class _Level:
    """An element above the one being read, numbered among its like-named siblings
    as they stream past: 'Stmt[2]' only once a second Stmt has been seen, so its
    name is made when the error or warning is shown, after the whole file."""

    __slots__ = ("parent", "name", "tag", "number", "siblings")

    def __init__(self, parent: _Level | None, el: etree._Element,
                 siblings: dict[str, int] | None = None) -> None:
        tag = el.tag
        self.parent, self.name, self.tag = parent, tag[tag.rfind("}") + 1:], tag
        self.siblings = {} if siblings is None else siblings
        self.number = self.siblings[tag] = self.siblings.get(tag, 0) + 1

    def path(self) -> str:
        name = self.name + (f"[{self.number}]" if self.siblings[self.tag] > 1 else "")
        return name if self.parent is None else f"{self.parent.path()}/{name}"


@dataclass(frozen=True)
class _Path:
    """`detect.element_path` of a streamed element, made when shown."""

    level: _Level
    below: str  # the path from `level` down, from the part of the tree still there
    line: int

    def __str__(self) -> str:
        path = self.level.path() + (f"/{self.below}" if self.below else "")
        return f"{path} (regel/line {self.line})"


class _Report:
    """Warnings, and how an element is named in them and in errors: by
    `detect.element_path` when the whole tree is there, by a `_Path` in a stream."""

    def __init__(self, locate: Callable[[etree._Element], str | _Path]) -> None:
        self.locate = locate
        self._warnings: list[tuple[str, str | _Path]] = []

    def warn(self, text: str, el: etree._Element) -> None:
        """Warning `text` followed by where `el` is."""
        self._warnings.append((text, self.locate(el)))

    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{text}{where}" for text, where in self._warnings)

    def error(self, exc: _Invalid) -> BankFileError:
        return BankFileError(exc.detail, str(self.locate(exc.el)))


def _money(el: etree._Element) -> tuple[Decimal, str]:
    raw = (el.text or "").strip()
    if not _AMOUNT.fullmatch(raw):
        raise _Invalid(f"Ongeldig bedrag / invalid amount: {raw!r}", el)
    try:
        amount = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern already guards this
        raise _Invalid(f"Ongeldig bedrag / invalid amount: {raw!r}", el) from None
    problem = amount_problem(amount, raw)
    if problem:
        raise _Invalid(problem, el)
    return amount.quantize(CENT), (el.get("Ccy") or "").strip().upper()


def _sign(node: _Node, *, required: bool) -> int:
    ind = node.text("CdtDbtInd")
    if ind == "CRDT":
        return 1
    if ind == "DBIT":
        return -1
    if not ind and not required:
        return 0
    raise _Invalid(f"CdtDbtInd moet CRDT of DBIT zijn / must be CRDT or DBIT: {ind!r}", node.el)


def _date_of(node: _Node, path: str) -> date | None:
    """A date element (Dt or DtTm); a time with a zone becomes the Amsterdam date."""
    d = node.text(f"{path}/Dt")
    if d:
        try:
            return date.fromisoformat(d[:10])
        except ValueError:
            raise _Invalid(f"Ongeldige datum / invalid date: {d!r}",
                           node.findall(f"{path}/Dt")[0]) from None
    dt = node.text(f"{path}/DtTm")
    return _datetime_date(dt, node.findall(f"{path}/DtTm")[0]) if dt else None


def _datetime_date(raw: str, where: etree._Element) -> date:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _Invalid(f"Ongeldige datum-tijd / invalid date-time: {raw!r}", where) from None
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


@cache
def _party_paths(side: str, pties: str, agts: str) -> tuple[tuple[str, ...], str,
                                                          tuple[str, ...]]:
    return ((f"{pties}{side}/Nm", f"{pties}{side}/Pty/Nm",
             f"{pties}Ultmt{side}/Nm", f"{pties}Ultmt{side}/Pty/Nm"),
            f"{pties}{side}Acct/Id/IBAN",
            (f"{agts}{side}Agt/FinInstnId/BIC", f"{agts}{side}Agt/FinInstnId/BICFI"))


def _party(node: _Node, side: str, pties: str = "RltdPties/",
           agts: str = "RltdAgts/") -> _Party:
    """Dbtr or Cdtr with account and agent; versions 001.08+ wrap the name in Pty."""
    names, account, agents = _party_paths(side, pties, agts)
    iban = node.text(account).replace(" ", "").upper()
    return _Party(node.text(*names), iban if IBAN_SHAPE.fullmatch(iban) else "",
                  node.text(*agents).upper())


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


@dataclass(frozen=True)
class _Header:
    """What a statement says before its entries (the schema puts them first)."""

    node: _Node
    account: str
    created: str  # FrToDt/ToDtTm or CreDtTm, the booking date of an entry without one

    @classmethod
    def read(cls, stmt: etree._Element) -> _Header:
        node = _Node.walk(stmt, _NO_ENTRIES)
        account = node.text("Acct/Id/IBAN") or node.text("Acct/Id/Othr/Id")
        return cls(node, account.replace(" ", "").upper(), node.text("FrToDt/ToDtTm", "CreDtTm"))


@dataclass(frozen=True)
class _Balances:
    opening: Decimal | None
    closing: Decimal | None
    opening_on: date | None
    closing_on: date | None
    currencies: frozenset[str]


class _StatementReader:
    """One Stmt (Rpt, Ntfctn). `read` takes it whole, in the order errors are told:
    the statement's date and account, balances, entries. A stream calls `entries`
    as each entry arrives and `statement` at the end (`_Stream`)."""

    def __init__(self, header: _Header, report: _Report, shapes: _Shapes) -> None:
        self.node, self.account = header.node, header.account
        self.report, self.shapes = report, shapes
        self.statement_id = self.node.text("Id")
        created = header.created
        self.fallback_on = _datetime_date(created, self.node.el) if created else None

    def read(self) -> Statement:
        self.check_account()
        balances = self.balances()
        entries: list[BankEntry] = []
        for ntry in self.node.findall("Ntry"):
            entries.extend(self.entries(ntry))
        return self.statement(balances, entries)

    def check_account(self) -> None:
        if not self.account:
            raise _Invalid("Geen rekening (Acct/Id) / no account (Acct/Id)", self.node.el)

    def balances(self) -> _Balances:
        opening = closing = None
        opening_on = closing_on = None
        opening_code = ""
        currencies: set[str] = set()
        for bal in self.node.nodes("Bal"):
            code = bal.text("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry")
            if code not in _OPENING + _CLOSING:
                continue
            amt = bal.find("Amt")
            if amt is None:
                raise _Invalid("Saldo zonder bedrag / balance without Amt", bal.el)
            value, ccy = _money(amt)
            value *= _sign(bal, required=bool(value)) or 1
            on = _date_of(bal, "Dt")
            currencies.add(ccy)
            if code in _OPENING and (opening is None or code == "OPBD" and opening_code != "OPBD"):
                opening, opening_on, opening_code = value, on, code
            elif code in _CLOSING and closing is None:
                closing, closing_on = value, on
        return _Balances(opening, closing, opening_on, closing_on, frozenset(currencies))

    def statement(self, balances: _Balances, entries: list[BankEntry]) -> Statement:
        stmt = self.node.el
        currency = (self.node.text("Acct/Ccy").upper()
                    or next(iter(sorted(balances.currencies)), "")
                    or (entries[0].currency if entries else ""))
        odd = sorted(c for c in balances.currencies if c and c != currency)
        if odd:
            self.report.warn(
                f"Saldo in andere valuta / balance in another currency ({', '.join(odd)}) "
                f"dan het afschrift / than the statement ({currency}): ", stmt)
        return Statement(account_iban=self.account, currency=currency,
                         opening_balance=balances.opening, closing_balance=balances.closing,
                         opening_on=balances.opening_on, closing_on=balances.closing_on,
                         statement_id=self.statement_id[:80], entries=tuple(entries),
                         dated_on=self.fallback_on)

    def entries(self, el: etree._Element) -> list[BankEntry]:
        """The bookings of one Ntry: one, or one per transaction of a batch."""
        ntry, txs = self.shapes.entry(el)
        amt = ntry.find("Amt")
        if amt is None:
            raise _Invalid("Boeking zonder bedrag / entry without Amt", el)
        amount, currency = _money(amt)
        sign = _sign(ntry, required=True)
        status = ntry.text("Sts", "Sts/Cd", "Sts/Prtry").upper()
        if status and status != "BOOK":
            self.report.warn(f"Niet-geboekte post overgeslagen / entry not booked ({status}) "
                             f"left out: ", el)
            return []
        booked_on = _date_of(ntry, "BookgDt") or _date_of(ntry, "ValDt") or self.fallback_on
        if booked_on is None:
            raise _Invalid("Boeking zonder datum / entry without BookgDt", el)
        base = _EntryBase(
            currency=currency, booked_on=booked_on, value_on=_date_of(ntry, "ValDt"),
            reversal=ntry.text("RvslInd").lower() in ("true", "1"),
            bank_reference=ntry.text("AcctSvcrRef", "NtryRef"), bank_code=_bank_code(ntry))
        addtl = ntry.text("AddtlNtryInf")
        if len(txs) > 1:
            parts = self._split(txs, amount * sign, currency)
            if parts is not None:
                return [self._from_tx(base, tx, part, fallback=None, batch=True)
                        for tx, part in zip(txs, parts, strict=True)]
            self.report.warn(
                f"Verzamelboeking niet gesplitst / batch entry not split ({len(txs)} posten / "
                f"transactions; bedragen ontbreken of kloppen niet / amounts missing or not "
                f"adding up): ", el)
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
    """camt.052 (account report), camt.053 (statement), camt.054 (notification), the
    whole tree at hand. `stream_camt` gives the same, entry by entry."""
    container = _CONTAINERS[msg.message]
    stmts = _Node.walk(msg.body, frozenset({container})).findall(container)
    if not stmts:
        raise BankFileError(f"Geen <{container}> in het bericht / no <{container}> element",
                            element_path(msg.body))
    report, shapes = _Report(element_path), _Shapes()
    try:
        statements = tuple(_StatementReader(_Header.read(s), report, shapes).read()
                           for s in stmts)
    except _Invalid as exc:
        raise report.error(exc) from None
    return ParsedFile(format=msg.format, statements=statements,
                      is_statement=msg.message != "camt.054", warnings=report.warnings())


STREAMED = frozenset(_CONTAINERS)


class TreeNeeded(Exception):
    """The file must be read whole after all (`parse_camt`), to get its exact verdict:
    an XML error only the tree parser reports (an undeclared namespace prefix), or a
    statement that names its account or date after entries already read."""


def stream_camt(data: bytes, kind: XmlKind) -> ParsedFile:
    """camt.052/053/054 read entry by entry, each let go once read: memory stays flat
    however many entries a statement holds. The same ParsedFile, warnings and errors
    as ``parse_camt(identify_xml(parse_xml(data)))``: malformed XML is refused with
    parse_xml's words even when the fault comes after entries already read, an error
    in an entry names it as element_path does; raises TreeNeeded where it cannot."""
    try:
        return _Stream(kind).read(data)
    except etree.XMLSyntaxError:
        pass
    source = wellformed(data)  # parse_xml's BankFileError when malformed
    if source is data:
        raise TreeNeeded from None
    try:
        return _Stream(kind).read(source)  # Latin-1 without a declaration
    except etree.XMLSyntaxError:
        raise TreeNeeded from None


class _Statement:
    """A Stmt (Rpt, Ntfctn) while it streams past."""

    def __init__(self, el: etree._Element, level: _Level) -> None:
        self.el, self.level = el, level
        self.entry_siblings: dict[str, int] = {}
        self.header: _Header | None = None
        self.reader: _StatementReader | None = None  # None: read whole at its end
        self.buffered = False
        self.entries: list[BankEntry] = []


class _Stream:
    """One pass of lxml's iterparse over a camt document.

    Only the message element, the statements and their entries are reported by the
    parser; each entry is read when its end tag arrives and then removed from the
    tree, each statement when it ends. What a statement says before its entries
    (account, date: `_Header`) is read at its first entry and checked again at its
    end; balances are read at the end, so a bank may give them after the entries.
    A statement without an account at its first entry keeps its entries and is read
    whole at its end, as `parse_camt` reads it. After the first error the rest is
    only counted (so 'Ntry[3]' gets its number right) and checked for XML errors,
    which, as in parse_xml, come first.
    """

    def __init__(self, kind: XmlKind) -> None:
        self.kind = kind
        self.body_name = SUPPORTED[kind.message]
        self.container = _CONTAINERS[kind.message]
        self.report, self.shapes = _Report(self._locate), _Shapes()
        self.anchors: dict[etree._Element, _Level] = {}  # elements whose _Level names them
        self.body: etree._Element | None = None
        self.body_level: _Level | None = None
        self.statement_siblings: dict[str, int] = {}
        self.stmt: _Statement | None = None
        self.statements: list[Statement] = []
        self.failure: tuple[str, _Path | str] | None = None
        self.failed_in: _Statement | None = None

    def read(self, source: bytes) -> ParsedFile:
        names = (self.body_name, self.container, "Ntry")
        events = etree.iterparse(io.BytesIO(source), events=("start", "end"),
                                 tag=[f"{{*}}{n}" for n in names], **SAFE_OPTIONS)
        for event, el in events:
            tag = el.tag
            name = tag[tag.rfind("}") + 1:]
            if event == "start":
                if name == self.container:
                    if self.body is not None and el.getparent() is self.body:
                        self._start_statement(el)
                elif name == self.body_name and self.body is None:
                    root = el.getparent()
                    if root is not None and root.getparent() is None:
                        self._start_body(root, el)
            elif name == "Ntry":
                if self.stmt is not None and el.getparent() is self.stmt.el:
                    self._entry(self.stmt, el)
            elif name == self.container and self.stmt is not None and el is self.stmt.el:
                self._end_statement(self.stmt)
        msg = identify_xml(events.root)  # the root's children, as parse_xml + identify_xml
        if not self.statement_siblings:  # not one statement counted
            raise BankFileError(f"Geen <{self.container}> in het bericht / no <{self.container}> "
                                f"element", element_path(msg.body))
        if self.failure is not None:
            detail, where = self.failure
            raise BankFileError(detail, str(where))
        return ParsedFile(format=self.kind.format, statements=tuple(self.statements),
                          is_statement=self.kind.message != "camt.054",
                          warnings=self.report.warnings())

    def _start_body(self, root: etree._Element, body: etree._Element) -> None:
        root_level = _Level(None, root)
        self.body, self.body_level = body, _Level(root_level, body)
        self.anchors[root], self.anchors[body] = root_level, self.body_level

    def _start_statement(self, el: etree._Element) -> None:
        level = _Level(self.body_level, el, self.statement_siblings)
        self.stmt = _Statement(el, level)
        self.anchors[el] = level

    def _entry(self, stmt: _Statement, el: etree._Element) -> None:
        level = _Level(stmt.level, el, stmt.entry_siblings)
        if self.failure is not None:
            self._let_go(stmt.el, el)  # counted, not read
            return
        if stmt.buffered:
            return
        if stmt.reader is None:  # the first entry: what came before it is all there is
            header = _Header.read(stmt.el)
            try:
                reader = _StatementReader(header, self.report, self.shapes)
            except _Invalid:  # a date that is none: told at the end, in parse_camt's order
                reader = None
            if reader is None or not header.account:
                stmt.buffered = True  # its entries wait for the end of the statement
                return
            stmt.header, stmt.reader = header, reader
        self.anchors[el] = level
        try:
            stmt.entries.extend(stmt.reader.entries(el))
        except _Invalid as exc:
            self._fail(stmt, exc)
        finally:
            del self.anchors[el]
        self._let_go(stmt.el, el)

    def _end_statement(self, stmt: _Statement) -> None:
        self.stmt = None
        try:
            if self.failure is None or self.failed_in is stmt:
                self._finish(stmt)
        except _Invalid as exc:
            # Before any error in its entries: parse_camt reads the balances first.
            self.failure, self.failed_in = (exc.detail, self._locate(exc.el)), stmt
        finally:
            del self.anchors[stmt.el]
        assert self.body is not None
        self._let_go(self.body, stmt.el)

    def _finish(self, stmt: _Statement) -> None:
        """The statement's end: all of it but its streamed entries is in the tree."""
        if stmt.reader is None:  # no entries, or entries kept: read whole
            reader = _StatementReader(_Header.read(stmt.el), self.report, self.shapes)
            self.statements.append(reader.read())
            return
        header = _Header.read(stmt.el)
        assert stmt.header is not None
        if (header.account, header.created) != (stmt.header.account, stmt.header.created):
            raise TreeNeeded  # told after entries that were read without it
        reader = _StatementReader(header, self.report, self.shapes)
        balances = reader.balances()
        if self.failure is None:
            self.statements.append(reader.statement(balances, stmt.entries))

    def _fail(self, stmt: _Statement, exc: _Invalid) -> None:
        if self.failure is None:
            self.failure, self.failed_in = (exc.detail, self._locate(exc.el)), stmt

    @staticmethod
    def _let_go(parent: etree._Element, el: etree._Element) -> None:
        el.clear()
        parent.remove(el)

    def _locate(self, el: etree._Element) -> _Path | str:
        """Where `el` is: the tree below the nearest anchor is complete, above it the
        `_Level`s count what streamed past."""
        below = []
        node = el
        while (level := self.anchors.get(node)) is None:
            parent = node.getparent()
            if parent is None:  # pragma: no cover - every element read is below the root
                return element_path(el)
            name = local(node.tag)
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
            below.append(name)
            node = parent
        return _Path(level, "/".join(reversed(below)), el.sourceline)


def parse_pain002(msg: XmlMessage) -> ParsedFile:
    """pain.002 payment status report: every rejected transaction becomes an entry.

    A rejected rent collection (pain.008) is a debit that undoes the collection it
    reports; a rejected payment of ours (pain.001) a credit. The report date is the
    booking date, the requested collection/execution date the value date. Nothing
    here is a booking on the account: ``is_statement`` is False.
    """
    try:
        return _pain002(msg)
    except _Invalid as exc:
        raise BankFileError(exc.detail, element_path(exc.el)) from None


def _pain002(msg: XmlMessage) -> ParsedFile:
    body = _Node.walk(msg.body, frozenset({"OrgnlPmtInfAndSts"}))
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
