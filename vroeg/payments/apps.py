from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "vroeg.payments"
    label = "payments"
    verbose_name = "Betaallinks / Payment links"
    default_auto_field = "django.db.models.BigAutoField"
