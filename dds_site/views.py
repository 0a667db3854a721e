"""Site-level endpoints."""

from __future__ import annotations

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
