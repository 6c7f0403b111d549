"""ISO 20022 / EPC reason codes for returned, rejected and refunded direct debits.

One table: code -> ISO name, meaning in Dutch and English, and what vroeg does with a
rent collection returned for that reason (vroeg/domain/direct_debit.py applies it).
Pure data; others use :func:`meaning` to show a code to staff or in reports.

Actions (RULES-NL rules 18, 19 and 23):

- ``retry_after_payday``: collect once more, after the tenant's payday. Only once: a
  second failure leaves the arrears to the collection flow (reminders, a call).
- ``reopen``: the payer took the money back (MD06, up to 8 weeks) or refused this
  one collection. No retry: the arrears are open again (the statement's return books
  a reversal) and the collection flow takes over. Not fraud; the mandate stays.
- ``stop_direct_debit``: this mandate or account cannot be collected from any more.
  The mandate ends, the tenancy switches to transfer, staff get a task and the
  household a message asking for a new payment method (no message after MD07).
- ``review``: a problem in our own file or data (format, BIC, creditor id, mandate
  data, a duplicate, a regulatory reason). No automatic step; staff get a task.
- ``record``: only recorded (a return we asked for ourselves).

Sources: EPC SEPA Direct Debit Core Rulebook, chapter on R-transactions, and the
EPC "Guidance on reason codes for SDD R-transactions" (EPC173-14); ISO external code
list ExternalStatusReason1Code / ExternalReturnReason1Code. Note: for privacy, some
banks report insufficient funds (AM04) and a deceased payer (MD07) as MS03 "reason
not specified". vroeg treats MS03 like AM04 (one retry after payday): harmless if
the reason was another one, and a second failure goes to the flow.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY_AFTER_PAYDAY = "retry_after_payday"
REOPEN = "reopen"
STOP_DIRECT_DEBIT = "stop_direct_debit"
REVIEW = "review"
RECORD = "record"
ACTIONS = (RETRY_AFTER_PAYDAY, REOPEN, STOP_DIRECT_DEBIT, REVIEW, RECORD)


@dataclass(frozen=True)
class ReturnReason:
    code: str
    iso_name: str
    nl: str
    en: str
    action: str
    #: False where a message to the household would be wrong (a deceased payer).
    message_tenant: bool = True

    @property
    def meaning(self) -> str:
        """'Dutch / English', for screens and reports."""
        return f"{self.nl} / {self.en}"


def _r(code: str, iso_name: str, nl: str, en: str, action: str,
       message_tenant: bool = True) -> ReturnReason:
    return ReturnReason(code, iso_name, nl, en, action, message_tenant)


REASONS: dict[str, ReturnReason] = {r.code: r for r in (
    _r("AC01", "IncorrectAccountNumber", "rekeningnummer onjuist",
       "account number incorrect", STOP_DIRECT_DEBIT),
    _r("AC04", "ClosedAccountNumber", "rekening opgeheven", "account closed",
       STOP_DIRECT_DEBIT),
    _r("AC06", "BlockedAccount", "rekening geblokkeerd", "account blocked",
       STOP_DIRECT_DEBIT),
    _r("AC13", "InvalidDebtorAccountType", "soort rekening staat deze incasso niet toe",
       "account type does not allow this direct debit", STOP_DIRECT_DEBIT),
    _r("AG01", "TransactionForbidden", "incasso niet toegestaan op deze rekening",
       "direct debit not allowed on this account", STOP_DIRECT_DEBIT),
    _r("AG02", "InvalidBankOperationCode",
       "ongeldige opdracht (bestand of volgorde FRST/RCUR)",
       "invalid operation code (file or FRST/RCUR sequence)", REVIEW),
    _r("AM04", "InsufficientFunds", "onvoldoende saldo", "insufficient funds",
       RETRY_AFTER_PAYDAY),
    _r("AM05", "Duplication", "dubbele incasso", "duplicate collection", REVIEW),
    _r("BE05", "UnrecognisedInitiatingParty", "incassant-ID onbekend of onjuist",
       "creditor identifier unknown or incorrect", REVIEW),
    _r("CNOR", "CreditorBankIsNotRegistered",
       "bank van de incassant niet bereikbaar in het betaalsysteem",
       "creditor's bank not registered in the payment system", REVIEW),
    _r("CUST", "RequestedByCustomer", "geweigerd op verzoek van de betaler",
       "refused at the payer's request", REOPEN),
    _r("DNOR", "DebtorBankIsNotRegistered",
       "bank van de betaler niet bereikbaar voor SEPA-incasso",
       "payer's bank not reachable for SEPA direct debit", STOP_DIRECT_DEBIT),
    _r("DUPL", "DuplicatePayment", "dubbele betaling", "duplicate payment", REVIEW),
    _r("FF01", "InvalidFileFormat", "bestandsfout (ongeldig formaat)",
       "invalid file format", REVIEW),
    _r("FOCR", "FollowingCancellationRequest",
       "teruggeboekt na een annuleringsverzoek van de incassant",
       "returned following a cancellation request by the creditor", RECORD),
    _r("MD01", "NoMandate", "geen (geldige) machtiging, of machtiging ingetrokken",
       "no (valid) mandate, or mandate revoked", STOP_DIRECT_DEBIT),
    _r("MD02", "MissingMandatoryInformationInMandate",
       "machtigingsgegevens ontbreken of zijn onjuist",
       "mandate data missing or incorrect", REVIEW),
    _r("MD06", "RefundRequestByEndCustomer",
       "terugboeking op verzoek van de betaler (binnen 8 weken)",
       "refund requested by the payer (within 8 weeks)", REOPEN),
    _r("MD07", "EndCustomerDeceased", "betaler overleden", "payer deceased",
       STOP_DIRECT_DEBIT, message_tenant=False),
    _r("MS02", "NotSpecifiedReasonCustomerGenerated",
       "geweigerd door de betaler, reden niet opgegeven",
       "refused by the payer, reason not given", REOPEN),
    _r("MS03", "NotSpecifiedReasonAgentGenerated",
       "geweigerd door de bank, reden niet opgegeven (vaak onvoldoende saldo)",
       "refused by the bank, reason not given (often insufficient funds)",
       RETRY_AFTER_PAYDAY),
    _r("RC01", "BankIdentifierIncorrect", "BIC onjuist", "bank identifier (BIC) incorrect",
       REVIEW),
    _r("RR01", "MissingDebtorAccountOrIdentification",
       "rekening of identificatie van de betaler ontbreekt (wettelijke eis)",
       "payer's account or identification missing (regulatory)", REVIEW),
    _r("RR02", "MissingDebtorNameOrAddress",
       "naam of adres van de betaler ontbreekt (wettelijke eis)",
       "payer's name or address missing (regulatory)", REVIEW),
    _r("RR03", "MissingCreditorNameOrAddress",
       "naam of adres van de incassant ontbreekt (wettelijke eis)",
       "creditor's name or address missing (regulatory)", REVIEW),
    _r("RR04", "RegulatoryReason", "wettelijke reden (bijvoorbeeld sanctieregels)",
       "regulatory reason (for example sanctions)", REVIEW),
    _r("SL01", "SpecificServiceOfferedByDebtorAgent",
       "geblokkeerd door een dienst van de bank van de betaler (incassoblokkade of limiet)",
       "blocked by a service of the payer's bank (direct-debit block or limit)",
       STOP_DIRECT_DEBIT),
    _r("TM01", "InvalidCutOffTime", "te laat aangeleverd (na de sluitingstijd)",
       "delivered after the cut-off time", REVIEW),
)}

#: Refund codes: the money was collected and the payer had it paid back.
REFUND_CODES = frozenset({"MD06"})


def reason_for(code: str) -> ReturnReason:
    """The table row for a code; an unknown code asks a person (review)."""
    code = (code or "").strip().upper()
    known = REASONS.get(code)
    if known is not None:
        return known
    return ReturnReason(code, "", f"onbekende retourcode {code or '(leeg)'}",
                        f"unknown return code {code or '(empty)'}", REVIEW)


def meaning(code: str) -> str:
    """'AM04 onvoldoende saldo / insufficient funds'."""
    r = reason_for(code)
    return f"{r.code} {r.meaning}".strip()


__all__ = ["ACTIONS", "REASONS", "RECORD", "REFUND_CODES", "REOPEN", "RETRY_AFTER_PAYDAY",
           "REVIEW", "STOP_DIRECT_DEBIT", "ReturnReason", "meaning", "reason_for"]
