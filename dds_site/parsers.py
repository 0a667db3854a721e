"""The API's JSON parser: DRF's, refusing bodies nested deeper than ``DDS_MAX_JSON_DEPTH``.

Python's JSON decoder raises ``RecursionError`` (not a ``ValueError``) on about a thousand nested
arrays, which DRF lets through as a 500; shallower but still deep bodies would reach code that walks
them recursively. Both are a 400002 here. (Numbers are checked by each endpoint's validation, which
keeps its own error codes.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.parsers import JSONParser

from dds_site.errors import InvalidArgument


def _path(parts: tuple) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return text.lstrip(".") or "$"


def _too_deep(max_depth: int, **detail: Any) -> InvalidArgument:
    return InvalidArgument(
        f"JSON nested too deeply: at most {max_depth} levels.", detail={**detail, "max_depth": max_depth}
    )


def check_depth(data: Any, max_depth: int) -> None:
    """Raise ``InvalidArgument`` if ``data`` nests deeper than ``max_depth``; iterative, whatever its shape."""
    stack: list[tuple[Any, int, tuple]] = [(data, 1, ())]
    while stack:
        value, depth, parts = stack.pop()
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            kind = type(item)
            if kind is dict or kind is list:
                if depth >= max_depth:
                    raise _too_deep(max_depth, path=_path((*parts, key)))
                stack.append((item, depth + 1, (*parts, key)))


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        max_depth = settings.DDS_MAX_JSON_DEPTH
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise _too_deep(max_depth) from None
        if type(data) is dict or type(data) is list:
            check_depth(data, max_depth)
        return data
