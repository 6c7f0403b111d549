"""Every real bank file imports through `vroeg import` with a per-file result."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from vroeg.banking.models import BankFile, BankTransaction
from vroeg.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db(transaction=True)

STATEMENT_SUFFIXES = (".sta", ".940", ".swi", ".mt940", ".txt", ".xml", "")
NOT_BANK = (".xsd", ".yml", ".pydata", ".md")


def test_every_real_file_gets_a_result_and_never_a_traceback(realdata, vroeg_home):
    files = sorted(p for p in realdata.rglob("*") if p.is_file())
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:  # some files (XSD, YAML) are refused: exit 1
        call_command("import", str(realdata), json=True, stdout=out)
    assert exit_.value.code == 1
    results = {r["file"]: r for r in json.loads(out.getvalue())}
    assert len(results) == len(files)
    held = 0
    for path in files:
        r = results[str(path)]
        if path.suffix in NOT_BANK or path.name in ("LICENSE", "PROVENANCE.md"):
            assert r["status"] == "refused" and r["detail"], path
            continue
        if path.name == "camt053.v2.wrong.xml":
            assert r["status"] == "refused" and "Stmt" in r["detail"]
            continue
        if r["status"] == "held":  # a trimmed sample whose balances do not add up
            assert "balance does not add up" in r["detail"], path
            held += 1
            continue
        assert r["status"] in ("imported", "duplicate_file"), (path, r["detail"])
        stored = sum(r.get(k, 0) for k in ("matched", "unmatched", "ignored", "new"))
        assert stored == r["new_entries"], path
    # These are other people's accounts: nothing may be booked to a tenant's ledger.
    assert LedgerEntry.objects.count() == 0
    assert BankTransaction.objects.filter(status="matched").count() == 0

    # Importing the whole folder again books nothing new.
    before = BankTransaction.objects.count()
    again = StringIO()
    with pytest.raises(SystemExit):
        call_command("import", str(realdata), json=True, stdout=again)
    assert BankTransaction.objects.count() == before
    statuses = {r["status"] for r in json.loads(again.getvalue())}
    assert statuses <= {"duplicate_file", "refused", "held"}
    assert BankFile.objects.filter(status="imported").count() > 30
    assert BankFile.objects.filter(status="held").count() == held > 5
