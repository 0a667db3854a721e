"""Site-level endpoints."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dds_site import mongo
from dds_site.documents import current_ts
from dds_site.errors import DatabaseUnavailable, ErrCode, database_error
from dds_site.middleware import error_response


class PingView(APIView):
    """Health check for load balancers: is the database reachable? Anonymous, reveals nothing else.

    Answers within ``MONGODB_PING_TIMEOUT_MS`` even when the database is down: 200 ``{"mongodb": true}``,
    or 503 with the error envelope and ``detail: {"mongodb": false}``.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer("Ping", {"mongodb": serializers.BooleanField(), "ts": serializers.IntegerField()}),
            503: OpenApiResponse(description="The database is unreachable (code 503000)."),
        }
    )
    def get(self, request):
        if not mongo.ping(settings.MONGODB_PING_TIMEOUT_MS / 1000):
            detail = {"mongodb": False, "ts": current_ts()}
            raise DatabaseUnavailable("mongodb is not available", detail=detail)
        return Response({"mongodb": True, "ts": current_ts()})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "detail": None}, status=code // 1000)


# Django's own error pages, for errors raised before a DRF view runs (no URL matched, a bad
# request line, ...): API clients get the DDS error body, everything else Django's HTML page.
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _api_error(ErrCode.PAYLOAD_TOO_LARGE, f"Request body larger than {limit} bytes.")
    if _is_api(request):
        return _api_error(ErrCode.BAD_REQUEST, "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error(ErrCode.FORBIDDEN, "Forbidden.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _api_error(ErrCode.NOT_FOUND, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Called while Django handles the exception, so it is still the one being handled.
    error = database_error(sys.exc_info()[1]) if sys.exc_info()[1] is not None else None
    if error is not None:
        return error_response(request, error)
    if _is_api(request):
        return _api_error(ErrCode.INTERNAL, "Internal server error.")
    return defaults.server_error(request)
