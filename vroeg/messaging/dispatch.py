"""The outbox: send pending messages whose time has come, exactly once.

Runs outside the decision transaction (step 7 of the daily run), one dispatcher at a
time (`vroeg dispatch` and the daily run hold the run lock). For each due message,
in send_after order:

1. ``still_needed(message)`` may return a reason (e.g. "paid"): the message is
   cancelled with that reason and nothing is sent;
2. the message is **claimed** (pending -> sending, committed) and rendered from its
   stored context, with the day it really goes out;
3. it is handed to its channel (channels.py: email over SMTP or as .eml, SMS and
   WhatsApp through a provider or as outbox files, letters as PDF);
4. in one small transaction it is marked sent, with the provider and its id, and the
   evidence the message proves (a written reminder, a 14-day letter) is put on record.

Exactly once: a dispatcher that dies between 3 and 4 leaves the message "sending".
The next dispatcher first recovers those: it asks the channel whether the message
got out (the provider's record, the outbox file) and records it as sent with the
provider's id; only when the channel has no trace of it is it sent again. SMTP cannot
be asked: such an email goes again with the same Message-ID (see EmailChannel).

Failures: a transient failure retries after settings.VROEG_RETRY_MINUTES (15 min,
1 h, 4 h); a rate limit waits as long as the provider says. A failure no retry can
fix (no valid address, a refused number), the last failed retry, a delivery report
"undelivered" (webhooks.py) or a bounce (bounces.py) makes the message failed, and
the step's next usable channel takes over (``fall_back``): a new message on that
channel, linked to the failed one. No channel left: a staff task says the tenant
could not be reached. A template or context error is a bug, not the tenant's: no
fallback, the message fails and the report shows it. When a channel is down (mail
server unreachable) the rest of its messages wait for the next run without using an
attempt. last_error never holds personal data.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from vroeg.collection.actions import record_message_evidence
from vroeg.domain.calendar import AMSTERDAM, in_send_window, next_send_slot
from vroeg.messaging.channels import (
    ChannelDown,
    Channels,
    PermanentSendError,
    SendError,
    Sent,
    TransientSendError,
    find_sent,
)
from vroeg.messaging.models import Message
from vroeg.messaging.providers.base import DeliveryUnknown, Unsubscribed
from vroeg.messaging.render import Rendered, RenderError, channels_of, render

log = logging.getLogger("vroeg.messaging")

DEFAULT_RETRY_MINUTES = (15, 60, 240)
MAX_ATTEMPTS = len(DEFAULT_RETRY_MINUTES) + 1
BATCH = 200
_FAULT = os.environ.get("VROEG_FAULT", "")
#: Channels that reach a person at once: only in the contact hours. Letters are only
#: printed, so they may be made at any time.
LIVE_CHANNELS = frozenset({"email", "sms", "whatsapp"})


@dataclass
class DispatchResult:
    sent: dict[str, int] = field(default_factory=dict)  # per channel
    cancelled: int = 0
    failed: int = 0  # given up: status failed
    deferred: int = 0  # not sent this time, still pending (retry or channel down)
    remaining: int = 0  # due, but left for the next call because of `limit`
    recovered: int = 0  # found sent after a crash, recorded without sending again
    fallbacks: int = 0  # messages made on the next channel after a failure
    unreachable: int = 0  # no channel left: a staff task
    seconds: dict[str, float] = field(default_factory=dict)  # render + send, per channel

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    def rate(self, channel: str) -> float:
        """Messages sent per second on a channel in this run (0.0 if none)."""
        secs = self.seconds.get(channel, 0.0)
        return self.sent.get(channel, 0) / secs if secs > 0 else 0.0


def retry_delays() -> tuple[dt.timedelta, ...]:
    minutes = getattr(settings, "VROEG_RETRY_MINUTES", None) or DEFAULT_RETRY_MINUTES
    return tuple(dt.timedelta(minutes=int(m)) for m in minutes)


# Context dates that count from the day a message is sent.
DEADLINE_KEYS = ("object_by",)


def message_context(message: Message, sent_on: dt.date | None = None) -> dict[str, Any]:
    """The render context of a stored message: its JSON context, plus the
    corporation (settings.VROEG_CORPORATION) and decided_on when not stored.

    A message sent later than decided (caught up after an outage, or held over a
    Sunday) carries the day it is sent, and its deadlines move along with it: a
    tenant never receives a letter dated in the past with a deadline already gone.
    """
    context = dict(message.context or {})
    context.setdefault("corp", settings.VROEG_CORPORATION)
    context.setdefault("decided_on", message.decided_on)
    if sent_on is not None and sent_on > message.decided_on:
        shift = sent_on - message.decided_on
        context["decided_on"] = sent_on
        for key in DEADLINE_KEYS:
            if context.get(key):
                deadline = context[key]
                if isinstance(deadline, str):
                    deadline = dt.date.fromisoformat(deadline)
                context[key] = deadline + shift
    if sent_on is not None and context.get("deadline") and str(context.get("sent_on")) != \
            sent_on.isoformat():
        # The 14-day letter's term runs from the day it really goes out (rule 10):
        # counted again, not shifted, because holidays move it.
        from vroeg.domain.legal.deadline import fourteen_day_deadline

        d = fourteen_day_deadline(sent_on, int(context.get("delivery_working_days", 2)))
        context.update(sent_on=d.sent_on, received_on=d.received_on, deadline=d.deadline)
    return context


def render_message(message: Message, sent_on: dt.date | None = None) -> Rendered:
    return render(message.template, message.channel, message.language or "nl",
                  message_context(message, sent_on))


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _local_day(now: dt.datetime) -> dt.date:
    return now.astimezone(AMSTERDAM).date()


# --- recording ---------------------------------------------------------------------------

def _claim(message: Message, now: dt.datetime) -> bool:
    """pending -> sending, committed before the channel is called."""
    with transaction.atomic():
        claimed = Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(
            status=Message.Status.SENDING, claimed_at=now)
    if claimed:
        message.status, message.claimed_at = Message.Status.SENDING, now
    return bool(claimed)


def _record_sent(message: Message, now: dt.datetime, sent: Sent, rendered: Rendered,
                 context: dict[str, Any], *, attempt: bool = True) -> None:
    fields: dict[str, Any] = {
        "status": Message.Status.SENT, "sent_at": now, "delivery_ref": sent.ref[:300],
        "provider": sent.provider[:30], "provider_id": sent.provider_id[:120],
        "delivery": Message.Delivery.ACCEPTED, "delivery_at": now, "last_error": "",
        "attempts": message.attempts + (1 if attempt else 0)}
    if not message.body_text:
        fields["body_text"] = rendered.text
    if not message.subject and rendered.subject:
        fields["subject"] = rendered.subject[:200]
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(**fields)
        # What the message proves (a written reminder, the 14-day letter) is on record
        # from the day it went out, in the same transaction as "sent".
        record_message_evidence(message, _local_day(now), context=context)


def _record_cancelled(message: Message, reason: str) -> None:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(
            status=Message.Status.CANCELLED, last_error=str(reason)[:300])


def _record_failure(message: Message, now: dt.datetime, error: SendError) -> bool:
    """Record a failed attempt; True when the message is now given up (failed)."""
    attempts = message.attempts + 1
    delays = retry_delays()
    give_up = error.permanent or attempts > len(delays)
    fields: dict[str, Any] = {"attempts": attempts, "last_error": str(error)[:300]}
    if give_up:
        fields["status"] = Message.Status.FAILED
    else:
        wait = delays[attempts - 1]
        after = getattr(error, "retry_after", None)
        if after is not None:
            wait = dt.timedelta(seconds=float(after))
        fields.update(status=Message.Status.PENDING, send_after=now + wait)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(**fields)
    log.warning("message %s (%s, %s) attempt %s failed%s: %s", message.pk, message.template,
                message.channel, attempts, ", given up" if give_up else "", error)
    return give_up


def _release(message: Message) -> None:
    """Back to pending without using an attempt (the channel was down)."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=Message.Status.SENDING).update(
            status=Message.Status.PENDING, claimed_at=None)


def _opted_out(message: Message) -> None:
    """The provider says the tenant sent STOP: never this channel again."""
    from django.utils import timezone

    from vroeg.portfolio.models import Household

    if message.channel == "sms":
        Household.objects.filter(pk=message.household_id, sms_opt_out_on__isnull=True).update(
            sms_opt_out_on=timezone.localdate())
    elif message.channel == "whatsapp":
        Household.objects.filter(pk=message.household_id).update(whatsapp_opt_in_on=None)


# --- fallback ----------------------------------------------------------------------------

def _tried_channels(message: Message) -> set[str]:
    tried = {message.channel}
    current = message
    while current.fallback_of_id is not None:
        current = Message.objects.get(pk=current.fallback_of_id)
        tried.add(current.channel)
    return tried


def fall_back(message: Message, reason: str, now: dt.datetime) -> Message | None:
    """The next usable channel of the message's step takes over; none left: a staff
    task. Returns the new message, or None when a task was made (or nothing to do)."""
    from vroeg.collection.models import Task
    from vroeg.domain.calendar import add_business_days
    from vroeg.messaging.recipients import can_reach, recipient

    message = Message.objects.select_related("household", "tenancy").get(pk=message.pk)
    if hasattr(message, "fallback"):
        return None  # already handed on
    household = message.household
    tried = _tried_channels(message)
    wanted = (message.context or {}).get("fallback_channels") or []
    for channel in wanted:
        if channel in tried or channel not in channels_of(message.template) \
                or not can_reach(household, channel):
            continue
        context = dict(message.context or {})
        context["fallback_channels"] = [c for c in wanted if c != channel]
        try:
            rendered = render(message.template, channel, message.language or "nl",
                              message_context(message, _local_day(now)) | {
                                  "fallback_channels": context["fallback_channels"]})
        except RenderError:
            continue
        slot = next_send_slot(_local_day(now), now) if channel in LIVE_CHANNELS else now
        with transaction.atomic():
            new = Message.objects.create(
                household=household, tenancy=message.tenancy, case_id=message.case_id,
                step=message.step, template=message.template, channel=channel,
                language=message.language, recipient=recipient(household, channel, context),
                subject=rendered.subject[:200], body_text=rendered.text, context=context,
                decided_on=message.decided_on, send_after=slot, fallback_of=message,
                idempotency_key=f"{message.idempotency_key}|{channel}"[:120])
            Message.objects.filter(pk=message.pk).update(
                last_error=f"{reason}; verder via / continued by {channel}"[:300])
        log.info("message %s: fallback to %s as message %s", message.pk, channel, new.pk)
        return new
    with transaction.atomic():
        Task.objects.get_or_create(idempotency_key=f"unreachable:{message.pk}", defaults={
            "kind": "unreachable", "team": "incasso", "household": household,
            "tenancy": message.tenancy, "case_id": message.case_id,
            "title": "Huurder niet bereikt via de kanalen van de stap / Tenant not reached "
                     "on the step's channels",
            "reason": f"{message.step}: {reason}"[:300], "created_on": _local_day(now),
            "due_on": add_business_days(_local_day(now), 2)})
    return None


def on_undelivered(message: Message, reason: str, now: dt.datetime | None = None) -> None:
    """A provider reported the message undelivered (webhook) or it bounced."""
    from django.utils import timezone

    now = now or timezone.now()
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED,
                                                     last_error=reason[:300])
    fall_back(message, reason, now)


# --- the run -----------------------------------------------------------------------------

def recover(now: dt.datetime, channels: Channels, result: DispatchResult) -> None:
    """Messages a dispatcher left "sending" (it died): sent after all, or pending again."""
    for message in Message.objects.filter(status=Message.Status.SENDING).order_by("id"):
        since = (message.claimed_at or now) - dt.timedelta(minutes=10)
        try:
            context = message_context(message, _local_day(message.claimed_at or now))
            rendered = render(message.template, message.channel, message.language or "nl",
                              context)
            found = find_sent(channels.get(message.channel), message, rendered, since)
        except RenderError:
            found = None  # cannot even be rendered: it fails when it is sent
        except SendError as exc:
            # The provider cannot tell now: keep it "sending" and ask again next time;
            # sending it blind could deliver it twice.
            log.warning("message %s: recovery lookup failed (%s); asked again next run",
                        message.pk, type(exc).__name__)
            continue
        if found is not None:
            _record_sent(message, message.claimed_at or now, found, rendered, context)
            result.recovered += 1
        else:
            _release(message)


def dispatch_pending(
    now: dt.datetime,
    *,
    still_needed: Callable[[Message], str | None] | None = None,
    limit: int | None = None,
) -> DispatchResult:
    """Send the pending messages with send_after <= now (at most ``limit``)."""
    if now.tzinfo is None:
        raise ValueError("dispatch_pending needs an aware datetime (UTC)")
    result = DispatchResult()
    with Channels() as channels:
        recover(now, channels, result)
        due = Message.objects.filter(status=Message.Status.PENDING, send_after__lte=now)
        ids_qs = due.order_by("send_after", "id").values_list("id", flat=True)
        ids = list(ids_qs[:limit] if limit is not None else ids_qs)
        if limit is not None and len(ids) == limit:
            result.remaining = due.count() - len(ids)
        # Contact hours hold at the moment of sending too: a dispatcher started at
        # night (or a late run) sends no email, SMS or WhatsApp.
        down: set[str] = set() if in_send_window(now) else set(LIVE_CHANNELS)
        for batch in _chunks(ids, BATCH):
            rows = Message.objects.in_bulk(batch)
            todo = [m for m in (rows.get(pk) for pk in batch)
                    if m is not None and m.status == Message.Status.PENDING]
            prepared = _prepare_letters(todo, now, channels, down, result)
            for message in todo:
                # Asked right before the claim: a payment booked meanwhile (a payment
                # link's webhook) still cancels it.
                reason = still_needed(message) if still_needed is not None else None
                if reason is not None:
                    _record_cancelled(message, reason)
                    result.cancelled += 1
                    continue
                if message.channel in down:  # also when it went down during this batch
                    result.deferred += 1
                    continue
                if not _claim(message, now):
                    continue
                _send_one(message, now, channels, result, down, prepared.get(message.pk))
    return result


Prepared = tuple[dict[str, Any], Rendered]


def _prepare_letters(messages: list[Message], now: dt.datetime, channels: Channels,
                     down: set[str], result: DispatchResult) -> dict[int, Prepared]:
    """Render the batch's letters and let the letter channel write their PDFs side by
    side (the slow part: about 0.1 s a letter); each is then sent (recorded) one by
    one as before. A letter that does not render is left to ``_send_one``, which
    records why."""
    if "letter" in down:
        return {}
    started = time.perf_counter()
    prepared: dict[int, Prepared] = {}
    for message in messages:
        if message.channel != "letter":
            continue
        try:
            context = message_context(message, _local_day(now))
            prepared[message.pk] = (context, render(
                message.template, message.channel, message.language or "nl", context))
        except Exception:  # noqa: BLE001 - left to _send_one, which records why
            continue
    if prepared:
        by_pk = {m.pk: m for m in messages}
        channels.letters().prepare([(by_pk[pk], r) for pk, (_, r) in prepared.items()])
        result.seconds["letter"] = (result.seconds.get("letter", 0.0)
                                    + time.perf_counter() - started)
    return prepared


def _send_one(message: Message, now: dt.datetime, channels: Channels, result: DispatchResult,
              down: set[str], prepared: Prepared | None = None) -> None:
    started = time.perf_counter()
    error: SendError
    fallback = True
    try:
        if prepared is not None:
            context, rendered = prepared
        else:
            context = message_context(message, _local_day(now))
            rendered = render(message.template, message.channel, message.language or "nl",
                              context)
        sent = channels.send(message, rendered, now)
        if _FAULT == "dispatch:after_send":
            os._exit(3)  # fault injection: killed after the provider took it, before our record
    except RenderError as exc:
        error, fallback = PermanentSendError(str(exc)), False  # our bug: no other channel
    except DeliveryUnknown as exc:
        # Maybe out (no answer in time, a 5xx): stays "sending"; the next run looks it up
        # at the provider before it could ever go again.
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(
                attempts=message.attempts + 1, last_error=str(exc)[:300])
        if isinstance(exc, ChannelDown):
            down.add(message.channel)
        result.deferred += 1
        return
    except SendError as exc:
        error = exc
        if isinstance(exc, Unsubscribed):
            _opted_out(message)
    except Exception as exc:  # an unexpected bug in a channel: record, go on
        error = TransientSendError(f"{message.channel} failed ({type(exc).__name__})")
    else:
        # The send happened; record it in its own transaction right after.
        _record_sent(message, now, sent, rendered, context)
        elapsed = time.perf_counter() - started
        result.sent[message.channel] = result.sent.get(message.channel, 0) + 1
        result.seconds[message.channel] = result.seconds.get(message.channel, 0.0) + elapsed
        return
    if isinstance(error, ChannelDown):
        down.add(message.channel)  # the rest of this channel waits, without an attempt
    if _record_failure(message, now, error):
        result.failed += 1
        if fallback:
            made = fall_back(message, str(error), now)
            if made is not None:
                result.fallbacks += 1
            else:
                result.unreachable += 1
    else:
        result.deferred += 1


__all__ = ["MAX_ATTEMPTS", "DispatchResult", "dispatch_pending", "fall_back", "message_context",
           "on_undelivered", "recover", "render_message", "retry_delays"]
