"""The outbox: send pending messages whose time has come.

Runs outside the decision transaction (step 7 of the daily run). For each due
message, in send_after order:

1. ``still_needed(message)`` may return a reason (e.g. "paid"): the message is
   cancelled with that reason and nothing is sent;
2. otherwise the message is rendered from its stored context and sent over its
   channel (see channels.py);
3. then, in its own small transaction, the message is marked sent (or the failure
   is recorded). A crash between 2 and 3 leaves the message pending: the next run
   sends it again, which for the file channels rewrites the same file (names come
   from the idempotency key). For SMTP see EmailChannel._send_smtp.

Failures: each attempt counts; a transient failure leaves the message pending and
retries it after a short back-off (15 min, then 1 h), the third failed attempt marks
it failed. A failure no retry can fix (no valid address, a template or context
error, an address the mail server refuses for good) marks it failed at once. When a
channel is down (mail server unreachable) the rest of that channel's messages wait
for the next run without using up an attempt. last_error never holds personal data.

Call it outside transaction.atomic(): each message is committed on its own. An
exception raised by ``still_needed`` is not caught: it stops the run with nothing
half-written (messages handled so far keep their recorded state).
One dispatcher at a time (the daily run holds the run lock).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from vroeg.collection.actions import record_message_evidence
from vroeg.domain.calendar import AMSTERDAM, in_send_window
from vroeg.messaging.channels import (
    ChannelDown,
    Channels,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from vroeg.messaging.models import Message
from vroeg.messaging.render import Rendered, RenderError, render

log = logging.getLogger("vroeg.messaging")

MAX_ATTEMPTS = 3
RETRY_DELAYS = (dt.timedelta(minutes=15), dt.timedelta(hours=1))
BATCH = 200


@dataclass
class DispatchResult:
    sent: dict[str, int] = field(default_factory=dict)  # per channel
    cancelled: int = 0
    failed: int = 0  # given up: status failed
    deferred: int = 0  # not sent this time, still pending (retry or channel down)
    remaining: int = 0  # due, but left for the next call because of `limit`
    seconds: dict[str, float] = field(default_factory=dict)  # render + send, per channel

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    def rate(self, channel: str) -> float:
        """Messages sent per second on a channel in this run (0.0 if none)."""
        secs = self.seconds.get(channel, 0.0)
        return self.sent.get(channel, 0) / secs if secs > 0 else 0.0


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


# Context dates that count from the day a message is sent.
DEADLINE_KEYS = ("object_by",)


def render_message(message: Message, sent_on: dt.date | None = None) -> Rendered:
    return render(message.template, message.channel, message.language or "nl",
                  message_context(message, sent_on))


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _record_sent(message: Message, now: dt.datetime, ref: str, rendered: Rendered,
                 context: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"status": Message.Status.SENT, "sent_at": now,
                              "delivery_ref": ref[:300], "attempts": message.attempts + 1,
                              "last_error": ""}
    if not message.body_text:
        fields["body_text"] = rendered.text
    if not message.subject and rendered.subject:
        fields["subject"] = rendered.subject[:200]
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(**fields)
        # What the message proves (a written reminder, the 14-day letter) is on record
        # from the day it went out, in the same transaction as "sent".
        record_message_evidence(message, now.astimezone(AMSTERDAM).date(), context=context)


def _record_cancelled(message: Message, reason: str) -> None:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=Message.Status.PENDING).update(
            status=Message.Status.CANCELLED, last_error=str(reason)[:300])


def _record_failure(message: Message, now: dt.datetime, error: SendError) -> bool:
    """Record a failed attempt; True when the message is now given up (failed)."""
    attempts = message.attempts + 1
    give_up = error.permanent or attempts >= MAX_ATTEMPTS
    fields: dict[str, Any] = {"attempts": attempts, "last_error": str(error)[:300]}
    if give_up:
        fields["status"] = Message.Status.FAILED
    else:
        fields["send_after"] = now + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(**fields)
    log.warning("message %s (%s, %s) attempt %s failed%s: %s", message.pk, message.template,
                message.channel, attempts, ", given up" if give_up else "", error)
    return give_up


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
    due = Message.objects.filter(status=Message.Status.PENDING, send_after__lte=now)
    ids_qs = due.order_by("send_after", "id").values_list("id", flat=True)
    ids = list(ids_qs[:limit] if limit is not None else ids_qs)
    if limit is not None and len(ids) == limit:
        result.remaining = due.count() - len(ids)

    # Quiet hours hold at the moment of sending too: a dispatcher started at night
    # (or a late run) sends no email or SMS; letters are only printed, so they may.
    down: set[str] = set() if in_send_window(now) else {"email", "sms"}
    with Channels() as channels:
        for batch in _chunks(ids, BATCH):
            rows = Message.objects.in_bulk(batch)
            for pk in batch:
                message = rows.get(pk)
                if message is None or message.status != Message.Status.PENDING:
                    continue  # handled elsewhere meanwhile
                reason = still_needed(message) if still_needed is not None else None
                if reason is not None:
                    _record_cancelled(message, reason)
                    result.cancelled += 1
                    continue
                if message.channel in down:
                    result.deferred += 1
                    continue
                _send_one(message, now, channels, result, down)
    return result


def _send_one(message: Message, now: dt.datetime, channels: Channels, result: DispatchResult,
              down: set[str]) -> None:
    started = time.perf_counter()
    error: SendError
    try:
        context = message_context(message, now.astimezone(AMSTERDAM).date())
        rendered = render(message.template, message.channel, message.language or "nl",
                          context)
        ref = channels.get(message.channel).send(message, rendered, now)
    except RenderError as exc:
        error = PermanentSendError(str(exc))
    except SendError as exc:
        error = exc
    except Exception as exc:  # an unexpected bug in a channel: record, go on
        error = TransientSendError(f"{message.channel} failed ({type(exc).__name__})")
    else:
        # The send happened; record it in its own transaction right after.
        _record_sent(message, now, ref, rendered, context)
        elapsed = time.perf_counter() - started
        result.sent[message.channel] = result.sent.get(message.channel, 0) + 1
        result.seconds[message.channel] = result.seconds.get(message.channel, 0.0) + elapsed
        return
    if isinstance(error, ChannelDown):
        down.add(message.channel)
    if _record_failure(message, now, error):
        result.failed += 1
    else:
        result.deferred += 1
