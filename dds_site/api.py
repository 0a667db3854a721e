"""Shared API plumbing: the one list envelope, pagination, optional output fields.

Every list answers ``{"count", "next", "previous", "results"}`` (``list_envelope``): ``next`` and
``previous`` are absolute URLs or null. Lists that also page by keyset (dataset images, task images)
add ``next_cursor``; on their keyset pages ``next`` carries the cursor and ``previous`` is null.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.paginator import Page
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from dds_site.errors import InvalidArgument

_NO_CURSOR: Any = object()

# The query parameters of a paged list, for views that page by hand.
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="1-based page number."),
    OpenApiParameter("page_size", int, description="Items per page (capped)."),
]


def list_envelope(
    results: list,
    *,
    count: int | None,
    next_link: str | None = None,
    previous_link: str | None = None,
    next_cursor: int | None = _NO_CURSOR,
) -> dict[str, Any]:
    """The body of every list answer; ``next_cursor`` only on the lists that page by keyset."""
    body: dict[str, Any] = {"count": count, "next": next_link, "previous": previous_link, "results": results}
    if next_cursor is not _NO_CURSOR:
        body["next_cursor"] = next_cursor
    return body


def whole_list_response(results: list) -> Response:
    """A list that is never paged (a dataset's categories, a task's roles): all of it, in one page."""
    return Response(list_envelope(results, count=len(results)))


def keyset_list_response(
    request: Request,
    results: list,
    *,
    count: int | None,
    page: int,
    page_size: int,
    cursor: int | None,
    next_cursor: int | None,
) -> Response:
    """A page of a list that pages by number (``cursor`` None) or by keyset after ``cursor``.

    ``next_cursor`` is None when nothing follows the page. ``next`` continues as the request did: the
    next page number, or the keyset page after ``next_cursor``. A keyset page has no ``previous``.
    """
    url = request.build_absolute_uri()
    next_link = previous_link = None
    if cursor is not None:
        if next_cursor is not None:
            next_link = replace_query_param(remove_query_param(url, "page"), "cursor", next_cursor)
    else:
        if next_cursor is not None:
            next_link = replace_query_param(url, "page", page + 1)
        if page > 1:
            last_page = max(math.ceil(count / page_size), 1) if count is not None else page
            previous = min(page - 1, last_page)
            previous_link = (
                remove_query_param(url, "page") if previous == 1 else replace_query_param(url, "page", previous)
            )
    envelope = list_envelope(
        results, count=count, next_link=next_link, previous_link=previous_link, next_cursor=next_cursor
    )
    return Response(envelope)


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M``, validated as the image lists validate them.

    ``page`` must be a positive integer (or ``last``) and ``page_size`` an integer from 1 to
    ``max_page_size``, else 400002. A page past the last one is an empty page with the total count,
    as the image lists answer, not a 404.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_number(self, request, paginator) -> int | str:
        value = super().get_page_number(request, paginator)
        if value in self.last_page_strings:
            return value
        number = _positive_int(value)
        if number is None:
            raise InvalidArgument("page must be a positive integer.", detail={"page": value})
        return number

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        size = _positive_int(value)
        if size is None or size > self.max_page_size:
            raise InvalidArgument(
                f"page_size must be an integer from 1 to {self.max_page_size}.", detail={"page_size": value}
            )
        return size

    def paginate_queryset(self, queryset, request, view=None) -> list | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            # Past the last page: an empty page that still reports the count and links back.
            paginator = self.django_paginator_class(queryset, self.get_page_size(request))
            self.request = request
            self.page = Page([], int(self.get_page_number(request, paginator)), paginator)
            return []

    def get_previous_link(self) -> str | None:
        if self.page.number > max(self.page.paginator.num_pages, 1):
            url = self.request.build_absolute_uri()
            return replace_query_param(url, self.page_query_param, self.page.paginator.num_pages or 1)
        return super().get_previous_link()

    def get_paginated_response(self, data: list) -> Response:
        envelope = list_envelope(
            data,
            count=self.page.paginator.count,
            next_link=self.get_next_link(),
            previous_link=self.get_previous_link(),
        )
        return Response(envelope)


def _positive_int(value: object) -> int | None:
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return None
    number = int(text)
    return number if number >= 1 else None


def created_ts_field() -> serializers.IntegerField:
    """``created_ts`` (ms) of a record that may have none: DDS stored no creation time of users and datasets."""
    # Not read_only: the schema lists read-only fields as always present. Only output serializers use it.
    return serializers.IntegerField(required=False, help_text="Creation time in ms; absent for records DDS created.")


class OmitUnknownMixin:
    """Leave the ``omit_when_null`` fields out of the output when their value is unknown (None).

    An adopted DDS record has no creation time: a null would read as "created at no time", so the
    field is absent instead (and optional in the schema).
    """

    omit_when_null: tuple[str, ...] = ()

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        for name in self.omit_when_null:
            if data.get(name, 0) is None:
                del data[name]
        return data
