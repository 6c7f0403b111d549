from datetime import date
from decimal import Decimal

from vroeg.domain.ledger import Posting
from vroeg.domain.signals import detect

RENT = Decimal("650.00")


def charge(m: int) -> Posting:
    d = date(2026, m, 1)
    return Posting("charge", RENT, d, d)


def pay(d: date, amount: Decimal = RENT) -> Posting:
    return Posting("payment", -amount, d)


def kinds(facts):
    return sorted({f.kind for f in facts})


def test_on_time_payer_has_no_signals():
    ps = [p for m in range(5, 12) for p in (charge(m), pay(date(2026, m, 1)))]
    assert detect(ps, date(2026, 11, 20)) == []


def test_missed_month():
    ps = [charge(9), pay(date(2026, 9, 1)), charge(10), charge(11)]
    facts = detect(ps, date(2026, 11, 2))
    missed = [f for f in facts if f.kind == "missed_month"]
    assert [f.key for f in missed] == ["2026-10"]
    assert "2026" in missed[0].reason


def test_late_in_two_of_six_months():
    ps = [charge(6), pay(date(2026, 6, 1)), charge(7), pay(date(2026, 7, 15)),
          charge(8), pay(date(2026, 8, 1)), charge(9), pay(date(2026, 9, 22)),
          charge(10), pay(date(2026, 10, 1))]
    facts = detect(ps, date(2026, 10, 20))
    assert kinds(facts) == ["late_repeatedly"]
    assert "2026-07" in facts[0].reason and "2026-09" in facts[0].reason


def test_one_late_month_is_not_repeatedly_late():
    ps = [charge(8), pay(date(2026, 8, 1)), charge(9), pay(date(2026, 9, 22))]
    assert detect(ps, date(2026, 10, 20)) == []


def test_reversal_reason_is_named():
    ps = [charge(11), pay(date(2026, 11, 1)),
          Posting("reversal", RENT, date(2026, 11, 5), None, "AM04", "bank:77")]
    facts = [f for f in detect(ps, date(2026, 11, 6)) if f.kind == "dd_reversal"]
    assert len(facts) == 1 and facts[0].key == "bank:77"
    assert "onvoldoende saldo" in facts[0].reason
    md06 = [charge(11), pay(date(2026, 11, 1)),
            Posting("reversal", RENT, date(2026, 11, 5), None, "MD06", "bank:78")]
    assert "terugboeking door betaler" in detect(md06, date(2026, 11, 6))[0].reason
