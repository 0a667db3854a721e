"""The gallery of a dataset, as data for its pages: options read from the query string, label sets,
the legend, and one tile per image with its SVG overlay.

Images are read through the API's selectors (``image_filters``, ``image_keyset_page``, ``image_get``),
with the API's own query validation (``ImageListQuery``), so the gallery shows what the API would
return for the same filters, and their thumbnails and files are the API's image routes. Bad parameters
are reported and then ignored: the page shows what the valid ones select.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import get_script_prefix, reverse

from datasets import selectors
from datasets.constants import ImageFlag
from datasets.errors import InvalidDatasetArgument
from datasets.fnfp import level_key
from datasets.image_files import DEFAULT_THUMBNAIL_SIZE
from datasets.models import DataSet
from datasets.names import NAME_KEY_MAX_LENGTH
from datasets.overlay_svg import svg_overlay
from datasets.overlays import Drawable, category_color, image_drawables
from datasets.serializers import MAX_IMAGE_NUMBER, ImageListQuery

PAGE_SIZES = (50, 100, 200)
DEFAULT_PAGE_SIZE = 50
FLAG_NAMES = {ImageFlag.NONE: "none", ImageFlag.POSITIVE: "positive", ImageFlag.NEGATIVE: "negative"}
ERROR_KINDS = {"fp": "with false positives", "fn": "with missed ground truth"}
CONF_PREFIX = "conf_"
DETAIL_MASK_SIDE = 1024
MAX_TRAIL = 50
FILE_NAME_MAX_LENGTH = NAME_KEY_MAX_LENGTH


@dataclass(frozen=True)
class LabelSet:
    id: str
    name: str
    type: str
    levels: tuple[dict, ...] = ()  # FN/FP precision levels: {key, precision, threshold, recall}

    @property
    def type_name(self) -> str:
        return {"GT": "Ground truth", "Pred": "Prediction", "User": "User"}.get(self.type, self.type or "Other")


@dataclass(frozen=True)
class GalleryOptions:
    """What the page shows: paging, filters, hidden label sets, confidence minimums, FN/FP view."""

    cursor: int = -1
    page_size: int = DEFAULT_PAGE_SIZE
    page_number: int = 1
    category_id: str = ""
    flag: int | None = None
    file_name: str = ""  # a prefix of the file name, any case (the API's ``file_name``)
    hidden: frozenset[str] = frozenset()
    min_conf: tuple[tuple[str, float], ...] = ()
    fnfp: tuple[str, str] | None = None  # (prediction label id, level key)
    errors: str = ""  # "", "fp" or "fn": only images with such errors under ``fnfp``
    # Cursors of the pages before this one after the first (keyset pages only go forward; the way back
    # travels in the links), the last MAX_TRAIL of them.
    trail: tuple[int, ...] = ()

    @property
    def filtered(self) -> bool:
        """Whether the page shows only some of the images."""
        return bool(self.category_id or self.flag is not None or self.errors or self.file_name)

    def filters(self) -> selectors.ImageFilters:
        parsed = selectors.image_filters(self.category_id or None, self.flag, file_name=self.file_name or None)
        if self.fnfp and self.errors:
            parsed = replace(parsed, errors=(*self.fnfp, self.errors))
        return parsed

    def conf_of(self, label_id: str) -> float:
        return dict(self.min_conf).get(label_id, 0.0)

    def visible(self, drawable: Drawable) -> bool:
        if drawable.label_id in self.hidden:
            return False
        return drawable.label_type != "Pred" or drawable.conf >= self.conf_of(drawable.label_id)

    def params(self, **changes) -> list[tuple[str, str]]:
        """The query parameters of these options (with ``changes``), defaults left out."""
        options = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        if options.cursor != -1:
            pairs += [("cursor", str(options.cursor)), ("p", str(options.page_number))]
            if options.trail:
                pairs.append(("trail", ",".join(map(str, options.trail))))
        if options.page_size != DEFAULT_PAGE_SIZE:
            pairs.append(("page_size", str(options.page_size)))
        if options.category_id:
            pairs.append(("category_id", options.category_id))
        if options.flag is not None:
            pairs.append(("flag", str(options.flag)))
        if options.file_name:
            pairs.append(("file_name", options.file_name))
        pairs += [("hide", label_id) for label_id in sorted(options.hidden)]
        pairs += [(CONF_PREFIX + label_id, f"{conf:g}") for label_id, conf in options.min_conf if conf > 0]
        if options.fnfp:
            pairs.append(("fnfp", ":".join(options.fnfp)))
            if options.errors:
                pairs.append(("errors", options.errors))
        return pairs

    def next_page(self, cursor: int) -> dict:
        """The changes that lead to the page after this one, which starts after ``cursor``."""
        trail = (*self.trail, self.cursor)[-MAX_TRAIL:] if self.cursor != -1 else ()
        return {"cursor": cursor, "page_number": self.page_number + 1, "trail": trail}

    def previous_page(self) -> dict | None:
        """The changes that lead back to the page before this one (None on the first page)."""
        if self.cursor == -1:
            return None
        if not self.trail:
            return {"cursor": -1, "page_number": 1, "trail": ()}
        return {"cursor": self.trail[-1], "page_number": max(2, self.page_number - 1), "trail": self.trail[:-1]}

    def query(self, **changes) -> str:
        """``?a=b&...`` of ``params`` (``""`` when all are defaults)."""
        pairs = self.params(**changes)
        return "?" + urlencode(pairs) if pairs else ""


def label_sets(dataset: DataSet) -> list[LabelSet]:
    """The dataset's label sets, GT first (as the API lists them), with their FN/FP levels."""
    sets = []
    for label in selectors.label_list(dataset):
        levels = []
        for entry in label.get("compare_precisions") or []:
            try:
                precision, threshold = float(entry["precision"]), float(entry["threshold"])
            except (KeyError, TypeError, ValueError):
                continue
            if threshold < 0:  # DDS's placeholder of an unreachable level
                continue
            levels.append(
                {
                    "key": level_key(precision),
                    "precision": precision,
                    "threshold": threshold,
                    "recall": entry.get("recall"),
                }
            )
        sets.append(LabelSet(label["id"], label["name"], label["type"], tuple(levels)))
    return sets


def _validated_list_query(params: QueryDict, errors: list[str]) -> dict:
    """The API's validation of cursor, page_size, category_id, flag and file_name; invalid ones are reported and
    dropped."""
    keys = ("cursor", "page_size", "category_id", "flag", "file_name")
    data = {key: params[key] for key in keys if params.get(key, "") != ""}
    query = ImageListQuery(data=data)
    if not query.is_valid():
        for name, messages in query.errors.items():
            errors.append(f"{name}: {' '.join(str(message) for message in messages)}")
            data.pop(name, None)
        query = ImageListQuery(data=data)
        query.is_valid(raise_exception=True)
    values = dict(query.validated_data)
    try:
        values["flag"] = selectors.image_filters(flag=values.get("flag")).flag
    except InvalidDatasetArgument as exc:
        errors.append(f"flag: {exc.message}")
        values["flag"] = None
    return values


def _trail(raw: str, errors: list[str]) -> tuple[int, ...]:
    try:
        trail = tuple(int(part) for part in raw.split(",")) if raw else ()
    except ValueError:
        trail = None
    if trail is None or len(trail) > MAX_TRAIL or not all(0 <= cursor <= MAX_IMAGE_NUMBER for cursor in trail):
        errors.append(f"trail: at most {MAX_TRAIL} image positions separated by commas.")
        return ()
    return trail


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 10**9))
    except ValueError:
        return 1


def parse_options(params: QueryDict, sets: Iterable[LabelSet]) -> tuple[GalleryOptions, list[str]]:
    """Options from a query string, and a message for each parameter that was ignored as invalid."""
    errors: list[str] = []
    values = _validated_list_query(params, errors)
    by_id = {label_set.id: label_set for label_set in sets}
    min_conf = []
    for label_id, label_set in by_id.items():
        raw = params.get(CONF_PREFIX + label_id)
        if raw in (None, "") or label_set.type != "Pred":
            continue
        try:
            conf = float(raw)
        except ValueError:
            conf = math.nan
        if not 0.0 <= conf <= 1.0:
            errors.append(f"The minimum confidence of {label_set.name} must be a number from 0 to 1.")
            continue
        min_conf.append((label_id, conf))
    fnfp = None
    raw_fnfp = params.get("fnfp", "")
    if raw_fnfp:
        label_id, _sep, level = raw_fnfp.partition(":")
        label_set = by_id.get(label_id)
        if label_set is None or level not in {entry["key"] for entry in label_set.levels}:
            errors.append("fnfp: no FN/FP analysis of that prediction set at that precision.")
        else:
            fnfp = (label_id, level)
    kind = params.get("errors", "")
    if kind and (kind not in ERROR_KINDS or fnfp is None):
        errors.append("errors: choose an FN/FP analysis, then fp or fn.")
        kind = ""
    options = GalleryOptions(
        cursor=values.get("cursor", -1),
        page_size=values.get("page_size", DEFAULT_PAGE_SIZE),
        page_number=_page_number(params.get("p")) if "cursor" in values else 1,
        category_id=values.get("category_id", ""),
        flag=values.get("flag"),
        file_name=values.get("file_name", ""),
        hidden=frozenset(label_id for label_id in params.getlist("hide") if label_id in by_id),
        min_conf=tuple(min_conf),
        fnfp=fnfp,
        errors=kind,
        trail=_trail(params.get("trail", ""), errors) if "cursor" in values else (),
    )
    return options, errors


def legend(dataset: DataSet) -> list[dict]:
    """``[{id, name, color}]`` of the dataset's categories, by name."""
    return [{**category, "color": category_color(category["id"])} for category in selectors.category_list(dataset)]


def thumbnail_size(width: float, height: float, size: int = DEFAULT_THUMBNAIL_SIZE) -> tuple[int, int]:
    """The pixel size of a thumbnail whose longest side is ``size`` (as ``image_files`` makes it)."""
    if not width or not height:
        return size, size
    scale = min(1.0, size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass
class Tile:
    """One image of the gallery."""

    id: int
    idx: int
    flag: int
    width: int
    height: int
    thumbnail_url: str
    file_url: str
    thumb_width: int
    thumb_height: int
    svg: str
    drawables: list[Drawable]
    captions: list[str] = field(default_factory=list)

    @property
    def flag_name(self) -> str:
        return FLAG_NAMES.get(self.flag, str(self.flag))

    @property
    def counts(self) -> dict[str, int]:
        """Number of annotations per label type and FN/FP state."""
        counts: dict[str, int] = {}
        for drawable in self.drawables:
            counts[drawable.label_type] = counts.get(drawable.label_type, 0) + 1
            if drawable.state:
                counts[drawable.state] = counts.get(drawable.state, 0) + 1
        return counts


_IMAGE_ID_SLOT = 9_876_543_210_123


@functools.lru_cache(maxsize=256)
def _url_parts(name: str, dataset_id: str, script_prefix: str) -> tuple[str, str]:
    before, _slot, after = reverse(name, args=[dataset_id, _IMAGE_ID_SLOT]).rpartition(str(_IMAGE_ID_SLOT))
    return before, after


def _served_url(name: str, image: dict) -> str:
    """The URL the API serves an image's file or thumbnail at (the image routes of the API), reversed
    once per dataset: a page has hundreds of images."""
    before, after = _url_parts(name, str(image.get("dataset_id")), get_script_prefix())
    return f"{before}{image['id']}{after}"


def tile(image: dict, options: GalleryOptions, *, mask_max_side: int = DEFAULT_THUMBNAIL_SIZE) -> Tile:
    """An image document as a tile, its annotations drawn as ``options`` asks."""
    width, height = image.get("width") or 0, image.get("height") or 0
    drawables = image_drawables(image, fnfp=options.fnfp, mask_max_side=mask_max_side)
    thumb_width, thumb_height = thumbnail_size(width, height)
    captions = list(dict.fromkeys(d.caption for d in drawables if d.caption))
    return Tile(
        id=image["id"],
        idx=image.get("idx", image["id"]),
        flag=image.get("flag", 0),
        width=width,
        height=height,
        thumbnail_url=f"{_served_url('dataset-image-thumbnail', image)}?size={DEFAULT_THUMBNAIL_SIZE}",
        file_url=_served_url("dataset-image-file", image),
        thumb_width=thumb_width,
        thumb_height=thumb_height,
        svg=svg_overlay(drawables, width, height, visible=options.visible),
        drawables=drawables,
        captions=captions,
    )


@dataclass
class GalleryPage:
    tiles: list[Tile]
    next_cursor: int | None
    count: int


def gallery_page(dataset: DataSet, options: GalleryOptions) -> GalleryPage:
    """One keyset page of tiles (the API's ``image_keyset_page``) and the number of matching images."""
    filters = options.filters()
    images, next_cursor = selectors.image_keyset_page(
        dataset, filters, cursor=options.cursor, page_size=options.page_size
    )
    return GalleryPage(
        tiles=[tile(image, options) for image in images],
        next_cursor=next_cursor,
        count=selectors.image_count(dataset, filters),
    )


def image_detail(dataset: DataSet, image_id: int, options: GalleryOptions) -> tuple[Tile, int | None]:
    """One image drawn at full size, and the id of the next image under the same filters (or None)."""
    image = selectors.image_get(dataset, image_id)
    following, _cursor = selectors.image_keyset_page(dataset, options.filters(), cursor=image["idx"], page_size=1)
    next_id = following[0]["id"] if following else None
    return tile(image, options, mask_max_side=DETAIL_MASK_SIDE), next_id
