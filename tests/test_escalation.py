"""The whole ladder of the default flow through the real daily run, day by day: from the
friendly reminder to the municipal signal (only with all four Wgs preconditions), the
14-day letter (its deadline in the letter), and a hand-over proposal a person decides."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.builders import tenancy_row, write_tenancies
from vroeg.collection.actions import complete_task, record_objection
from vroeg.collection.models import Case, CaseTransition, Evidence, Task
from vroeg.handover.actions import approve
from vroeg.handover.models import HandoverProposal
from vroeg.ledger.models import LedgerEntry
from vroeg.messaging.models import Message
from vroeg.municipal.models import MunicipalSignal

pytestmark = pytest.mark.django_db(transaction=True)
D = date


def run(day: date) -> dict:
    out = StringIO()
    call_command("run", date=day.isoformat(), json=True, max_catch_up=200, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def never_pays(vroeg_home):
    write_tenancies(vroeg_home / "inbox" / "huurcontracten.csv", [
        tenancy_row(1, beginsaldo_datum="2026-06-30", eenheid_plaats="Utrecht",
                    eenheid_postcode="3511 AB"),
        tenancy_row(2, beginsaldo_datum="2026-06-30", eenheid_plaats="Utrecht",
                    eenheid_postcode="3511 AC"),
    ])
    run(D(2026, 6, 30))
    return vroeg_home


def first_call(code: str) -> Task:
    return Task.objects.filter(tenancy__code=code, kind="call").order_by("created_on")[0]


def steps(code: str) -> list[tuple[str, str]]:
    case = Case.objects.get(tenancy__code=code)
    return [(s.taken_on.isoformat(), s.step) for s in case.steps.order_by("taken_on", "id")]


def test_the_ladder_to_a_handover_proposal(never_pays):
    run(D(2026, 7, 27))
    calls = Task.objects.filter(tenancy__code="OVK-00001", kind="call").order_by("created_on")
    # Late for the first time: a call a few days after the first reminder; another one
    # after the arrangement offer and its link.
    assert [c.created_on for c in calls] == [D(2026, 7, 11), D(2026, 7, 26)]
    complete_task(calls[0], outcome="no_answer", actor="staff:anna", on=D(2026, 7, 27),
                  note="twee keer gebeld")
    run(D(2026, 10, 14))

    assert steps("OVK-00001") == [
        ("2026-07-06", "reminder_friendly"), ("2026-07-11", "call_early"),
        ("2026-07-16", "reminder_second"), ("2026-07-21", "arrangement_offer"),
        ("2026-07-26", "call"), ("2026-07-31", "written_reminder"),
        ("2026-08-05", "call_second_month"),  # August's rent due, July's still open
        ("2026-08-14", "municipal_signal"),  # 14 days after the written reminder
        ("2026-08-19", "fourteen_day_letter"), ("2026-08-30", "call_before_handover"),
        ("2026-10-14", "handover_proposal"),  # 2 months after the signal
    ]
    case = Case.objects.get(tenancy__code="OVK-00001")
    assert case.state == "handover_proposed"
    moves = list(CaseTransition.objects.filter(case=case).order_by("on", "id")
                 .values_list("after", flat=True))
    states = [m for i, m in enumerate(moves) if i == 0 or moves[i - 1] != m]
    assert states == ["reminding", "personal_contact", "written_reminder", "signalled",
                      "formal_notice", "handover_proposed"]

    # The signal went out with all four preconditions on record, and its proof exists.
    signal = MunicipalSignal.objects.get(case=case)
    assert (signal.status, signal.sent_on, signal.municipality) == ("sent", D(2026, 8, 14),
                                                                    "Utrecht")
    kinds = set(Evidence.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds >= {"contact_attempt", "debt_help_referral", "written_reminder",
                     "objection_offer", "signal_sent", "fourteen_day_letter"}
    proof = subprocess.run(["pdftotext", str(never_pays / signal.proof_file), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "Utrecht" in proof and "twee keer gebeld" in proof

    # The 14-day letter: by post, with the deadline (sent Wed 19 Aug, received Fri 21 Aug,
    # 14 days: Fri 4 Sep) and the exact costs over the principal of two months' rent.
    letter = Message.objects.get(case=case, step="fourteen_day_letter")
    assert letter.channel == "letter" and letter.status == Message.Status.SENT
    text = subprocess.run(["pdftotext", str(never_pays / letter.delivery_ref), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "4 september 2026" in text and "€ 1.400,00" in text
    assert "€ 210,00" in text  # 15% of 1,400.00 (WIK), no VAT
    assert letter.context["deadline"] == "2026-09-04"

    # The proposal waits for a person, with a task for the team lead.
    proposal = HandoverProposal.objects.get(case=case)
    assert proposal.status == "proposed" and proposal.months_in_arrears >= 2
    assert Task.objects.filter(case=case, kind="handover_decision", status="open").exists()
    approve(proposal, actor="staff:teamleider", on=D(2026, 10, 14), note="alle stappen gezet")
    case.refresh_from_db()
    assert case.state == "handed_over"
    assert run(D(2026, 10, 20))["handover"]["proposed"] == 0  # no automated step any more

    # Tenancy 2 had no contact attempt on record: the signal waits, and so does the rest.
    waiting = steps("OVK-00002")
    assert waiting[-2:] == [("2026-07-31", "written_reminder"),
                            ("2026-08-05", "call_second_month")]  # a task, not yet done
    assert not MunicipalSignal.objects.filter(tenancy__code="OVK-00002").exists()


def test_an_objection_skips_the_signal_but_not_the_letter(never_pays):
    run(D(2026, 7, 27))
    complete_task(first_call("OVK-00001"), outcome="reached", actor="staff:anna",
                  on=D(2026, 7, 27))
    run(D(2026, 8, 2))
    case = Case.objects.get(tenancy__code="OVK-00001")
    record_objection(case, on=D(2026, 8, 3), actor="staff:anna",
                     note="huurder belde: wil geen signaal")
    report = run(D(2026, 8, 25))
    taken = dict((s, d) for d, s in steps("OVK-00001"))
    assert "municipal_signal" in taken and "fourteen_day_letter" in taken
    assert case.steps.get(step="municipal_signal").action == "skipped"
    assert not MunicipalSignal.objects.filter(case=case).exists()
    assert report["municipal_signals"]["delivered"] == 0


def test_a_landlord_that_charges_costs_books_them_the_day_after_the_deadline(never_pays,
                                                                            settings,
                                                                            tmp_path):
    flow = (settings.BASE_DIR / "flows" / "sociaal-incasseren.yaml").read_text("utf-8")
    mine = tmp_path / "met-kosten.yaml"
    mine.write_text(flow.replace("charge_collection_costs: false",
                                 "charge_collection_costs: true"), "utf-8")
    settings.VROEG_FLOW_FILE = str(mine)
    run(D(2026, 7, 27))
    complete_task(first_call("OVK-00001"), outcome="no_answer", actor="staff:anna",
                  on=D(2026, 7, 27))
    run(D(2026, 9, 4))
    assert not LedgerEntry.objects.filter(kind="costs").exists()  # the deadline itself
    assert run(D(2026, 9, 5))["ledger"]["collection_costs"] == 1
    costs = LedgerEntry.objects.get(kind="costs")
    assert (costs.tenancy.code, costs.amount, costs.booked_on) == ("OVK-00001",
                                                                  Decimal("210.00"),
                                                                  D(2026, 9, 5))
    run(D(2026, 9, 30))
    assert LedgerEntry.objects.filter(kind="costs").count() == 1  # once per case


def test_a_fourteen_day_letter_sent_late_counts_its_term_from_the_day_it_goes_out():
    from vroeg.messaging.dispatch import message_context

    msg = Message(template="fourteen_day_letter", channel="letter", decided_on=D(2026, 12, 18),
                  context={"sent_on": "2026-12-18", "received_on": "2026-12-22",
                           "deadline": "2027-01-05", "delivery_working_days": 2})
    ctx = message_context(msg, D(2026, 12, 23))  # held five days (a catch-up)
    # Sent Wed 23 Dec: received Mon 28 Dec (24 Dec, then the holidays and the weekend),
    # 14 days: Mon 11 Jan 2027.
    assert (ctx["sent_on"], ctx["received_on"], ctx["deadline"]) == (
        D(2026, 12, 23), D(2026, 12, 28), D(2027, 1, 11))
    assert message_context(msg, D(2026, 12, 18))["deadline"] == "2027-01-05"


def test_a_wrong_number_is_not_an_attempt_at_contact(never_pays):
    run(D(2026, 7, 27))
    calls = Task.objects.filter(kind="call", created_on=D(2026, 7, 11)).order_by("tenancy__code")
    complete_task(calls[0], outcome="wrong_number", actor="staff:anna", on=D(2026, 7, 27))
    complete_task(calls[1], outcome="voicemail", actor="staff:anna", on=D(2026, 7, 27))
    attempts = Evidence.objects.filter(kind="contact_attempt")
    assert [e.case.tenancy.code for e in attempts] == ["OVK-00002"]


def test_an_arrangement_cannot_start_in_the_past(never_pays):
    from vroeg.collection.actions import ActionError, agree_arrangement

    run(D(2026, 7, 27))
    case = Case.objects.get(tenancy__code="OVK-00001")
    with pytest.raises(ActionError, match="first instalment before the day it was agreed"):
        agree_arrangement(case, schedule=[(D(2026, 7, 1), Decimal("100.00")),
                                          (D(2026, 8, 1), Decimal("100.00"))],
                          actor="staff:anna", on=D(2026, 7, 27))
    with pytest.raises(ActionError, match="in date order"):
        agree_arrangement(case, schedule=[(D(2026, 9, 1), Decimal("100.00")),
                                          (D(2026, 8, 1), Decimal("100.00"))],
                          actor="staff:anna", on=D(2026, 7, 27))
    assert not case.arrangements.exists()
