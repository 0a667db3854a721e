"""Shared API plumbing: pagination, optional output fields."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from dds_site.errors import InvalidArgument


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M`` with a capped page size.

    A page number that is not a positive integer is bad input (400002); a page past the last one
    stays DRF's 404 "Invalid page.".
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_number(self, request, paginator) -> int | str:
        value = super().get_page_number(request, paginator)
        if value in self.last_page_strings:
            return value
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number < 1:
            raise InvalidArgument("page must be a positive integer.", detail={"page": value})
        return number


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
