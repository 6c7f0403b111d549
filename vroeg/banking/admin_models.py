"""Models that exist only for the staff workspace (admin): views on banking data.

Loaded by the admin (vroeg/banking/admin.py imports it during admin autodiscovery).
"""

from __future__ import annotations

from vroeg.banking.models import BankTransaction


class UnmatchedPayment(BankTransaction):
    """The queue of bank transactions the matcher could not link: a person decides."""

    class Meta:
        proxy = True
        app_label = "banking"
        verbose_name = "niet-gekoppelde betaling / unmatched payment"
        verbose_name_plural = "niet-gekoppelde betalingen / unmatched payments"
        ordering = ["booked_on", "id"]
