"""The one entry point: bytes of any supported bank file in, a ParsedFile out.

Pure: no Django, no file I/O, no clock. The format is recognised from the content;
`name` only labels error messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from vroeg.domain.bank import camt, detect, mt940
from vroeg.domain.bank.model import BankFileError, ParsedFile, Statement

LATE_DAYS = 7  # an entry booked this long after its statement's date is odd


def balance_warnings(parsed: ParsedFile) -> list[str]:
    """Statements whose opening balance plus entries is not their closing balance."""
    out = []
    for n, s in enumerate(parsed.statements, 1):
        if s.opening_balance is None or s.closing_balance is None:
            continue
        total = sum((e.amount for e in s.entries), Decimal(0))
        if s.opening_balance + total != s.closing_balance:
            out.append(
                f"Saldo klopt niet / balance does not add up: afschrift / statement {n} "
                f"({s.account_iban} {s.statement_id}): {s.opening_balance} + {total} = "
                f"{s.opening_balance + total}, eindsaldo / closing {s.closing_balance} "
                f"(verschil / difference {s.closing_balance - s.opening_balance - total})")
    return out


def _dated_warnings(parsed: ParsedFile, limit: Callable[[Statement], date | None],
                    text: str) -> list[str]:
    """One warning per statement with entries booked after `limit(statement)`."""
    out = []
    for n, s in enumerate(parsed.statements, 1):
        last = limit(s)
        late = sorted(e.booked_on for e in s.entries if last is not None and e.booked_on > last)
        if late:
            out.append(f"{text}: afschrift / statement {n} ({s.account_iban} {s.statement_id}): "
                       f"{len(late)} boeking(en) / entries, {late[0]} .. {late[-1]}")
    return out


def late_warnings(parsed: ParsedFile) -> list[str]:
    """Entries booked more than LATE_DAYS after their statement's date (camt: its
    period end or creation, MT940: the closing balance). Kept, not refused."""
    def limit(s: Statement) -> date | None:
        on = s.dated_on or s.closing_on
        return on + timedelta(days=LATE_DAYS) if on else None
    return _dated_warnings(parsed, limit,
                           f"Meer dan {LATE_DAYS} dagen na de afschriftdatum geboekt / "
                           f"booked more than {LATE_DAYS} days after the statement date")


def future_warnings(parsed: ParsedFile, today: date) -> list[str]:
    """Entries booked after `today`: a bank does not book ahead. Kept, not refused."""
    return _dated_warnings(parsed, lambda _s: today,
                           f"Boekdatum in de toekomst / booked after today ({today})")


def parse_bank_file(data: bytes, name: str) -> ParsedFile:
    """Parse camt.052/053/054, pain.002 or MT940.

    Raises BankFileError (with `where` = "<name>, <element or line>") for empty files,
    malformed XML, unknown namespaces or versions, truncated MT940 and anything that
    is not a bank statement.
    """
    try:
        if detect.sniff(data) == "xml":
            parsed = _parse_xml(data)
        else:
            parsed = mt940.parse_mt940(detect.decode_text(data))
    except BankFileError as exc:
        raise BankFileError(exc.detail, f"{name}, {exc.where}" if exc.where else name) from None
    return mt940.with_warnings(parsed, balance_warnings(parsed) + late_warnings(parsed))


def _parse_xml(data: bytes) -> ParsedFile:
    """camt.052/053/054 as a stream (flat memory however long the statement); pain.002,
    and whatever is refused, read whole, as is a camt file the stream cannot judge."""
    kind = detect.peek_message(data)
    if kind is not None and kind.message in camt.STREAMED:
        try:
            return camt.stream_camt(data, kind)
        except camt.TreeNeeded:
            pass
    msg = detect.identify_xml(detect.parse_xml(data))
    return camt.parse_pain002(msg) if msg.message == "pain.002" else camt.parse_camt(msg)
