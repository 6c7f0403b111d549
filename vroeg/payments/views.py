"""The tenant's pages: the link, the return from the checkout, the webhook, the fake
provider's checkout page. Pages are B1 Dutch first, then English; they show the amount
and how to pay by bank transfer, never a name or an address (a link may be forwarded)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vroeg.messaging.render import format_money
from vroeg.payments import actions
from vroeg.payments.models import PaymentLink
from vroeg.payments.providers import fake
from vroeg.payments.providers.base import FINAL_UNPAID, PaymentProviderError, PaymentStatus

log = logging.getLogger("vroeg.payments")

# kind -> (Dutch title, Dutch text, English title, English text); B1: short sentences.
PAGES: dict[str, tuple[str, str, str, str]] = {
    "paid": ("U heeft al betaald",
             "Dank u wel. Wij hebben uw betaling van {amount_nl} ontvangen. U hoeft niets meer "
             "te doen.",
             "You have already paid",
             "Thank you. We have received your payment of {amount_en}. You do not need to do "
             "anything else."),
    "thanks": ("Dank u wel!",
               "Wij hebben uw betaling van {amount_nl} ontvangen. U hoeft niets meer te doen.",
               "Thank you!",
               "We have received your payment of {amount_en}. You do not need to do anything "
               "else."),
    "open": ("U heeft nog niet betaald",
             "De betaling is nog niet afgerond. Wilt u nu betalen? Klik dan op de knop.",
             "You have not paid yet",
             "The payment has not been completed. Do you want to pay now? Then click the "
             "button."),
    "pending": ("We verwerken uw betaling",
                "Dat duurt meestal maar even. Kijk straks nog eens op deze pagina. Betaal niet "
                "nog een keer.",
                "We are processing your payment",
                "This usually takes a moment. Please look at this page again later. Do not pay "
                "a second time."),
    "not_paid": ("De betaling is niet gelukt",
                 "Er is niets betaald. U kunt het nog een keer proberen. U kunt het bedrag ook "
                 "zelf overmaken.",
                 "The payment did not go through",
                 "Nothing has been paid. You can try again. You can also transfer the amount "
                 "yourself."),
    "expired": ("Deze betaallink werkt niet meer",
                "De link is verlopen. U kunt het bedrag wel zelf overmaken. Dat kan zo:",
                "This payment link no longer works",
                "The link has expired. You can still transfer the amount yourself, like this:"),
    "transfer": ("Betalen met een overboeking",
                 "Online betalen kan hier nog niet. Maak het bedrag zelf over. Dat kan zo:",
                 "Paying by bank transfer",
                 "Paying online is not possible here yet. Please transfer the amount yourself, "
                 "like this:"),
    "error": ("Online betalen lukt nu niet",
              "Probeer het later nog een keer. U kunt het bedrag ook zelf overmaken. Dat kan zo:",
              "Paying online does not work right now",
              "Please try again later. You can also transfer the amount yourself, like this:"),
    "unknown": ("Deze link kennen wij niet",
                "Kijk of u de hele link heeft overgenomen uit het bericht.",
                "We do not know this link",
                "Please check that you copied the whole link from the message."),
}
TRANSFER_KINDS = {"not_paid", "expired", "transfer", "error"}


def _groups(text: str) -> str:
    plain = text.replace(" ", "")
    return " ".join(plain[i:i + 4] for i in range(0, len(plain), 4))


def _page(request: HttpRequest, kind: str, link: PaymentLink | None, *, status: int = 200,
          retry: bool = False) -> HttpResponse:
    corp = settings.VROEG_CORPORATION
    amount = Decimal("0")
    if link is not None:
        amount = link.paid_amount if kind in ("paid", "thanks") and link.paid_amount \
            else link.amount
    title_nl, text_nl, title_en, text_en = PAGES[kind]
    values = {"amount_nl": format_money(amount, "nl"), "amount_en": format_money(amount, "en")}
    context: dict[str, Any] = {
        "kind": kind, "corp": corp, "title_nl": title_nl, "title_en": title_en,
        "text_nl": text_nl.format(**values), "text_en": text_en.format(**values),
        "transfer": link is not None and kind in TRANSFER_KINDS,
        "amount_nl": values["amount_nl"], "amount_en": values["amount_en"],
        "iban": _groups(corp["iban"]),
        "reference": _groups(link.tenancy.payment_reference) if link is not None else "",
        "retry_url": reverse("payments-pay", args=[link.token]) if link and retry else "",
    }
    response = render(request, "payments/page.html", context, status=status)
    _private(response)
    return response


def _private(response: HttpResponse) -> None:
    # The token in the address is the key: no caching, no referrer to other sites.
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"


def _link(token: str) -> PaymentLink | None:
    return PaymentLink.objects.select_related("tenancy").filter(token=token).first()


@require_GET
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the message."""
    link = _link(token)
    if link is None:
        return _page(request, "unknown", None, status=404)
    result = actions.start_payment(link)
    if result.kind == "redirect":
        response: HttpResponse = HttpResponseRedirect(result.url)
        _private(response)
        return response
    if result.kind == "error":
        return _page(request, "error", result.link, status=503)
    return _page(request, result.kind, result.link)


@require_GET
def returned(request: HttpRequest, token: str) -> HttpResponse:
    """Back from the provider's checkout page: the webhook may not have come yet."""
    link = _link(token)
    if link is None:
        return _page(request, "unknown", None, status=404)
    if link.status != PaymentLink.Status.PAID:
        try:
            actions.check(link)
        except PaymentProviderError as exc:
            log.warning("payment link %s: return: %s", link.pk, exc)
    if link.status == PaymentLink.Status.PAID:
        return _page(request, "thanks", link)
    if link.status == PaymentLink.Status.EXPIRED:
        return _page(request, "expired", link)
    if link.provider_status in FINAL_UNPAID:
        return _page(request, "not_paid", link, retry=True)
    if link.provider_status == PaymentStatus.PENDING:
        return _page(request, "pending", link)
    return _page(request, "open", link, retry=True)  # back from the checkout unfinished


@csrf_exempt  # the provider posts here; it proves nothing, we fetch the payment ourselves
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    payment_id = request.POST.get("id", "")
    try:
        actions.handle_webhook(payment_id, provider=provider)
    except actions.UnknownPaymentError:
        pass  # 200 all the same: an unknown id learns the caller nothing
    except PaymentProviderError as exc:
        log.warning("webhook %s: %s", provider, exc)
        if exc.retry:
            return HttpResponse(status=503)  # the provider will call again
    return HttpResponse(status=200)


@require_http_methods(["GET", "POST"])
def fake_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The built-in fake provider's checkout page (no real money)."""
    link = _link(token)
    if link is None or link.provider != fake.NAME:
        return _page(request, "unknown", None, status=404)
    payment = fake.open_payment(token)
    if payment is None:
        return HttpResponseRedirect(reverse("payments-pay", args=[token]))
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("pay", "cancel"):
            fake.finish(payment, pay=action == "pay")
            try:  # what Mollie does after a status change: call the webhook
                actions.handle_webhook(payment.id, provider=fake.NAME)
            except (actions.UnknownPaymentError, PaymentProviderError) as exc:
                log.warning("fake webhook: %s", exc)
            return HttpResponseRedirect(payment.redirect_url)
    response = render(request, "payments/fake_checkout.html", {
        "corp": settings.VROEG_CORPORATION, "amount_nl": format_money(payment.amount, "nl"),
        "amount_en": format_money(payment.amount, "en"), "description": payment.description})
    _private(response)
    return response


@require_http_methods(["GET", "POST"])
def arrangement(request: HttpRequest, token: str) -> HttpResponse:
    """Pay in parts: the tenant arranges the arrears alone, within the corporation's
    self-service policy (rule 13); outside it, the page says to call."""
    from django.utils import timezone

    from vroeg.collection.actions import (
        ActionError,
        self_service_arrangement,
        self_service_options,
    )
    from vroeg.domain.arrangements import schedule_amounts

    link = _link(token)
    if link is None:
        return _page(request, "unknown", None, status=404)
    today = timezone.localdate()
    owed, allowed, why = self_service_options(link.tenancy, today)
    done = None
    error = ""
    if request.method == "POST" and allowed:
        try:
            terms = int(request.POST.get("terms", "0"))
            done = self_service_arrangement(link.tenancy, terms=terms, on=today,
                                            actor=f"tenant:{link.tenancy.code}")
        except (ValueError, ActionError) as exc:
            error = str(exc)
    options = [{"terms": n, "nl": format_money(schedule_amounts(owed, n)[0], "nl"),
                "en": format_money(schedule_amounts(owed, n)[0], "en")} for n in allowed]
    response = render(request, "payments/arrangement.html", {
        "corp": settings.VROEG_CORPORATION, "owed_nl": format_money(owed, "nl"),
        "owed_en": format_money(owed, "en"), "options": options, "why": why, "done": done,
        "error": error,
        "instalments": [(i.due_on, format_money(i.amount, "nl"))
                        for i in done.instalments.all()] if done else []})
    _private(response)
    return response
