"""The demo population: reproducible, calibrated, and delivering what an ERP and a bank
would deliver (every tenancy with a valid betalingskenmerk, statements that balance)."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from schwifty import IBAN

from vroeg.demo.build import (
    TENANCIES_FILE,
    camt_bytes,
    opening_account_balance,
    plan_bank_files,
    tenancies_csv,
    write_portfolio,
)
from vroeg.demo.population import (
    BEHAVIOUR_SHARES,
    DIRECT_DEBIT,
    THIRD_PARTY_PAYER,
    TRANSFER,
    ArrearsBook,
    Portfolio,
    behaviour_counts,
    generate,
    make_nl_iban,
    make_period,
)
from vroeg.domain.calendar import is_business_day
from vroeg.domain.reference import find_betalingskenmerk, is_valid_betalingskenmerk
from vroeg.domain.tenancy_columns import ALL
from vroeg.domain.tenancy_csv import decode_csv, parse_tenancy_csv

TODAY = date(2026, 11, 17)


@pytest.fixture(scope="module")
def big() -> Portfolio:
    return generate(6000, seed=3, today=TODAY)


@pytest.fixture(scope="module")
def small() -> Portfolio:
    return generate(250, seed=11, today=date(2026, 6, 30))


# ------------------------------------------------------------- reproducible


def test_same_seed_same_portfolio_and_bytes() -> None:
    a = generate(300, seed=7, today=TODAY)
    b = generate(300, seed=7, today=TODAY)
    assert a == b
    assert tenancies_csv(a) == tenancies_csv(b)
    fa, fb = plan_bank_files(a), plan_bank_files(b)
    assert [f.name for f in fa] == [f.name for f in fb]
    for x, y in zip(fa[:2] + fa[-2:], fb[:2] + fb[-2:], strict=True):
        assert camt_bytes(x) == camt_bytes(y)


def test_other_seed_other_portfolio() -> None:
    a = generate(300, seed=7, today=TODAY)
    b = generate(300, seed=8, today=TODAY)
    assert [t.household_name for t in a.tenancies] != [t.household_name for t in b.tenancies]
    assert a.entries != b.entries


def test_smaller_portfolio_is_a_prefix() -> None:
    """Household i draws from its own stream: N tenancies are the first N of more."""
    a = generate(100, seed=7, today=TODAY)
    b = generate(400, seed=7, today=TODAY)
    assert a.tenancies[:95] == b.tenancies[:95]


def test_written_folder_is_byte_identical(tmp_path: Path) -> None:
    p = generate(150, seed=2, today=TODAY)
    one = write_portfolio(p, tmp_path / "one")
    two = write_portfolio(generate(150, seed=2, today=TODAY), tmp_path / "two")
    names = sorted(w.path.name for w in one)
    assert names == sorted(w.path.name for w in two)
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    again = write_portfolio(p, tmp_path / "one")
    assert not any(w.changed for w in again)
    assert not list((tmp_path / "one").glob(".*"))  # no temporary files left behind


def test_file_names(small: Portfolio, tmp_path: Path) -> None:
    written = {w.path.name for w in write_portfolio(small, tmp_path)}
    assert TENANCIES_FILE in written
    assert "camt053-2025-06.xml" in written  # 12 months before the window's month
    assert "camt053-2026-05.xml" in written
    assert "camt053-2026-05-29.xml" not in written  # window: 2026-06-01 .. 2026-06-30
    assert "camt053-2026-06-01.xml" in written
    assert "camt053-2026-06-30.xml" in written
    assert "camt053-2026-06-06.xml" not in written  # a Saturday


# ----------------------------------------------------------------- period


def test_period() -> None:
    p = make_period(TODAY)
    assert p.window_start == date(2026, 10, 19)
    assert p.history_end == date(2026, 10, 18)  # the first run's date, D-30
    assert p.history_start == date(2025, 10, 1)
    assert p.opening_on == date(2025, 9, 30)
    assert make_period(date(2026, 1, 30)).history_start == date(2025, 1, 1)
    assert make_period(date(2026, 1, 15)).history_start == date(2024, 12, 1)


# ---------------------------------------------------------------- tenancies


def test_every_tenancy_has_a_unique_valid_betalingskenmerk(big: Portfolio) -> None:
    refs = [t.reference for t in big.tenancies]
    assert len(refs) == 6000 and len(set(refs)) == len(refs)
    assert all(len(r) == 16 and is_valid_betalingskenmerk(r) for r in refs)


def test_the_csv_has_exactly_the_columns_and_imports_cleanly(big: Portfolio) -> None:
    data = tenancies_csv(big)
    assert data.split(b"\r\n", 1)[0].decode() == ",".join(ALL)
    text, problem = decode_csv(data, TENANCIES_FILE)
    assert problem is None
    result = parse_tenancy_csv(text, TENANCIES_FILE)
    assert not result.errors
    assert len(result.records) == 6000
    record = result.records[0]
    assert record.payment_reference == big.tenancies[0].reference
    assert record.opening_balance_on == big.period.opening_on


def test_household_mix(big: Portfolio) -> None:
    ts = big.tenancies
    households: dict[str, list] = {}
    for t in ts:
        households.setdefault(t.household_code, []).append(t)
    n = len(households)
    second = sum(1 for v in households.values() if len(v) == 2)
    assert 0.01 < second / n < 0.03
    assert all(len(v) <= 2 for v in households.values())
    for units in households.values():
        if len(units) == 2:
            assert units[0].unit_kind == "woning" and units[1].unit_kind in (
                "parkeerplaats", "berging")
            assert units[0].street == units[1].street and units[0].iban == units[1].iban
    heads = [v[0] for v in households.values()]
    assert 0.82 < sum(1 for t in heads if t.email) / n < 0.88
    assert 0.77 < sum(1 for t in heads if t.mobile) / n < 0.83
    channels = Counter(t.channel for t in heads)
    assert channels["sms"] > 0 and channels["brief"] > 0 and channels["email"] > 0.7 * n
    langs = Counter(t.language for t in heads)
    assert set(langs) == {"nl", "en", "tr", "ar", "pl"} and langs["nl"] > 0.9 * n
    assert len({t.city for t in heads}) >= 4
    assert all(t.email.endswith(".example") for t in heads if t.email)
    homes = [t for t in ts if t.unit_kind == "woning"]
    assert all(450_00 <= t.net_rent_cents <= 900_00 for t in homes)
    assert all(0 <= t.service_cents <= 60_00 for t in homes)
    assert sum(1 for t in ts if t.due_day == 1) > 0.95 * len(ts)
    assert any(t.opening_cents > 0 for t in ts)
    assert sum(1 for t in ts if t.opening_cents != 0) < 0.05 * len(ts)
    assert all(t.opening_on == big.period.opening_on for t in ts)


def test_payment_methods_and_ibans(big: Portfolio) -> None:
    for t in big.tenancies[:1500]:
        assert t.method in (TRANSFER, DIRECT_DEBIT)
        if t.method == DIRECT_DEBIT:
            assert t.mandate_id and t.mandate_on and t.iban
        if t.iban:
            IBAN(t.iban)  # raises when invalid
        IBAN(t.payer_iban)
    dd = sum(1 for t in big.tenancies if t.method == DIRECT_DEBIT) / len(big.tenancies)
    assert 0.35 < dd < 0.6


def test_make_nl_iban() -> None:
    assert make_nl_iban("ABNA", "0417164300") == "NL91ABNA0417164300"


# -------------------------------------------------------------- behaviour


def test_behaviour_shares_within_tolerance(big: Portfolio) -> None:
    counts = behaviour_counts(big)
    n = sum(counts.values())
    for name, share in BEHAVIOUR_SHARES:
        expected = share * n
        sigma = (n * share * (1 - share)) ** 0.5
        assert abs(counts[name] - expected) < 4 * sigma + 2, (name, counts[name], expected)


def test_arrears_are_calibrated(big: Portfolio) -> None:
    """About 5-6% of households in arrears on an average day, about half of them 1-3
    months behind (by amount and by age of the oldest unpaid charge, averaged)."""
    book = ArrearsBook(big)
    days = [TODAY - timedelta(days=k) for k in range(0, 180, 5)]
    profiles = [book.profile(d) for d in days]
    share = statistics.mean(p.share for p in profiles)
    one_to_three = statistics.mean(p.share_one_to_three for p in profiles)
    assert 0.045 < share < 0.07, share
    assert 0.4 < one_to_three < 0.65, one_to_three
    assert all(p.by_amount[2] > 0 for p in profiles[:5])  # a few long arrears too


def _kinds(p: Portfolio) -> Counter[str]:
    c: Counter[str] = Counter()
    for e in p.entries:
        if e.amount < 0:
            c[f"return {e.return_reason}"] += 1
        elif e.mandate_id:
            c["collection"] += 1
        elif e.creditor_reference:
            c["structured"] += 1
        elif find_betalingskenmerk(e.remittance):
            c["typed"] += 1
        else:
            c["other"] += 1
    return c


def test_remittance_mix_of_transfers(big: Portfolio) -> None:
    c = _kinds(big)
    transfers = c["structured"] + c["typed"] + c["other"]
    assert 0.65 < c["structured"] / transfers < 0.78
    assert 0.13 < c["typed"] / transfers < 0.25  # typed, and found again by the matcher
    assert 0.06 < c["other"] / transfers < 0.14  # name/free text only (or ambiguous)
    assert c["return AM04"] > 0 and c["return MD06"] > 0


def test_entries_are_what_a_bank_reports(big: Portfolio) -> None:
    by_tenancy = {t.reference: t for t in big.tenancies}
    collections: dict[str, date] = {}
    for e, idx in zip(big.entries, big.entry_tenancy, strict=True):
        t = big.tenancies[idx]
        assert e.currency == "EUR" and e.amount != 0
        assert e.amount == e.amount.quantize(Decimal("0.01"))
        assert is_business_day(e.booked_on) and e.booked_on <= TODAY
        assert big.period.history_start <= e.booked_on
        assert e.value_on == e.booked_on and e.bank_reference
        assert not e.reversal  # a return is a debit with a reason, not a reversal
        if e.mandate_id:
            assert t.method == DIRECT_DEBIT and e.mandate_id == t.mandate_id
            assert e.end_to_end_id and e.creditor_reference == t.reference
            assert e.counterparty_iban == t.iban
            if e.amount > 0:
                collections[e.end_to_end_id] = e.booked_on
            else:
                assert e.return_reason in ("AM04", "MD06")
                assert collections[e.end_to_end_id] < e.booked_on  # returns follow
        else:
            assert e.amount > 0 and not e.return_reason
            assert e.counterparty_iban == t.payer_iban and e.counterparty_name == t.payer_name
        if e.creditor_reference:
            assert by_tenancy[e.creditor_reference] is t
    bank_refs = [e.bank_reference for e in big.entries]
    assert len(set(bank_refs)) == len(bank_refs)


def test_third_parties_pay_from_their_own_iban(big: Portfolio) -> None:
    third = [t for t in big.tenancies if t.behaviour == THIRD_PARTY_PAYER]
    assert {t.third_party for t in third} == {"municipality", "debt_help", "parent"}
    for t in third:
        assert t.payer_iban != t.iban and t.payer_name != t.household_name
    orgs = Counter(t.payer_iban for t in third if t.third_party != "parent")
    assert max(orgs.values()) > 5  # one organisation pays for many tenants


def test_behaviours_leave_their_trace(big: Portfolio) -> None:
    book = ArrearsBook(big)
    late: Counter[str] = Counter()
    for i, t in enumerate(big.tenancies[:3000]):
        if book.owed(i, TODAY - timedelta(days=1)) > 0:
            late[t.behaviour] += 1
    counts = Counter(t.behaviour for t in big.tenancies[:3000])
    assert late["on_time"] / counts["on_time"] < 0.02
    assert late["income_shock"] / counts["income_shock"] > 0.3
    assert late["partial_payer"] / counts["partial_payer"] > 0.5


# ---------------------------------------------------------------- statements


def test_statements_balance_and_chain(small: Portfolio) -> None:
    files = plan_bank_files(small)
    balance = opening_account_balance(small)
    seen = 0
    period = small.period
    for n, f in enumerate(files, 1):
        s = f.statement
        assert s.account_iban == small.corporation_iban and s.currency == "EUR"
        assert s.opening_balance == balance
        assert s.opening_balance + sum((e.amount for e in s.entries), Decimal(0)) \
            == s.closing_balance
        assert s.opening_on is not None and s.closing_on is not None
        assert all(s.opening_on <= e.booked_on <= s.closing_on for e in s.entries)
        assert f.sequence == n
        balance = s.closing_balance
        seen += len(s.entries)
    assert seen == len(small.entries)
    monthly = [f for f in files if (f.statement.closing_on or TODAY) < period.window_start]
    daily = [f for f in files if (f.statement.opening_on or TODAY) >= period.window_start]
    assert len(monthly) + len(daily) == len(files)
    assert len(monthly) == 12  # 2025-06 .. 2026-05 (the window starts on 1 June)
    assert monthly[0].statement.opening_on == period.history_start
    assert monthly[-1].statement.closing_on == period.history_end
    business = [period.window_start + timedelta(days=k) for k in range(30)]
    assert [f.statement.opening_on for f in daily] == [d for d in business
                                                        if is_business_day(d)]


# ------------------------------------------------------------------ command


def test_demo_command_writes_the_inbox(vroeg_home: Path) -> None:
    """`vroeg demo --no-run` only writes files (no database); twice gives the same bytes."""
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    args = ["--tenancies", "40", "--seed", "4", "--date", "2026-03-03", "--no-run", "--json"]
    call_command("demo", *args, stdout=out, stderr=io.StringIO())
    summary = json.loads(out.getvalue())
    inbox = vroeg_home / "inbox"
    names = sorted(p.name for p in inbox.iterdir() if p.is_file())
    assert names == sorted(f["name"] for f in summary["files"])
    assert "tenancies.csv" in names and "camt053-2026-03-03.xml" in names
    assert summary["tenancies"] == 40 and summary["window_start"] == "2026-02-02"
    before = {n: (inbox / n).read_bytes() for n in names}
    out = io.StringIO()
    call_command("demo", *args, stdout=out, stderr=io.StringIO())
    assert not any(f["changed"] for f in json.loads(out.getvalue())["files"])
    assert {n: (inbox / n).read_bytes() for n in names} == before
