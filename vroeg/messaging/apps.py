from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks


class MessagingConfig(AppConfig):
    name = "vroeg.messaging"
    label = "messaging"
    verbose_name = "Berichten / Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(check_message_templates, checks.Tags.templates)


HINT = ("Herstel het sjabloon in vroeg/messaging/templates/messages/ of de instelling / fix "
        "the template in vroeg/messaging/templates/messages/ or the setting")
SMS_HINT = ("Maak de sms-tekst korter (of de naam van de corporatie) / shorten the SMS text "
            "(or the corporation's name)")


def check_message_templates(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """messaging.E001: a message template does not render in some language and channel
    (render.check_templates): `vroeg check` and every start-up catch it. messaging.W001:
    an SMS is too long with the sample data (and the corporation's real name and
    phone): a warning, real amounts and links differ in length."""
    from vroeg.messaging.render import check_templates

    out: list[checks.CheckMessage] = []
    for problem in check_templates():
        if getattr(problem, "warning", False):
            out.append(checks.Warning(problem, id="messaging.W001", hint=SMS_HINT))
        else:
            out.append(checks.Error(problem, id="messaging.E001", hint=HINT))
    return out
