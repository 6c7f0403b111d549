"""Payment links (betaallinks): a link in every reminder that lets the tenant pay online.

The link is ours (``/betaal/<token>``); the payment at the provider (Mollie, or the
built-in fake one) is created only when the tenant clicks it. Paid payments are booked
to the tenant ledger when the provider's webhook says so, after fetching the payment;
the provider's later payout on the bank statement is recognised and not booked again.
"""
