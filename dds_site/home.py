"""The site's front doors: a landing page at ``/`` and the API root at ``/api/v1/``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Entry points of the API, by the name a client looks for and the URL name that serves it.
API_ENTRY_POINTS = {
    "ping": "ping",
    "login": "auth-login",
    "users": "user-list",
    "datasets": "dataset-list",
    "label_projects": "label-project-list",
    "schema": "schema",
    "docs": "swagger-ui",
}


def landing_page(request: HttpRequest) -> HttpResponse:
    """Anonymous-safe: links only, no data."""
    return render(request, "dds_site/landing.html")


class ApiRootView(APIView):
    """The API's entry points as absolute URLs, for clients that discover rather than hard-code."""

    @extend_schema(
        responses=inline_serializer("ApiRoot", {name: serializers.URLField() for name in API_ENTRY_POINTS}),
    )
    def get(self, request: Request) -> Response:
        return Response({name: reverse(url_name, request=request) for name, url_name in API_ENTRY_POINTS.items()})
