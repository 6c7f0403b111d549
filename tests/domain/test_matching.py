from decimal import Decimal

from vroeg.domain.matching import MatchIndex, TxnFacts, ledger_kind, match
from vroeg.domain.reference import (
    find_betalingskenmerk,
    find_betalingskenmerken,
    make_betalingskenmerk,
)

REF_A = make_betalingskenmerk(1001)
REF_B = make_betalingskenmerk(1002)
INDEX = MatchIndex(
    by_reference={REF_A: 1, REF_B: 2},
    by_iban={"NL91ABNA0417164300": (1,), "NL20INGB0001234567": (2, 3)},
    monthly_rent={1: Decimal("700.00"), 2: Decimal("650.00"), 3: Decimal("45.00")},
)


def txn(amount="700.00", ref="", text="", iban="", reason="") -> TxnFacts:
    return TxnFacts(Decimal(amount), ref, text, iban, reason)


def m(t: TxnFacts):
    return match(t, INDEX, find_betalingskenmerken)


def test_structured_reference_wins_over_iban():
    r = m(txn(ref=REF_B, iban="NL91ABNA0417164300"))
    assert (r.tenancy_id, r.rule) == (2, "reference")


def test_reference_typed_with_spaces_in_free_text():
    spaced = " ".join(REF_A[i:i + 4] for i in range(0, 16, 4))
    r = m(txn(text=f"huur november {spaced} dank"))
    assert (r.tenancy_id, r.rule) == (1, "reference_in_text")


def test_known_iban_and_ambiguous_iban():
    assert m(txn(iban="nl91 abna 0417 1643 00")).tenancy_id == 1
    r = m(txn(amount="45.00", iban="NL20INGB0001234567"))
    assert (r.tenancy_id, r.rule) == (3, "known_iban")
    r = m(txn(amount="300.00", iban="NL20INGB0001234567"))
    assert r.tenancy_id is None and "2 " in r.reason


def test_unknown_payment_stays_unmatched_with_reason():
    r = m(txn(text="gift", iban="NL02RABO0123456789"))
    assert r.tenancy_id is None and r.rule == "none" and r.reason


def test_outgoing_payment_is_not_a_tenant_payment():
    r = m(txn(amount="-120.00", iban="NL02RABO0123456789", text="schilder"))
    assert r.rule == "outgoing"


def test_return_of_a_direct_debit_matches_and_is_a_reversal():
    t = txn(amount="-700.00", iban="NL91ABNA0417164300", reason="AM04")
    assert m(t).tenancy_id == 1
    assert ledger_kind(t) == "reversal"
    assert ledger_kind(txn()) == "payment"


def test_a_year_next_to_the_reference_does_not_hide_it():
    # "2026" + the first 12 digits of this reference is a valid betalingskenmerk too.
    ref = make_betalingskenmerk(1005)
    assert find_betalingskenmerk(f"huur augustus 2026 {ref[:4]} {ref[4:8]} {ref[8:12]} "
                                 f"{ref[12:]}") is None  # the pure finder cannot choose
    spaced = " ".join(ref[i:i + 4] for i in range(0, 16, 4))
    assert len(find_betalingskenmerken(f"huur augustus 2026 {spaced}")) == 2
    index = MatchIndex(by_reference={ref: 7}, by_iban={}, monthly_rent={})
    r = match(txn(text=f"huur augustus 2026 {spaced}"), index, find_betalingskenmerken)
    assert (r.tenancy_id, r.rule) == (7, "reference_in_text")


def test_two_of_our_references_in_one_text_go_to_a_person():
    r = m(txn(text=f"{REF_A} en {REF_B}"))
    assert r.tenancy_id is None and "meerdere" in r.reason
