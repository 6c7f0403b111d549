"""Municipal signals (vroegsignalering, Wgs): create, deliver (CSV, JSON, PDF proof),
retry, withdraw, feedback (pauses and tasks), the `vroeg signals` command and the admin."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.builders import ref
from vroeg.audit.models import AuditEvent
from vroeg.collection.actions import record_evidence, record_objection
from vroeg.collection.models import Case, CaseTransition, Evidence, Pause, Task
from vroeg.domain import case_state as cs
from vroeg.domain.legal.wgs import Proof, SignalEvidence, signal_eligibility
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.municipal import adapters
from vroeg.municipal.actions import (
    SignalError,
    create_signal,
    current_rent_paid,
    deliver_signals,
    record_feedback,
    retry_signal,
    withdraw_signal,
)
from vroeg.municipal.adapters import COLUMNS, AdapterError, AdapterResult
from vroeg.municipal.config import adapter_name_for, folder_name, has_agreement
from vroeg.municipal.models import MunicipalFeedback, MunicipalSignal
from vroeg.portfolio.models import Household, Tenancy

pytestmark = pytest.mark.django_db

D = Decimal
DAY = date(2026, 11, 20)
FORBIDDEN = ("vulnerable", "has_children", "kwetsbaar", "kinderen", "bsn", "burgerservice")
PRECONDITION_LABELS = (
    "(a) poging tot persoonlijk contact",
    "(b) gewezen op gemeentelijke schuldhulp",
    "(c) schriftelijke herinnering verstuurd",
    "(d) herinnering bood aan gegevens door te geven",
)


# --- builders ----------------------------------------------------------------------------


def _charge(t: Tenancy, due: date, amount: str = "750.00") -> None:
    LedgerEntry.objects.create(tenancy=t, kind=EntryKind.CHARGE, amount=D(amount), booked_on=due,
                               due_on=due, source_key=f"charge:{t.pk}:{due.isoformat()}")


def _payment(t: Tenancy, on: date, amount: str) -> None:
    LedgerEntry.objects.create(tenancy=t, kind=EntryKind.PAYMENT, amount=-D(amount), booked_on=on,
                               source_key=f"test:pay:{t.pk}:{on.isoformat()}:{amount}")


def make_case(n: int = 1, *, city: str = "Utrecht", evidence: bool = True) -> Case:
    """A household in arrears since September (EUR 1,550.00 on DAY, 2.07 months), with a
    written reminder and the four preconditions on record. Vulnerable, with children:
    neither may ever leave the building."""
    household = Household.objects.create(
        code=f"REL-{n:05d}", name=f"Fam. Jansen {n}", email=f"jansen{n}@example.org",
        mobile="+31612345678", vulnerable=True, has_children=True,
        postal_street="Postbus", postal_house_number="99", postal_postcode="9999 ZZ",
        postal_city="Elders")
    tenancy = Tenancy.objects.create(
        code=f"OVK-{n:05d}", household=household, unit_code=f"EH-{n:05d}",
        street="Oudegracht", house_number=f"{n}A", postcode="3511ab", city=city,
        start_on=date(2020, 1, 1), net_rent=D("700.00"), service_costs=D("50.00"),
        payment_reference=ref(n))
    for month in (9, 10, 11):
        _charge(tenancy, date(2026, month, 1))
    _payment(tenancy, date(2026, 9, 5), "700.00")
    case = Case.objects.create(tenancy=tenancy, flow="sociaal-incasseren@1",
                               opened_on=date(2026, 9, 6), state=cs.WRITTEN_REMINDER,
                               stage="written_reminder")
    if evidence:
        record_evidence(case, Evidence.Kind.CONTACT_ATTEMPT, on=date(2026, 10, 1),
                        actor="staff:anna", source="task:11",
                        note="call 2026-10-01: gesproken / reached the tenant")
        for kind, note in (
                (Evidence.Kind.DEBT_HELP_REFERRAL, "brief met schuldhulp Utrecht 030 286 00 00"),
                (Evidence.Kind.WRITTEN_REMINDER, "schriftelijke herinnering per brief"),
                (Evidence.Kind.OBJECTION_OFFER, "aanbod signaal, bezwaar binnen 14 dagen")):
            record_evidence(case, kind, on=date(2026, 10, 15), actor="system:run",
                            source="message:21", note=note)
    return case


def gate_reasons(case: Case, day: date = DAY) -> tuple[str, ...]:
    """The legal gate as the daily run would pass it (its readable checks)."""
    ev = {e.kind: Proof(e.on, e.note) for e in case.evidence.all()}
    evidence = SignalEvidence(contact_attempt=ev.get("contact_attempt"),
                              debt_help_referral=ev.get("debt_help_referral"),
                              written_reminder=ev.get("written_reminder"),
                              objection_offer=ev.get("objection_offer"))
    result = signal_eligibility(evidence, today=day, oldest_due_on=date(2026, 9, 1))
    assert result.eligible, result.missing
    return result.reasons


def signal_for(case: Case, day: date = DAY) -> MunicipalSignal:
    return create_signal(case, day=day, actor="system:run", preconditions=gate_reasons(case, day))


def _pdftotext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: apt-get install -y poppler-utils")
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                         text=True).stdout
    return " ".join(out.split())


def _day_folder(home: Path, day: date = DAY, municipality: str = "utrecht") -> Path:
    return home / "outbox" / "municipal" / day.isoformat() / municipality


def _csv_rows(folder: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = (folder / "signals.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # plain UTF-8, no BOM
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


# --- configuration -------------------------------------------------------------------------


def test_agreements_and_adapters_from_settings(settings):
    settings.VROEG_MUNICIPAL_AGREEMENTS = []
    assert has_agreement("Utrecht") and has_agreement("Nergenshuizen")
    settings.VROEG_MUNICIPAL_AGREEMENTS = ["Utrecht", " Den  Haag "]
    assert has_agreement(" utrecht ") and has_agreement("den haag")
    assert not has_agreement("Amersfoort")
    settings.VROEG_MUNICIPAL_ADAPTERS = {}
    assert adapter_name_for("Utrecht") == "file"
    settings.VROEG_MUNICIPAL_ADAPTERS = {"Utrecht": "vps", "*": "xxllnc"}
    assert adapter_name_for("UTRECHT") == "vps"
    assert adapter_name_for("Amersfoort") == "xxllnc"
    assert folder_name("'s-Hertogenbosch") == "s-hertogenbosch"
    assert folder_name("Súdwest-Fryslân") == "sudwest-fryslan"


def test_settings_read_the_environment(tmp_path):
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='vroeg.settings'; "
            "from django.conf import settings as s; "
            "print(s.VROEG_MUNICIPAL_ADAPTERS, s.VROEG_MUNICIPAL_AGREEMENTS)")
    env = {"PATH": "/usr/bin:/bin", "VROEG_HOME": str(tmp_path),
           "VROEG_MUNICIPAL_ADAPTERS": "Utrecht=file, Amersfoort = file",
           "VROEG_MUNICIPAL_AGREEMENTS": "Utrecht, Amersfoort,"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip() == ("{'Utrecht': 'file', 'Amersfoort': 'file'} "
                           "['Utrecht', 'Amersfoort']")


def test_unknown_adapter_is_a_system_check_error(settings):
    from vroeg.municipal.apps import check_adapters

    settings.VROEG_MUNICIPAL_ADAPTERS = {"Utrecht": "file"}
    assert check_adapters() == []
    settings.VROEG_MUNICIPAL_ADAPTERS = {"Utrecht": "vps"}
    [error] = check_adapters()
    assert error.id == "municipal.E001" and "vps" in error.msg


# --- create ----------------------------------------------------------------------------------


def test_create_signal_freezes_the_payload(vroeg_home, settings):
    case = make_case()
    signal = signal_for(case)
    assert signal.status == MunicipalSignal.Status.READY
    assert signal.municipality == "Utrecht"
    assert signal.created_on == DAY
    assert (signal.arrears, signal.arrears_since, signal.months_in_arrears,
            signal.monthly_rent) == (D("1550.00"), date(2026, 9, 1), D("2.07"), D("750.00"))
    corp = settings.VROEG_CORPORATION
    assert signal.payload == {
        "gemeente": "Utrecht", "naam": "Fam. Jansen 1", "straat": "Oudegracht",
        "huisnummer": "1A", "postcode": "3511 AB", "woonplaats": "Utrecht",
        "telefoon": "+31612345678", "email": "jansen1@example.org",
        "achterstand": "1550.00", "achterstand_sinds": "2026-09-01",
        "maanden_achterstand": "2.07", "maandhuur": "750.00", "kenmerk_verhuurder": "OVK-00001",
        "verhuurder_naam": corp["name"], "verhuurder_telefoon": corp["phone"],
        "verhuurder_email": corp["email"],
    }
    assert [p["code"] for p in signal.preconditions] == [
        "contact_attempt", "debt_help_referral", "written_reminder", "objection_offer"]
    assert signal.preconditions[0]["evidence"] == [
        {"on": "2026-10-01", "note": "call 2026-10-01: gesproken / reached the tenant",
         "source": "task:11"}]
    assert any("verplicht" in line for line in signal.gate_checks)
    assert AuditEvent.objects.filter(action="municipal.signal_created",
                                     object_id=str(signal.pk)).exists()
    # Creating is not sending: the case stays where it was.
    case.refresh_from_db()
    assert case.state == cs.WRITTEN_REMINDER


def test_create_signal_is_idempotent(vroeg_home):
    case = make_case()
    first = signal_for(case)
    again = signal_for(case, DAY + timedelta(days=1))
    assert again.pk == first.pk and again.created_on == DAY
    assert MunicipalSignal.objects.count() == 1


def test_create_signal_refuses_what_the_law_forbids(vroeg_home, settings):
    case = make_case()
    record_objection(case, on=date(2026, 10, 20), actor="staff:anna", note="huurder belde")
    with pytest.raises(SignalError, match="bezwaar"):
        signal_for(case)

    bare = make_case(2, evidence=False)
    with pytest.raises(SignalError, match="contact_attempt"):
        create_signal(bare, day=DAY, actor="system:run", preconditions=[])

    settings.VROEG_MUNICIPAL_AGREEMENTS = ["Amersfoort"]
    other = make_case(3)
    with pytest.raises(SignalError, match="convenant"):
        signal_for(other)
    settings.VROEG_MUNICIPAL_AGREEMENTS = []

    paid = make_case(4)
    _payment(paid.tenancy, date(2026, 11, 10), "1550.00")
    with pytest.raises(SignalError, match="geen achterstand"):
        signal_for(paid)
    assert MunicipalSignal.objects.count() == 0


# --- deliver ---------------------------------------------------------------------------------


def test_deliver_writes_csv_json_and_pdf_proof(vroeg_home):
    case = make_case()
    signal = signal_for(case)
    result = deliver_signals(DAY)
    assert (result.sent, result.failed, result.withdrawn) == (1, 0, 0)
    assert result.as_json()["by_municipality"] == {
        "Utrecht": {"sent": 1, "failed": 0, "withdrawn": 0}}

    signal.refresh_from_db()
    folder = _day_folder(vroeg_home)
    assert signal.status == MunicipalSignal.Status.SENT
    assert signal.sent_on == DAY and signal.sent_at is not None
    assert signal.adapter == "file" and signal.attempts == 1 and signal.last_error == ""
    assert signal.external_reference == (
        f"outbox/municipal/2026-11-20/utrecht/signals.csv#{signal.pk}")
    assert signal.proof_file == f"outbox/municipal/2026-11-20/utrecht/signal-{signal.pk}.pdf"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"signal-{signal.pk}.pdf", "signals.csv", "signals.json"]  # no temporary files left

    header, rows = _csv_rows(folder)
    assert header == list(COLUMNS) == [
        "signaal_id", "aangemaakt_op", "verstuurd_op", "gemeente", "naam", "straat",
        "huisnummer", "postcode", "woonplaats", "telefoon", "email", "achterstand",
        "achterstand_sinds", "maanden_achterstand", "maandhuur", "kenmerk_verhuurder",
        "verhuurder_naam", "verhuurder_telefoon", "verhuurder_email"]
    [row] = rows
    assert row["signaal_id"] == str(signal.pk)
    assert (row["aangemaakt_op"], row["verstuurd_op"]) == ("2026-11-20", "2026-11-20")
    assert (row["naam"], row["straat"], row["huisnummer"], row["postcode"], row["woonplaats"]) \
        == ("Fam. Jansen 1", "Oudegracht", "1A", "3511 AB", "Utrecht")
    assert (row["achterstand"], row["maanden_achterstand"], row["maandhuur"]) == (
        "1550.00", "2.07", "750.00")
    assert row["kenmerk_verhuurder"] == "OVK-00001"

    doc = json.loads((folder / "signals.json").read_text(encoding="utf-8"))
    assert (doc["formaat"], doc["gemeente"], doc["datum"], doc["aantal"]) == (
        "vroeg-vroegsignalen/1", "Utrecht", "2026-11-20", 1)
    assert doc["signalen"] == [row]
    assert doc["signalen"][0]["achterstand"] == "1550.00"  # a string, never a float

    pdf = vroeg_home / signal.proof_file
    assert pdf.read_bytes().startswith(b"%PDF")
    text = _pdftotext(pdf)
    assert "Utrecht" in text
    assert "20 november 2026" in text and "2026-11-20" in text
    for label in PRECONDITION_LABELS:
        assert label in text
    assert "1 oktober 2026" in text and "15 oktober 2026" in text  # the evidence dates
    assert "geen bezwaar van de huurder in het dossier" in text
    assert "€ 1.550,00" in text and "OVK-00001" in text

    for name, content in (("csv", (folder / "signals.csv").read_text(encoding="utf-8")),
                          ("json", (folder / "signals.json").read_text(encoding="utf-8")),
                          ("pdf", text)):
        for word in FORBIDDEN:
            assert word not in content.lower(), (name, word)
    assert "Postbus" not in text and "9999" not in text  # the home address, not the postal one

    # The proof is on record for the case and the case moved to SIGNALLED.
    ev = Evidence.objects.get(case=case, kind=Evidence.Kind.SIGNAL_SENT)
    assert ev.source == f"signal:{signal.pk}" and ev.on == DAY
    assert ev.details["proof_file"] == signal.proof_file
    case.refresh_from_db()
    assert case.state == cs.SIGNALLED
    t = CaseTransition.objects.get(case=case, event=cs.SIGNAL_SENT)
    assert (t.before, t.after, t.on) == (cs.WRITTEN_REMINDER, cs.SIGNALLED, DAY)
    assert AuditEvent.objects.filter(action="municipal.signal_sent").count() == 1


def test_redelivery_sends_nothing_twice(vroeg_home):
    case = make_case()
    signal_for(case)
    assert deliver_signals(DAY).sent == 1
    folder = _day_folder(vroeg_home)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = deliver_signals(DAY)
    assert (again.sent, again.failed, again.files) == (0, 0, [])
    assert deliver_signals(DAY + timedelta(days=1)).sent == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert Evidence.objects.filter(kind=Evidence.Kind.SIGNAL_SENT).count() == 1
    assert CaseTransition.objects.filter(event=cs.SIGNAL_SENT).count() == 1


def test_a_second_batch_the_same_day_keeps_the_first_rows(vroeg_home):
    first = signal_for(make_case(1))
    deliver_signals(DAY)
    second = signal_for(make_case(2))
    third = signal_for(make_case(3, city="Amersfoort"))
    result = deliver_signals(DAY)
    assert result.sent == 2
    assert set(result.by_municipality) == {"Utrecht", "Amersfoort"}
    _, rows = _csv_rows(_day_folder(vroeg_home))
    assert [r["signaal_id"] for r in rows] == [str(first.pk), str(second.pk)]
    doc = json.loads((_day_folder(vroeg_home) / "signals.json").read_text(encoding="utf-8"))
    assert doc["aantal"] == 2
    _, rows = _csv_rows(_day_folder(vroeg_home, municipality="amersfoort"))
    assert [r["signaal_id"] for r in rows] == [str(third.pk)]


class BrokenAdapter:
    name = "broken"
    calls = 0

    def deliver(self, signals, folder):
        BrokenAdapter.calls += 1
        raise AdapterError("platform niet bereikbaar / platform unreachable (HTTP 503)")


class LeakyAdapter:
    """Raises an error whose text quotes personal data: it must not be stored."""

    name = "leaky"

    def deliver(self, signals, folder):
        raise RuntimeError(f"cannot send {signals[0].payload['naam']} at "
                           f"{signals[0].payload['email']}")


class RefusingAdapter:
    name = "refusing"

    def deliver(self, signals, folder):
        return [AdapterResult(signal_id=s.pk, ok=False, permanent=True,
                              error="geweigerd door platform / refused (code V12)")
                for s in signals]


@pytest.fixture
def test_adapters():
    for cls in (BrokenAdapter, LeakyAdapter, RefusingAdapter):
        adapters.register_adapter(cls.name, cls)
    yield
    for cls in (BrokenAdapter, LeakyAdapter, RefusingAdapter):
        adapters.ADAPTERS.pop(cls.name, None)


def test_a_failing_adapter_keeps_the_signal_ready_and_retries(vroeg_home, settings,
                                                               test_adapters):
    case = make_case()
    signal = signal_for(case)
    settings.VROEG_MUNICIPAL_ADAPTERS = {"Utrecht": "broken"}
    result = deliver_signals(DAY)
    assert (result.sent, result.failed) == (0, 1)
    assert result.by_municipality["Utrecht"]["failed"] == 1
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.READY
    assert signal.last_error == "platform niet bereikbaar / platform unreachable (HTTP 503)"
    assert signal.attempts == 1 and signal.sent_on is None and signal.proof_file == ""
    assert not Evidence.objects.filter(kind=Evidence.Kind.SIGNAL_SENT).exists()
    case.refresh_from_db()
    assert case.state == cs.WRITTEN_REMINDER
    assert not (vroeg_home / "outbox" / "municipal").exists()

    settings.VROEG_MUNICIPAL_ADAPTERS = {"Utrecht": "leaky"}
    deliver_signals(DAY + timedelta(days=1))
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.READY and signal.attempts == 2
    assert signal.last_error == "onverwachte fout / unexpected error (RuntimeError)"
    assert "Jansen" not in signal.last_error
    for row in AuditEvent.objects.filter(action="municipal.delivery_failed"):
        assert "Jansen" not in row.summary and "example.org" not in row.summary

    # Tried again on the next run, through a working platform.
    settings.VROEG_MUNICIPAL_ADAPTERS = {}
    later = DAY + timedelta(days=2)
    assert deliver_signals(later).sent == 1
    signal.refresh_from_db()
    assert (signal.status, signal.sent_on, signal.last_error, signal.attempts) == (
        MunicipalSignal.Status.SENT, later, "", 3)
    assert (_day_folder(vroeg_home, later) / f"signal-{signal.pk}.pdf").is_file()


def test_unknown_adapter_fails_without_sending(vroeg_home, settings):
    signal = signal_for(make_case())
    settings.VROEG_MUNICIPAL_ADAPTERS = {"*": "vps"}
    result = deliver_signals(DAY)
    assert result.failed == 1
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.READY
    assert "unknown adapter 'vps'" in signal.last_error


def test_a_refusal_for_good_is_failed_until_a_person_retries(vroeg_home, settings,
                                                              test_adapters):
    signal = signal_for(make_case())
    settings.VROEG_MUNICIPAL_ADAPTERS = {"Utrecht": "refusing"}
    result = deliver_signals(DAY)
    assert (result.failed, result.refused) == (1, 1)
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.FAILED
    assert deliver_signals(DAY + timedelta(days=1)).failed == 0  # not picked up again
    settings.VROEG_MUNICIPAL_ADAPTERS = {}
    retry_signal(signal, actor="staff:anna")
    assert deliver_signals(DAY + timedelta(days=2)).sent == 1


def test_an_objection_before_delivery_withdraws_the_signal(vroeg_home):
    case = make_case()
    signal = signal_for(case)
    record_objection(case, on=DAY, actor="staff:anna", note="huurder maakt bezwaar")
    result = deliver_signals(DAY)
    assert (result.sent, result.withdrawn) == (0, 1)
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.WITHDRAWN
    assert "bezwaar" in signal.withdrawn_reason
    assert not (vroeg_home / "outbox" / "municipal").exists()


def test_withdraw_only_an_unsent_signal(vroeg_home):
    signal = signal_for(make_case())
    withdraw_signal(signal, actor="staff:anna", reason="inmiddels betaald / paid meanwhile",
                    on=DAY)
    signal.refresh_from_db()
    assert (signal.status, signal.withdrawn_on) == (MunicipalSignal.Status.WITHDRAWN, DAY)
    assert deliver_signals(DAY).sent == 0
    with pytest.raises(SignalError):
        withdraw_signal(signal, actor="staff:anna", reason="nogmaals")

    sent = signal_for(make_case(2))
    deliver_signals(DAY)
    with pytest.raises(SignalError, match="verstuurd"):
        withdraw_signal(sent, actor="staff:anna", reason="te laat")
    with pytest.raises(SignalError, match="reden"):
        withdraw_signal(sent, actor="staff:anna", reason=" ")


# --- feedback ------------------------------------------------------------------------------


def _sent_signal(n: int = 1) -> MunicipalSignal:
    signal = signal_for(make_case(n))
    deliver_signals(DAY)
    signal.refresh_from_db()
    return signal


def test_current_rent_paid_compares_totals_not_lines(vroeg_home):
    signal = _sent_signal()
    t = signal.tenancy
    _charge(t, date(2026, 12, 1))
    assert current_rent_paid(signal, date(2026, 12, 1))  # due today is not late yet
    assert not current_rent_paid(signal, date(2026, 12, 2))
    # Paid December's rent: oldest-first it settles September, yet current rent is paid.
    _payment(t, date(2026, 12, 3), "750.00")
    assert current_rent_paid(signal, date(2026, 12, 3))


def test_help_accepted_pauses_30_days_and_expects_a_plan(vroeg_home):
    signal = _sent_signal()
    on = date(2026, 11, 25)
    fb = record_feedback(signal, kind="help_accepted", on=on, note="intake gepland",
                         actor="staff:anna")
    pause = Pause.objects.get(tenancy=signal.tenancy, kind="municipal_help")
    assert (pause.starts_on, pause.ends_on) == (on, on + timedelta(days=30))
    task = Task.objects.get(kind="municipal_plan_check")
    assert task.idempotency_key == f"municipal_plan_check:{signal.pk}"
    assert (task.due_on, task.case_id, task.tenancy_id) == (
        on + timedelta(days=28), signal.case_id, signal.tenancy_id)
    assert "pauze" in fb.effect and "taak" in fb.effect
    assert AuditEvent.objects.filter(action="municipal.feedback", object_id=str(fb.pk)).exists()

    # The same report again is the same row and does nothing more.
    again = record_feedback(signal, kind="help_accepted", on=on, note="", actor="staff:bob")
    assert again.pk == fb.pk
    # A later "accepted" again: no second pause (up to 30 days per signal), one task.
    record_feedback(signal, kind="help_accepted", on=on + timedelta(days=5), note="",
                    actor="staff:bob")
    assert Pause.objects.filter(kind="municipal_help").count() == 1
    assert Task.objects.filter(kind="municipal_plan_check").count() == 1
    assert MunicipalFeedback.objects.count() == 2


def test_help_accepted_without_current_rent_paid_gives_no_pause(vroeg_home):
    signal = _sent_signal()
    _charge(signal.tenancy, date(2026, 12, 1))
    fb = record_feedback(signal, kind="help_accepted", on=date(2026, 12, 5), note="",
                         actor="staff:anna")
    assert not Pause.objects.filter(kind="municipal_help").exists()
    assert "geen pauze" in fb.effect
    task = Task.objects.get(kind="municipal_plan_check")
    assert "lopende huur niet betaald" in task.reason


@pytest.mark.parametrize("kind", ["plan_made", "programme_started"])
def test_plan_or_programme_starts_debt_help(vroeg_home, kind):
    signal = _sent_signal()
    record_feedback(signal, kind="help_accepted", on=date(2026, 11, 25), note="",
                    actor="staff:anna")
    record_feedback(signal, kind=kind, on=date(2026, 12, 10), note="", actor="staff:anna")
    pause = Pause.objects.get(tenancy=signal.tenancy, kind="debt_help")
    assert pause.starts_on == date(2026, 12, 10) and pause.ends_on is None
    case = Case.objects.get(pk=signal.case_id)
    assert case.state == cs.DEBT_HELP
    task = Task.objects.get(kind="municipal_plan_check")
    assert task.status == Task.Status.DONE
    # Reported twice (plan, then programme): still one debt-help pause.
    other = "programme_started" if kind == "plan_made" else "plan_made"
    record_feedback(signal, kind=other, on=date(2026, 12, 20), note="", actor="staff:anna")
    assert Pause.objects.filter(kind="debt_help").count() == 1


@pytest.mark.parametrize("kind", ["help_declined", "closed"])
def test_declined_or_closed_ends_the_help_pause(vroeg_home, kind):
    signal = _sent_signal()
    record_feedback(signal, kind="help_accepted", on=date(2026, 11, 25), note="",
                    actor="staff:anna")
    fb = record_feedback(signal, kind=kind, on=date(2026, 12, 2), note="", actor="staff:anna")
    pause = Pause.objects.get(kind="municipal_help")
    assert pause.ends_on == date(2026, 12, 2) and pause.ended_reason
    assert "beëindigd" in fb.effect


@pytest.mark.parametrize("kind", ["no_contact", "contact_made"])
def test_other_feedback_is_only_recorded(vroeg_home, kind):
    signal = _sent_signal()
    fb = record_feedback(signal, kind=kind, on=date(2026, 12, 2), note="", actor="staff:anna")
    assert fb.effect == "" and not Pause.objects.exists()
    assert not Task.objects.filter(kind="municipal_plan_check").exists()


def test_feedback_needs_a_sent_signal_and_a_date_after_it(vroeg_home):
    ready = signal_for(make_case(1))
    with pytest.raises(SignalError, match="niet verstuurd"):
        record_feedback(ready, kind="help_accepted", on=DAY, note="", actor="staff:anna")
    sent = _sent_signal(2)
    with pytest.raises(SignalError, match="voor het signaal"):
        record_feedback(sent, kind="no_contact", on=DAY - timedelta(days=1), note="",
                        actor="staff:anna")
    with pytest.raises(SignalError, match="onbekende"):
        record_feedback(sent, kind="happy", on=DAY, note="", actor="staff:anna")
    assert not MunicipalFeedback.objects.exists()


# --- command -------------------------------------------------------------------------------


def test_command_list_deliver_feedback_export(vroeg_home, capsys):
    signal = signal_for(make_case())
    call_command("signals", "list", "--json")
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["status"], row["arrears"], row["municipality"]) == (
        signal.pk, "ready", "1550.00", "Utrecht")
    assert "Jansen" not in json.dumps(row)

    call_command("signals", "deliver", "--date", DAY.isoformat())
    out = capsys.readouterr().out
    assert "1 verstuurd / sent" in out and "Utrecht" in out

    call_command("signals", "list", "--status", "sent")
    assert f"{signal.pk}" in capsys.readouterr().out
    call_command("signals", "list", "--status", "ready")
    assert "Geen signalen" in capsys.readouterr().out

    call_command("signals", "feedback", str(signal.pk), "help_accepted", "--on", "2026-11-25",
                 "--note", "intake")
    assert "feedback recorded" in capsys.readouterr().out
    assert MunicipalFeedback.objects.get().recorded_by.startswith("cli:")

    folder = _day_folder(vroeg_home)
    original_csv = (folder / "signals.csv").read_bytes()
    shutil.rmtree(folder)
    # An objection after sending does not undo the signal; the copy says when it came.
    record_objection(signal.case, on=date(2026, 11, 26), actor="staff:anna", note="bezwaar")
    call_command("signals", "export", "--date", DAY.isoformat())
    out = capsys.readouterr().out
    assert "signals.csv" in out and f"signal-{signal.pk}.pdf" in out
    assert (folder / "signals.csv").read_bytes() == original_csv
    text = _pdftotext(folder / f"signal-{signal.pk}.pdf")
    assert "kopie" in text.lower() and "20 november 2026" in text
    assert "26 november 2026, na het versturen" in text


@pytest.mark.parametrize("argv, message", [
    (["deliver", "--date", "20-11-2026"], "geen datum"),
    (["feedback", "999", "help_accepted"], "bestaat niet"),
    (["feedback", "abc", "help_accepted"], "geen nummer"),
    (["feedback", "{id}", "happy"], "onbekend"),
    (["feedback", "{id}", "no_contact"], "niet verstuurd"),
    (["export", "--date", "2026-11-21"], "geen verstuurde signalen"),
    (["export"], "ontbreekt"),
])
def test_command_errors_exit_2_with_one_line(vroeg_home, capsys, argv, message):
    signal = signal_for(make_case())
    argv = [a.replace("{id}", str(signal.pk)) for a in argv]
    with pytest.raises(SystemExit) as exc:
        call_command("signals", *argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


# --- admin ---------------------------------------------------------------------------------


@pytest.fixture
def _static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def test_admin_pages_proof_and_feedback(vroeg_home, admin_client, _static_root):
    signal = _sent_signal()
    changelist = reverse("admin:municipal_municipalsignal_changelist")
    response = admin_client.get(changelist, {"status__exact": "sent", "q": "OVK-00001"})
    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [signal.pk]
    assert admin_client.get(changelist, {"stale": "yes"}).status_code == 200

    change = reverse("admin:municipal_municipalsignal_change", args=[signal.pk])
    response = admin_client.get(change)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Oudegracht" in body and "(a) poging tot persoonlijk contact" in body
    proof_url = reverse("admin:municipal_municipalsignal_proof", args=[signal.pk])
    assert proof_url in body
    assert AuditEvent.objects.filter(action="view", object_type="municipal.municipalsignal",
                                     object_id=str(signal.pk)).count() == 1
    assert admin_client.get(reverse("admin:municipal_municipalsignal_add")).status_code == 403

    response = admin_client.get(proof_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="view", object_id=str(signal.pk)).count() == 2

    # Feedback through the inline goes through record_feedback (pause, task, audit).
    response = admin_client.post(change, {
        "feedback-TOTAL_FORMS": "1", "feedback-INITIAL_FORMS": "0",
        "feedback-MIN_NUM_FORMS": "0", "feedback-MAX_NUM_FORMS": "1000",
        "feedback-0-kind": "help_accepted", "feedback-0-on": "2026-11-25",
        "feedback-0-note": "intake", "_save": "Opslaan"})
    assert response.status_code == 302, response.content.decode()[:2000]
    fb = MunicipalFeedback.objects.get()
    assert fb.recorded_by == "staff:admin" and fb.kind == "help_accepted"
    assert Pause.objects.filter(kind="municipal_help").exists()
    assert Task.objects.filter(kind="municipal_plan_check").exists()
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.SENT  # the signal itself is untouched

    # A date before the signal is refused by the form, nothing recorded.
    response = admin_client.post(change, {
        "feedback-TOTAL_FORMS": "2", "feedback-INITIAL_FORMS": "1",
        "feedback-MIN_NUM_FORMS": "0", "feedback-MAX_NUM_FORMS": "1000",
        "feedback-0-id": str(fb.pk), "feedback-0-signal": str(signal.pk),
        "feedback-1-kind": "no_contact", "feedback-1-on": "2026-11-01", "_save": "Opslaan"})
    assert response.status_code == 200
    assert MunicipalFeedback.objects.count() == 1

    feedback_page = reverse("admin:municipal_municipalfeedback_change", args=[fb.pk])
    assert admin_client.get(feedback_page).status_code == 200
    assert AuditEvent.objects.filter(action="view", object_type="municipal.municipalfeedback",
                                     object_id=str(fb.pk)).exists()
    assert admin_client.get(
        reverse("admin:municipal_municipalfeedback_changelist")).status_code == 200


def test_admin_withdraw_action(vroeg_home, admin_client, _static_root):
    signal = signal_for(make_case())
    response = admin_client.post(reverse("admin:municipal_municipalsignal_changelist"), {
        "action": "withdraw", "_selected_action": [str(signal.pk)]})
    assert response.status_code == 302
    signal.refresh_from_db()
    assert signal.status == MunicipalSignal.Status.WITHDRAWN
    assert signal.withdrawn_reason.startswith("ingetrokken door medewerker")
