"""Per-request context of the workflow history."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from labeling import checkpoint


class WorkflowActorMiddleware:
    """History entries of operator actions (a superuser in the admin) name the signed-in user.

    Resolved only when an entry is written, so requests that change no status never touch the session's user.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with checkpoint.recording_signed_in_user(lambda: _signed_in(request)):
            return self.get_response(request)


def _signed_in(request: HttpRequest):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
