"""Staff workspace: outgoing messages (the outbox, read-only: the run writes them) and
the texts staff write themselves (MessageText, audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils.html import format_html

from vroeg.audit.actions import audit
from vroeg.audit.admin_mixins import AuditViewMixin, ReadOnlyAdminMixin, staff_actor
from vroeg.messaging.models import Message, MessageText


@admin.register(Message)
class MessageAdmin(AuditViewMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("decided_on", "channel", "template", "status", "tenancy", "step",
                    "sent_at", "attempts")
    list_select_related = ("tenancy",)
    list_filter = ("status", "channel", "template", "language", "step")
    date_hierarchy = "decided_on"
    search_fields = ("tenancy__code", "household__name", "household__code", "recipient",
                     "subject", "idempotency_key", "delivery_ref")
    show_full_result_count = False
    # The body is shown read-only on the detail page (every field is, in this admin).


def _template_choices() -> list[tuple[str, str]]:
    from vroeg.messaging.render import template_names

    return [(t, t) for t in template_names()]


def _language_choices() -> list[tuple[str, str]]:
    from vroeg.messaging.render import LANGUAGES, TEMPLATE_LANGUAGES

    names = {"nl": "Nederlands", "en": "English", "tr": "Türkçe", "ar": "العربية",
             "pl": "Polski"}
    codes = list(LANGUAGES) + sorted({c for langs in TEMPLATE_LANGUAGES.values()
                                      for c in langs} - set(LANGUAGES))
    return [(c, f"{c} - {names.get(c, c)}") for c in codes]


class MessageTextForm(forms.ModelForm):
    template = forms.ChoiceField(label="sjabloon / template", choices=_template_choices)
    language = forms.ChoiceField(label="taal / language", choices=_language_choices)

    class Meta:
        model = MessageText
        fields = ("template", "language", "part", "text")
        widgets = {"text": forms.Textarea(attrs={"rows": 6, "cols": 80})}


@admin.register(MessageText)
class MessageTextAdmin(AuditViewMixin, admin.ModelAdmin):
    """Own texts per template and language. Saving checks the text (only the allowed
    variables, see the help under the field); every change and deletion is audited
    with who made it."""

    form = MessageTextForm
    list_display = ("template", "language", "part", "short_text", "updated_by", "updated_at")
    list_filter = ("template", "language", "part")
    search_fields = ("text",)
    readonly_fields = ("allowed_variables", "preview", "updated_by", "updated_at")
    fields = ("template", "language", "part", "text", "allowed_variables", "preview",
              "updated_by", "updated_at")

    @admin.display(description="tekst / text")
    def short_text(self, obj: MessageText) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:77] + "..."

    @admin.display(description="toegestane variabelen / allowed variables")
    def allowed_variables(self, obj: MessageText | None) -> str:
        from vroeg.messaging.render import TEMPLATES, staff_variables

        template = obj.template if obj is not None and obj.template else TEMPLATES[0]
        return ", ".join("{{ " + v + " }}" for v in staff_variables(template))

    @admin.display(description="voorbeeld / preview")
    def preview(self, obj: MessageText | None) -> str:
        from vroeg.messaging.render import RenderError, preview_staff_text

        if obj is None or not obj.pk:
            return "-"
        try:
            text = preview_staff_text(obj.template, obj.language, obj.text)
        except RenderError as exc:
            return f"fout / error: {exc}"
        return format_html('<div style="white-space:pre-wrap">{}</div>', text)

    def save_model(self, request: HttpRequest, obj: MessageText, form: Any,
                   change: bool) -> None:
        actor = staff_actor(request)
        obj.updated_by = actor.removeprefix("staff:")
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit(actor, "message_text.change" if change else "message_text.add", obj,
                  summary=f"berichttekst / message text {obj}",
                  changed=list(form.changed_data), template=obj.template,
                  language=obj.language, part=obj.part)

    def delete_model(self, request: HttpRequest, obj: MessageText) -> None:
        with transaction.atomic():
            audit(staff_actor(request), "message_text.delete", obj,
                  summary=f"berichttekst / message text {obj} verwijderd / deleted")
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit(staff_actor(request), "message_text.delete", obj,
                      summary=f"berichttekst / message text {obj} verwijderd / deleted")
            super().delete_queryset(request, queryset)
