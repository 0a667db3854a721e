"""The plain typed records every format parser yields, and the checks shared by all formats.

A parser knows its file format; the framework (``datasets.importers.runner``) knows the
database. Between them travel ``ImageRecord``s holding ``AnnotationRecord``s in pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from datasets.importers.errors import ImportFormatError

GROUND_TRUTH = "GroundTruth"
# Tolerance for boxes and points that overflow the image by rounding (COCO files have many).
EDGE_TOLERANCE_PX = 1.0


@dataclass(slots=True)
class AnnotationRecord:
    """One annotation in pixel coordinates, as read from a file."""

    category: str
    label: str = GROUND_TRUTH
    label_type: str = "GT"
    conf: float = 1.0
    is_group: bool = False
    bbox: tuple[float, float, float, float] | None = None  # x, y, w, h
    polygons: list[list[float]] | None = None  # [[x, y, x, y, ...], ...]
    mask: dict | None = None  # compressed RLE {"size": [h, w], "counts": str}
    keypoints: list[float] | None = None  # flat x, y, v, conf
    keypoint_names: list[str] | None = None
    keypoint_skeleton: list[int] | None = None  # flat 0-based pairs
    keypoint_colors: list[int] | None = None  # flat RGB triples
    caption: str = ""
    alpha: str = ""  # URL of an alpha matte


@dataclass(slots=True)
class ImageRecord:
    """One image and its annotations; ``key`` identifies it across re-imports."""

    key: str
    url: str
    width: int | None = None
    height: int | None = None
    id: int | None = None
    url_full_res: str = ""
    metadata: dict = field(default_factory=dict)
    annotations: list[AnnotationRecord] = field(default_factory=list)
    where: str = ""  # file the record came from, for error messages


class Problems:
    """Collects bad records: raises at the first one, or counts them when skipping is allowed."""

    def __init__(self, skip_invalid: bool = False, on_skip: Callable[[ImportFormatError], None] | None = None):
        self.skip_invalid = skip_invalid
        self.skipped = 0
        self.skipped_images = 0  # of ``skipped``: whole images (the others are single annotations)
        self.examples: list[dict] = []
        self.warnings: dict[str, int] = {}
        self._on_skip = on_skip

    def warn(self, kind: str) -> None:
        """Count a record that was imported with a correction (e.g. ``CLIPPED_BOXES``)."""
        self.warnings[kind] = self.warnings.get(kind, 0) + 1

    def report(self, error: ImportFormatError, *, whole_image: bool = False) -> None:
        """Raise ``error``, or record it as skipped (``whole_image``: the record was an image, not an annotation)."""
        if not self.skip_invalid:
            raise error
        self.skipped += 1
        self.skipped_images += whole_image
        if len(self.examples) < 20:
            self.examples.append(error.detail)
        if self._on_skip:
            self._on_skip(error)


def parse_number(text: str) -> int | float:
    """A number from text; integers stay integers (so ``"10"`` is written back as ``10``)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def kind_of(value: Any) -> str:
    """A value's JSON kind, for messages that must not quote the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number" if math.isfinite(value) else "a non-finite number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def require_number(value: Any, *, file: str, record: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ImportFormatError(f"expected a number, got {kind_of(value)}", file=file, record=record, field=field)
    return float(value)


_NUMBER_TYPES = frozenset((int, float))


def all_finite_numbers(values: Sequence[Any]) -> bool:
    """True if every value is a finite int or float (not a bool): one check of a whole list, in C.

    (A sum that overflows answers False although each value is finite: callers then check value by value.)
    """
    try:
        return _NUMBER_TYPES.issuperset(map(type, values)) and math.isfinite(sum(values))
    except OverflowError:  # an integer beyond any float
        return False


def require_numbers(values: Sequence[Any], *, file: str, record: Any, field: str) -> tuple[float, ...]:
    """``values`` as floats, each checked as ``require_number`` does (a whole list at once when it can)."""
    if all_finite_numbers(values):
        return tuple(map(float, values))
    return tuple(require_number(value, file=file, record=record, field=field) for value in values)


def require_int(value: Any, *, file: str, record: Any, field: str, positive: bool = False) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        got = "a fraction" if isinstance(value, float) and math.isfinite(value) else kind_of(value)
        raise ImportFormatError(f"expected an integer, got {got}", file=file, record=record, field=field)
    if positive and value <= 0:
        raise ImportFormatError("must be positive", file=file, record=record, field=field)
    return value


CLIPPED_BOXES = "clipped_boxes"  # warning: boxes overhanging their image, clipped to it


def check_annotation(
    ann: AnnotationRecord, image: ImageRecord, *, file: str, record: Any, strict: bool = False
) -> bool:
    """Geometry checks common to every format (pixels against the image size).

    A box overhanging the image is clipped to it, so every stored box lies inside its image (and
    validates when a labeler submits it back); returns True when it overhung by more than rounding
    (``EDGE_TOLERANCE_PX``), which the importers count as a warning. ``strict`` refuses such a box
    instead; a box with no pixel inside the image is always refused.
    """
    width, height = image.width, image.height
    clipped = False
    if ann.bbox is not None:
        x, y, w, h = ann.bbox
        if w < 0 or h < 0:
            raise ImportFormatError("box width and height must not be negative", file=file, record=record, field="bbox")
        if not width or not height:
            raise ImportFormatError("a box needs the image width and height", file=file, record=record, field="bbox")
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
        if (x0, y0, x1, y1) != (x, y, x + w, y + h):
            tol = EDGE_TOLERANCE_PX
            clipped = x < -tol or y < -tol or x + w > width + tol or y + h > height + tol
            if x1 < x0 or y1 < y0 or (w > 0 and x1 == x0) or (h > 0 and y1 == y0) or (clipped and strict):
                raise ImportFormatError(
                    f"box lies outside the {width}x{height} image", file=file, record=record, field="bbox"
                )
            ann.bbox = (x0, y0, x1 - x0, y1 - y0)
    for polygon in ann.polygons or ():
        if len(polygon) % 2 or len(polygon) < 6:
            raise ImportFormatError(
                f"a polygon needs an even number (>= 6) of coordinates, got {len(polygon)}",
                file=file,
                record=record,
                field="segmentation",
            )
    if ann.keypoints is not None and len(ann.keypoints) % 4:
        raise ImportFormatError(
            "keypoints must be x, y, v, conf quadruplets", file=file, record=record, field="keypoints"
        )
    return clipped
