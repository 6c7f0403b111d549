"""Admin building blocks: audit what staff look at, and read-only admins."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse

from vroeg.audit.actions import audit


def staff_actor(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    username = user.get_username() if user is not None and user.is_authenticated else ""
    return f"staff:{username or 'anonymous'}"


class AuditViewMixin:
    """Every detail (change) view of an object writes an AuditEvent, action "view";
    every list page one with action "list" (the model, the filters used, whether a
    search was made, the objects on the page by id).

    Only a successful GET is a view; a POST is a change and is audited by whatever
    makes the change. The audit row names the staff member and the object, never the
    personal data itself.
    """

    audit_view_action = "view"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().change_view(  # type: ignore[misc]
            request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
            if obj is not None:
                audit(staff_actor(request), self.audit_view_action, obj,
                      summary=f"{obj._meta.verbose_name} bekeken / viewed",
                      path=request.path)
        return response

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if request.method == "GET" and response.status_code == 200:
            cl = getattr(response, "context_data", {}).get("cl")
            shown = [str(o.pk) for o in cl.result_list] if cl is not None else []
            opts = self.model._meta  # type: ignore[attr-defined]
            # Which filters were used, and whether a search was made: not what was
            # typed (a name, an IBAN); the rows shown say what was seen.
            filters = sorted(k for k in request.GET if k not in ("q", "p", "o"))
            audit(staff_actor(request), "list", object_type=opts.label_lower,
                  summary=f"lijst {opts.verbose_name_plural} bekeken / list viewed",
                  path=request.path, filters=filters, searched=bool(request.GET.get("q")),
                  shown=shown[:200])
        return response


class ReadOnlyAdminMixin:
    """View only: no add, no change, no delete, for everyone (superusers too).

    The data comes from somewhere else (an import, the bank, the daily run) or is
    append-only; the admin shows it. Every field, including ones added to the model
    later, is shown read-only.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A read-only table of related rows."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def __init__(self, parent_model: Any, admin_site: Any) -> None:
        super().__init__(parent_model, admin_site)
        if not self.show_change_link:
            # Rows without a link to their own page get no object label above them
            # (the "vroeg-plain" style in templates/admin/base_site.html).
            self.classes = (*(self.classes or ()), "vroeg-plain")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields or [f.name for f in self.model._meta.fields])


def euro(value: Any) -> str:
    """Dutch money notation: € 1.234,56 and € -12,00; empty for None."""
    if value is None:
        return "-"
    value = Decimal(value).quantize(Decimal("0.01")) + 0  # + 0 turns -0.00 into 0.00
    text = f"{value:,.2f}"  # 1,234.56
    text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return f"€ {text}"


ACTION_FORM_TEMPLATE = "admin/vroeg/action_form.html"


def form_action(model_admin: Any, request: HttpRequest, queryset: Any, *, form_class: Any,
                action_name: str, title: str, submit_label: str, intro: str = "",
                items: list[str] | None = None,
                apply: Any) -> Any:
    """An admin action that asks for a small form first (a reason, an outcome, a date).

    Shows the form for the selected objects; on submit calls ``apply(obj, data)`` for
    each object inside its own try, reporting each result. ``apply`` returns a message
    or raises ValueError with a text for the person."""
    from django.contrib import messages
    from django.contrib.admin import helpers
    from django.template.response import TemplateResponse

    objs = list(queryset)
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            for obj in objs:
                try:
                    text = apply(obj, form.cleaned_data)
                except ValueError as exc:
                    model_admin.message_user(request, f"{obj}: {exc}", messages.ERROR)
                else:
                    model_admin.message_user(request, f"{obj}: {text}", messages.SUCCESS)
            return None
    else:
        form = form_class()
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts,
               "title": title, "form": form, "intro": intro,
               "items": items if items is not None else [str(o) for o in objs],
               "action_name": action_name, "submit_label": submit_label,
               "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
               "pks": [o.pk for o in objs], "media": model_admin.media}
    return TemplateResponse(request, ACTION_FORM_TEMPLATE, context)
