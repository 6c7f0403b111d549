"""Recognise a bank file by its content (never by its name: OCA files have none).

Pure: bytes in, a verdict out. XML is parsed here once (safely: no network, no
entities) and identified by its ISO 20022 namespace; everything else must carry
MT940 tags to count as a bank statement.
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


@dataclass(frozen=True)
class XmlMessage:
    format: str  # exact: "camt.053.001.02"
    message: str  # "camt.053"
    namespace: str
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


def _parser() -> etree.XMLParser:
    # No DTDs, no entity expansion, no network: bank files are untrusted input.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           remove_comments=True, remove_pis=True, huge_tree=True)


def parse_xml(data: bytes) -> etree._Element:
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        first = exc
    if "encoding" in str(first).lower() or "utf-8" in str(first).lower():
        # Latin-1 XML without an encoding declaration: decode it ourselves.
        text = decode_text(data)
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
        try:
            return etree.fromstring(text, _parser())
        except etree.XMLSyntaxError as exc:
            first = exc
    line, column = (first.position if first.position else (first.lineno, 0))
    raise BankFileError(f"Ongeldige XML / malformed XML: {first.msg}",
                        f"regel/line {line}, kolom/column {column}") from None


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


def identify_xml(root: etree._Element) -> XmlMessage:
    """Name the exact ISO 20022 message, or refuse what is not a bank file."""
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
    children = [c for c in root if isinstance(c.tag, str)]
    expected = SUPPORTED[message]
    if len(children) != 1 or local(children[0].tag) != expected:
        found = ", ".join(local(c.tag) for c in children) or "(leeg / empty)"
        raise BankFileError(f"{fmt} verwacht / expects <{expected}>, gevonden / found: {found}",
                            element_path(root))
    return XmlMessage(format=fmt, message=message, namespace=namespace, root=root,
                      body=children[0])
