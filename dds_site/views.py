"""Site-level endpoints."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from pymongo.errors import PyMongoError
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from dds_site import mongo
from dds_site.documents import current_ts
from dds_site.errors import DDSError, ErrCode


class PingView(APIView):
    """Health check for load balancers: is the database reachable? Anonymous, reveals nothing else."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer("Ping", {"mongodb": serializers.BooleanField(), "ts": serializers.IntegerField()})
    )
    def get(self, request):
        try:
            mongo.get_database().command("ping")
        except PyMongoError as exc:
            raise DDSError("mongodb is not available", code=ErrCode.INTERNAL, status_code=503) from exc
        return Response({"mongodb": True, "ts": current_ts()})


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_error(code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "detail": None}, status=code // 1000)


# Django's own error pages, for errors raised before a DRF view runs (no URL matched, a bad
# request line, ...): API clients get the DDS error body, everything else Django's HTML page.
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
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
    if _is_api(request):
        return _api_error(ErrCode.INTERNAL, "Internal server error.")
    return defaults.server_error(request)
