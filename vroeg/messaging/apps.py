from __future__ import annotations

from ctypes import CDLL
from ctypes.util import find_library
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
        checks.register(check_font_subsetting)


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


FONT_HINT = ("Installeer HarfBuzz-Subset / install HarfBuzz-Subset: apt-get install "
             "libharfbuzz-subset0 (Debian, Ubuntu)")


def check_font_subsetting(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """messaging.W002: no HarfBuzz-Subset library, so WeasyPrint subsets each letter's
    fonts with fontTools instead: the letters come out the same, about 3.5x slower
    (measured 4.7 against 16.7 letters a second), and fontTools support ends in a later
    WeasyPrint. Looked up as WeasyPrint loads it, without importing WeasyPrint (every
    command runs the checks; a machine without Pango gets its error when a letter is
    written, not here)."""
    if find_library("harfbuzz-subset") or find_library("harfbuzz-subset-0"):
        return []
    # find_library asks ldconfig's cache; the dynamic loader also finds a library on
    # LD_LIBRARY_PATH, as WeasyPrint does with this name.
    try:
        CDLL("libharfbuzz-subset.so.0")
        return []
    except OSError:
        pass
    return [checks.Warning(
        "Brieven worden traag gemaakt: HarfBuzz-Subset ontbreekt / letters are slow to "
        "make: HarfBuzz-Subset is missing", id="messaging.W002", hint=FONT_HINT)]
