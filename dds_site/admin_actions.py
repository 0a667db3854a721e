"""Running an admin action object by object, as the apps' changelist actions do."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from dds_site.errors import DDSError


def run_each(
    modeladmin: admin.ModelAdmin, request: HttpRequest, objects: Iterable[Any], call: Callable[[Any], Any], *, done: str
) -> int:
    """Call ``call(obj)`` for each object. A ``DDSError`` (a refusal or a rule of the service) is an error message
    naming the object and leaves it as it was; the others are counted in the success message ``done`` (formatted
    with ``count``), shown if any succeeded. Returns that count."""
    count = 0
    for obj in objects:
        try:
            call(obj)
        except DDSError as exc:
            modeladmin.message_user(request, f"{obj}: {exc}", level=messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done.format(count=count), level=messages.SUCCESS)
    return count
