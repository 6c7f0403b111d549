from django.apps import AppConfig


class BankingConfig(AppConfig):
    name = "vroeg.banking"
    label = "banking"
    verbose_name = "Bank / Banking"
    default_auto_field = "django.db.models.BigAutoField"
