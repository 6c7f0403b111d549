"""camt.052/053/054 read as a stream: the same ParsedFile, warnings and errors as the
whole tree gave, entries let go one by one, and what the stream must cope with that
a tree never noticed (balances after the entries, an account after them, a
statement without entries, an error in an entry followed by an XML error)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from vroeg.domain.bank import camt, detect
from vroeg.domain.bank.camt_writer import write_camt053
from vroeg.domain.bank.model import BankEntry, BankFileError, ParsedFile, Statement
from vroeg.domain.bank.parse import parse_bank_file

D = Decimal
ACCOUNT = "NL91ABNA0417164300"
CREATED = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
Q = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.02}"


def _entry(n: int) -> BankEntry:
    """Entries of a few shapes: with and without reference, mandate, return, value date."""
    kind = n % 5
    amount = D(500 + n % 400) + D(n % 100) / 100
    return BankEntry(
        amount=-amount if kind == 3 else amount, currency="EUR",
        booked_on=date(2026, 11, 1 + n % 28), value_on=None if kind == 4 else date(2026, 11, 2),
        counterparty_name=f"Huurder {n}", counterparty_iban="NL20INGB0001234567",
        remittance="" if kind == 1 else f"Huur november {n}",
        creditor_reference="5000056789012345" if kind in (0, 1) else "",
        end_to_end_id=f"E2E-{n}" if kind != 2 else "",
        mandate_id=f"M-{n}" if kind in (0, 3) else "",
        bank_reference=f"REF-{n}", return_reason="MD06" if kind == 3 else "",
        reversal=kind == 3)


def _statement(first: int, count: int, statement_id: str = "S-1") -> Statement:
    entries = tuple(_entry(n) for n in range(first, first + count))
    opening = D("1000.00")
    return Statement(ACCOUNT, "EUR", opening, opening + sum((e.amount for e in entries), D(0)),
                     opening_on=date(2026, 11, 1), closing_on=date(2026, 11, 30),
                     statement_id=statement_id, entries=entries)


def _camt(*counts: int, pretty: bool = True) -> bytes:
    stmts, first = [], 0
    for n, count in enumerate(counts, 1):
        stmts.append(_statement(first, count, f"S-{n}"))
        first += count
    return write_camt053(stmts, message_id="STREAM", created_at=CREATED, pretty=pretty)


def _facts(s: Statement) -> list[tuple[object, ...]]:
    """What the writer writes and the parser reads back (it adds the bank code)."""
    return [(e.amount, e.booked_on, e.counterparty_name, e.counterparty_iban, e.remittance,
             e.end_to_end_id, e.mandate_id, e.return_reason) for e in s.entries]


def _edit(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _statements(root: etree._Element) -> list[etree._Element]:
    return root.findall(f"{Q}BkToCstmrStmt/{Q}Stmt")


def tree(data: bytes) -> ParsedFile | str:
    """The reading of the whole tree, as before the stream (and still the fallback)."""
    try:
        return camt.parse_camt(detect.identify_xml(detect.parse_xml(data)))
    except BankFileError as exc:
        return str(exc)


def stream(data: bytes) -> ParsedFile | str:
    kind = detect.peek_message(data)
    assert kind is not None and kind.message in camt.STREAMED
    try:
        return camt.stream_camt(data, kind)
    except BankFileError as exc:
        return str(exc)


def assert_same(data: bytes) -> ParsedFile | str:
    streamed, whole = stream(data), tree(data)
    assert streamed == whole
    assert repr(streamed) == repr(whole)  # Decimal('1.0') == Decimal('1.00'): spelling too
    return streamed


# ------------------------------------------------------------------ the same result

@pytest.mark.parametrize("pretty", [True, False])
def test_statements_read_back_the_same_as_the_tree(pretty: bool) -> None:
    data = _camt(7, 0, 12, pretty=pretty)
    parsed = assert_same(data)
    assert isinstance(parsed, ParsedFile)
    assert [len(s.entries) for s in parsed.statements] == [7, 0, 12]
    assert _facts(parsed.statements[2]) == _facts(_statement(7, 12, "S-3"))
    assert parsed.warnings == ()


def test_a_statement_without_entries_keeps_its_balances() -> None:
    parsed = assert_same(_camt(0))
    assert isinstance(parsed, ParsedFile)
    (s,) = parsed.statements
    assert (s.account_iban, s.opening_balance, s.closing_balance, s.entries) == (
        ACCOUNT, D("1000.00"), D("1000.00"), ())


def test_balances_after_the_entries_are_kept() -> None:
    def balances_last(root: etree._Element) -> None:
        for s in _statements(root):
            for bal in s.findall(f"{Q}Bal"):
                s.append(bal)

    data = _edit(_camt(5, 3), balances_last)
    parsed = assert_same(data)
    assert isinstance(parsed, ParsedFile)
    for got, want in zip(parsed.statements, (_statement(0, 5), _statement(5, 3)), strict=True):
        assert (got.opening_balance, got.closing_balance) == (want.opening_balance,
                                                              want.closing_balance)
        assert (got.opening_on, got.closing_on) == (want.opening_on, want.closing_on)
    assert parse_bank_file(data, "late.xml").warnings == ()  # they add up


def test_an_account_after_the_entries_is_still_ours() -> None:
    """The entries wait for the account (it decides which party is the counterparty)."""
    def account_last(root: etree._Element) -> None:
        for s in _statements(root):
            acct = s.find(f"{Q}Acct")
            assert acct is not None
            s.append(acct)

    parsed = assert_same(_edit(_camt(4), account_last))
    assert isinstance(parsed, ParsedFile)
    assert parsed.statements[0].account_iban == ACCOUNT
    assert _facts(parsed.statements[0]) == _facts(_statement(0, 4))


def test_a_date_told_after_the_entries_reads_the_whole_tree() -> None:
    """An entry without a booking date takes the statement's; when that comes after
    the entries, the stream cannot have used it and says so."""
    def no_dates_and_created_last(root: etree._Element) -> None:
        (s,) = _statements(root)
        for ntry in s.findall(f"{Q}Ntry"):
            for tag in ("BookgDt", "ValDt"):
                for el in ntry.findall(Q + tag):
                    ntry.remove(el)
        created = s.find(f"{Q}CreDtTm")
        assert created is not None
        s.append(created)

    data = _edit(_camt(300), no_dates_and_created_last)  # more than the parser reads ahead
    kind = detect.peek_message(data)
    assert kind is not None
    with pytest.raises(camt.TreeNeeded):
        camt.stream_camt(data, kind)
    parsed = parse_bank_file(data, "late-date.xml")
    assert parsed == tree(data)
    assert {e.booked_on for e in parsed.statements[0].entries} == {date(2026, 12, 1)}


# ------------------------------------------------------------------ errors and warnings

def _spoil(statement: int, entry: int) -> Callable[[etree._Element], None]:
    def spoil(root: etree._Element) -> None:
        ntry = _statements(root)[statement].findall(f"{Q}Ntry")[entry]
        amt = ntry.find(f"{Q}Amt")
        assert amt is not None
        amt.text = "12,50"
    return spoil


def test_an_error_in_an_entry_names_it_as_the_tree_does() -> None:
    data = _edit(_camt(2, 4), _spoil(1, 2))
    message = assert_same(data)
    assert isinstance(message, str)
    # Stmt[2]: the stream only learns there are two statements after the first one.
    assert "Document/BkToCstmrStmt/Stmt[2]/Ntry[3]/Amt (regel/line " in message
    assert message.endswith("Ongeldig bedrag / invalid amount: '12,50'")
    # A statement of one entry: no numbers, although more entries could have followed.
    single = assert_same(_edit(_camt(1), _spoil(0, 0)))
    assert isinstance(single, str) and "Document/BkToCstmrStmt/Stmt/Ntry/Amt (" in single


def test_a_balance_error_comes_before_an_entry_error_as_it_did() -> None:
    def spoil_both(root: etree._Element) -> None:
        _spoil(0, 1)(root)
        (s,) = _statements(root)
        closing = s.findall(f"{Q}Bal")[1]
        amt = closing.find(f"{Q}Amt")
        assert amt is not None
        amt.text = "x"
        s.append(closing)  # after the entries: read last, told first

    message = assert_same(_edit(_camt(3), spoil_both))
    assert isinstance(message, str) and "/Stmt/Bal[2]/Amt (" in message


def test_an_xml_error_after_a_bad_entry_is_told_first() -> None:
    data = _edit(_camt(30), _spoil(0, 0))
    truncated = data[: len(data) - 400]
    message = assert_same(truncated)
    assert isinstance(message, str) and "malformed XML" in message
    with pytest.raises(BankFileError) as err:
        detect.parse_xml(truncated)
    assert message == str(err.value)


def test_pending_entries_are_left_out_with_the_tree_s_warning() -> None:
    def pending(root: etree._Element) -> None:
        for s in _statements(root):
            for ntry in s.findall(f"{Q}Ntry")[1::2]:
                sts = ntry.find(f"{Q}Sts")
                assert sts is not None
                sts.text = "PDNG"

    parsed = assert_same(_edit(_camt(3, 1), pending))
    assert isinstance(parsed, ParsedFile)
    assert [len(s.entries) for s in parsed.statements] == [2, 1]
    assert len(parsed.warnings) == 1
    assert "entry not booked (PDNG) left out: Document/BkToCstmrStmt/Stmt[1]/Ntry[2] (regel/line" \
        in parsed.warnings[0]


def test_what_the_root_holds_is_still_checked_after_the_stream() -> None:
    def extra(root: etree._Element) -> None:
        etree.SubElement(root, f"{Q}Extra")

    message = assert_same(_edit(_camt(2), extra))
    assert isinstance(message, str)
    assert "expects <BkToCstmrStmt>, gevonden / found: BkToCstmrStmt, Extra" in message


def test_an_error_only_the_tree_parser_finds_is_told_as_before() -> None:
    data = _camt(2).replace(b"<Ntry>", b"<Ntry><x:Odd/>", 1)  # an undeclared prefix
    with pytest.raises(BankFileError) as err:
        parse_bank_file(data, "prefix.xml")
    assert str(err.value) == f"prefix.xml, {tree(data)}"
    assert "Namespace prefix x on Odd is not defined" in str(err.value)


def test_latin1_without_declaration_streams_the_same() -> None:
    data = _camt(6).decode("utf-8").replace("Huurder 5<", "Huurder Zoë<")
    body = data.split("?>", 1)[1].encode("latin-1")  # no declaration: not UTF-8
    parsed = assert_same(body)
    assert isinstance(parsed, ParsedFile)
    assert parsed.statements[0].entries[5].counterparty_name == "Huurder Zoë"


# ------------------------------------------------------------------ memory

@pytest.mark.parametrize("count", [500, 5000])
def test_entries_are_let_go_one_by_one(count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """However long the statement, the tree holds about one chunk of entries: the
    ones the parser has read ahead, never the ones already read."""
    data = _camt(count, pretty=False)
    in_tree: list[int] = []
    read = camt._StatementReader.entries

    def spy(self: camt._StatementReader, el: etree._Element) -> list[BankEntry]:
        in_tree.append(sum(1 for c in el.getparent() if c.tag == el.tag))
        return read(self, el)

    monkeypatch.setattr(camt._StatementReader, "entries", spy)
    parsed = stream(data)
    assert isinstance(parsed, ParsedFile)
    assert len(in_tree) == count and len(parsed.statements[0].entries) == count
    assert max(in_tree) < 150  # one parser chunk of entries at most, for 500 as for 5000
    monkeypatch.undo()
    assert parsed == tree(data)


def test_entries_of_one_shape_share_one_index() -> None:
    """An entry's index from its shape is the index a walk of that entry gives, in the
    same order (two NtryDtls included), and a full cache starts over."""
    entry = (f'<Ntry xmlns="{Q[1:-1]}"><Amt Ccy="EUR">1.00</Amt><NtryDtls><TxDtls><Refs>'
             "<EndToEndId>A</EndToEndId></Refs></TxDtls></NtryDtls><NtryDtls><TxDtls><Refs>"
             "<EndToEndId>B</EndToEndId></Refs></TxDtls><TxDtls/></NtryDtls></Ntry>")
    other = entry.replace("<TxDtls/>", "")
    shapes = camt._Shapes(limit=1)
    for xml in (entry, other, entry, entry):
        el = etree.fromstring(xml)
        node, txs = shapes.entry(el)
        walked = camt._Node.walk(el, frozenset({"TxDtls"}))
        for path in walked._index:
            assert node.findall(path) == walked.findall(path), path
        assert [t.el for t in txs] == walked.findall("NtryDtls/TxDtls")
        assert [t.text("Refs/EndToEndId") for t in txs] == [
            t.text("Refs/EndToEndId") for t in walked.nodes("NtryDtls/TxDtls")]
        assert len(shapes._plans) == 1
