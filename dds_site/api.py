"""Shared API plumbing: pagination."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """``?page=N&page_size=M`` with a capped page size."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
