"""What to draw over an image: its stored annotations as shapes in image-pixel coordinates, with colours.

Pure functions of an image document (or of one object): no database, no files. Boxes are stored
normalised (``xmin..ymax`` in [0, 1]) and become pixels here; polygons (``"x,y,.../x,y,..."``) and
keypoints (``x, y, z, w, v, conf`` per point, with ``lines`` as pairs of 0-based indices) are stored in
pixels already. An RLE mask (``{counts, size: [h, w]}``) is decoded to a small transparent PNG of the
category's colour, cropped to the mask's extent. Malformed values written by other tools are skipped,
never raised: a picture with one shape missing is better than no picture.

The FN/FP state of an object against one prediction set at one precision level is read from its
``compare_result`` as ``datasets.fnfp`` writes it: ``"FP"`` on a prediction of that set, ``"FN"`` on
a GT object (key ``"<label_id>_<L>"``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image as PILImage

# Sasha Trubetskoy's "20 simple, distinct colours" without the palest (beige, apricot, lavender, mint) and
# the greys, which vanish as thin strokes over photos.
CATEGORY_PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#469990", "#9a6324", "#800000", "#808000", "#000075", "#ffe119", "#fabed4",
)  # fmt: skip
MASK_MAX_SIDE = 256
MASK_OPACITY = 110  # of 255: the picture stays visible under the mask
_KEYPOINT_STRIDE = 6
_INF = float("inf")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Polygon:
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Keypoint:
    x: float
    y: float
    visible: bool  # DDS/COCO visibility 2; 1 is "labelled but occluded"
    name: str


@dataclass(frozen=True)
class Skeleton:
    keypoints: tuple[Keypoint, ...]
    lines: tuple[tuple[int, int], ...]  # indices into ``keypoints``


@dataclass(frozen=True)
class MaskImage:
    """A PNG (data URI) to place at ``x, y`` with ``width, height`` image pixels."""

    x: int
    y: int
    width: int
    height: int
    data_uri: str


Shape = Box | Polygon | Skeleton | MaskImage


@dataclass(frozen=True)
class Drawable:
    """One annotation ready to draw: its shapes, colour, and what the gallery filters on."""

    index: int  # position in the image's ``objects``
    label_id: str
    label_name: str
    label_type: str
    category_id: str
    category_name: str
    color: str
    conf: float
    is_group: bool
    caption: str
    state: str  # "FP", "FN" or "" (see ``fnfp_state``)
    shapes: tuple[Shape, ...] = field(default=())

    @property
    def kinds(self) -> list[str]:
        """Names of the shapes, for an object list: box, polygon, keypoints, mask."""
        names = {Box: "box", Polygon: "polygon", Skeleton: "keypoints", MaskImage: "mask"}
        return sorted({names[type(shape)] for shape in self.shapes})


def category_color(category_id: str) -> str:
    """A stable colour for a category id: the same id always gets the same colour, on every page.

    One of ``CATEGORY_PALETTE`` (colours chosen to tell apart at a glance, over photos too), picked by
    a hash of the id; two categories share a colour only by chance (1 in 15 for a pair).
    """
    digest = hashlib.md5(str(category_id).encode("utf-8"), usedforsecurity=False).digest()
    return CATEGORY_PALETTE[int.from_bytes(digest[:4], "big") % len(CATEGORY_PALETTE)]


def _finite(*values: Any) -> bool:
    """Plain finite numbers (not bools, not strings); written out because a page checks thousands."""
    for value in values:
        kind = type(value)
        if kind is int:
            continue
        if kind is not float or value != value or value in (_INF, -_INF):
            return False
    return True


def box_shape(bounding_box: Any, width: float, height: float) -> Box | None:
    """A normalised ``{xmin, ymin, xmax, ymax}`` as a pixel box; None if absent or malformed."""
    if not isinstance(bounding_box, dict) or not bounding_box:
        return None
    corners = [bounding_box.get(key) for key in ("xmin", "ymin", "xmax", "ymax")]
    if not _finite(*corners):
        return None
    xmin, ymin, xmax, ymax = corners
    return Box(xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height)


def polygon_shapes(segmentation: Any) -> list[Polygon]:
    """``"x,y,x,y,.../x,y,..."`` as polygons of at least three vertices; malformed rings are skipped."""
    if not isinstance(segmentation, str) or not segmentation:
        return []
    polygons = []
    for ring in segmentation.split("/"):
        try:
            values = [float(value) for value in ring.split(",")]
        except ValueError:
            continue
        if len(values) < 6 or len(values) % 2 or not all(map(math.isfinite, values)):
            continue
        polygons.append(Polygon(tuple(zip(values[0::2], values[1::2], strict=True))))
    return polygons


def skeleton_shape(points: Any, lines: Any, names: Any) -> Skeleton | None:
    """Keypoints (6 numbers each) with visibility > 0, and the skeleton lines between two drawn points."""
    if not isinstance(points, list) or len(points) < _KEYPOINT_STRIDE:
        return None
    names = names if isinstance(names, list) else []
    drawn: dict[int, int] = {}  # stored index -> index in ``keypoints``
    keypoints: list[Keypoint] = []
    for number in range(len(points) // _KEYPOINT_STRIDE):
        x, y, _z, _w, visibility, _conf = points[number * _KEYPOINT_STRIDE : (number + 1) * _KEYPOINT_STRIDE]
        if not _finite(x, y, visibility) or visibility <= 0:
            continue
        name = names[number] if number < len(names) and isinstance(names[number], str) else str(number + 1)
        drawn[number] = len(keypoints)
        keypoints.append(Keypoint(float(x), float(y), visibility >= 2, name))
    if not keypoints:
        return None
    pairs: list[tuple[int, int]] = []
    if isinstance(lines, list):
        for start in range(0, len(lines) - 1, 2):
            first, second = lines[start], lines[start + 1]
            if first in drawn and second in drawn:
                pairs.append((drawn[first], drawn[second]))
    return Skeleton(tuple(keypoints), tuple(pairs))


def _hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def mask_shape(mask: Any, color: str, *, max_side: int = MASK_MAX_SIDE) -> MaskImage | None:
    """A compressed RLE ``{counts: str, size: [h, w]}`` as a PNG of ``color``, cropped to the mask and
    at most ``max_side`` pixels on its longest side; None if absent, empty or undecodable."""
    if not isinstance(mask, dict) or not isinstance(mask.get("counts"), str):
        return None
    size = mask.get("size")
    if not (isinstance(size, list | tuple) and len(size) == 2 and all(type(v) is int and v > 0 for v in size)):
        return None
    from pycocotools import mask as mask_utils  # a C extension: loaded only when a mask is drawn

    try:
        pixels = mask_utils.decode({"size": list(size), "counts": mask["counts"].encode("ascii")})
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    rows, cols = np.nonzero(pixels)
    if rows.size == 0:
        return None
    top, bottom, left, right = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    crop = pixels[top:bottom, left:right].astype(bool)
    rgba = np.zeros((*crop.shape, 4), dtype=np.uint8)
    rgba[crop] = (*_hex_rgb(color), MASK_OPACITY)
    picture = PILImage.fromarray(rgba, "RGBA")
    if max(picture.size) > max_side:
        scale = max_side / max(picture.size)
        picture = picture.resize(
            (max(1, round(picture.width * scale)), max(1, round(picture.height * scale))), PILImage.NEAREST
        )
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
    return MaskImage(left, top, right - left, bottom - top, uri)


def object_shapes(obj: dict, width: float, height: float, color: str, *, mask_max_side: int = MASK_MAX_SIDE) -> list:
    """Every drawable shape of one stored object, in image pixels."""
    shapes: list[Shape] = []
    box = box_shape(obj.get("bounding_box"), width, height) if width and height else None
    if box is not None:
        shapes.append(box)
    shapes.extend(polygon_shapes(obj.get("segmentation")))
    skeleton = skeleton_shape(obj.get("points"), obj.get("lines"), obj.get("point_names"))
    if skeleton is not None:
        shapes.append(skeleton)
    mask = mask_shape(obj.get("mask"), color, max_side=mask_max_side)
    if mask is not None:
        shapes.append(mask)
    return shapes


def fnfp_state(obj: dict, label_id: str, level: str) -> str:
    """``"FP"`` for a false positive of prediction set ``label_id`` at level ``level`` (e.g. ``"90"``),
    ``"FN"`` for a GT object that set missed there, else ``""``."""
    results = obj.get("compare_result")
    if not isinstance(results, dict):
        return ""
    from datasets.fnfp import gt_result_key  # the analysis' own key; it loads the ORM, this module does not

    if obj.get("label_type") == "GT":
        return "FN" if results.get(gt_result_key(label_id, level)) == "FN" else ""
    if obj.get("label_id") == label_id and results.get(level) == "FP":
        return "FP"
    return ""


def _number(value: Any, default: float) -> float:
    return float(value) if _finite(value) else default


def image_drawables(
    image: dict,
    *,
    fnfp: tuple[str, str] | None = None,
    mask_max_side: int = MASK_MAX_SIDE,
    objects: Iterable[dict] | None = None,
) -> list[Drawable]:
    """The drawables of an image document's ``objects`` (or of ``objects`` given, e.g. one labeler's
    label on a task image), in stored order; ``fnfp`` is ``(prediction label id, level)``."""
    width, height = _number(image.get("width"), 0.0), _number(image.get("height"), 0.0)
    drawables = []
    for index, obj in enumerate((image.get("objects") or []) if objects is None else objects):
        if not isinstance(obj, dict):
            continue
        category_id = str(obj.get("category_id") or obj.get("category_name") or "")
        color = category_color(category_id)
        drawables.append(
            Drawable(
                index=index,
                label_id=str(obj.get("label_id") or ""),
                label_name=str(obj.get("label_name") or ""),
                label_type=str(obj.get("label_type") or ""),
                category_id=category_id,
                category_name=str(obj.get("category_name") or ""),
                color=color,
                conf=_number(obj.get("conf"), 1.0),
                is_group=bool(obj.get("is_group")),
                caption=str(obj.get("caption") or ""),
                state=fnfp_state(obj, *fnfp) if fnfp else "",
                shapes=tuple(object_shapes(obj, width, height, color, mask_max_side=mask_max_side)),
            )
        )
    return drawables
