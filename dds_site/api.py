"""Shared API plumbing: pagination."""

from __future__ import annotations

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
