from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "vroeg.messaging"
    label = "messaging"
    verbose_name = "Berichten / Messaging"
    default_auto_field = "django.db.models.BigAutoField"
