"""A confirmation step for admin actions that destroy or reveal, in the manner of Django's ``delete_selected``.

The action's first POST renders a page listing what will happen; the page posts the same action and selection
back with ``post=yes``, and only that second POST runs the action.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

CONFIRM_FIELD = "post"
CONFIRM_VALUE = "yes"


def is_confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    question: str,
    items: Iterable[str],
    button: str,
) -> TemplateResponse:
    """The page asking to confirm ``action`` on ``queryset``; ``items`` describe what it will act on."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "question": question,
        "items": list(items),
        "queryset": queryset,
        "action": action,
        "button": button,
        "confirm_field": CONFIRM_FIELD,
        "confirm_value": CONFIRM_VALUE,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/dds_confirm_action.html", context)
