"""Bounds on client input: numbers MongoDB can store, and how many objects and points one image may hold.

MongoDB stores integers as int64 and numbers as finite doubles; a bigger integer makes the driver fail
with ``OverflowError`` at write time, so input is checked against these bounds before anything is written.
The item limits are settings (``DDS_MAX_OBJECTS_PER_IMAGE``, ``DDS_MAX_POINTS_PER_OBJECT``), read at call
time so they can be changed per deployment.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from dds_site.errors import PayloadTooLarge

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def storable_number(value: Any) -> bool:
    """An int within int64 or a finite float (bools are not numbers here)."""
    kind = type(value)
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX
    if kind is float:
        return math.isfinite(value)
    return False


def storable_int(value: Any) -> bool:
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def max_objects_per_image() -> int:
    return settings.DDS_MAX_OBJECTS_PER_IMAGE


def max_points_per_object() -> int:
    return settings.DDS_MAX_POINTS_PER_OBJECT


def check_count(what: str, count: int, limit: int, **detail: Any) -> None:
    """Raise ``PayloadTooLarge`` (413000) when ``count`` exceeds ``limit``."""
    if count > limit:
        raise PayloadTooLarge(
            f"At most {limit} {what} are allowed, got {count}.",
            detail={**detail, "limit": limit, "count": count},
        )
