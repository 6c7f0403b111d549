from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "vroeg.runs"
    label = "runs"
    verbose_name = "Dagruns / Day runs"
    default_auto_field = "django.db.models.BigAutoField"
