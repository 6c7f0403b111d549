"""Betalingskenmerk (RULES-NL rule 22) and ISO 11649 RF references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vroeg.domain.reference import (
    betalingskenmerk_check_digit,
    find_betalingskenmerk,
    find_betalingskenmerken,
    format_betalingskenmerk,
    format_rf,
    is_valid_betalingskenmerk,
    is_valid_rf,
    make_betalingskenmerk,
    make_rf,
    normalise_reference,
    tenancy_betalingskenmerk,
)

LENGTHS = (9, 10, 11, 12, 13, 14, 16)
_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)


def raw_check(digits: str) -> int:
    """11 - (weighted sum mod 11) before the fold of 10 onto 1 (independent of the code)."""
    total = sum(int(d) * _WEIGHTS[i % 10] for i, d in enumerate(reversed(digits)))
    return 11 - total % 11


def single_digit_errors(ref: str):
    for i, old in enumerate(ref):
        for new in "0123456789":
            if new != old:
                yield ref[:i] + new + ref[i + 1:]


def neighbour_swaps(ref: str):
    for i in range(len(ref) - 1):
        if ref[i] != ref[i + 1]:
            yield ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:]


def payload_bound(length: int) -> int:
    return 10 ** (15 if length == 16 else length - 2) - 1


references = st.sampled_from(LENGTHS).flatmap(
    lambda n: st.integers(0, payload_bound(n)).map(lambda x: make_betalingskenmerk(x, n)))


# --- published examples and the layout ------------------------------------------------

@pytest.mark.parametrize("text", ["5000 0567 8901 2345", "5000056789012345",
                                  "12 2345 3462 2567", "12234534622567", "5000.0567.8901.2345"])
def test_published_examples_are_valid(text):
    assert is_valid_betalingskenmerk(text)


def test_make_reproduces_the_published_examples():
    assert make_betalingskenmerk(56789012345) == "5000056789012345"
    assert make_betalingskenmerk(234534622567, length=14) == "12234534622567"
    assert betalingskenmerk_check_digit("000056789012345") == 5
    assert betalingskenmerk_check_digit("2234534622567") == 1


def test_length_codes():
    assert [make_betalingskenmerk(0, n)[1] for n in range(9, 15)] == list("789012")
    assert make_betalingskenmerk(1234567, 7) == "1234567"


@pytest.mark.parametrize("text", [
    "", "123456", "12345678", "123456789012345", "12345678901234567",  # wrong lengths
    "5000 0567 8901 2346",   # wrong check digit
    "4000 0567 8901 2345",
    "13 2345 3462 2567",     # wrong length code (3 != 12 digits that follow)
    "5000 0567 8901 234A", "RF18 5390 0754 7034", "５０００05678901234５",  # not ASCII digits
])
def test_invalid(text):
    assert not is_valid_betalingskenmerk(text)


def test_seven_digits_have_no_check():
    assert is_valid_betalingskenmerk("1234567")
    assert is_valid_betalingskenmerk("0000000")


def test_normalise_and_format():
    assert normalise_reference(" 5000 0567.8901\u00a02345 ") == "5000056789012345"
    assert format_betalingskenmerk("5000056789012345") == "5000 0567 8901 2345"
    assert format_betalingskenmerk("12234534622567") == "12 2345 3462 2567"


@pytest.mark.parametrize("args", [(-1, 16), (10**15, 16), (0, 8), (0, 15), (0, 17),
                                  (10**7, 9)])
def test_make_refuses(args):
    with pytest.raises(ValueError):
        make_betalingskenmerk(*args)


def test_check_digit_needs_digits():
    with pytest.raises(ValueError):
        betalingskenmerk_check_digit("12a")


# --- properties ---------------------------------------------------------------------------

@given(references)
def test_generated_references_validate(ref):
    assert is_valid_betalingskenmerk(ref)
    assert is_valid_betalingskenmerk(format_betalingskenmerk(ref))


@given(st.integers(0, 9_999_999))
def test_seven_digit_references(number):
    assert is_valid_betalingskenmerk(make_betalingskenmerk(number, 7))


def _missed_only_through_the_fold(ref: str, bad: str) -> bool:
    """The honest guarantee: an undetected error always involves raw check value 10,
    which the scheme writes as check digit 1, the same as raw value 1."""
    return raw_check(ref[1:]) == 10 or raw_check(bad[1:]) == 10


@given(references)
def test_single_digit_errors_are_caught_except_through_the_fold(ref):
    for bad in single_digit_errors(ref):
        if is_valid_betalingskenmerk(bad):
            assert _missed_only_through_the_fold(ref, bad), (ref, bad)


@given(references)
def test_neighbour_swaps_are_caught_except_through_the_fold(ref):
    for bad in neighbour_swaps(ref):
        if is_valid_betalingskenmerk(bad):
            assert _missed_only_through_the_fold(ref, bad), (ref, bad)


@given(references)
def test_a_wrong_check_digit_is_always_caught(ref):
    for new in "0123456789":
        if new != ref[0]:
            assert not is_valid_betalingskenmerk(new + ref[1:])


@given(references)
def test_every_error_is_caught_when_the_check_digit_is_not_1(ref):
    # Outside the fold, every single-digit error in the digits after the check digit is
    # caught (the weights are non-zero mod 11), and so is every swap inside them (the
    # differences of neighbouring weights are non-zero mod 11).
    if raw_check(ref[1:]) in (1, 10):
        return
    for bad in single_digit_errors(ref):
        assert not is_valid_betalingskenmerk(bad), (ref, bad)
    for i in range(1, len(ref) - 1):
        if ref[i] != ref[i + 1]:
            assert not is_valid_betalingskenmerk(ref[:i] + ref[i + 1] + ref[i] + ref[i + 2:])


def test_the_fold_really_misses_some_errors():
    """Stated honestly: mod 11 with '10 becomes 1' cannot catch everything."""
    ref = "1049042435730925"
    assert is_valid_betalingskenmerk(ref)
    assert is_valid_betalingskenmerk("1249042435730925")  # one digit wrong
    assert is_valid_betalingskenmerk("0149042435730925")  # first two digits swapped


@given(st.integers(1, 10**13 - 1))
def test_vroeg_references_catch_every_single_error_and_swap(tenancy_id):
    ref = tenancy_betalingskenmerk(tenancy_id)
    assert len(ref) == 16 and ref[1] == "9" and ref[0] != "1"
    assert is_valid_betalingskenmerk(ref)
    assert tenancy_betalingskenmerk(tenancy_id) == ref  # stable
    for bad in [*single_digit_errors(ref), *neighbour_swaps(ref)]:
        assert not is_valid_betalingskenmerk(bad), (ref, bad)


@given(st.integers(1, 10**13 - 1), st.integers(1, 10**13 - 1))
def test_vroeg_references_differ_per_tenancy(a, b):
    assert (tenancy_betalingskenmerk(a) == tenancy_betalingskenmerk(b)) == (a == b)


def test_vroeg_references_small_ids_exhaustively():
    refs = {tenancy_betalingskenmerk(i) for i in range(1, 5001)}
    assert len(refs) == 5000
    for ref in list(refs)[:300]:
        assert not any(is_valid_betalingskenmerk(b) for b in single_digit_errors(ref))


@pytest.mark.parametrize("bad_id", [0, -1, 10**13])
def test_vroeg_reference_id_range(bad_id):
    with pytest.raises(ValueError):
        tenancy_betalingskenmerk(bad_id)


# --- free text ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "5000 0567 8901 2345",
    "huur maart kenmerk 5000 0567 8901 2345 bedankt",
    "Kenmerk:5000056789012345.",
    "5000.0567.8901.2345",
    "5000-0567-8901-2345",
    "50000567 89012345",
    "5 000 056 789 012 345",
    "huur 2024 5000 0567 8901 2345",  # a year right before it
    "NL91ABNA0417164300 5000056789012345 EUR 612,45",
])
def test_find_in_free_text(text):
    assert find_betalingskenmerk(text) == "5000056789012345"


@pytest.mark.parametrize("text", [
    "", "huur maart", "5000 0567 8901 2346",  # wrong check digit
    "5000 0567 8901 234",                      # 15 digits
    "150000567890123450",                      # inside a longer unbroken number
    "NL91ABNA0417164300",
    "12 2345 3462 2567",                       # valid, but not 16 digits
])
def test_nothing_found(text):
    assert find_betalingskenmerk(text) is None


def test_two_different_references_are_not_guessed():
    other = make_betalingskenmerk(123456789)
    text = f"5000 0567 8901 2345 en {format_betalingskenmerk(other)}"
    assert find_betalingskenmerken(text) == ("5000056789012345", other)
    assert find_betalingskenmerk(text) is None
    assert find_betalingskenmerk("5000056789012345 5000 0567 8901 2345") == "5000056789012345"


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=20)


@given(st.integers(1, 10**13 - 1), st.lists(st.integers(1, 6), min_size=1, max_size=16),
       words, words)
def test_found_however_it_is_grouped(tenancy_id, sizes, before, after):
    ref = tenancy_betalingskenmerk(tenancy_id)
    groups, i = [], 0
    for size in sizes:
        if i >= 16:
            break
        groups.append(ref[i:i + size])
        i += size
    if i < 16:
        groups.append(ref[i:])
    text = f"{before} {' '.join(groups)} {after}"
    assert find_betalingskenmerk(text) == ref


# --- RF creditor reference (ISO 11649) ----------------------------------------------------

def test_rf_published_example():
    assert make_rf("539007547034") == "RF18539007547034"
    assert is_valid_rf("RF18 5390 0754 7034")
    assert is_valid_rf("rf18539007547034")
    assert is_valid_rf("RF18 0000 0000 0539 0075 4703 4")
    assert format_rf("RF18539007547034") == "RF18 5390 0754 7034"


@pytest.mark.parametrize("text", ["RF19 5390 0754 7034", "RF18", "RF1853900754703X!",
                                  "XX18539007547034", "RF00539007547034",
                                  "RF18" + "1" * 22, "5000056789012345"])
def test_rf_invalid(text):
    assert not is_valid_rf(text)


@pytest.mark.parametrize("ref", ["", "ABC-1", "A" * 22])
def test_make_rf_refuses(ref):
    with pytest.raises(ValueError):
        make_rf(ref)


rf_bodies = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21)


@given(rf_bodies)
def test_rf_generate_then_validate(body):
    rf = make_rf(body)
    assert is_valid_rf(rf) and is_valid_rf(format_rf(rf).lower())
    assert 2 <= int(rf[2:4]) <= 98


@given(rf_bodies, st.data())
def test_rf_catches_substitutions_and_digit_swaps(body, data):
    rf = make_rf(body)
    i = data.draw(st.integers(4, len(rf) - 1))
    same_kind = "0123456789" if rf[i].isdigit() else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    new = data.draw(st.sampled_from(same_kind).filter(lambda c: c != rf[i]))
    assert not is_valid_rf(rf[:i] + new + rf[i + 1:])
    if i + 1 < len(rf) and rf[i].isdigit() and rf[i + 1].isdigit() and rf[i] != rf[i + 1]:
        assert not is_valid_rf(rf[:i] + rf[i + 1] + rf[i] + rf[i + 2:])
