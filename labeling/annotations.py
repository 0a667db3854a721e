"""Validation of the annotations a labeler submits (reference §8.7 #17), fixing DDS bug 12.

DDS never ran its "missing fields" check and rejected ``"bounding_box": {}``; here every annotation is
checked and normalised, ``{}`` means "no box", and each failure names the annotation and the field.
Numbers must be storable (int64, finite floats); the number of annotations per image and of points per
annotation are bounded by settings (413000 beyond them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from dds_site.limits import check_count, max_objects_per_image, max_points_per_object, storable_int, storable_number
from labeling.errors import AnnotationInvalid, AnnotationMissingFields

POINT_ARITY = 6  # x, y, z, w, visibility, conf per keypoint, as stored in DDS's Object.points
BOX_KEYS = ("xmin", "ymin", "xmax", "ymax")


def _invalid(index: int, reason: str, error: type[AnnotationInvalid | AnnotationMissingFields] = AnnotationInvalid):
    return error(f"annotations.[{index}]: {reason}", detail={"index": index, "reason": reason})


_number = storable_number
_int = storable_int


def _category(index: int, item: dict, categories: dict[str, str]) -> str:
    name = item.get("category_name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise _invalid(index, "category_name is required", AnnotationMissingFields)
    if not isinstance(name, str):
        raise _invalid(index, "category_name must be a string")
    known = categories.get(name) or categories.get(name.strip().lower())
    if known is None:
        raise _invalid(index, f"unknown category {name!r}")
    return known


def _box(index: int, value: Any) -> dict:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or set(value) != set(BOX_KEYS):
        raise _invalid(index, "bounding_box must have exactly xmin, ymin, xmax, ymax")
    if not all(_number(value[key]) for key in BOX_KEYS):
        raise _invalid(index, "bounding_box values must be numbers")
    box = {key: float(value[key]) for key in BOX_KEYS}
    if not all(0.0 <= box[key] <= 1.0 for key in BOX_KEYS):
        raise _invalid(index, "bounding_box must be normalised to [0, 1]")
    if box["xmin"] > box["xmax"] or box["ymin"] > box["ymax"]:
        raise _invalid(index, "bounding_box min must not exceed max")
    return box


def _segmentation(index: int, value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise _invalid(index, "segmentation must be a string of polygons 'x,y,x,y,...' joined by '/'")
    vertices = 0
    for polygon in value.split("/"):
        try:
            numbers = [float(part) for part in polygon.split(",")]
        except ValueError:
            raise _invalid(index, "segmentation polygons must hold numbers") from None
        if len(numbers) < 6 or len(numbers) % 2:
            raise _invalid(index, "each segmentation polygon needs at least 3 x,y pairs")
        if not all(map(math.isfinite, numbers)):
            raise _invalid(index, "segmentation polygons must hold finite numbers")
        vertices += len(numbers) // 2
    check_count("segmentation points per annotation", vertices, max_points_per_object(), index=index)
    return value


def _mask(index: int, value: Any) -> dict | str:
    if value in (None, "", {}):
        return ""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("counts"), str)
        or not isinstance(value.get("size"), list)
        or len(value["size"]) != 2
        or not all(_int(n) and n > 0 for n in value["size"])
    ):
        raise _invalid(index, "mask must be an RLE {counts: str, size: [height, width]}")
    return {"counts": value["counts"], "size": list(value["size"])}


def _list(index: int, item: dict, key: str, check) -> list:
    value = item.get(key)
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(check(x) for x in value):
        raise _invalid(index, f"{key} has values of the wrong type or out of range (64-bit integers, finite numbers)")
    return list(value)


def _keypoints(index: int, item: dict) -> dict:
    raw = item.get("points")
    if isinstance(raw, list):  # before looking at each value: the list may be huge
        check_count("points per annotation", len(raw) // POINT_ARITY, max_points_per_object(), index=index)
    points = _list(index, item, "points", _number)
    lines = _list(index, item, "lines", _int)
    colors = _list(index, item, "point_colors", _int)
    names = _list(index, item, "point_names", lambda x: isinstance(x, str))
    if len(points) % POINT_ARITY:
        raise _invalid(index, f"points must hold {POINT_ARITY} numbers per keypoint (x, y, z, w, visibility, conf)")
    num_points = len(points) // POINT_ARITY
    check_count("lines per annotation", len(lines) // 2, max_points_per_object(), index=index)
    if len(lines) % 2 or any(not 0 <= n < num_points for n in lines):
        raise _invalid(index, "lines must be pairs of keypoint indices")
    if colors and len(colors) != 3 * num_points:
        raise _invalid(index, "point_colors must hold one RGB triple per keypoint")
    if names and len(names) != num_points:
        raise _invalid(index, "point_names must hold one name per keypoint")
    return {"points": [float(x) for x in points], "lines": lines, "point_colors": colors, "point_names": names}


def validate_annotations(annotations: Any, categories: Iterable[str]) -> list[dict]:
    """Check and normalise a labeler's annotations against the project's categories."""
    if not isinstance(annotations, list):
        raise AnnotationInvalid("annotations must be a list of objects.")
    check_count("annotations per image", len(annotations), max_objects_per_image(), field="annotations")
    by_name: dict[str, str] = {}
    for name in categories:
        by_name[name] = name
        by_name.setdefault(name.lower(), name)
    result = []
    for index, item in enumerate(annotations):
        if not isinstance(item, dict):
            raise _invalid(index, "an annotation must be an object")
        category = _category(index, item, by_name)
        result.append(
            {
                "category_name": category,
                "category_id": category,
                "bounding_box": _box(index, item.get("bounding_box")),
                "segmentation": _segmentation(index, item.get("segmentation")),
                "mask": _mask(index, item.get("mask")),
                **_keypoints(index, item),
            }
        )
    return result
