"""Payment references: the Dutch betalingskenmerk and the ISO 11649 RF creditor reference.

Pure functions, no I/O. RULES-NL.md rule 22 gives the betalingskenmerk scheme:

* 7 digits: no check digit;
* 9 to 14 digits: check digit, then a length code L (the number of digits that
  follow, modulo 10: 7, 8, 9, 0 for 10, 1 for 11, 2 for 12), then the digits;
* 16 digits: check digit plus 15 digits.

The check digit stands first. Weights 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 (repeating) run
from the rightmost digit leftwards over every digit after the check digit, the length
code included; C = 11 - (sum mod 11), where 10 becomes 1 and 11 becomes 0.

What the check guarantees, honestly: the weights are all non-zero modulo 11 and so are
the differences of neighbouring weights, so a single wrong digit or a swap of two
different neighbouring digits always changes the raw value 11 - (sum mod 11). But the
scheme folds the raw value 10 onto check digit 1, which also stands for raw value 1.
An error that moves the raw value between 10 and 1 therefore goes unnoticed, and so
does a swap of a leading check digit 0 with a following 1 in some layouts. Every
undetected single-digit error or neighbour swap involves that fold (raw value 10 on one
side); tests/domain/test_reference.py checks exactly this. References that vroeg
generates itself (:func:`tenancy_betalingskenmerk`) avoid the fold and so catch every
single-digit error and every neighbour swap.
"""

from __future__ import annotations

import re

_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
_SEPARATORS = re.compile(r"[\s.]+")
_DIGITS = re.compile(r"[0-9]+")
#: Lengths of a betalingskenmerk with a check digit and a length code.
_WITH_LENGTH_CODE = range(9, 15)


def normalise_reference(text: str) -> str:
    """The reference without spaces (any whitespace) and dots, in upper case."""
    return _SEPARATORS.sub("", text or "").upper()


def _raw_check(digits: str) -> int:
    """11 - (weighted sum mod 11), before folding: 1..11."""
    total = sum(int(d) * _WEIGHTS[i % 10] for i, d in enumerate(reversed(digits)))
    return 11 - total % 11


def betalingskenmerk_check_digit(digits: str) -> int:
    """The check digit for `digits`: every digit after the check digit, length code included."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError("digits only / alleen cijfers")
    raw = _raw_check(digits)
    return {10: 1, 11: 0}.get(raw, raw)


def make_betalingskenmerk(number: int, length: int = 16) -> str:
    """A betalingskenmerk of `length` digits (7, 9-14 or 16) carrying `number`.

    16: check digit + `number` as 15 digits (zero-padded). 9-14: check digit + length
    code + `number` as length-2 digits. 7: `number` as 7 digits, no check digit.
    """
    if number < 0:
        raise ValueError("number must not be negative")
    if length == 7:
        payload_len = 7
    elif length == 16:
        payload_len = 15
    elif length in _WITH_LENGTH_CODE:
        payload_len = length - 2
    else:
        raise ValueError(f"a betalingskenmerk has 7, 9-14 or 16 digits, not {length}")
    payload = str(number).zfill(payload_len)
    if len(payload) > payload_len:
        raise ValueError(f"{number} does not fit in {payload_len} digits")
    if length == 7:
        return payload
    if length != 16:
        payload = str(payload_len % 10) + payload
    return str(betalingskenmerk_check_digit(payload)) + payload


def is_valid_betalingskenmerk(text: str) -> bool:
    """True for a well-formed betalingskenmerk; spaces and dots are ignored."""
    ref = normalise_reference(text)
    if not ref.isascii() or not ref.isdigit():
        return False
    n = len(ref)
    if n == 7:
        return True
    if n in _WITH_LENGTH_CODE:
        if ref[1] != str((n - 2) % 10):
            return False
    elif n != 16:
        return False
    return int(ref[0]) == betalingskenmerk_check_digit(ref[1:])


def weak_check(ref: str) -> bool:
    """True when the reference's check digit misses some typing errors: 7 digits carry
    none, and check digit 1 stands for both 1 and the folded 10, so a single wrong
    digit or a swap can give another valid reference. The matcher then wants the name,
    address or amount to agree (vroeg's own references never have check digit 1)."""
    ref = normalise_reference(ref)
    return len(ref) == 7 or (len(ref) >= 9 and ref[:1] == "1")


def format_betalingskenmerk(ref: str) -> str:
    """Print form: groups of four from the right, e.g. '5000 0567 8901 2345'."""
    ref = normalise_reference(ref)
    head = len(ref) % 4
    groups = [ref[:head]] if head else []
    groups += [ref[i:i + 4] for i in range(head, len(ref), 4)]
    return " ".join(groups)


#: First digit of the 15 after the check digit in references vroeg generates:
#: keeps them apart from the ERP's own number ranges starting with 0, and (with the
#: check digit never 1) makes a swap of the first two digits detectable.
GENERATED_PREFIX = "9"
_MAX_GENERATED_ID = 10**13 - 1


def tenancy_betalingskenmerk(tenancy_id: int) -> str:
    """The 16-digit betalingskenmerk vroeg issues for a tenancy, from its database id.

    Layout: check digit, '9', the id as 13 digits, a last digit chosen (smallest first)
    so that the check digit is not the ambiguous 1. The same id always gives the same
    reference, different ids different references, and every single-digit error and
    every swap of neighbouring digits is detected.
    """
    if not 0 < tenancy_id <= _MAX_GENERATED_ID:
        raise ValueError(f"tenancy id out of range: {tenancy_id}")
    base = GENERATED_PREFIX + str(tenancy_id).zfill(13)
    for last in "0123456789":
        payload = base + last
        if _raw_check(payload) not in (1, 10):
            return str(betalingskenmerk_check_digit(payload)) + payload
    raise AssertionError("unreachable: the last digit (weight 2) reaches every residue")


# A run of digits, allowing single separators (spaces, a dot or a hyphen) between groups.
_GROUPED = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:(?:[ \t\u00a0]{1,3}|[ ]?[.\-][ ]?)[0-9]+)*"
                      r"(?![0-9A-Za-z])")


def find_betalingskenmerken(free_text: str) -> tuple[str, ...]:
    """Every valid 16-digit betalingskenmerk typed in free text, in order, without repeats.

    Digits may be grouped by spaces (or dots, hyphens): '5000 0567 8901 2345',
    '50000567 89012345'. A candidate is a run of whole groups of exactly 16 digits; a
    16-digit candidate inside a longer unbroken digit string is not considered.
    """
    found: list[str] = []
    for run in _GROUPED.finditer(free_text or ""):
        groups = _DIGITS.findall(run.group())
        for start in range(len(groups)):
            size = 0
            for end in range(start, len(groups)):
                size += len(groups[end])
                if size >= 16:
                    if size == 16:
                        candidate = "".join(groups[start:end + 1])
                        if is_valid_betalingskenmerk(candidate) and candidate not in found:
                            found.append(candidate)
                    break
    return tuple(found)


def find_betalingskenmerk(free_text: str) -> str | None:
    """The one valid 16-digit betalingskenmerk in free text, or None.

    None also when the text holds two different valid ones: the matcher must not guess
    (DESIGN.md: what stays unsure goes to a person).
    """
    found = find_betalingskenmerken(free_text)
    return found[0] if len(found) == 1 else None


# --- ISO 11649 structured creditor reference (RF) ---------------------------------

_RF = re.compile(r"^RF([0-9]{2})([0-9A-Z]{1,21})$")
_RF_BODY = re.compile(r"^[0-9A-Z]{1,21}$")


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 over letters A=10 .. Z=35 and digits."""
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def make_rf(ref: str) -> str:
    """The RF creditor reference for `ref` (1-21 letters/digits; spaces ignored): 'RF18…'."""
    body = normalise_reference(ref)
    if not _RF_BODY.match(body):
        raise ValueError("an RF reference carries 1-21 letters A-Z and digits")
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def is_valid_rf(text: str) -> bool:
    """True for a valid ISO 11649 reference; spaces/dots ignored, case-insensitive."""
    ref = normalise_reference(text)
    m = _RF.match(ref)
    if not m or not 2 <= int(m.group(1)) <= 98:
        return False
    return _mod97(m.group(2) + "RF" + m.group(1)) == 1


def format_rf(ref: str) -> str:
    """Print form: groups of four from the left, e.g. 'RF18 5390 0754 7034'."""
    ref = normalise_reference(ref)
    return " ".join(ref[i:i + 4] for i in range(0, len(ref), 4))
