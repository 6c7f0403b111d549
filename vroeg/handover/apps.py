from django.apps import AppConfig


class HandoverConfig(AppConfig):
    name = "vroeg.handover"
    label = "handover"
    verbose_name = "Overdracht deurwaarder / Bailiff hand-over"
    default_auto_field = "django.db.models.BigAutoField"
