"""Webhooks of the text-message providers: delivery reports and tenants' messages.

    POST /webhooks/<provider>/status    a delivery report (Twilio: the StatusCallback)
    POST /webhooks/<provider>/inbound   a message from a tenant (Twilio: the number's
                                        "a message comes in" URL, SMS and WhatsApp)

Both check the provider's signature first: a request that fails it is refused with 403
and changes nothing. Then:

- status: the message with that provider id gets its delivery state (accepted,
  delivered, read, undelivered) and the time it was reported, audited. Reports may come
  out of order or twice: only a step forward counts. "Undelivered" hands the message to
  the dispatcher (``dispatch.on_undelivered``), which tries the step's next channel.
- inbound: STOP (STOPPEN, UIT, AFMELDEN, ..., or Twilio's OptOutType=STOP) by SMS sets
  the household's sms_opt_out_on; on WhatsApp it clears whatsapp_opt_in_on, and START or JA
  sets it. Every message from a known number also becomes a staff task, so that a
  person reads what the tenant wrote (the text is in the task's reason, never in a
  log). A number we do not know: an audit row without the number, nothing else.

The provider gets its answer at once (Twilio: 200 with an empty ``<Response/>`` for a
message, so no automatic reply goes out).
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from vroeg.audit.actions import audit
from vroeg.collection.models import Task
from vroeg.domain.calendar import add_business_days
from vroeg.messaging.models import Message
from vroeg.messaging.providers import get_webhook_provider
from vroeg.messaging.providers.base import (
    ACCEPTED,
    DELIVERED,
    READ,
    UNDELIVERED,
    Inbound,
    InvalidSignature,
    StatusUpdate,
    TextProvider,
    WebhookRequest,
)
from vroeg.portfolio.models import Household
from vroeg.runs.clock import today

log = logging.getLogger("vroeg.messaging")

ACTOR = "system:webhook"
TASK_KIND = "inbound_message"
TASK_TEAM = "incasso"
TASK_DAYS = 1  # a tenant's message is read by the next working day
# How far a message got: a report only counts when it goes further (Twilio may send
# "sent" after "delivered"). Undelivered and delivered are both final.
_RANK = {"": 0, ACCEPTED: 1, DELIVERED: 2, UNDELIVERED: 2, Message.Delivery.BOUNCED: 2, READ: 3}
_CHANNEL_NAMES = {"sms": "sms", "whatsapp": "WhatsApp"}


def webhook_request(request: HttpRequest) -> WebhookRequest:
    """The request as the provider sent it. The URL is the one the provider called:
    behind a proxy that is VROEG_PUBLIC_URL's scheme and host, not ours."""
    body = request.body  # read first: the signature covers the raw form
    public = str(getattr(settings, "VROEG_PUBLIC_URL", "") or "")
    if public:
        origin = urlsplit(public)
        url = f"{origin.scheme}://{origin.netloc}{request.get_full_path()}"
    else:
        url = request.build_absolute_uri()
    params = {key: request.POST.get(key, "") for key in request.POST}
    return WebhookRequest(url=url, params=params, body=body, headers=dict(request.headers))


def _reply(provider: TextProvider, kind: str) -> HttpResponse:
    reply = getattr(provider, "webhook_reply", None)
    body, content_type = reply(kind) if reply is not None else (b"", "text/plain")
    return HttpResponse(body, content_type=content_type)


def _provider(name: str) -> TextProvider:
    provider = get_webhook_provider(name)
    if provider is None:
        raise Http404("onbekende aanbieder / unknown provider")
    return provider


REFUSED = "ongeldige handtekening / invalid signature"


@csrf_exempt
@require_POST
def status_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    p = _provider(provider)
    try:
        update = p.parse_status(webhook_request(request))
    except InvalidSignature:
        log.warning("webhook %s/status refused: signature does not check out", provider)
        return HttpResponseForbidden(REFUSED)
    except ValueError:
        return HttpResponseBadRequest("geen afleverbericht / not a delivery report")
    finally:
        p.close()
    record_status(provider, update)
    return _reply(p, "status")


@csrf_exempt
@require_POST
def inbound_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    p = _provider(provider)
    try:
        inbound = p.parse_inbound(webhook_request(request))
    except InvalidSignature:
        log.warning("webhook %s/inbound refused: signature does not check out", provider)
        return HttpResponseForbidden(REFUSED)
    except ValueError:
        return HttpResponseBadRequest("geen bericht / not a message")
    finally:
        p.close()
    record_inbound(provider, inbound)
    return _reply(p, "inbound")


# --- what a report changes ----------------------------------------------------------------

def record_status(provider: str, update: StatusUpdate) -> Message | None:
    """Store a delivery report on its message; None when no message has that id."""
    now = timezone.now()
    with transaction.atomic():
        message = (Message.objects.select_for_update()
                   .filter(provider_id=update.provider_id).order_by("pk").first())
        if message is None:
            audit(ACTOR, "message.delivery_unknown", object_type="messaging.message",
                  summary=f"{provider}: afleverbericht voor onbekend bericht / delivery report "
                          "for an unknown message",
                  provider=provider, provider_id=update.provider_id[:120],
                  delivery=update.status)
            return None
        if _RANK.get(update.status, 0) <= _RANK.get(message.delivery, 0):
            return message  # repeated, or older than what we know
        message.delivery = update.status
        message.delivery_at = update.at or now
        message.save(update_fields=["delivery", "delivery_at"])
        code = f" {update.error_code}" if update.error_code else ""
        audit(ACTOR, "message.delivery", message,
              summary=f"{provider}: {message.get_delivery_display()}{code}",
              provider=provider, delivery=update.status, error_code=update.error_code)
        if update.status == UNDELIVERED and message.status == Message.Status.SENT:
            _undelivered(message, f"niet afgeleverd / undelivered ({provider}{code})")
    return message


def _undelivered(message: Message, reason: str) -> None:
    """Hand an undelivered message to the dispatcher (it tries the next channel)."""
    from vroeg.messaging import dispatch

    hook = getattr(dispatch, "on_undelivered", None)
    if hook is None:
        log.warning("message %s undelivered: no dispatch.on_undelivered to fall back",
                    message.pk)
        return
    hook(message, reason)


def _consent(household: Household, inbound: Inbound) -> tuple[str, list[str]]:
    """What a keyword changes on the household: (audit action, changed fields). An SMS
    START changes nothing by itself: a person decides whether SMS may resume."""
    if inbound.channel == "sms" and inbound.opt_out and household.sms_opt_out_on is None:
        # Its own field: the ERP import rewrites no_sms, it must never undo a STOP.
        household.sms_opt_out_on = today()
        return "household.sms_opt_out", ["sms_opt_out_on"]
    if inbound.channel == "whatsapp":
        if inbound.opt_out and household.whatsapp_opt_in_on is not None:
            household.whatsapp_opt_in_on = None
            return "household.whatsapp_opt_out", ["whatsapp_opt_in_on"]
        if inbound.opt_in and household.whatsapp_opt_in_on is None:
            household.whatsapp_opt_in_on = today()
            return "household.whatsapp_opt_in", ["whatsapp_opt_in_on"]
    return "", []


def _title(inbound: Inbound) -> str:
    channel = _CHANNEL_NAMES.get(inbound.channel, inbound.channel)
    if inbound.opt_out:
        return f"Afgemeld voor {channel} / Unsubscribed from {channel}"
    if inbound.opt_in and inbound.channel == "whatsapp":
        return "Aangemeld voor WhatsApp / Subscribed to WhatsApp"
    # START or JA by SMS is a message like any other: the person reading it decides.
    return f"Bericht van huurder via {channel} / Message from the tenant by {channel}"


def record_inbound(provider: str, inbound: Inbound) -> list[Task]:
    """Apply a tenant's message: consent keywords, and a staff task per household with
    that number. A repeated delivery of the same message changes nothing."""
    day = today()
    word = "stop" if inbound.opt_out else "start" if inbound.opt_in else ""
    ref = inbound.provider_id or hashlib.sha256(
        f"{inbound.sender}|{inbound.text}".encode()).hexdigest()[:34]
    tasks: list[Task] = []
    with transaction.atomic():
        households = (list(Household.objects.select_for_update()
                           .filter(mobile=inbound.sender).order_by("pk"))
                      if inbound.sender else [])
        if not households:
            audit(ACTOR, "message.inbound_unknown", object_type="messaging.inbound",
                  object_id=ref[:60],
                  summary=f"{provider} {inbound.channel}: bericht van onbekend nummer / "
                          "message from an unknown number",
                  provider=provider, channel=inbound.channel, keyword=word)
            return tasks
        for household in households:
            key = f"inbound:{provider}:{ref}:{household.pk}"[:120]
            if Task.objects.filter(idempotency_key=key).exists():
                continue  # the provider sent this message again
            action, changed = _consent(household, inbound)
            if changed:
                household.save(update_fields=changed)
                audit(ACTOR, action, household,
                      summary=f"{provider} {inbound.channel}: {word.upper()} van de huurder / "
                              f"from the tenant",
                      provider=provider, channel=inbound.channel, fields=changed)
            text = inbound.text.strip() or "(geen tekst / no text)"
            task = Task.objects.create(
                kind=TASK_KIND, team=TASK_TEAM, household=household, title=_title(inbound),
                created_on=day, due_on=add_business_days(day, TASK_DAYS),
                reason=text[:300], idempotency_key=key)
            audit(ACTOR, "message.inbound", household,
                  summary=f"{provider} {inbound.channel}: bericht van de huurder, taak / "
                          f"message from the tenant, task {task.pk}",
                  provider=provider, channel=inbound.channel, keyword=word, task=task.pk)
            tasks.append(task)
    return tasks


urlpatterns = [
    path("<slug:provider>/status", status_webhook, name="webhook-status"),
    path("<slug:provider>/inbound", inbound_webhook, name="webhook-inbound"),
]

__all__ = ["inbound_webhook", "record_inbound", "record_status", "status_webhook",
           "urlpatterns", "webhook_request"]
