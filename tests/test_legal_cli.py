"""`vroeg legal costs|interest|deadline`: JSON and text output, bad input exits 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command


def run(*args: str) -> str:
    out = StringIO()
    call_command("legal", *args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> str:
    err = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("legal", *args, stdout=StringIO(), stderr=err)
    assert exc.value.code == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_costs_json():
    data = json.loads(run("costs", "1000", "--on", "2025-01-01", "--json"))
    assert {k: data[k] for k in ("principal", "costs", "vat", "total")} == {
        "principal": "1000.00", "costs": "150.00", "vat": "0.00", "total": "1150.00"}
    assert "Kosten / costs: € 150.00" in data["explanation"]


def test_costs_with_vat_and_dutch_amount():
    data = json.loads(run("costs", "2.500,05", "--on", "2025-01-01", "--vat", "--json"))
    assert (data["costs"], data["vat"], data["total"]) == ("375.01", "78.75", "2953.81")


def test_costs_small_recurring_claim():
    data = json.loads(run("costs", "1000", "--on", "2024-10-01", "--monthly", "266.66",
                          "--charged", "100", "--json"))
    assert (data["costs"], data["capped"]) == ("40.00", True)
    before = json.loads(run("costs", "1000", "--on", "2024-09-30", "--monthly", "266.66",
                            "--json"))
    assert before["costs"] == "150.00"


def test_costs_text_is_dutch_first():
    text = run("costs", "1000", "--on", "2025-01-01")
    assert text.startswith("Incassokosten (WIK) op / collection costs (WIK) on 2025-01-01")
    assert "Totaal (hoofdsom + kosten + btw) / total (principal + costs + VAT): € 1150.00" in text


def test_interest_json():
    data = json.loads(run("interest", "1000", "--from", "2023-03-15", "--to", "2024-06-15",
                          "--json"))
    assert data["interest"] == "74.92"
    assert [(p["from"], p["to"], p["days"], p["rate"], p["base"], p["interest"])
            for p in data["periods"]] == [
        ("2023-03-15", "2023-07-01", 108, "4", "1000.00", "11.84"),
        ("2023-07-01", "2024-01-01", 184, "6", "1000.00", "30.25"),
        ("2024-01-01", "2024-03-15", 74, "7", "1000.00", "14.19"),
        ("2024-03-15", "2024-06-15", 92, "7", "1056.28", "18.64")]


def test_interest_text():
    text = run("interest", "1000", "--from", "2023-01-01", "--to", "2024-01-01")
    assert "Rente / interest: € 50.09" in text


def test_deadline_json():
    data = json.loads(run("deadline", "--sent", "2026-04-09", "--json"))
    assert (data["received_on"], data["deadline"]) == ("2026-04-13", "2026-04-28")


def test_deadline_text():
    text = run("deadline", "--sent", "2026-12-16")
    assert "Uiterste betaaldatum / deadline: 2027-01-04 (ma/Mon)" in text


@pytest.mark.parametrize("args, named", [
    (("costs", "abc"), "AMOUNT: geen bedrag / not an amount"),
    (("costs", "-5"), "AMOUNT: negatief bedrag / negative amount"),
    (("costs", "1.000"), "AMOUNT: hoogstens 2 decimalen / at most 2 decimals"),
    (("costs", "100", "--on", "2025-02-30"), "--on: geen datum"),
    (("costs", "100", "--on", "2011-01-01"), "--on:"),
    (("costs", "100", "--monthly", "x"), "--monthly: geen bedrag"),
    (("interest", "x", "--from", "2023-01-01", "--to", "2024-01-01"), "AMOUNT:"),
    (("interest", "100", "--from", "2024-01-02", "--to", "2024-01-01"),
     "--to: 2024-01-01 ligt vóór --from / is before --from 2024-01-02"),
    (("interest", "100", "--from", "01-01-2024", "--to", "2024-02-01"), "--from: geen datum"),
    (("interest", "100", "--from", "2014-01-01", "--to", "2024-02-01"), "--from:"),
    (("interest", "100", "--to", "2024-02-01"), "--from: ontbreekt / missing"),
    (("costs",), "AMOUNT: ontbreekt / missing"),
    (("deadline", "--sent", "gisteren"), "--sent: geen datum"),
    (("deadline",), "--sent: ontbreekt / missing"),
    (("deadline", "--sent", "2025-01-01", "--delivery-days", "1"), "--delivery-days:"),
])
def test_bad_input_exits_2_naming_the_argument(args, named):
    assert fails(*args).startswith(named)


def test_the_vroeg_command(tmp_path):
    env = {**os.environ, "VROEG_HOME": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "vroeg", "legal", "costs", "1000", "--on",
                         "2025-01-01", "--json"], capture_output=True, text=True, env=env,
                        check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["total"] == "1150.00"
    bad = subprocess.run([sys.executable, "-m", "vroeg", "legal", "costs", "-12,50"],
                         capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "AMOUNT: negatief bedrag / negative amount: '-12,50'"


@pytest.mark.parametrize("args, line", [
    (("costs", "100", "--monthly", "-1"), "--monthly: negatief bedrag / negative amount: '-1'"),
    (("interest", "100", "--from", "-2024-01-01", "--to", "2024-02-01"),
     "--from: geen datum (JJJJ-MM-DD) / not a date (YYYY-MM-DD): '-2024-01-01'"),
])
def test_values_starting_with_a_minus_sign(tmp_path, args, line):
    env = {**os.environ, "VROEG_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "vroeg", "legal", *args], capture_output=True,
                       text=True, env=env, check=False)
    assert (r.returncode, r.stderr.strip()) == (2, line)
