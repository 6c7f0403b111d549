"""Recognise a bank file by its content (never by its name: OCA files have none).

Pure: bytes in, a verdict out. XML is parsed safely (no network, no entities) and
identified by its ISO 20022 namespace; everything else must carry MT940 tags to count
as a bank statement. camt files are read as a stream (camt.py): `peek_message` names
the message from the root's start tag, `wellformed` gives `parse_xml`'s verdict on
malformed XML without building a tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from vroeg.domain.bank.model import BankFileError

XSD_NS = "http://www.w3.org/2001/XMLSchema"
_ISO_NS = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:(?P<msg>[a-z]{4}\.\d{3})\.(?P<variant>\d{3})\.(?P<version>\d{2})")

# message -> (the element under Document, what a person calls it)
SUPPORTED: dict[str, str] = {
    "camt.052": "BkToCstmrAcctRpt",
    "camt.053": "BkToCstmrStmt",
    "camt.054": "BkToCstmrDbtCdtNtfctn",
    "pain.002": "CstmrPmtStsRpt",
}
_NOT_STATEMENTS = {
    "pain.001": "betaalopdracht / credit-transfer instruction",
    "pain.008": "incasso-opdracht / direct-debit instruction",
    "camt.056": "terugboekverzoek / recall request",
    "camt.060": "opvraagverzoek / account reporting request",
}
_MT940_TAG = re.compile(rb"^:(20|25|28C?|60[FM]|61|62[FM]):", re.MULTILINE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_NOT_A_STATEMENT = "Geen bankafschrift / not a bank statement"
_PEEK_CHUNK = 1 << 16


@dataclass(frozen=True)
class XmlKind:
    format: str  # exact: "camt.053.001.02"
    message: str  # "camt.053"
    namespace: str


@dataclass(frozen=True)
class XmlMessage(XmlKind):
    root: etree._Element
    body: etree._Element  # BkToCstmrStmt, CstmrPmtStsRpt, ...


def sniff(data: bytes) -> Literal["xml", "mt940"]:
    """Which parser reads these bytes; BankFileError when none does."""
    body = data
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom):]
            if bom != _BOMS[0]:
                return "xml"  # UTF-16 text is only ever XML here; lxml reads the BOM
            break
    stripped = body.strip(b" \t\r\n\x00\x1a")
    if not stripped:
        raise BankFileError("Leeg bestand / empty file", "regel/line 1")
    if stripped.startswith(b"<"):
        return "xml"
    if b"\x00" in body[:4096]:
        raise BankFileError(f"{_NOT_A_STATEMENT}: binair bestand / binary file", "byte 1")
    if _MT940_TAG.search(body):
        return "mt940"
    first = stripped.split(b"\n", 1)[0]
    hint = ("lijkt CSV / looks like CSV" if first.count(b";") >= 2 or first.count(b",") >= 2
            else "geen XML en geen MT940-velden (:20:, :25:, :61:) / "
                 "neither XML nor MT940 tags (:20:, :25:, :61:)")
    raise BankFileError(f"{_NOT_A_STATEMENT}: {hint}", "regel/line 1")


def decode_text(data: bytes) -> str:
    """MT940 text: UTF-8 when it is valid UTF-8, else Windows-1252/Latin-1."""
    if data.startswith(_BOMS[0]):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # maps every byte, so it never fails


# No DTDs, no entity expansion, no network: bank files are untrusted input.
SAFE_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False,
                "remove_comments": True, "remove_pis": True, "huge_tree": True}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(**SAFE_OPTIONS)


class _NoTree:
    """A parser target that keeps nothing: the parse only checks the syntax."""

    def close(self) -> None:
        return None


def _encoding_trouble(exc: etree.XMLSyntaxError) -> bool:
    return "encoding" in str(exc).lower() or "utf-8" in str(exc).lower()


def _undeclared_text(data: bytes) -> str:
    """Latin-1 XML without an encoding declaration: decoded by us, declaration dropped."""
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", decode_text(data))


def _malformed(exc: etree.XMLSyntaxError) -> BankFileError:
    line, column = (exc.position if exc.position else (exc.lineno, 0))
    return BankFileError(f"Ongeldige XML / malformed XML: {exc.msg}",
                         f"regel/line {line}, kolom/column {column}")


def parse_xml(data: bytes) -> etree._Element:
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        first = exc
    if _encoding_trouble(first):
        try:
            return etree.fromstring(_undeclared_text(data), _parser())
        except etree.XMLSyntaxError as exc:
            first = exc
    raise _malformed(first) from None


def wellformed(data: bytes) -> bytes:
    """What `parse_xml` would read, checked by the same parser but without a tree.

    Returns the bytes to parse: `data` itself, or (Latin-1 XML without a declaration)
    the text `parse_xml` falls back to, as UTF-8. Raises `parse_xml`'s BankFileError,
    word for word, for malformed XML. Errors found only while building a tree (an
    undeclared namespace prefix) pass: only `parse_xml` gives the last word.
    """
    try:
        etree.fromstring(data, etree.XMLParser(target=_NoTree(), **SAFE_OPTIONS))
        return data
    except etree.XMLSyntaxError as exc:
        first = exc
    if _encoding_trouble(first):
        text = _undeclared_text(data)
        try:
            etree.fromstring(text, etree.XMLParser(target=_NoTree(), **SAFE_OPTIONS))
            return text.encode("utf-8")
        except etree.XMLSyntaxError as exc:
            first = exc
    raise _malformed(first) from None


def local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def element_path(el: etree._Element) -> str:
    """'Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt (regel/line 40)' for error messages."""
    parts = []
    node: etree._Element | None = el
    while node is not None:
        name = local(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/".join(reversed(parts)) + f" (regel/line {el.sourceline})"


def identify_root(root: etree._Element) -> XmlKind:
    """The ISO 20022 message the root element names (its children are not looked at)."""
    name = local(root.tag)
    namespace = etree.QName(root.tag).namespace or ""
    if namespace == XSD_NS:
        raise BankFileError(f"{_NOT_A_STATEMENT}: XML-schema (XSD)", element_path(root))
    if name != "Document":
        raise BankFileError(f"{_NOT_A_STATEMENT}: XML met hoofdelement / XML with root <{name}>",
                            element_path(root))
    m = _ISO_NS.fullmatch(namespace)
    if m is None:
        raise BankFileError(
            f"Onbekende namespace / unknown namespace: {namespace or '(geen / none)'}",
            element_path(root))
    message, variant, version = m["msg"], m["variant"], m["version"]
    fmt = f"{message}.{variant}.{version}"
    if message not in SUPPORTED:
        what = _NOT_STATEMENTS.get(message, "onbekend bericht / unknown message")
        raise BankFileError(f"{_NOT_A_STATEMENT}: {fmt} ({what})", element_path(root))
    if variant != "001":
        raise BankFileError(f"Onbekende versie / unknown version: {fmt}", element_path(root))
    return XmlKind(format=fmt, message=message, namespace=namespace)


def identify_xml(root: etree._Element) -> XmlMessage:
    """Name the exact ISO 20022 message, or refuse what is not a bank file."""
    kind = identify_root(root)
    children = [c for c in root if isinstance(c.tag, str)]
    expected = SUPPORTED[kind.message]
    if len(children) != 1 or local(children[0].tag) != expected:
        found = ", ".join(local(c.tag) for c in children) or "(leeg / empty)"
        raise BankFileError(f"{kind.format} verwacht / expects <{expected}>, gevonden / found: "
                            f"{found}", element_path(root))
    return XmlMessage(format=kind.format, message=kind.message, namespace=kind.namespace,
                      root=root, body=children[0])


def peek_message(data: bytes) -> XmlKind | None:
    """The bank message the root's start tag names, read without going further.

    None when the start of the document does not name one (malformed, another root,
    namespace or message): `identify_xml(parse_xml(data))` then gives the verdict, so
    a malformed file is still refused as malformed before anything else. A fault
    after the root's start tag (a Latin-1 byte without a declaration) does not hide it.
    """
    parser = etree.XMLPullParser(events=("start",), **SAFE_OPTIONS)
    for at in range(0, len(data), _PEEK_CHUNK):
        try:
            parser.feed(data[at:at + _PEEK_CHUNK])
            failed = False
        except etree.XMLSyntaxError:
            failed = True  # the events before the fault are kept
        for _, root in parser.read_events():
            try:
                return identify_root(root)
            except BankFileError:
                return None
        if failed:
            return None
    return None
