from django.apps import AppConfig


class DirectDebitConfig(AppConfig):
    name = "vroeg.directdebit"
    label = "directdebit"
    verbose_name = "Automatische incasso / Direct debit"
    default_auto_field = "django.db.models.BigAutoField"
