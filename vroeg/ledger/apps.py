from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "vroeg.ledger"
    label = "ledger"
    verbose_name = "Grootboek / Ledger"
    default_auto_field = "django.db.models.BigAutoField"
