"""Answer a database outage with a 503 on every page, not only in the REST API.

DRF views map database failures in ``dds_site.errors.exception_handler``; this middleware does the
same for the other views (the admin, the labeling pages), and ``dds_site.views.server_error`` for
failures outside any view (e.g. a middleware reading the session).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from dds_site.errors import DDSError, database_error

logger = logging.getLogger(__name__)


def error_response(request: HttpRequest, error: DDSError) -> HttpResponse:
    """The DDS envelope for API paths, a plain page (rendered without touching the database) elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error.to_dict(), status=error.http_status)
    page = loader.render_to_string("dds_site/error.html", {"status": error.http_status, "message": error.message})
    return HttpResponse(page, status=error.http_status)


class DatabaseErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        error = database_error(exception)
        if error is None:
            return None
        logger.warning("%s %s: %s: %s", request.method, request.path, error.message, exception.__cause__ or exception)
        return error_response(request, error)
