"""Gathering the facts `decide` needs, for many tenancies at once, in bulk queries.

Read-only: nothing here writes. The result is one frozen HouseholdSnapshot per
household (vroeg/domain/flow/snapshot.py) plus the new early-warning signals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Count, Q

from vroeg.collection.models import Arrangement, Case, CaseStep, Evidence, Pause, Signal
from vroeg.db import values_rows
from vroeg.domain import arrangements as arr
from vroeg.domain.flow import Contact, HouseholdSnapshot, OpenCase, TenancySnapshot
from vroeg.domain.flow import Pause as PauseFacts
from vroeg.domain.flow.snapshot import PAUSE_DEBT_HELP
from vroeg.domain.ledger import Posting, age
from vroeg.domain.legal.wgs import Proof, SignalEvidence
from vroeg.domain.signals import (
    BROKEN_ARRANGEMENT_AGAIN,
    RentChange,
    SignalFact,
    TenancyEvent,
    detect,
    usual_payday,
)
from vroeg.ledger.models import EntryKind, LedgerEntry
from vroeg.ledger.queries import past_due_balances
from vroeg.messaging.models import Message
from vroeg.portfolio.models import Household, Tenancy
from vroeg.portfolio.models import TenancyEvent as TenancyEventRow

# A signal seen in the last days still counts as an event a reaction answers: the
# reaction may have lost to a heavier message that day (one message a day).
EVENT_DAYS = 7
CHUNK = 900  # SQLite's limit on query parameters


def chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def tenancies_to_evaluate(run_on: date) -> set[int]:
    """With arrears past due, an open case, a payment reversed today or in debt help:
    the rest has nothing to decide. Without arrears past due and without a case no step
    can be taken, and every signal (a missed or partly paid month, late again, a
    drifting payday) needs a month unpaid past its due date; an ERP event such as
    benefit stopped is first seen, and answered, once the tenancy is in arrears. So the
    1st's charges and the rent paid on time, most of the day's ledger, are not
    gathered."""
    ids = set(past_due_balances(run_on))
    ids.update(Case.objects.filter(status=Case.Status.OPEN).values_list("tenancy_id", flat=True))
    ids.update(LedgerEntry.objects.filter(booked_on=run_on, kind=EntryKind.REVERSAL)
               .values_list("tenancy_id", flat=True))
    # Debt help (rule 9): the current rent is checked month by month, arrears or not.
    helped = Pause.objects.filter(kind=PAUSE_DEBT_HELP, starts_on__lte=run_on).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=run_on))
    ids.update(t for t in helped.values_list("tenancy_id", flat=True) if t is not None)
    ids.update(Tenancy.objects.filter(household_id__in=helped.filter(
        household_id__isnull=False).values("household_id")).values_list("pk", flat=True))
    return ids


@dataclass
class Facts:
    """Everything gathered for one run day."""

    tenancies: dict[int, Tenancy]
    households: dict[int, HouseholdSnapshot] = field(default_factory=dict)
    new_signals: dict[int, list[tuple[int, SignalFact]]] = field(default_factory=dict)
    open_cases: dict[int, Case] = field(default_factory=dict)  # by tenancy id
    arrangements: dict[int, Arrangement] = field(default_factory=dict)  # active, by case id
    arrangement_states: dict[int, arr.ArrangementStatus] = field(default_factory=dict)


def _postings(ids: list[int], run_on: date) -> dict[int, list[Posting]]:
    out: dict[int, list[Posting]] = defaultdict(list)
    for chunk in chunks(ids):
        # values_rows: the same rows as values_list, without Django's per-row cost (a
        # run reads the ledger of nearly every tenancy on the 1st).
        rows = values_rows(LedgerEntry.objects.filter(tenancy_id__in=chunk,
                                                      booked_on__lte=run_on),
                           ("tenancy_id", "kind", "amount", "booked_on", "due_on",
                            "return_reason", "source_key"))
        for tid, kind, amount, booked_on, due_on, reason, key in rows:
            out[tid].append(Posting(kind, amount, booked_on, due_on, reason, key))
    return out


def _evidence(case_ids: list[int]) -> dict[int, dict[str, list[Evidence]]]:
    out: dict[int, dict[str, list[Evidence]]] = defaultdict(lambda: defaultdict(list))
    for chunk in chunks(case_ids):
        for ev in Evidence.objects.filter(case_id__in=chunk).order_by("on", "id"):
            out[ev.case_id][ev.kind].append(ev)
    return out


def _proof(rows: list[Evidence]) -> Proof | None:
    """The latest proof of a kind (the written reminder that counts is the last one)."""
    return Proof(rows[-1].on, rows[-1].note) if rows else None


def signal_evidence(by_kind: dict[str, list[Evidence]]) -> SignalEvidence:
    objection = by_kind.get(Evidence.Kind.OBJECTION, [])
    return SignalEvidence(
        contact_attempt=_proof(by_kind.get(Evidence.Kind.CONTACT_ATTEMPT, [])),
        debt_help_referral=_proof(by_kind.get(Evidence.Kind.DEBT_HELP_REFERRAL, [])),
        written_reminder=_proof(by_kind.get(Evidence.Kind.WRITTEN_REMINDER, [])),
        objection_offer=_proof(by_kind.get(Evidence.Kind.OBJECTION_OFFER, [])),
        objected_on=objection[0].on if objection else None,
        objection_note=objection[0].note if objection else "")


def _active_pauses(run_on: date) -> tuple[dict[int, PauseFacts], dict[int, PauseFacts]]:
    by_tenancy: dict[int, PauseFacts] = {}
    by_household: dict[int, PauseFacts] = {}
    for p in Pause.objects.filter(starts_on__lte=run_on).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=run_on)).order_by("starts_on", "id"):
        facts = PauseFacts(reason=p.reason, kind=p.kind, until=p.ends_on, since=p.starts_on)
        # Debt help outranks a plain pause: it also stops costs and bailiff steps.
        target = by_tenancy if p.tenancy_id else by_household
        key = p.tenancy_id or p.household_id
        assert key is not None
        if key not in target or facts.debt_help:
            target[key] = facts
    return by_tenancy, by_household


def _schedule(a: Arrangement) -> arr.Schedule:
    return arr.Schedule(arrears=a.total, agreed_on=a.agreed_on, instalments=tuple(
        arr.Instalment(i.number, i.due_on, i.amount) for i in a.instalments.all()))


def _contact(h: Household | _HouseholdRow) -> Contact:
    return Contact(preferred_channel=h.preferred_channel, has_email=bool(h.email),
                   has_mobile=bool(h.mobile), has_postal=True, letter_only=h.letter_only,
                   no_email=h.no_email, no_sms=h.no_sms or h.sms_opt_out_on is not None,
                   whatsapp=h.whatsapp_opt_in_on is not None)


class _HouseholdRow(NamedTuple):
    """What a snapshot needs of a household (the attributes of Household it reads)."""

    pk: int
    preferred_channel: str
    email: str
    mobile: str
    letter_only: bool
    no_email: bool
    no_sms: bool
    sms_opt_out_on: date | None
    whatsapp_opt_in_on: date | None
    vulnerable: bool
    has_children: bool | None
    payday: int | None


class _TenancyRow(NamedTuple):
    """What a snapshot needs of a tenancy (the attributes of Tenancy it reads)."""

    pk: int
    household_id: int
    net_rent: Decimal
    service_costs: Decimal
    start_on: date
    city: str
    household: _HouseholdRow


def _tenancy_rows(ids: list[int]) -> dict[int, _TenancyRow]:
    # Plain rows, not model instances: on the 1st nearly every tenancy is gathered, and
    # building a Tenancy and a Household per tenancy cost more than all the queries.
    rows = [r for chunk in chunks(ids) for r in values_rows(
        Tenancy.objects.filter(pk__in=chunk),
        ("id", "household_id", "net_rent", "service_costs", "start_on", "city"))]
    hids = sorted({r[1] for r in rows})
    households = {r[0]: _HouseholdRow(*r) for chunk in chunks(hids) for r in values_rows(
        Household.objects.filter(pk__in=chunk), _HouseholdRow._fields)}
    return {r[0]: _TenancyRow(r[0], r[1], r[2], r[3], r[4], r[5], households[r[1]])
            for r in rows}


#: How far back the unmatched queue is read; the flow says how long a step waits.
UNMATCHED_DAYS = 31


def _unmatched_candidates(run_on: date) -> dict[int, tuple[date, Decimal]]:
    """Tenancy -> (booking day of the newest, amount of the largest) unmatched payment
    that may be theirs: the best candidate and those scoring close to it (a person
    decides between them)."""
    from vroeg.banking.models import BankTransaction, TxnStatus

    out: dict[int, tuple[date, Decimal]] = {}
    rows = BankTransaction.objects.filter(
        status=TxnStatus.UNMATCHED, amount__gt=0, booked_on__lte=run_on,
        booked_on__gt=run_on - timedelta(days=UNMATCHED_DAYS)).values_list(
        "booked_on", "candidates", "amount")
    for booked_on, candidates, amount in rows:
        scored = [c for c in candidates or [] if isinstance(c, dict) and c.get("tenancy_id")]
        if not scored:
            continue
        top = max(float(c.get("score") or 0) for c in scored)
        for c in scored:
            if float(c.get("score") or 0) >= top - 10:
                tid = int(c["tenancy_id"])
                was_on, was_amount = out.get(tid, (booked_on, amount))
                out[tid] = (max(was_on, booked_on), max(was_amount, amount))
    return out


def load_tenancies(facts: Facts, ids: Iterable[int]) -> None:
    """Put these tenancies (with their household) in facts.tenancies, in bulk."""
    missing = sorted(set(ids) - set(facts.tenancies))
    for chunk in chunks(missing):
        facts.tenancies.update((t.pk, t) for t in Tenancy.objects.filter(pk__in=chunk)
                               .select_related("household"))


def gather(run_on: date, ids: list[int], *, has_agreement=lambda city: True,
           models: bool = True) -> Facts:
    """The snapshots for these tenancies on `run_on`, in a fixed number of queries per
    chunk of tenancies (no query per tenancy). With models=False, facts.tenancies
    starts empty: the caller loads (load_tenancies) the few it will write about."""
    light = _tenancy_rows(ids)
    agreed: dict[str, bool] = {}  # per city: asked once per gather, not per household
    tenancies: dict[int, Tenancy] = {}
    facts = Facts(tenancies=tenancies)
    if models:
        load_tenancies(facts, ids)
    postings = _postings(ids, run_on)
    open_cases = {c.tenancy_id: c for chunk in chunks(ids)
                  for c in Case.objects.filter(tenancy_id__in=chunk, status=Case.Status.OPEN)}
    facts.open_cases = open_cases
    case_ids = [c.pk for c in open_cases.values()]
    steps_taken: dict[int, dict[str, date]] = defaultdict(dict)
    reactions_done: dict[int, set[str]] = defaultdict(set)
    last_reaction: dict[int, date] = {}
    for chunk in chunks(case_ids):
        for case_id, step, taken_on in CaseStep.objects.filter(case_id__in=chunk).values_list(
                "case_id", "step", "taken_on"):
            if ":" in step:
                reactions_done[case_id].add(step)
                last_reaction[case_id] = max(taken_on, last_reaction.get(case_id, taken_on))
            else:
                steps_taken[case_id][step] = taken_on
    evidence = _evidence(case_ids)
    pending_handover: set[int] = set()
    if case_ids:
        from vroeg.handover.models import HandoverProposal

        for chunk in chunks(case_ids):
            pending_handover.update(HandoverProposal.objects.filter(
                case_id__in=chunk).exclude(status=HandoverProposal.Status.WITHDRAWN)
                .values_list("case_id", flat=True))
    active_arrangements: dict[int, Arrangement] = {}
    for chunk in chunks(case_ids):
        for a in Arrangement.objects.filter(case_id__in=chunk,
                                            status=Arrangement.Status.ACTIVE) \
                .prefetch_related("instalments"):
            active_arrangements[a.case_id] = a
    facts.arrangements = active_arrangements
    known: set[tuple[int, str, str]] = set()
    recent_events: dict[int, list[tuple[str, str]]] = defaultdict(list)
    since = run_on - timedelta(days=EVENT_DAYS)
    for chunk in chunks(ids):
        for tid, kind, key, detected_on in Signal.objects.filter(tenancy_id__in=chunk) \
                .values_list("tenancy_id", "kind", "key", "detected_on"):
            known.add((tid, kind, key))
            if detected_on >= since:
                recent_events[tid].append((kind, key))
    events: dict[int, list[TenancyEvent]] = defaultdict(list)
    rent_changes: dict[int, list[RentChange]] = defaultdict(list)
    for chunk in chunks(ids):
        for e in TenancyEventRow.objects.filter(tenancy_id__in=chunk, on__lte=run_on):
            if e.kind == TenancyEventRow.Kind.RENT_CHANGED:
                try:
                    rent_changes[e.tenancy_id].append(RentChange(
                        e.on, Decimal(e.details["old_rent"]), Decimal(e.details["new_rent"])))
                except (KeyError, ValueError, ArithmeticError):
                    continue  # an event without the amounts tells nothing about them
            else:
                events[e.tenancy_id].append(TenancyEvent(e.kind, e.on, e.source))
    pause_t, pause_h = _active_pauses(run_on)
    unmatched = _unmatched_candidates(run_on)
    households = {t.household_id for t in light.values()}
    messaged_today: set[int] = set()
    week: dict[int, int] = {}
    for chunk in chunks(sorted(households)):
        rows = (Message.objects.filter(household_id__in=chunk, decided_on__gte=run_on -
                                       timedelta(days=6), decided_on__lte=run_on)
                .exclude(status=Message.Status.CANCELLED).values("household_id", "decided_on")
                .annotate(n=Count("id")))
        for row in rows:
            if row["decided_on"] == run_on:
                messaged_today.add(row["household_id"])
            else:
                week[row["household_id"]] = week.get(row["household_id"], 0) + row["n"]
    year_ago = run_on - timedelta(days=365)
    prior: dict[int, int] = {}
    for chunk in chunks(ids):
        prior.update(Case.objects.filter(tenancy_id__in=chunk, status=Case.Status.CLOSED,
                                         closed_on__gte=year_ago).values("tenancy_id")
                     .annotate(n=Count("id")).values_list("tenancy_id", "n"))

    by_household: dict[int, list[TenancySnapshot]] = defaultdict(list)
    for tid in ids:
        t = light[tid]
        ps = postings.get(tid, [])
        monthly = t.net_rent + t.service_costs
        ageing = age(ps, run_on, monthly)
        case = open_cases.get(tid)
        statuses = []
        arrangement_state = None
        if case is not None and case.pk in active_arrangements:
            a = active_arrangements[case.pk]
            try:
                status = arr.compliance(_schedule(a), ps, run_on, arrangement_id=a.pk)
            except ValueError:
                status = None  # a schedule that no longer adds up: staff see it in the admin
            if status is not None:
                statuses.append(status)
                facts.arrangement_states[case.pk] = status
                arrangement_state = (
                    "on_track" if status.state == arr.ON_TRACK else
                    "completed" if status.state == arr.COMPLETED else
                    "ran_out" if status.ran_out else "broken")
        found = detect(ps, run_on, events=events.get(tid, ()),
                       rent_changes=rent_changes.get(tid, ()), arrangements=statuses)
        fresh = [f for f in found if (tid, f.kind, f.key) not in known]
        if pause_t.get(tid) or pause_h.get(t.household_id):
            # A second miss (or the end of an arrangement that ran out) ends the
            # arrangement with a new 14-day letter, a reaction a pause holds: it is
            # recorded on the first day without a pause (the arrangement, still active,
            # shows it again then), so the letter is never lost (rule 14).
            fresh = [f for f in fresh if f.kind != BROKEN_ARRANGEMENT_AGAIN]
        if fresh:
            facts.new_signals.setdefault(t.household_id, []).extend((tid, f) for f in fresh)
        recent = [*recent_events.get(tid, []), *((f.kind, f.key) for f in fresh)]
        by_kind = evidence.get(case.pk, {}) if case is not None else {}
        # The payday the tenant gave (ERP), else the one learned from the ledger; only
        # a tenancy in arrears waits for it (a flow's after_payday_days).
        payday = t.household.payday or (usual_payday(ps, run_on)
                                        if ageing.days_overdue > 0 else None)
        sent = by_kind.get(Evidence.Kind.SIGNAL_SENT, [])
        letters = by_kind.get(Evidence.Kind.FOURTEEN_DAY_LETTER, [])
        by_household[t.household_id].append(TenancySnapshot(
            tenancy_id=tid, monthly_rent=monthly, balance=ageing.balance,
            arrears=ageing.arrears, oldest_due_on=ageing.oldest_due_on,
            days_overdue=ageing.days_overdue, months_owed=ageing.months_owed,
            signals=frozenset(f.kind for f in found), events=tuple(recent),
            open_case=OpenCase(
                case.pk, steps_taken.get(case.pk, {}), state=case.state,
                reactions_done=frozenset(reactions_done.get(case.pk, ())),
                last_reaction_on=last_reaction.get(case.pk),
                evidence=signal_evidence(by_kind),
                signal_sent_on=sent[0].on if sent else None,
                fourteen_day_letter_on=letters[-1].on if letters else None,
                handover_pending=case.pk in pending_handover,
                segment=case.segment) if case else None,
            pause=pause_t.get(tid), start_on=t.start_on, prior_cases_12m=prior.get(tid, 0),
            arrangement=arrangement_state, payday=payday,
            unmatched_payment_on=unmatched[tid][0] if tid in unmatched else None,
            unmatched_payment_amount=unmatched[tid][1] if tid in unmatched else None))

    for hid, snaps in by_household.items():
        h = light[snaps[0].tenancy_id].household
        facts.households[hid] = HouseholdSnapshot(
            household_id=hid, contact=_contact(h), tenancies=tuple(snaps),
            messaged_on=frozenset({run_on}) if hid in messaged_today else frozenset(),
            messages_last_7_days=week.get(hid, 0), pause=pause_h.get(hid),
            vulnerable=h.vulnerable, children=h.has_children,
            municipality_has_agreement=all(
                agreed[c] if (c := light[s.tenancy_id].city) in agreed
                else agreed.setdefault(c, has_agreement(c)) for s in snaps))
    return facts


__all__ = ["EVENT_DAYS", "Facts", "chunks", "gather", "load_tenancies", "signal_evidence",
           "tenancies_to_evaluate"]
