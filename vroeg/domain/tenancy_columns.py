"""The tenancy CSV format: one row per tenancy (huurovereenkomst).

Column names follow the VERA housing data standard's concepts (Overeenkomst,
Eenheid, Relatie) in snake_case; docs/import-format.md documents each column.
"""

from __future__ import annotations

# Required columns, in the recommended order.
REQUIRED = (
    "overeenkomst_code",      # tenancy code (VERA Overeenkomst.code)
    "relatie_code",           # household/party code (VERA Relatie.code)
    "relatie_naam",           # household name as on letters
    "eenheid_code",           # unit code (VERA Eenheid.code)
    "eenheid_straat",         # street of the unit
    "eenheid_huisnummer",     # number plus addition, e.g. "12", "12-A", "12 bis"
    "eenheid_postcode",       # Dutch postcode, "1234 AB" or "1234ab"
    "eenheid_plaats",         # town of the unit
    "ingangsdatum",           # start date, YYYY-MM-DD (or DD-MM-YYYY)
    "kale_huur",              # net rent per month, e.g. 612.45 (or 612,45)
)
# Optional columns; empty cells take the default.
OPTIONAL = (
    "einddatum",              # end date
    "servicekosten",          # service costs per month (0.00)
    "vervaldag",              # due day of month 1-28, or 29-31 = last day (1)
    "betaalwijze",            # "overboeking" (transfer, default) or "incasso" (direct debit)
    "machtigingskenmerk",     # SEPA mandate id (required for incasso)
    "machtiging_datum",       # mandate signature date
    "iban",                   # the tenant's own account (known payer)
    "betalingskenmerk",       # payment reference; generated when empty
    "email",                  # household e-mail address
    "mobiel",                 # mobile phone, normalised to E.164 (+31...)
    "post_straat",            # postal address when not the unit's: all four post_ or none
    "post_huisnummer",
    "post_postcode",
    "post_plaats",
    "taal",                   # nl (default), en, tr, ar, pl
    "voorkeurskanaal",        # email (default), sms, brief
    "beperkingen",            # ';'-separated: alleen_brief, geen_sms, geen_email, tolk,
                              # geen_automatische_oproepen
    "beginsaldo",             # opening balance (owed > 0, credit < 0), 0.00
    "beginsaldo_datum",       # date of the opening balance; charges start after it
    "betaaldag",              # day of month 1-31 the household's income arrives
    "huurtoeslag",            # housing benefit: ja/nee (yes/no); empty: not known
)
ALL = REQUIRED + OPTIONAL
