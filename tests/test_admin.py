"""The staff workspace (Django admin): lists, filters, search, manual matching, audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from vroeg.audit.models import AuditEvent
from vroeg.banking.admin_models import UnmatchedPayment
from vroeg.banking.matching_actions import ManualMatchError, manual_match
from vroeg.banking.models import BankFile, BankTransaction, TxnStatus
from vroeg.collection.models import (
    Arrangement,
    Case,
    CaseStep,
    CaseTransition,
    Evidence,
    Instalment,
    Pause,
    Signal,
    Task,
)
from vroeg.directdebit.models import Collection, CollectionFile, CollectionReturn, Mandate
from vroeg.handover.models import HandoverProposal
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.messaging.models import Message, MessageText
from vroeg.municipal.models import MunicipalFeedback, MunicipalSignal
from vroeg.payments.models import PaymentLink
from vroeg.portfolio.models import Household, ImportBatch, KnownPayer, Tenancy, TenancyEvent
from vroeg.runs.models import DayRun

pytestmark = pytest.mark.django_db

VROEG_MODELS = [m for m in admin.site._registry if m._meta.app_label not in ("auth",)]


def make_tenancy(n: int, *, city: str = "Amsterdam", name: str = "Jansen",
                 rent: Decimal = Decimal("750.00")) -> Tenancy:
    household = Household.objects.create(
        code=f"REL{n:04d}", name=f"Familie {name}", email=f"jansen{n}@example.nl",
        postal_street="Dorpsstraat", postal_house_number=str(n), postal_postcode="1234 AB",
        postal_city=city)
    return Tenancy.objects.create(
        code=f"OVK{n:04d}", household=household, unit_code=f"EH{n:04d}", street="Dorpsstraat",
        house_number=str(n), postcode=f"1234 A{chr(65 + n % 26)}", city=city,
        start_on=date(2020, 1, 1), net_rent=rent, service_costs=Decimal("50.00"),
        payment_reference=f"{1000000000000000 + n}")


@pytest.fixture
def data():
    """One tenancy in arrears with everything around it, and a quiet one."""
    ten = make_tenancy(1)
    quiet = make_tenancy(2, city="Utrecht", name="de Vries")
    KnownPayer.objects.create(tenancy=ten, iban="NL20INGB0001234567", name="J. Jansen")
    LedgerEntry.objects.create(tenancy=ten, kind=EntryKind.CHARGE, amount=Decimal("800.00"),
                               booked_on=date(2026, 3, 1), due_on=date(2026, 3, 1),
                               description="Huur maart 2026", source_key="charge:1:2026-03-01")
    LedgerEntry.objects.create(tenancy=ten, kind=EntryKind.PAYMENT, amount=Decimal("-500.00"),
                               booked_on=date(2026, 3, 5), source_key="test:pay:1")
    LedgerEntry.objects.create(tenancy=quiet, kind=EntryKind.CHARGE, amount=Decimal("800.00"),
                               booked_on=date(2026, 3, 1), source_key="charge:2:2026-03-01")
    LedgerEntry.objects.create(tenancy=quiet, kind=EntryKind.PAYMENT, amount=Decimal("-800.00"),
                               booked_on=date(2026, 3, 1), source_key="test:pay:2")
    bank_file = BankFile.objects.create(name="camt053-2026-03-10.xml", sha256="a" * 64,
                                        format="camt.053", status=BankFile.Status.IMPORTED,
                                        statements=1, entries=2, new_entries=2)
    unmatched = BankTransaction.objects.create(
        file=bank_file, entry_key="k1", account_iban="NL91ABNA0417164300",
        amount=Decimal("300.00"), booked_on=date(2026, 3, 10),
        counterparty_name="Zorgbureau Onbekend", counterparty_iban="NL02RABO0123456789",
        remittance="huur maart dorpsstraat", status=TxnStatus.UNMATCHED)
    matched = BankTransaction.objects.create(
        file=bank_file, entry_key="k2", account_iban="NL91ABNA0417164300",
        amount=Decimal("800.00"), booked_on=date(2026, 3, 1), counterparty_name="Pietersen",
        creditor_reference=quiet.payment_reference, status=TxnStatus.MATCHED, tenancy=quiet,
        match_reason="betalingskenmerk / structured reference", matched_by="system:run")
    case = Case.objects.create(tenancy=ten, stage="reminder", flow="sociaal-incasseren",
                               opened_on=date(2026, 3, 8))
    CaseStep.objects.create(case=case, step="reminder", taken_on=date(2026, 3, 8),
                            action="message", reason="1 maand achterstand")
    Signal.objects.create(tenancy=ten, kind="missed_month", key="2026-03",
                          detected_on=date(2026, 3, 8), reason="Huur maart niet betaald")
    Message.objects.create(household=ten.household, tenancy=ten, case=case, step="reminder",
                           template="herinnering", channel="email",
                           recipient="jansen1@example.nl", subject="Uw huur",
                           body_text="Beste familie Jansen,\nUw huur van maart is nog open.",
                           decided_on=date(2026, 3, 8), send_after=timezone.now(),
                           idempotency_key="msg:1:reminder")
    task = Task.objects.create(kind="call", title="Bel familie Jansen", household=ten.household,
                               tenancy=ten, case=case, created_on=date(2026, 3, 8),
                               due_on=date(2026, 3, 10), idempotency_key="task:1:call")
    Pause.objects.create(tenancy=ten, reason="schuldhulp", starts_on=date(2026, 3, 1),
                         set_by="staff:someone")
    ImportBatch.objects.create(file_name="huurcontracten.csv", sha256="b" * 64, rows=2,
                               created=2)
    DayRun.objects.create(run_on=date(2026, 3, 10), status=DayRun.Status.COMPLETED)
    AuditEvent.objects.create(actor="system:run", action="run", object_type="runs.dayrun",
                              object_id="1", summary="dagrun")
    mandate = Mandate.objects.create(tenancy=ten, reference="MND-1", signed_on=date(2026, 1, 5),
                                     debtor_name="J. Jansen", debtor_iban="NL20INGB0001234567",
                                     used=True)
    sepa_file = CollectionFile.objects.create(
        file_name="pain.008-2026-02-27-001.02.xml", created_on=date(2026, 2, 27),
        version="001.02", message_id="VROEG-DD-20260227", sha256="c" * 64,
        collect_on=date(2026, 3, 2), count=1, total=Decimal("800.00"), frst_count=1)
    collected = Collection.objects.create(
        tenancy=ten, mandate=mandate, period=date(2026, 3, 1), due_on=date(2026, 3, 1),
        amount=Decimal("800.00"), end_to_end_id="OVK0001-202603", sequence_type="FRST",
        collect_on=date(2026, 3, 2), status="returned", return_reason="AM04", file=sepa_file)
    CollectionReturn.objects.create(collection=collected, bank_transaction=unmatched,
                                    reason="AM04", action="retry_after_payday",
                                    handled_on=date(2026, 3, 4), note="AM04 onvoldoende saldo")
    Evidence.objects.create(case=case, kind="contact_attempt", on=date(2026, 3, 9),
                            note="gebeld, geen gehoor", source="staff:2026-03-09",
                            actor="staff:someone")
    arrangement = Arrangement.objects.create(case=case, tenancy=ten, agreed_on=date(2026, 3, 9),
                                             total=Decimal("300.00"), terms=3,
                                             created_by="staff:someone")
    for n in (1, 2, 3):
        Instalment.objects.create(arrangement=arrangement, number=n,
                                  due_on=date(2026, 3 + n, 1), amount=Decimal("100.00"))
    TenancyEvent.objects.create(tenancy=ten, kind="benefit_stopped", on=date(2026, 3, 2),
                                source="huurcontracten.csv:2")
    signal = MunicipalSignal.objects.create(
        case=case, tenancy=ten, household=ten.household, municipality="Amsterdam",
        status="sent", created_on=date(2026, 3, 20), sent_on=date(2026, 3, 20),
        arrears=Decimal("300.00"), months_in_arrears=Decimal("0.38"),
        monthly_rent=Decimal("800.00"))
    MunicipalFeedback.objects.create(signal=signal, kind="no_contact", on=date(2026, 3, 25),
                                     recorded_by="staff:someone")
    HandoverProposal.objects.create(case=case, tenancy=ten, proposed_on=date(2026, 5, 20),
                                    arrears=Decimal("1600.00"),
                                    months_in_arrears=Decimal("2.00"),
                                    gate=["ok: arrears"])
    MessageText.objects.create(template="reminder_friendly", language="nl", part="intro",
                               text="Wij helpen u graag, {{ name }}.", updated_by="staff:x")
    PaymentLink.objects.create(tenancy=ten, amount=Decimal("300.00"), description="Huur OVK0001",
                               provider="fake", token="f" * 32,
                               expires_at=timezone.now() + timedelta(days=14))
    return {"tenancy": ten, "quiet": quiet, "unmatched": unmatched, "matched": matched,
            "case": case, "task": task, "bank_file": bank_file}


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- every page loads -------------------------------------------------------------------


def test_every_vroeg_model_is_in_the_admin():
    labels = {m._meta.label for m in VROEG_MODELS}
    for label in ("portfolio.Household", "portfolio.Tenancy", "ledger.LedgerEntry",
                  "banking.BankFile", "banking.BankTransaction", "banking.UnmatchedPayment",
                  "collection.Case", "collection.Signal", "collection.Task", "collection.Pause",
                  "messaging.Message", "audit.AuditEvent", "runs.DayRun",
                  "directdebit.Mandate", "directdebit.Collection",
                  "directdebit.CollectionFile", "directdebit.CollectionReturn"):
        assert label in labels


@pytest.mark.parametrize("model", VROEG_MODELS, ids=lambda m: m._meta.label)
def test_changelist_and_change_page_load_with_rows(admin_client, data, model):
    response = admin_client.get(url(model, "changelist"))
    assert response.status_code == 200
    cl = response.context["cl"]
    rows = list(cl.result_list)
    assert rows, f"{model._meta.label}: no rows in the list"
    response = admin_client.get(url(model, "change", rows[0].pk))
    assert response.status_code == 200


def test_index_and_landing_page(admin_client, client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert "niet-gekoppelde betalingen / unmatched payments" in response.content.decode().lower()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_login_page_is_dutch(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="nl")
    assert "Aanmelden | vroeg" in response.content.decode()


# --- tenancies -----------------------------------------------------------------------------


def test_tenancy_list_shows_balance_and_open_case(admin_client, data):
    response = admin_client.get(url(Tenancy, "changelist"))
    rows = {t.code: t for t in response.context["cl"].result_list}
    assert rows["OVK0001"].balance == Decimal("300.00")
    assert rows["OVK0001"].open_case_stage == "reminder"
    assert rows["OVK0002"].balance == Decimal("0.00")
    assert rows["OVK0002"].open_case_stage is None
    html = response.content.decode()
    assert "€ 300,00" in html
    assert "€ 800,00" in html  # monthly rent 750 + 50


def test_tenancy_list_has_no_n_plus_one(admin_client, data):
    changelist = url(Tenancy, "changelist")
    admin_client.get(changelist)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(changelist).status_code == 200
    for n in range(10, 20):
        ten = make_tenancy(n)
        LedgerEntry.objects.create(tenancy=ten, kind=EntryKind.CHARGE, amount=Decimal("10.00"),
                                   booked_on=date(2026, 3, 1), source_key=f"t:{n}")
        Case.objects.create(tenancy=ten, stage="opened", flow="f", opened_on=date(2026, 3, 2))
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(changelist).status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize("query", ["OVK0001", "familie jansen", "REL0001",
                                   "1000000000000001", "1234 AB"])
def test_tenancy_search(admin_client, data, query):
    response = admin_client.get(url(Tenancy, "changelist"), {"q": query})
    codes = [t.code for t in response.context["cl"].result_list]
    assert "OVK0001" in codes
    assert "OVK0002" not in codes


def test_tenancy_search_without_hit(admin_client, data):
    response = admin_client.get(url(Tenancy, "changelist"), {"q": "bestaat-niet"})
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("params, expected", [
    ({"arrears": "yes"}, ["OVK0001"]),
    ({"arrears": "no"}, ["OVK0002"]),
    ({"open_case": "yes"}, ["OVK0001"]),
    ({"open_case": "no"}, ["OVK0002"]),
    ({"city": "Utrecht"}, ["OVK0002"]),
    ({"payment_method__exact": "transfer"}, ["OVK0001", "OVK0002"]),
])
def test_tenancy_filters(admin_client, data, params, expected):
    response = admin_client.get(url(Tenancy, "changelist"), params)
    assert response.status_code == 200
    assert sorted(t.code for t in response.context["cl"].result_list) == expected


def test_tenancy_page_shows_ledger_latest_first_and_payers(admin_client, data):
    response = admin_client.get(url(Tenancy, "change", data["tenancy"].pk))
    html = response.content.decode()
    assert "NL20INGB0001234567" in html
    ledger_formset = next(f for f in response.context["inline_admin_formsets"]
                          if f.opts.model is LedgerEntry)
    booked = [form.original.booked_on for form in ledger_formset]
    assert booked == sorted(booked, reverse=True)
    assert len(booked) == 2


def test_viewing_a_tenancy_writes_an_audit_row(admin_client, data):
    ten = data["tenancy"]
    admin_client.get(url(Tenancy, "change", ten.pk))
    rows = AuditEvent.objects.filter(action="view", object_type="portfolio.tenancy",
                                     object_id=str(ten.pk))
    assert rows.count() == 1
    assert rows.get().actor == "staff:admin"
    # The list is not a detail view; it is audited as a list, with what it showed.
    admin_client.get(url(Tenancy, "changelist"), {"q": "OVK"})
    assert AuditEvent.objects.filter(action="view").count() == 1
    listed = AuditEvent.objects.get(action="list", object_type="portfolio.tenancy")
    assert listed.actor == "staff:admin" and listed.details["searched"] is True
    assert "OVK" not in str(listed.details["filters"])  # what was typed is not kept
    assert str(ten.pk) in listed.details["shown"]


def test_viewing_a_household_writes_an_audit_row(admin_client, data):
    household = data["tenancy"].household
    admin_client.get(url(Household, "change", household.pk))
    assert AuditEvent.objects.filter(action="view", object_type="portfolio.household",
                                     object_id=str(household.pk),
                                     actor="staff:admin").count() == 1


def test_household_search(admin_client, data):
    response = admin_client.get(url(Household, "changelist"), {"q": "OVK0002"})
    assert [h.code for h in response.context["cl"].result_list] == ["REL0002"]


# --- read-only data ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [LedgerEntry, AuditEvent, BankTransaction, Tenancy, Household,
                                   Message, Case])
def test_read_only_models_refuse_add_change_delete(admin_client, data, model):
    obj = model.objects.order_by("pk").first()
    before = model.objects.count()
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(url(model, "delete", obj.pk)).status_code == 403
    assert admin_client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(url(model, "change", obj.pk), {})
    assert response.status_code == 403
    assert model.objects.count() == before


def test_ledger_list_search_and_filter(admin_client, data):
    changelist = url(LedgerEntry, "changelist")
    response = admin_client.get(changelist, {"q": "OVK0001"})
    assert len(response.context["cl"].result_list) == 2
    response = admin_client.get(changelist, {"kind__exact": "charge"})
    assert {e.kind for e in response.context["cl"].result_list} == {"charge"}


def test_message_body_is_shown_read_only(admin_client, data):
    message = Message.objects.get()
    response = admin_client.get(url(Message, "change", message.pk))
    html = response.content.decode()
    assert "Uw huur van maart is nog open." in html
    assert 'name="body_text"' not in html


def test_case_page_shows_steps_tasks_messages(admin_client, data):
    response = admin_client.get(url(Case, "change", data["case"].pk))
    models = {f.opts.model for f in response.context["inline_admin_formsets"]}
    assert models == {CaseStep, Task, Message, CaseTransition, Evidence, Arrangement}
    html = response.content.decode()
    assert "Bel familie Jansen" in html
    assert "herinnering" in html
    assert "€ 300,00" in html  # the tenancy's balance


def test_audit_log_filters(admin_client, data):
    response = admin_client.get(url(AuditEvent, "changelist"), {"actor": "system:run"})
    assert [e.action for e in response.context["cl"].result_list] == ["run"]


# --- bank transactions and the unmatched queue ---------------------------------------------------


def test_bank_transaction_list_filters(admin_client, data):
    changelist = url(BankTransaction, "changelist")
    response = admin_client.get(changelist, {"status__exact": "unmatched"})
    assert [t.pk for t in response.context["cl"].result_list] == [data["unmatched"].pk]
    response = admin_client.get(changelist, {"q": "Pietersen"})
    assert [t.pk for t in response.context["cl"].result_list] == [data["matched"].pk]
    response = admin_client.get(changelist, {"booked_on__year": "2026", "booked_on__month": "3"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 2


def test_unmatched_queue_shows_only_unmatched(admin_client, data):
    response = admin_client.get(url(UnmatchedPayment, "changelist"))
    assert [t.pk for t in response.context["cl"].result_list] == [data["unmatched"].pk]
    html = response.content.decode()
    assert "Zorgbureau Onbekend" in html
    assert "Pietersen" not in html
    assert "koppel aan huurovereenkomst / match to tenancy" in html


def _match_via_action(admin_client, txn, code):
    changelist = url(UnmatchedPayment, "changelist")
    form = admin_client.post(changelist, {"action": "match_to_tenancy",
                                          "_selected_action": [txn.pk]})
    assert form.status_code == 200
    assert "Koppelen en boeken" in form.content.decode()
    return admin_client.post(changelist, {"action": "match_to_tenancy",
                                          "_selected_action": [txn.pk], "apply": "yes",
                                          "tenancy_code": code})


def test_manual_match_via_admin_action(admin_client, data):
    txn, ten = data["unmatched"], data["tenancy"]
    response = _match_via_action(admin_client, txn, ten.code)
    assert response.status_code == 302

    txn.refresh_from_db()
    assert txn.status == TxnStatus.MATCHED
    assert txn.tenancy_id == ten.pk
    assert txn.matched_by == "staff:admin"
    assert txn.match_reason == "handmatig / manual"
    assert txn.matched_on == timezone.localdate()
    entry = LedgerEntry.objects.get(source_key=f"bank:{txn.pk}")
    assert (entry.kind, entry.amount, entry.booked_on, entry.tenancy_id) == (
        EntryKind.PAYMENT, Decimal("-300.00"), txn.booked_on, ten.pk)
    audit_row = AuditEvent.objects.get(action="manual_match")
    assert audit_row.actor == "staff:admin"
    assert audit_row.object_type == "banking.banktransaction"
    assert audit_row.object_id == str(txn.pk)
    assert audit_row.details["ledger_entry_id"] == entry.pk

    # The balance went from 300 to 0, and the queue is empty.
    response = admin_client.get(url(Tenancy, "changelist"), {"arrears": "yes"})
    assert list(response.context["cl"].result_list) == []
    response = admin_client.get(url(UnmatchedPayment, "changelist"))
    assert list(response.context["cl"].result_list) == []

    # Doing it again (from the full list, where the payment still shows) posts nothing.
    admin_client.post(url(BankTransaction, "changelist"),
                      {"action": "match_to_tenancy", "_selected_action": [txn.pk],
                       "apply": "yes", "tenancy_code": ten.code})
    assert LedgerEntry.objects.filter(source_key=f"bank:{txn.pk}").count() == 1
    assert AuditEvent.objects.filter(action="manual_match").count() == 1


def test_manual_match_twice_posts_once(data, admin_user):
    txn, ten = data["unmatched"], data["tenancy"]
    first = manual_match(txn, ten, admin_user)
    again = manual_match(BankTransaction.objects.get(pk=txn.pk), ten, admin_user)
    assert first.pk == again.pk
    assert LedgerEntry.objects.filter(source_key=f"bank:{txn.pk}").count() == 1
    assert AuditEvent.objects.filter(action="manual_match").count() == 1
    assert txn.status == TxnStatus.MATCHED  # the caller's instance is brought up to date


def test_manual_match_to_another_tenancy_is_refused(data, admin_user):
    txn = data["unmatched"]
    manual_match(txn, data["tenancy"], admin_user)
    with pytest.raises(ManualMatchError):
        manual_match(txn, data["quiet"], admin_user)
    with pytest.raises(ManualMatchError):  # matched by the run: not relinked by hand
        manual_match(data["matched"], data["tenancy"], admin_user)
    assert LedgerEntry.objects.filter(source_key__startswith="bank:").count() == 1


def test_manual_match_of_a_debit_posts_a_reversal(data, admin_user):
    debit = BankTransaction.objects.create(
        file=data["bank_file"], entry_key="k3", account_iban="NL91ABNA0417164300",
        amount=Decimal("-800.00"), booked_on=date(2026, 3, 4), reversal=True,
        return_reason="AM04", status=TxnStatus.UNMATCHED)
    entry = manual_match(debit, data["tenancy"], admin_user)
    assert (entry.kind, entry.amount, entry.source_key) == (
        EntryKind.REVERSAL, Decimal("800.00"), f"bank:{debit.pk}")


def test_manual_match_unknown_code_posts_nothing(admin_client, data):
    response = _match_via_action(admin_client, data["unmatched"], "OVK9999")
    assert response.status_code == 200
    assert "Geen huurovereenkomst met code" in response.content.decode()
    assert not LedgerEntry.objects.filter(source_key__startswith="bank:").exists()
    assert not AuditEvent.objects.filter(action="manual_match").exists()


def test_match_page_for_one_payment_suggests_known_payer(admin_client, data):
    txn, ten = data["unmatched"], data["tenancy"]
    KnownPayer.objects.create(tenancy=ten, iban=txn.counterparty_iban, third_party=True)
    match_url = reverse("admin:banking_unmatchedpayment_match", args=[txn.pk])
    response = admin_client.get(match_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "bekende betaler / known payer" in html
    assert ten.code in html
    response = admin_client.post(match_url, {"apply": "yes", "tenancy_code": ten.code})
    assert response.status_code == 302
    assert LedgerEntry.objects.filter(source_key=f"bank:{txn.pk}").count() == 1


def test_staff_without_permission_cannot_match(client, data, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("kijker", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_unmatchedpayment"))
    client.force_login(user)
    changelist = url(UnmatchedPayment, "changelist")
    response = client.get(changelist)
    assert response.status_code == 200
    assert "match_to_tenancy" not in response.content.decode()
    client.post(changelist, {"action": "match_to_tenancy", "apply": "yes",
                             "_selected_action": [data["unmatched"].pk],
                             "tenancy_code": data["tenancy"].code})
    assert not LedgerEntry.objects.filter(source_key__startswith="bank:").exists()


# --- tasks and pauses ---------------------------------------------------------------------------


def test_close_a_call_task_with_its_outcome_records_the_contact_attempt(admin_client, data):
    task = data["task"]
    changelist = url(Task, "changelist")
    form = admin_client.post(changelist, {"action": "complete", "_selected_action": [task.pk]})
    assert form.status_code == 200 and "uitkomst" in form.content.decode()
    for _ in range(2):
        response = admin_client.post(changelist, {
            "action": "complete", "_selected_action": [task.pk], "apply": "yes",
            "outcome": "no_answer", "note": "twee keer gebeld"})
        assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.outcome, task.done_by) == (Task.Status.DONE, "no_answer",
                                                         "staff:admin")
    assert AuditEvent.objects.filter(action="task_done", object_id=str(task.pk),
                                     actor="staff:admin").count() == 1
    attempt = Evidence.objects.get(case=data["case"], kind="contact_attempt",
                                   source=f"task:{task.pk}")
    assert "geen gehoor" in attempt.note and "twee keer gebeld" in attempt.note


def test_record_an_objection_from_the_case_list(admin_client, data):
    case = data["case"]
    response = admin_client.post(url(Case, "changelist"), {
        "action": "record_objection", "_selected_action": [case.pk], "apply": "yes",
        "on": "2026-03-12", "note": "huurder belde: wil geen signaal"})
    assert response.status_code == 302
    objection = Evidence.objects.get(case=case, kind="objection")
    assert objection.on == date(2026, 3, 12) and objection.actor == "staff:admin"


def test_end_a_debt_help_pause_needs_a_reason(admin_client, data):
    pause = Pause.objects.create(tenancy=data["quiet"], reason="Schuldhulp Utrecht",
                                 kind="debt_help", starts_on=date(2026, 3, 1),
                                 set_by="staff:someone")
    changelist = url(Pause, "changelist")
    admin_client.post(changelist, {"action": "end_now", "_selected_action": [pause.pk],
                                   "apply": "yes", "note": ""})
    pause.refresh_from_db()
    assert pause.ends_on is None  # no reason: nothing ended
    admin_client.post(changelist, {"action": "end_now", "_selected_action": [pause.pk],
                                   "apply": "yes", "note": "traject beëindigd"})
    pause.refresh_from_db()
    assert pause.ends_on == timezone.localdate() and pause.ended_reason == "traject beëindigd"


def test_task_overdue_filter(admin_client, data):
    Task.objects.create(kind="visit", title="Huisbezoek", household=data["tenancy"].household,
                        created_on=timezone.localdate(),
                        due_on=timezone.localdate() + timedelta(days=3),
                        idempotency_key="task:later")
    response = admin_client.get(url(Task, "changelist"), {"due": "overdue"})
    assert [t.title for t in response.context["cl"].result_list] == ["Bel familie Jansen"]


def test_staff_sets_a_pause(admin_client, data):
    ten = data["quiet"]
    response = admin_client.post(url(Pause, "add"), {
        "tenancy": ten.pk, "reason": "in overleg met wijkconsulent", "kind": "manual",
        "starts_on": "2026-03-10", "ends_on": "2026-04-10", "_save": "Opslaan"})
    assert response.status_code == 302, response.content.decode()[:2000]
    pause = Pause.objects.get(tenancy=ten)
    assert pause.set_by == "staff:admin"
    assert AuditEvent.objects.filter(action="pause_set", object_id=str(pause.pk)).count() == 1


def test_pause_needs_a_subject(admin_client, data):
    response = admin_client.post(url(Pause, "add"), {
        "reason": "zomaar", "kind": "manual", "starts_on": "2026-03-10", "_save": "Opslaan"})
    assert response.status_code == 200
    assert not Pause.objects.filter(reason="zomaar").exists()


# --- serve (without starting the server) ------------------------------------------------------


def test_serve_create_admin_needs_the_environment(vroeg_home, settings, monkeypatch):
    settings.STATIC_ROOT = vroeg_home / "static"
    monkeypatch.delenv("VROEG_ADMIN_USER", raising=False)
    monkeypatch.delenv("VROEG_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="VROEG_ADMIN_USER"):
        call_command("serve", "--create-admin", "--no-migrate")
    assert (vroeg_home / "static" / "admin" / "css" / "base.css").is_file()


def test_serve_refuses_a_bad_port():
    with pytest.raises(CommandError, match="port"):
        call_command("serve", "--port", "0")


def test_is_loopback():
    from vroeg.runs.management.commands.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


# --- held statements, candidates, "not rent" -----------------------------------------

def test_held_bank_file_accept_and_reject_in_the_admin(admin_client, realdata, vroeg_home):
    import shutil

    from vroeg.banking.actions import import_bank_file

    paths = []
    for rel in ("mt940/jejik/abnamro.sta", "php-mt940/Rabo/sample"):
        target = vroeg_home / rel.replace("/", "-")
        shutil.copyfile(realdata / rel, target)
        paths.append(target)
    first, second = (import_bank_file(p) for p in paths)
    assert first.status == second.status == "held"
    changelist = url(BankFile, "changelist")
    page = admin_client.get(url(BankFile, "change", first.file_id)).content.decode()
    assert "Opening balance plus entries is not the closing balance" in page
    response = admin_client.post(changelist, {"action": "accept_files",
                                              "_selected_action": [first.file_id]})
    assert response.status_code == 302
    assert BankFile.objects.get(pk=first.file_id).status == BankFile.Status.IMPORTED
    assert BankTransaction.objects.filter(file_id=first.file_id).exists()
    form = admin_client.post(changelist, {"action": "reject_files",
                                          "_selected_action": [second.file_id]})
    assert form.status_code == 200 and "Afwijzen / reject" in form.content.decode()
    admin_client.post(changelist, {"action": "reject_files", "apply": "yes",
                                   "_selected_action": [second.file_id],
                                   "reason": "afgekapt voorbeeld / trimmed sample"})
    rejected = BankFile.objects.get(pk=second.file_id)
    assert rejected.status == BankFile.Status.REJECTED and rejected.reviewed_by == "staff:admin"
    assert not BankTransaction.objects.filter(file_id=second.file_id).exists()


def test_queue_shows_the_best_candidate_and_not_rent_clears_it(admin_client, data):
    txn, ten = data["unmatched"], data["tenancy"]
    txn.candidates = [{"tenancy_id": ten.pk, "code": ten.code, "score": 55,
                       "why": "naam in omschrijving / name in remittance"}]
    txn.save(update_fields=["candidates"])
    html = admin_client.get(url(UnmatchedPayment, "changelist")).content.decode()
    assert ten.code in html and "name in remittance" in html
    form = admin_client.post(url(UnmatchedPayment, "changelist"),
                             {"action": "match_to_tenancy", "_selected_action": [txn.pk]})
    assert "score 55" in form.content.decode() and "remember this payer" in form.content.decode()
    admin_client.post(url(UnmatchedPayment, "changelist"),
                      {"action": "not_rent", "_selected_action": [txn.pk]})
    txn.refresh_from_db()
    assert txn.status == TxnStatus.IGNORED and txn.matched_by == "staff:admin"
    assert AuditEvent.objects.filter(action="bank.not_rent").count() == 1


def test_serve_create_admin_refuses_a_weak_password_and_never_changes_one(
        vroeg_home, monkeypatch):
    from io import StringIO

    from django.contrib.auth import get_user_model

    from vroeg.runs.management.commands.serve import Command

    def create() -> str:  # the admin step of `vroeg serve --create-admin`, without serving
        out = StringIO()
        Command(stdout=out)._admin_user(True)
        return out.getvalue()

    monkeypatch.setenv("VROEG_ADMIN_USER", "beheer")
    monkeypatch.setenv("VROEG_ADMIN_PASSWORD", "1")
    with pytest.raises(CommandError, match="VROEG_ADMIN_PASSWORD: .*at least 12"):
        create()
    assert not get_user_model().objects.filter(username="beheer").exists()
    monkeypatch.setenv("VROEG_ADMIN_PASSWORD", "een lang genoeg wachtwoord")
    assert "admin created" in create()
    monkeypatch.setenv("VROEG_ADMIN_PASSWORD", "een ander lang wachtwoord")
    assert "password not changed" in create()
    user = get_user_model().objects.get(username="beheer")
    assert user.check_password("een lang genoeg wachtwoord")


def test_a_correction_is_a_new_entry_booked_once(admin_client, data):
    from vroeg.ledger.models import LedgerEntry

    ten = data["tenancy"]
    before = LedgerEntry.objects.filter(tenancy=ten).count()
    changelist = url(Tenancy, "changelist")
    for _ in range(2):  # sent twice (a reload): booked once
        response = admin_client.post(changelist, {
            "action": "post_correction", "_selected_action": [ten.pk], "apply": "yes",
            "amount": "-50.00", "reason": "servicekosten 2026 te hoog / too high"})
        assert response.status_code == 302
    entry = LedgerEntry.objects.get(tenancy=ten, kind="adjustment")
    assert entry.amount == Decimal("-50.00") and "te hoog" in entry.description
    assert LedgerEntry.objects.filter(tenancy=ten).count() == before + 1
    assert AuditEvent.objects.filter(action="ledger.adjustment", actor="staff:admin").count() == 1
