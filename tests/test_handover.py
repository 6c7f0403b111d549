"""Bailiff hand-over (overdracht deurwaarder): propose, dossier, approve, reject, withdraw,
the `vroeg handover` command and the admin."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from vroeg.audit.models import AuditEvent
from vroeg.collection.models import Case, CaseTransition, Evidence, Task
from vroeg.domain import case_state as cs
from vroeg.handover.actions import (
    HandoverError,
    approve,
    build_dossier,
    build_missing_dossiers,
    propose_handover,
    reject,
    withdraw_open_proposals,
)
from vroeg.handover.models import HandoverProposal
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.messaging.models import Message
from vroeg.portfolio.models import Household, Tenancy

from .builders import ref

pytestmark = pytest.mark.django_db

D = Decimal
PROPOSED_ON = date(2026, 6, 15)  # a Monday
DECIDED_ON = date(2026, 6, 17)
ARREARS = D("3150.00")
GATE = [
    "Achterstand 4.5 maanden huur, minimaal 2 / arrears 4.5 months' rent, at least 2",
    "Signaal aan de gemeente verstuurd op / signal to the municipality sent on 2026-03-20",
    "Veertiendagenbrief 2026-04-02, termijn tot en met / 14-day letter, deadline 2026-04-20: "
    "verstreken / passed",
    "Alleen een voorstel: een medewerker keurt de overdracht goed / a proposal only: a person "
    "approves the hand-over",
]
# Every Wgs / signal proof on its own day, so the PDF can be checked for each.
EVIDENCE = [
    (Evidence.Kind.CONTACT_ATTEMPT, date(2026, 2, 20), "call 2026-02-20: geen gehoor"),
    (Evidence.Kind.DEBT_HELP_REFERRAL, date(2026, 3, 2), "gewezen op schuldhulp Amsterdam"),
    (Evidence.Kind.WRITTEN_REMINDER, date(2026, 3, 3), "schriftelijke herinnering per post"),
    (Evidence.Kind.OBJECTION_OFFER, date(2026, 3, 4), "aanbod signaal en bezwaarrecht"),
    (Evidence.Kind.SIGNAL_SENT, date(2026, 3, 20), "signaal aan gemeente Amsterdam"),
    (Evidence.Kind.FOURTEEN_DAY_LETTER, date(2026, 4, 2), "veertiendagenbrief per post"),
]
LEDGER = [  # (booked_on, kind, amount, due_on, description)
    (date(2026, 1, 1), EntryKind.CHARGE, "700.00", date(2026, 1, 1), "Huur januari 2026"),
    (date(2026, 1, 5), EntryKind.PAYMENT, "-700.00", None, "Betaling"),
    (date(2026, 2, 1), EntryKind.CHARGE, "700.00", date(2026, 2, 1), "Huur februari 2026"),
    (date(2026, 2, 10), EntryKind.PAYMENT, "-350.00", None, "Deelbetaling"),
    (date(2026, 3, 1), EntryKind.CHARGE, "700.00", date(2026, 3, 1), "Huur maart 2026"),
    (date(2026, 3, 3), EntryKind.PAYMENT, "-700.00", None, "Incasso maart"),
    (date(2026, 3, 10), EntryKind.REVERSAL, "700.00", None, "Storno AM04"),
    (date(2026, 4, 1), EntryKind.CHARGE, "700.00", date(2026, 4, 1), "Huur april 2026"),
    (date(2026, 5, 1), EntryKind.CHARGE, "700.00", date(2026, 5, 1), "Huur mei 2026"),
    (date(2026, 6, 1), EntryKind.CHARGE, "700.00", date(2026, 6, 1), "Huur juni 2026"),
]


def _message(case: Case, n: int, template: str, channel: str, on: date) -> Message:
    t = case.tenancy
    sent = datetime(on.year, on.month, on.day, 8, 30, tzinfo=UTC)
    return Message.objects.create(
        household=t.household, tenancy=t, case=case, step=template, template=template,
        channel=channel, recipient="huurder@example.org", body_text="...", decided_on=on,
        send_after=sent, status=Message.Status.SENT, sent_at=sent,
        idempotency_key=f"test:{case.pk}:{n}")


@pytest.fixture
def case() -> Case:
    household = Household.objects.create(code="REL-00001", name="Fam. Jansen",
                                         email="huurder@example.org")
    tenancy = Tenancy.objects.create(
        code="OVK-00001", household=household, unit_code="EH-00001", street="Teststraat",
        house_number="12", postcode="1011AB", city="Amsterdam", start_on=date(2020, 1, 1),
        net_rent=D("650.00"), service_costs=D("50.00"), payment_reference=ref(1))
    for i, (on, kind, amount, due, text) in enumerate(LEDGER):
        LedgerEntry.objects.create(tenancy=tenancy, kind=kind, amount=D(amount), booked_on=on,
                                   due_on=due, description=text, source_key=f"test:{i}")
    case = Case.objects.create(tenancy=tenancy, flow="sociaal-incasseren",
                               opened_on=date(2026, 2, 6), state=cs.FORMAL_NOTICE,
                               stage="fourteen_day_letter")
    for n, (template, channel, on) in enumerate([
            ("reminder_friendly", "email", date(2026, 2, 6)),
            ("reminder_second", "sms", date(2026, 2, 13)),
            ("written_reminder", "letter", date(2026, 3, 3)),
            ("fourteen_day_letter", "letter", date(2026, 4, 2))]):
        _message(case, n, template, channel, on)
    call = Task.objects.create(kind="call", title="Bellen", household=household,
                               tenancy=tenancy, case=case, created_on=date(2026, 2, 18),
                               due_on=date(2026, 2, 20), status=Task.Status.DONE,
                               outcome="no_answer", done_on=date(2026, 2, 20), done_by="staff:a",
                               idempotency_key="test:call")
    for kind, on, note in EVIDENCE:
        Evidence.objects.create(case=case, kind=kind, on=on, note=note, actor="system:run",
                                source=f"task:{call.pk}" if kind == "contact_attempt"
                                else f"test:{kind}")
    return case


def propose(case: Case, day: date = PROPOSED_ON) -> HandoverProposal:
    with transaction.atomic():
        return propose_handover(case, day=day, actor="system:run", gate=GATE, arrears=ARREARS,
                                months_in_arrears=D("4.5"))


def pdf_text(path) -> str:
    return subprocess.run(["/usr/bin/pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


# --- propose ---------------------------------------------------------------------------


def test_propose_creates_the_decision_task_and_moves_the_case(case):
    p = propose(case)
    assert (p.status, p.proposed_on, p.arrears, p.months_in_arrears, p.gate) == (
        "proposed", PROPOSED_ON, ARREARS, D("4.50"), GATE)
    case.refresh_from_db()
    assert case.state == cs.HANDOVER_PROPOSED
    transition = CaseTransition.objects.get(case=case)
    assert (transition.event, transition.before, transition.after) == (
        cs.HANDOVER_PROPOSED_EVENT, cs.FORMAL_NOTICE, cs.HANDOVER_PROPOSED)
    task = Task.objects.get(idempotency_key=f"handover:{p.pk}")
    assert (task.kind, task.team, task.status, task.case_id) == (
        "handover_decision", "teamleider", "open", case.pk)
    assert task.due_on == date(2026, 6, 18)  # 3 working days after Monday
    assert AuditEvent.objects.filter(action="handover.propose", object_id=str(p.pk)).exists()


def test_propose_is_idempotent(case):
    first = propose(case)
    again = propose(case, day=date(2026, 6, 16))
    assert again.pk == first.pk
    assert HandoverProposal.objects.count() == 1
    assert Task.objects.filter(kind="handover_decision").count() == 1
    assert CaseTransition.objects.filter(case=case).count() == 1


def test_one_open_proposal_per_case_is_a_database_constraint(case):
    p = propose(case)
    with pytest.raises(IntegrityError), transaction.atomic():
        HandoverProposal.objects.create(case=case, tenancy=case.tenancy, proposed_on=p.proposed_on,
                                        arrears=ARREARS, months_in_arrears=D("4.5"))


def test_propose_refuses_a_case_below_the_formal_stage_and_floats(case):
    Case.objects.filter(pk=case.pk).update(state=cs.REMINDING)
    with pytest.raises(HandoverError, match="not allowed in state"):
        propose(case)
    Case.objects.filter(pk=case.pk).update(state=cs.FORMAL_NOTICE)
    with pytest.raises(TypeError):
        propose_handover(case, day=PROPOSED_ON, actor="system:run", gate=GATE,
                         arrears=3150.0,  # type: ignore[arg-type]
                         months_in_arrears=D("4.5"))
    assert not HandoverProposal.objects.exists()


# --- the dossier -----------------------------------------------------------------------


def test_dossier_pdf_csv_and_vera_json(case, vroeg_home):
    p = propose(case)
    folder = build_dossier(p)
    assert folder == vroeg_home / "outbox" / "handover" / str(p.pk)
    assert sorted(f.name for f in folder.iterdir()) == [
        "dossier.pdf", "externe-incasso.json", "ledger.csv"]  # no temporary file left behind
    p.refresh_from_db()
    assert p.dossier_folder == f"outbox/handover/{p.pk}"

    text = pdf_text(folder / "dossier.pdf")
    for expected in ("Teststraat 12", "1011 AB Amsterdam", "Fam. Jansen", "OVK-00001",
                     "€ 3.150,00", "Dossier overdracht deurwaarder", "Bailiff hand-over dossier",
                     "Huurder en huurovereenkomst", "Tenant and tenancy",
                     "Wgs preconditions", "Gate checks", "Storno AM04",
                     "geen gehoor", "14-day letter, deadline 2026-04-20"):
        assert expected in text, expected
    for _kind, on, _note in EVIDENCE:
        assert on.strftime("%d-%m-%Y") in text, on
    for template in ("vriendelijke herinnering", "tweede herinnering", "veertiendagenbrief"):
        assert template in text

    rows = list(csv.DictReader(io.StringIO((folder / "ledger.csv").read_text("utf-8"))))
    assert list(rows[0]) == ["boekdatum", "vervaldatum", "soort", "omschrijving", "bedrag",
                             "saldo"]
    assert len(rows) == len(LEDGER)
    total = sum((D(r["bedrag"]) for r in rows), D("0"))
    balance = sum((e.amount for e in LedgerEntry.objects.filter(tenancy=case.tenancy)), D("0"))
    assert total == balance == ARREARS == D(rows[-1]["saldo"])
    assert rows[6] == {"boekdatum": "2026-03-10", "vervaldatum": "", "soort": "reversal",
                       "omschrijving": "Storno AM04", "bedrag": "700.00", "saldo": "1050.00"}

    raw = (folder / "externe-incasso.json").read_text("utf-8")
    data = json.loads(raw, parse_float=Decimal)
    assert list(data)[:8] == ["id", "code", "soort", "omschrijving", "status", "begindatum",
                              "bedrag", "saldo"]
    for field in ("boekingen", "debiteur", "overeenkomsten", "extra-attributen",
                  "informatieobjecten"):
        assert field in data
    assert data["soort"] == {"code": "DEU", "naam": "Deurwaarder"}
    assert data["status"] == {"code": "NIE", "naam": "Nieuw"}
    assert data["begindatum"] == "2026-06-15"
    assert data["bedrag"] == ARREARS and data["saldo"] == ARREARS
    assert '"bedrag": 3150.00,' in raw  # exact from Decimal, never through float
    assert len(data["boekingen"]) == len(LEDGER)
    assert data["debiteur"]["code"] == "REL-00001"
    assert data["debiteur"]["relatie"]["soort"] == {"code": "GRO", "naam": "Relatiegroep"}
    assert data["overeenkomsten"] == [{"id": str(case.tenancy.pk), "code": "OVK-00001",
                                       "soort": {"code": "HUU", "naam": "Huurovereenkomst"}}]
    extra = {a["naam"]: a["waarde"] for a in data["extra-attributen"]}
    assert extra["eenheidAdres"] == "Teststraat 12"
    assert extra["maandenAchterstand"] == "4.50"
    assert extra["vroegsignaalVerstuurd"] == "2026-03-20"
    assert extra["veertiendagenbriefVerstuurd"] == "2026-04-02"
    assert "incassokosten" not in extra  # only on approval
    assert "overdrachtsdatum" not in data


def test_rebuilding_writes_the_same_csv_and_json(case, vroeg_home):
    p = propose(case)
    folder = build_dossier(p)
    before = {n: (folder / n).read_bytes() for n in ("ledger.csv", "externe-incasso.json")}
    build_dossier(p)
    assert {n: (folder / n).read_bytes() for n in before} == before
    assert pdf_text(folder / "dossier.pdf").count("Teststraat 12") >= 1


def test_the_daily_run_builds_missing_dossiers_once(case, vroeg_home):
    p = propose(case)
    assert build_missing_dossiers() == 1
    p.refresh_from_db()
    assert (vroeg_home / p.dossier_folder / "dossier.pdf").is_file()
    assert build_missing_dossiers() == 0


# --- approve ---------------------------------------------------------------------------


def test_approve_hands_over_with_wik_costs_in_the_dossier_only(case, vroeg_home):
    p = propose(case)
    entries = LedgerEntry.objects.count()
    p = approve(p, actor="staff:anna", on=DECIDED_ON, note="akkoord")
    assert (p.status, p.decided_on, p.decided_by, p.decision_note) == (
        "approved", DECIDED_ON, "staff:anna", "akkoord")
    # 15% of 2,500 + 10% of 650 (RULES-NL rule 11); rent 700 > 266.67: no cap.
    assert (p.principal, p.collection_costs, p.collection_costs_vat) == (
        ARREARS, D("440.00"), D("0.00"))
    assert "Kosten / costs: € 440.00" in p.costs_explanation
    assert LedgerEntry.objects.count() == entries  # the bailiff charges them
    case.refresh_from_db()
    assert case.state == cs.HANDED_OVER
    task = Task.objects.get(idempotency_key=f"handover:{p.pk}")
    assert (task.status, task.done_on, task.done_by, task.outcome) == (
        "done", DECIDED_ON, "staff:anna", "")

    folder = vroeg_home / p.dossier_folder
    data = json.loads((folder / "externe-incasso.json").read_text("utf-8"),
                      parse_float=Decimal)
    assert data["status"] == {"code": "ACT", "naam": "Actief"}
    assert data["overdrachtsdatum"] == "2026-06-17"
    extra = {a["naam"]: a["waarde"] for a in data["extra-attributen"]}
    assert (extra["hoofdsom"], extra["incassokosten"], extra["incassokostenTotaal"]) == (
        "3150.00", "440.00", "440.00")
    assert "€ 440,00" in pdf_text(folder / "dossier.pdf")


def test_approve_without_costs_when_settings_say_so(case, vroeg_home, settings):
    settings.VROEG_CHARGE_COSTS_AT_HANDOVER = False
    p = approve(propose(case), actor="staff:anna", on=DECIDED_ON, note="")
    assert p.status == "approved" and p.collection_costs is None
    assert "VROEG_CHARGE_COSTS_AT_HANDOVER" in p.costs_explanation
    data = json.loads((vroeg_home / p.dossier_folder / "externe-incasso.json").read_text())
    assert "incassokosten" not in {a["naam"] for a in data["extra-attributen"]}


def test_no_costs_before_the_14_day_letter_deadline(case, vroeg_home):
    # A new 14-day letter (after a broken arrangement, say) gives a new term.
    Evidence.objects.create(case=case, kind=Evidence.Kind.FOURTEEN_DAY_LETTER,
                            on=date(2026, 6, 10), note="nieuwe veertiendagenbrief",
                            actor="system:run", source="test:second-letter")
    p = approve(propose(case), actor="staff:anna", on=DECIDED_ON, note="")
    assert p.collection_costs is None
    assert "rule 10" in p.costs_explanation


@pytest.mark.parametrize("actor", ["system:run", "System:daily", "  ", ""])
def test_the_system_never_decides(case, vroeg_home, actor):
    p = propose(case)
    for decide in (approve, reject):
        with pytest.raises(HandoverError):
            decide(p, actor=actor, on=DECIDED_ON, note="waarom")
    p.refresh_from_db()
    assert p.status == "proposed"
    case.refresh_from_db()
    assert case.state == cs.HANDOVER_PROPOSED


def test_decisions_only_from_proposed(case, vroeg_home):
    p = approve(propose(case), actor="staff:anna", on=DECIDED_ON, note="")
    with pytest.raises(HandoverError, match="only a proposed one"):
        approve(p, actor="staff:anna", on=DECIDED_ON, note="")
    with pytest.raises(HandoverError, match="only a proposed one"):
        reject(p, actor="staff:anna", on=DECIDED_ON, note="toch niet")


def test_refusals_leave_nothing_half_done(case, vroeg_home):
    p = propose(case)
    with pytest.raises(HandoverError, match="needs a note"):
        reject(p, actor="staff:anna", on=DECIDED_ON, note="   ")
    with pytest.raises(HandoverError, match="before the proposal"):
        approve(p, actor="staff:anna", on=date(2026, 6, 1), note="")
    # The case moved on (an arrangement) without withdrawing: no decision possible.
    Case.objects.filter(pk=case.pk).update(state=cs.ARRANGEMENT)
    with pytest.raises(HandoverError, match="no longer awaits a decision"):
        approve(p, actor="staff:anna", on=DECIDED_ON, note="")
    p.refresh_from_db()
    assert (p.status, p.dossier_folder) == ("proposed", "")
    assert Task.objects.get(idempotency_key=f"handover:{p.pk}").status == "open"


def test_no_hand_over_of_a_settled_balance(case, vroeg_home):
    p = propose(case)
    LedgerEntry.objects.create(tenancy=case.tenancy, kind=EntryKind.PAYMENT,
                               amount=-ARREARS, booked_on=date(2026, 6, 16),
                               description="Betaald", source_key="test:paid")
    with pytest.raises(HandoverError, match="balance is settled"):
        approve(p, actor="staff:anna", on=DECIDED_ON, note="")


# --- reject and withdraw ---------------------------------------------------------------


def test_reject_with_a_note(case, vroeg_home):
    p = propose(case)
    build_dossier(p)
    p = reject(p, actor="staff:anna", on=DECIDED_ON, note="Huurder belde, regeling in de maak")
    assert (p.status, p.decision_note) == ("rejected", "Huurder belde, regeling in de maak")
    case.refresh_from_db()
    assert case.state == cs.FORMAL_NOTICE
    task = Task.objects.get(idempotency_key=f"handover:{p.pk}")
    assert (task.status, task.done_by) == ("done", "staff:anna")
    data = json.loads((vroeg_home / p.dossier_folder / "externe-incasso.json").read_text())
    assert (data["status"]["code"], data["einddatum"]) == ("EIN", "2026-06-17")


def test_withdraw_cancels_the_task_and_allows_a_new_proposal(case, vroeg_home):
    p = propose(case)
    withdrawn = withdraw_open_proposals(case, actor="system:run", reason="regeling afgesproken",
                                        on=date(2026, 6, 16))
    assert [w.pk for w in withdrawn] == [p.pk]
    p.refresh_from_db()
    assert (p.status, p.decided_on, p.decision_note) == (
        "withdrawn", date(2026, 6, 16), "regeling afgesproken")
    assert Task.objects.get(idempotency_key=f"handover:{p.pk}").status == "cancelled"
    assert withdraw_open_proposals(case, actor="system:run", reason="nogmaals") == []
    # The unique constraint holds for open proposals only.
    Case.objects.filter(pk=case.pk).update(state=cs.FORMAL_NOTICE)
    case.refresh_from_db()
    assert propose(case, day=date(2026, 7, 1)).pk != p.pk


# --- the command -----------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("handover", *args, stdout=out)
    return out.getvalue()


def fails(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        call_command("handover", *args, stdout=StringIO())
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_command_list_dossier_approve(case, vroeg_home):
    p = propose(case)
    text = run("list")
    assert "OVK-00001" in text and "€ 3.150,00" in text
    listed = json.loads(run("list", "--status", "proposed", "--json"))
    assert [(r["id"], r["status"], r["arrears"]) for r in listed] == [(p.pk, "proposed",
                                                                      "3150.00")]
    assert json.loads(run("list", "--status", "approved", "--json")) == []
    out = run("dossier", str(p.pk))
    assert str(vroeg_home / "outbox" / "handover" / str(p.pk)) in out
    assert (vroeg_home / "outbox" / "handover" / str(p.pk) / "dossier.pdf").is_file()
    out = run("approve", str(p.pk), "--by", "anna", "--note", "akkoord", "--date", "2026-06-17")
    assert "approved" in out and "€ 440,00" in out
    p.refresh_from_db()
    assert (p.status, p.decided_by) == ("approved", "anna")


def test_command_reject(case, vroeg_home):
    p = propose(case)
    out = run("reject", str(p.pk), "--by", "anna", "--note", "eerst huisbezoek",
              "--date", "2026-06-17")
    assert "rejected" in out
    p.refresh_from_db()
    assert (p.status, p.decision_note) == ("rejected", "eerst huisbezoek")


def test_command_errors_are_one_line_exit_2(case, vroeg_home, capsys):
    p = propose(case)
    assert "needs a note" in fails("reject", str(p.pk), "--by", "anna", capsys=capsys)
    assert "--by" in fails("approve", str(p.pk), capsys=capsys)
    assert "never the system" in fails("approve", str(p.pk), "--by", "system:run",
                                       "--date", "2026-06-17", capsys=capsys)
    assert "no proposal 999" in fails("approve", "999", "--by", "anna", capsys=capsys)
    assert "not a number" in fails("dossier", "abc", capsys=capsys)
    assert "--status" in fails("list", "--status", "open", capsys=capsys)
    assert "not a date" in fails("approve", str(p.pk), "--by", "anna", "--date", "17-06-2026",
                                 capsys=capsys)
    assert "invalid choice" in fails("approv", capsys=capsys)
    p.refresh_from_db()
    assert p.status == "proposed"


# --- the admin -------------------------------------------------------------------------


@pytest.fixture
def static_root(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


def test_admin_list_detail_dossier_and_reject(admin_client, case, vroeg_home, static_root):
    p = propose(case)
    build_dossier(p)
    changelist = reverse("admin:handover_handoverproposal_changelist")
    response = admin_client.get(changelist, {"status__exact": "proposed", "q": "OVK-00001"})
    assert response.status_code == 200
    assert [r.pk for r in response.context["cl"].result_list] == [p.pk]
    response = admin_client.get(reverse("admin:handover_handoverproposal_change", args=[p.pk]))
    assert response.status_code == 200
    assert "Signaal aan de gemeente verstuurd op" in response.content.decode()
    assert AuditEvent.objects.filter(action="view", object_id=str(p.pk)).exists()
    pdf = admin_client.get(reverse("admin:handover_handoverproposal_dossier",
                                   args=[p.pk, "dossier.pdf"]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert admin_client.get(reverse("admin:handover_handoverproposal_dossier",
                                    args=[p.pk, "secret.txt"])).status_code == 404

    form = admin_client.post(changelist, {"action": "reject_selected",
                                          "_selected_action": [p.pk]})
    assert form.status_code == 200 and "toelichting" in form.content.decode()
    without_note = admin_client.post(changelist, {"action": "reject_selected",
                                                  "_selected_action": [p.pk], "apply": "yes",
                                                  "note": ""})
    assert without_note.status_code == 200  # the form again: a note is required
    p.refresh_from_db()
    assert p.status == "proposed"
    done = admin_client.post(changelist, {"action": "reject_selected",
                                          "_selected_action": [p.pk], "apply": "yes",
                                          "note": "eerst een huisbezoek"})
    assert done.status_code == 302
    p.refresh_from_db()
    assert (p.status, p.decided_by, p.decision_note) == ("rejected", "staff:admin",
                                                         "eerst een huisbezoek")
