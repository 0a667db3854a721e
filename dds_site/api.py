"""Shared API plumbing: pagination, optional output fields."""

from __future__ import annotations

from django.core.paginator import Page
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.utils.urls import replace_query_param

from dds_site.errors import InvalidArgument


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
