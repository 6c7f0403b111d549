"""The tenant's side of payment links. VROEG_PAY_URL is the public address of /betaal/.

/betaal/<token>          the link in the message: on to the provider's checkout page
/betaal/<token>/terug    where the provider sends the tenant back
/betaal/webhook/<name>   where the provider reports a changed payment (POST id=...)
/betalen/<token>/        the built-in fake provider's checkout page
"""

from django.urls import path, register_converter

from vroeg.payments import views


class TokenConverter:
    regex = "[0-9a-f]{32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TokenConverter, "paytoken")

urlpatterns = [
    path("betaal/webhook/<slug:provider>", views.webhook, name="payments-webhook"),
    path("betaal/<paytoken:token>", views.pay, name="payments-pay"),
    path("betaal/<paytoken:token>/", views.pay),
    path("betaal/<paytoken:token>/terug", views.returned, name="payments-return"),
    path("betaal/<paytoken:token>/regeling", views.arrangement, name="payments-arrangement"),
    path("betalen/<paytoken:token>/", views.fake_checkout, name="payments-fake"),
]
