"""The payment providers vroeg can use, by name (settings.VROEG_PAYMENT_PROVIDER)."""

from __future__ import annotations

from django.conf import settings

from vroeg.payments.providers.base import PaymentProviderError, Provider

NONE = "none"  # no online payment: the link shows how to pay by bank transfer
NAMES = ("mollie", "fake", NONE)


def configured() -> str:
    name = str(getattr(settings, "VROEG_PAYMENT_PROVIDER", NONE) or NONE).strip().lower()
    if name not in NAMES:
        raise PaymentProviderError(f"VROEG_PAYMENT_PROVIDER: onbekend / unknown {name!r} "
                                   f"(kies / choose {', '.join(NAMES)})")
    return name


def get_provider(name: str | None = None) -> Provider | None:
    """The provider called `name` (default: the configured one); None for "none"."""
    name = configured() if name is None else name
    if name == "mollie":
        from vroeg.payments.providers.mollie import MollieProvider

        return MollieProvider()
    if name == "fake":
        from vroeg.payments.providers.fake import FakeProvider

        return FakeProvider()
    if name == NONE:
        return None
    raise PaymentProviderError(f"betaalprovider onbekend / unknown payment provider {name!r}")
