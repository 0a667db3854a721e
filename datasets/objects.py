"""``Object``: one annotation embedded in an image document, and the pure helpers that format one.

The helpers validate as they convert, so bad input raises ``InvalidDatasetArgument`` (400002)
before anything is written: numbers must be storable (int64, finite floats), and keypoints and
polygon vertices per object are bounded by ``DDS_MAX_POINTS_PER_OBJECT`` (413000 beyond). They are
deliberately plain Python: an import adds millions of annotations and builds ``Object`` with
``model_construct`` from values checked here.
"""

from __future__ import annotations

import math
import mimetypes
import numbers
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

import pydantic

from datasets.constants import (
    COCO_KEYPOINT_COLORS,
    COCO_KEYPOINT_NAMES,
    COCO_KEYPOINT_SKELETON,
    AnnotationType,
)
from datasets.errors import InvalidDatasetArgument
from dds_site.limits import INT64_MAX, INT64_MIN, check_count, max_points_per_object, storable_int

Number = float | int
# What MongoDB can store: a 64-bit integer, or a finite float.
Int64 = Annotated[int, pydantic.Field(ge=INT64_MIN, le=INT64_MAX)]
StorableNumber = Int64 | Annotated[float, pydantic.Field(allow_inf_nan=False)]

# The object field whose presence implies each annotation type (Classification is always implied).
_FIELD_ANNOTATION_TYPES = (
    ("bounding_box", AnnotationType.DETECTION),
    ("segmentation", AnnotationType.SEGMENTATION),
    ("alpha", AnnotationType.MATTING),
    ("points", AnnotationType.KEYPOINTS),
    ("mask", AnnotationType.MASK),
)


def object_types_of(obj: dict[str, Any]) -> set[str]:
    """The ``AnnotationType`` values an object (as a dict) implies."""
    types = {AnnotationType.CLASSIFICATION}
    for field, kind in _FIELD_ANNOTATION_TYPES:  # a loop, not a generator: called for every object written
        if obj.get(field):
            types.add(kind)
    return types


class Object(pydantic.BaseModel):
    """A prediction, ground truth or user annotation of an image (reference §3.3)."""

    model_config = pydantic.ConfigDict(extra="ignore", protected_namespaces=())

    label_name: str
    label_type: str
    label_id: str = ""
    category_id: str = ""
    category_name: str = ""
    conf: StorableNumber = 1.0
    is_group: bool | None = False
    # default_factory, not ``= {}``: pydantic deep-copies mutable defaults for every instance
    bounding_box: dict[str, StorableNumber] | None = pydantic.Field(default_factory=dict)
    segmentation: str | None = ""
    alpha: str | None = ""
    points: list[StorableNumber] | None = pydantic.Field(default_factory=list)
    lines: list[Int64] | None = pydantic.Field(default_factory=list)
    point_colors: list[Int64] | None = pydantic.Field(default_factory=list)
    point_names: list[str] | None = pydantic.Field(default_factory=list)
    caption: str | None = ""
    confirm_type: Int64 | None = 0
    compare_result: dict[str, str] | None = pydantic.Field(default_factory=dict)
    matched_det_idx: Int64 | None = None
    mask: dict | None = pydantic.Field(default_factory=dict)

    @classmethod
    def get_collection(cls) -> None:
        """Objects live inside image documents, not in a collection of their own."""
        return None

    def post_init(self) -> None:
        """Turn a ``file://`` alpha path into a local-file URL (DDS's ``post_init``)."""
        if self.alpha and self.alpha.startswith("file://"):
            self.alpha = local_file_url(self.alpha[len("file://") :])

    def model_post_init(self, context: Any, /) -> None:
        self.post_init()

    @classmethod
    def from_dict(cls, data: dict) -> Object:
        return cls.model_validate(data)

    def to_dict(self, include: list | None = None, exclude: list | None = None) -> dict:
        return self.model_dump(
            include=set(include) if include is not None else None,
            exclude=set(exclude) if exclude is not None else None,
        )


def local_file_url(path: str) -> str:
    """DDS's URL for serving a local file: ``/files/local_files/b/1/-1_-1/<mime with _>/<path>``.

    Binary read mode, plain encoding, whole file. The file endpoint only serves whitelisted
    directories; building the URL grants nothing.
    """
    mime = (mimetypes.guess_type(path)[0] or "application/octet-stream").replace("/", "_")
    return f"/files/local_files/b/1/-1_-1/{mime}/{quote(path)}"


def uri_to_url(uri: str) -> str:
    """``file://`` URIs become local-file URLs; anything else is kept."""
    return local_file_url(uri[len("file://") :]) if uri.startswith("file://") else uri


_PLAIN_NUMBERS = (int, float)
_INTS = frozenset((int,))
_FLOATS = frozenset((float,))


def _storable_plain_numbers(values: Sequence[Any]) -> bool:
    """True if ``values`` are all ints within int64, or all finite floats: checked by a few passes in C.

    False means "look at each value" (mixed ints and floats, other types, or a float sum that overflows)."""
    types = set(map(type, values))
    if types <= _FLOATS:
        return math.isfinite(sum(values))
    if types <= _INTS:
        return min(values) >= INT64_MIN and max(values) <= INT64_MAX
    return False


def _is_number(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:  # the common case, without the slow ABC check
        return True
    return isinstance(value, numbers.Real) and kind is not bool


def _out_of_range(value: Any) -> bool:
    """Not storable by MongoDB: an integer beyond int64, or a NaN or infinite float."""
    if type(value) is int:
        return not INT64_MIN <= value <= INT64_MAX
    try:
        return not math.isfinite(value)
    except OverflowError:  # an integer-like number too large even for a float
        return True


def _numbers(values: Any, what: str) -> list:
    """``values`` as a list, if it is a list/tuple of storable real numbers (bools excluded)."""
    if type(values) not in (list, tuple) and (not isinstance(values, Sequence) or isinstance(values, str | bytes)):
        raise InvalidDatasetArgument(f"{what} must be a list of numbers.", detail={"value": repr(values)[:200]})
    if _storable_plain_numbers(values):  # the common case; the checks below decide every other one
        return list(values)
    if not all(type(value) in _PLAIN_NUMBERS for value in values):
        for value in values:
            if not _is_number(value):
                raise InvalidDatasetArgument(f"{what} must contain only numbers, got {value!r}.")
    for value in values:
        if _out_of_range(value):
            raise InvalidDatasetArgument(
                f"{what} must hold 64-bit integers or finite numbers, got {repr(value)[:40]}.",
                detail={"field": what},
            )
    return list(values)


def _ints(values: Any, what: str) -> list:
    """``values`` as a list, if it is a list/tuple of 64-bit integers."""
    if type(values) not in (list, tuple) or not all(storable_int(value) for value in values):
        raise InvalidDatasetArgument(f"{what} must be a list of 64-bit integers.", detail={"field": what})
    return list(values)


def format_bbox(width: int | None, height: int | None, bbox: Sequence[Number] | None) -> dict:
    """Pixels ``(x, y, w, h)`` -> normalised ``{xmin, ymin, xmax, ymax}``; ``{}`` when no box."""
    if not bbox:
        return {}
    if not width or not height:
        raise InvalidDatasetArgument("image width and height must be set before setting bbox")
    values = _numbers(bbox, "bbox")
    if len(values) != 4:
        raise InvalidDatasetArgument("bbox must be (x, y, width, height).")
    return normalised_box(width, height, values)


def normalised_box(width: int, height: int, box: Sequence[Number]) -> dict:
    """Pixels ``(x, y, w, h)`` of a checked box -> the stored ``{xmin, ymin, xmax, ymax}`` (0-1)."""
    x, y, w, h = box
    return {"xmin": x / width, "ymin": y / height, "xmax": (x + w) / width, "ymax": (y + h) / height}


def format_segmentation(segmentation: Sequence[Sequence[Number]] | None) -> str:
    """Polygons ``[[x, y, ...], ...]`` -> ``"x,y,.../x,y,..."``; ``""`` when empty."""
    if not segmentation:
        return ""
    if type(segmentation) not in (list, tuple) and (
        isinstance(segmentation, str | bytes) or not isinstance(segmentation, Sequence)
    ):
        raise InvalidDatasetArgument("segmentation must be a list of polygons.")
    polygons = [_numbers(polygon, "segmentation polygon") for polygon in segmentation]
    check_count("segmentation points per object", sum(map(len, polygons)) // 2, max_points_per_object())
    return polygons_text(polygons)


def polygons_text(polygons: Sequence[Sequence[Number]] | None) -> str:
    """Checked polygons -> the stored ``"x,y,.../x,y,..."``."""
    return "/".join(",".join(map(str, polygon)) for polygon in polygons or ())


def format_keypoints(
    keypoints: Sequence[Number] | None,
    colors: list[int] | None = None,
    skeleton: list[int] | None = None,
    names: list[str] | None = None,
) -> tuple[list, list, list, list]:
    """Flat ``x, y, v, conf`` quads -> (points with 6 numbers each, colors, skeleton, names).

    Each point is stored as ``x, y, z=0.0, w=1.0, v, conf``; colours, skeleton and names
    default to COCO's 17-keypoint person model.
    """
    if not keypoints:
        return [], [], [], []
    if isinstance(keypoints, Sequence):  # before looking at each value: the list may be huge
        check_count("keypoints per object", len(keypoints) // 4, max_points_per_object())
    values = _numbers(keypoints, "keypoints")
    if len(values) % 4 != 0:
        raise InvalidDatasetArgument(
            "keypoints must be a flat list of x1, y1, v1, conf1, x2, y2, v2, conf2, ...",
            detail={"length": len(values)},
        )
    points = keypoint_points(values)
    if colors:
        check_count("keypoint colors per object", len(colors) // 3, max_points_per_object())
    if skeleton:
        check_count("skeleton lines per object", len(skeleton) // 2, max_points_per_object())
    return (
        points,
        _ints(colors, "keypoint_colors") if colors else list(COCO_KEYPOINT_COLORS),
        _ints(skeleton, "keypoint_skeleton") if skeleton else list(COCO_KEYPOINT_SKELETON),
        list(names) if names else list(COCO_KEYPOINT_NAMES),
    )


def keypoint_points(quads: Sequence[Number]) -> list[Number]:
    """Checked flat ``x, y, v, conf`` quads -> the stored 6 numbers per point ``x, y, 0.0, 1.0, v, conf``."""
    points: list[Number] = []
    for start in range(0, len(quads), 4):
        x, y, visibility, conf = quads[start : start + 4]
        points.extend((float(x), float(y), 0.0, 1.0, int(visibility), conf))
    return points
