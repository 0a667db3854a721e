"""COCO: instances / keypoints / captions JSON for ground truth, COCO results lists for predictions.

Files are parsed with ijson (streaming), so memory does not grow with the file. When every file
lists its images and annotations by ascending image id (checked first by a scan of the ids), they
are joined straight from the files, and the first images are written while the rest is still
being read; otherwise they are spooled to disk first and merged by image id
(``datasets.importers.spool``). Nothing
is executed: a dataset is described by file paths and options, or a manifest (DDS ran a
Python meta file, §12.3).
"""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import ijson
from pycocotools import mask as mask_utils

from datasets.importers.errors import ImportFormatError
from datasets.importers.joined import join_ascending
from datasets.importers.records import (
    CLIPPED_BOXES,
    GROUND_TRUTH,
    AnnotationRecord,
    ImageRecord,
    Problems,
    all_finite_numbers,
    check_annotation,
    require_int,
    require_number,
    require_numbers,
)
from datasets.importers.spool import Spool
from datasets.objects import local_file_url
from dds_site.files import is_in_data_roots

DATASET_TYPE = "coco2017"
_IMAGE_FIELDS = {"id", "file_name", "width", "height", "coco_url"}
_image_id_of = itemgetter(0)


@dataclass(frozen=True)
class CocoCategory:
    name: str
    supercategory: str | None = None
    keypoint_names: list[str] | None = None
    skeleton: list[int] | None = None  # flat 0-based pairs
    colors: list[int] | None = None


@dataclass(frozen=True)
class PredictionFile:
    name: str
    path: str


def _items(path: str, prefix: str) -> Iterator[Any]:
    try:
        with open(path, "rb") as handle:
            yield from ijson.items(handle, prefix, use_float=True)
    except FileNotFoundError as exc:
        raise ImportFormatError("file not found", file=path) from exc
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        # The parser's text quotes the bytes it choked on: never pass it on.
        raise ImportFormatError("malformed JSON", file=path) from exc


def _top_level_kind(path: str) -> str:
    """``"array"`` or ``"object"``: COCO results are a bare list, GT files an object."""
    try:
        with open(path, "rb") as handle:
            for _prefix, event, _value in ijson.parse(handle):
                if event == "start_array":
                    return "array"
                if event == "start_map":
                    return "object"
                break
    except FileNotFoundError as exc:
        raise ImportFormatError("file not found", file=path) from exc
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise ImportFormatError("malformed JSON", file=path) from exc
    raise ImportFormatError("expected a JSON object or array", file=path)


def _count_if_ascending(ids: Iterable[Any]) -> int | None:
    """How many ``ids`` there are, if all are integers in ascending order (repeats allowed); else None."""
    count, last = 0, None
    for value in ids:
        if type(value) is not int or (last is not None and value < last):
            return None
        last = value
        count += 1
    return count


def _ascending_ids(path: str, prefix: str) -> int | None:
    """``_count_if_ascending`` of the ids ``prefix`` matches in the file: one C-filtered ijson scan that
    builds nothing but the ids."""
    return _count_if_ascending(_items(path, prefix))


# Top-level keys of a GT file read whole in header passes (each is small); images and
# annotations are streamed.
_HEADER_KEYS = ("info", "licenses", "categories")
# Read before the images: the annotations need them. The others only describe the source for the
# export (``source_info``) and are read once every image has been handed on, while the last batches
# are still being written.
_LEADING_KEYS = ("categories",)
_TRAILING_KEYS = ("info", "licenses")


def read_header(path: str, keys: tuple[str, ...] = _HEADER_KEYS) -> dict[str, Any]:
    """The top-level ``keys`` of a GT file that are present (by default ``info``, ``licenses``, ``categories``).

    One filtered ijson scan per key, stopped at its first match: ijson filters in C, so this is several
    times faster than one pass over every event in Python. A key whose name the file never spells out
    is not scanned for (``_spellings``)."""
    return _read_keys(path, _present(keys, _spellings(path, keys)))


def _read_keys(path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """``read_header`` of keys known to be worth a scan."""
    found: dict[str, Any] = {}
    try:
        for key in keys:
            with open(path, "rb") as handle:
                for value in ijson.items(handle, key, use_float=True):
                    found[key] = value
                    break
    except FileNotFoundError as exc:
        raise ImportFormatError("file not found", file=path) from exc
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise ImportFormatError("malformed JSON", file=path) from exc
    return found


_ESCAPE = b"\\u"  # starts a \uXXXX escape: the only other way to write a letter in a JSON string


def _spellings(path: str, names: tuple[str, ...]) -> dict[str, int] | None:
    """How often each of ``names`` occurs quoted in the file's bytes (anywhere: as a key or a value), or None
    if any string in it has a ``\\u`` escape, which could spell any name. A search of the bytes is many
    times faster than a parse."""
    needles = {name: f'"{name}"'.encode() for name in names}
    overlap = max(len(needle) for needle in (*needles.values(), _ESCAPE)) - 1
    counts = dict.fromkeys(names, 0)
    tail = b""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                data = tail + chunk
                if _ESCAPE in data:
                    return None
                for name, needle in needles.items():  # those wholly in the tail were counted with the chunk before
                    counts[name] += data.count(needle) - tail.count(needle)
                tail = data[-overlap:]
    except FileNotFoundError as exc:
        raise ImportFormatError("file not found", file=path) from exc
    return counts


def _present(keys: tuple[str, ...], spellings: dict[str, int] | None) -> tuple[str, ...]:
    """The ``keys`` the file may hold: those whose quoted name occurs in it (all of them if it has escapes).
    A key absent from the file would cost the filtered scan a pass over all of it."""
    return keys if spellings is None else tuple(key for key in keys if spellings.get(key))


def _ascending_image_ids(path: str, spellings: dict[str, int] | None) -> int | None:
    """``_ascending_ids`` of the images' ids, read up to the end of the images array only.

    The images usually precede the annotations, and walking their events in Python costs a fraction of
    the C-filtered scan, which has to read the whole file. Done when the file spells ``"images"`` once
    (so no other images array can follow) and the array comes before any large part of the file; else
    the scan."""
    if spellings is None or spellings.get("images") != 1:
        return _ascending_ids(path, "images.item.id")
    return _count_if_ascending(_leading_image_ids(path))


def _leading_image_ids(path: str) -> Iterator[Any]:
    """The images' ids, from events up to the end of the images array; the C-filtered scan instead if another
    top-level key (a large array) comes before them."""
    try:
        with open(path, "rb") as handle:
            for prefix, event, value in ijson.parse(handle, use_float=True):
                if prefix == "images.item.id":
                    yield value
                elif prefix == "images" and event == "end_array":
                    return
                elif prefix == "" and event == "map_key" and value not in _HEADER_KEYS and value != "images":
                    break  # no id was yielded yet: the images come after this key
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise ImportFormatError("malformed JSON", file=path) from exc
    yield from _items(path, "images.item.id")


def read_categories(path: str, raw_categories: Any = None) -> dict[int, CocoCategory]:
    """COCO category id -> category, with keypoint names, skeleton (0-based) and colours.

    ``raw_categories``: the file's ``categories`` when already read (``read_header``)."""
    if raw_categories is None:
        raw_categories = read_header(path, _LEADING_KEYS).get("categories") or []
    if not isinstance(raw_categories, list):
        raise ImportFormatError("categories must be a list", file=path, field="categories")
    categories: dict[int, CocoCategory] = {}
    for index, raw in enumerate(raw_categories):
        record = f"categories[{index}]"
        if not isinstance(raw, dict):
            raise ImportFormatError("a category must be an object", file=path, record=record)
        cat_id = require_int(raw.get("id"), file=path, record=record, field="id")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ImportFormatError("a category needs a non-empty name", file=path, record=record, field="name")
        if cat_id in categories:
            raise ImportFormatError("duplicate category id", file=path, record=record, field="id")
        flat_skeleton, flat_colors = _keypoint_style(raw, path, record)
        names = raw.get("keypoints")
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ImportFormatError("keypoints must be a list of names", file=path, record=record, field="keypoints")
        supercategory = raw.get("supercategory")
        if supercategory is not None and not isinstance(supercategory, str):
            raise ImportFormatError("supercategory must be a string", file=path, record=record, field="supercategory")
        categories[cat_id] = CocoCategory(
            name=name,
            supercategory=supercategory,
            keypoint_names=names or None,
            skeleton=flat_skeleton,
            colors=flat_colors,
        )
    return categories


def _keypoint_style(raw: dict, path: str, record: str) -> tuple[list[int] | None, list[int] | None]:
    """A category's skeleton (flat, 0-based) and keypoint colours (flat RGB)."""
    skeleton = raw.get("skeleton")
    flat_skeleton = None
    if skeleton:
        try:
            flat_skeleton = [int(v) - 1 for pair in skeleton for v in pair]
        except (TypeError, ValueError) as exc:
            raise ImportFormatError(
                "skeleton must be pairs of 1-based indices", file=path, record=record, field="skeleton"
            ) from exc
    colors = raw.get("keypoint_colors")
    flat_colors = None
    if colors:
        try:
            flat_colors = (
                [int(v) for rgb in colors for v in rgb] if isinstance(colors[0], list) else [int(v) for v in colors]
            )
        except (TypeError, ValueError) as exc:
            raise ImportFormatError(
                "keypoint_colors must be RGB triples", file=path, record=record, field="keypoint_colors"
            ) from exc
    return flat_skeleton, flat_colors


def _source_info(header: dict[str, Any], categories: dict[int, CocoCategory], *, file: str) -> dict:
    """The dataset's ``source_info`` and every category's source id and supercategory."""
    info, licenses = header.get("info"), header.get("licenses")
    if info is not None and not isinstance(info, dict):
        raise ImportFormatError("info must be an object", file=file, field="info")
    if licenses is not None and not isinstance(licenses, list):
        raise ImportFormatError("licenses must be a list", file=file, field="licenses")
    dataset: dict[str, Any] = {"format": "coco"}
    if info is not None:
        dataset["info"] = info
    if licenses is not None:
        dataset["licenses"] = licenses
    return {
        "dataset": dataset,
        "categories": [
            {"name": category.name, "source_id": cat_id, "supercategory": category.supercategory}
            for cat_id, category in categories.items()
        ],
    }


def _segmentation(raw: Any, *, file: str, record: str) -> tuple[list | None, dict | None]:
    """COCO ``segmentation`` -> (polygons, compressed RLE); RLE may be compressed or not."""
    if raw is None or raw == []:
        return None, None
    if isinstance(raw, list):
        polygons = []
        for polygon in raw:
            if not isinstance(polygon, list):
                raise ImportFormatError(
                    "a polygon must be a list of numbers", file=file, record=record, field="segmentation"
                )
            if not all_finite_numbers(polygon):  # the values are kept as they are: an integer stays one
                polygon = [require_number(v, file=file, record=record, field="segmentation") for v in polygon]
            polygons.append(polygon)
        return polygons, None
    if isinstance(raw, dict) and "counts" in raw and "size" in raw:
        size = raw["size"]
        if not (isinstance(size, list) and len(size) == 2):
            raise ImportFormatError("RLE size must be [height, width]", file=file, record=record, field="segmentation")
        try:
            if isinstance(raw["counts"], list):
                rle = mask_utils.frPyObjects({"counts": raw["counts"], "size": [int(v) for v in size]}, *size)
            else:
                rle = {"counts": raw["counts"].encode("ascii"), "size": [int(v) for v in size]}
                mask_utils.area(rle)  # decodes the string: rejects garbage early
        except (TypeError, ValueError, AttributeError, UnicodeEncodeError) as exc:
            raise ImportFormatError("bad RLE counts", file=file, record=record, field="segmentation") from exc
        counts = rle["counts"]
        return None, {
            "size": [int(v) for v in rle["size"]],
            "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
        }
    raise ImportFormatError(
        "segmentation must be polygons or an RLE object", file=file, record=record, field="segmentation"
    )


def _keypoints(raw: Any, category: CocoCategory | None, *, file: str, record: str) -> list[float] | None:
    """COCO triplets ``x, y, v`` (GT) or quadruplets with a score -> flat ``x, y, v, conf``."""
    if not raw:
        return None
    if not isinstance(raw, list):
        raise ImportFormatError("keypoints must be a list of numbers", file=file, record=record, field="keypoints")
    values = require_numbers(raw, file=file, record=record, field="keypoints")
    expected = len(category.keypoint_names) if category and category.keypoint_names else None
    if len(values) % 3 == 0 and (expected is None or len(values) == 3 * expected):
        out: list[float] = []
        for i in range(0, len(values), 3):
            out.extend((values[i], values[i + 1], values[i + 2], 1.0))
        return out
    if len(values) % 4 == 0:
        return values
    raise ImportFormatError(
        f"keypoints must be x, y, v triplets, got {len(values)} numbers", file=file, record=record, field="keypoints"
    )


class CocoImporter:
    """Yields ``ImageRecord``s of a COCO ground-truth file plus any number of COCO results files."""

    dataset_type = DATASET_TYPE

    def __init__(
        self,
        ground_truth: str,
        *,
        predictions: list[PredictionFile] | None = None,
        image_root: str | None = None,
        ground_truth_label: str = GROUND_TRUTH,
        confined: bool = False,
        strict: bool = False,
    ) -> None:
        """``confined``: the import runs for a request, so image files must lie under the data roots
        (the paths given here are the caller's to check, see ``datasets.importers.manifest``)."""
        self.ground_truth = os.path.abspath(ground_truth)
        self.predictions = [PredictionFile(p.name, os.path.abspath(p.path)) for p in predictions or []]
        self.image_root = os.path.abspath(image_root) if image_root else None
        self.ground_truth_label = ground_truth_label
        self.confined = confined
        self.strict = strict  # refuse boxes overhanging the image instead of clipping them
        names = [p.name for p in self.predictions]
        if len(set(names)) != len(names) or ground_truth_label in names:
            raise ImportFormatError("prediction set names must be unique and differ from the ground truth label")
        for path in [self.ground_truth, *(p.path for p in self.predictions)]:
            if not os.path.isfile(path):
                raise ImportFormatError("file not found", file=path)
        if self.image_root and not os.path.isdir(self.image_root):
            raise ImportFormatError("image root is not a directory", file=self.image_root)
        self.total: int | None = None
        # What the export writes back (see ``datasets.importers.swap_extras``), known once every image was read.
        self.source_info: dict | None = None

    @property
    def files(self) -> dict[str, str]:
        files = {"GroundTruth": self.ground_truth}
        files.update({f"Pred/{p.name}": p.path for p in self.predictions})
        return files

    def iter_images(self, problems: Problems) -> Iterator[ImageRecord]:
        if _top_level_kind(self.ground_truth) != "object":
            raise ImportFormatError("a COCO ground-truth file is a JSON object", file=self.ground_truth)
        # One search of the file's bytes says which of these names it spells out at all.
        spellings = _spellings(self.ground_truth, ("images", *_HEADER_KEYS))
        header = _read_keys(self.ground_truth, _present(_LEADING_KEYS, spellings))
        categories = read_categories(self.ground_truth, header.get("categories") or [])
        with contextlib.ExitStack() as stack:
            groups = self._streamed(categories, problems, spellings)
            if groups is None:
                groups = self._spooled(stack.enter_context(Spool()), categories, problems)
            for _image_id, image, anns in groups:
                if image is None:
                    for ann in anns:
                        problems.report(
                            ImportFormatError(
                                f"image_id is not an image of {os.path.basename(self.ground_truth)}",
                                file=ann[0],
                                record=ann[1],
                                field="image_id",
                            )
                        )
                    continue
                image.annotations = []
                for ann in anns:
                    record = AnnotationRecord(*ann[2:])
                    try:
                        if check_annotation(record, image, file=ann[0], record=ann[1], strict=self.strict):
                            problems.warn(CLIPPED_BOXES)
                    except ImportFormatError as exc:
                        problems.report(exc)
                        continue
                    image.annotations.append(record)
                yield image
        header.update(_read_keys(self.ground_truth, _present(_TRAILING_KEYS, spellings)))
        self.source_info = _source_info(header, categories, file=self.ground_truth)

    def _annotation_sources(self) -> list[tuple[str, str, str, str, str]]:
        """``(path, item prefix, record prefix, label, label type)`` of the GT file and each results file."""
        sources = [(self.ground_truth, "annotations.item", "annotations", self.ground_truth_label, "GT")]
        for pred in self.predictions:
            # Standard COCO results are a bare list; DDS's {"annotations": [...]} is accepted too.
            if _top_level_kind(pred.path) == "array":
                sources.append((pred.path, "item", "results", pred.name, "Pred"))
            else:
                sources.append((pred.path, "annotations.item", "annotations", pred.name, "Pred"))
        return sources

    def _streamed(
        self, categories: dict[int, CocoCategory], problems: Problems, spellings: dict[str, int] | None
    ) -> Iterator[tuple[int, ImageRecord | None, list[tuple]]] | None:
        """The images joined with their annotations straight from the files, or None unless every file
        lists them by ascending image id (checked first by scans of the ids alone)."""
        total = _ascending_image_ids(self.ground_truth, spellings)
        if total is None:
            return None
        sources = self._annotation_sources()
        if any(_ascending_ids(path, f"{prefix}.image_id") is None for path, prefix, *_ in sources):
            return None
        self.total = total
        rows = heapq.merge(
            *(self._source_rows(source, categories, problems) for source in sources),
            key=_image_id_of,  # stable: per image, the GT file's annotations first, then each results file's
        )
        last_id: int | None = None

        def first_of_its_id(image: ImageRecord) -> bool:  # duplicates of an ascending list are neighbours
            nonlocal last_id
            if image.id == last_id:
                return False
            last_id = image.id
            return True

        images = ((image.id, image) for image in self._valid_images(problems, first_of_its_id))
        return join_ascending(images, rows)

    def _spooled(
        self, spool: Spool, categories: dict[int, CocoCategory], problems: Problems
    ) -> Iterator[tuple[int, ImageRecord | None, list[tuple]]]:
        """Every file read into ``spool`` first, then read back joined by image id."""
        for _image in self._valid_images(problems, lambda image: spool.add_image(image.id, image)):
            pass
        self.total = spool.count_images() + problems.skipped_images  # as the streamed path counts them
        for source in self._annotation_sources():
            spool.add_annotations(self._source_rows(source, categories, problems))
        return spool.merged()

    def _source_rows(
        self, source: tuple[str, str, str, str, str], categories: dict[int, CocoCategory], problems: Problems
    ) -> Iterator[tuple[int, tuple]]:
        """The validated annotation rows of one of ``_annotation_sources``, in file order."""
        path, prefix, record_prefix, label, label_type = source
        return self._annotation_rows(
            _items(path, prefix), path, record_prefix, categories, problems, label=label, label_type=label_type
        )

    def _valid_images(self, problems: Problems, accept: Callable[[ImageRecord], bool]) -> Iterator[ImageRecord]:
        """The file's valid images in file order; ``accept`` takes one, or answers False when its id is taken."""
        path = self.ground_truth
        for index, raw in enumerate(_items(path, "images.item")):
            record = f"images[{index}]"
            try:
                image = self._image(raw, record)
                if not accept(image):
                    raise ImportFormatError("duplicate image id", file=path, record=record, field="id")
            except ImportFormatError as exc:
                problems.report(exc, whole_image=True)
                continue
            yield image

    def _image(self, raw: Any, record: str) -> ImageRecord:
        path = self.ground_truth
        if not isinstance(raw, dict):
            raise ImportFormatError("an image must be an object", file=path, record=record)
        image_id = require_int(raw.get("id"), file=path, record=record, field="id")
        width = require_int(raw.get("width"), file=path, record=record, field="width", positive=True)
        height = require_int(raw.get("height"), file=path, record=record, field="height", positive=True)
        file_name = raw.get("file_name")
        url = ""
        if self.image_root and file_name:
            if not isinstance(file_name, str):
                raise ImportFormatError("file_name must be a string", file=path, record=record, field="file_name")
            full = os.path.normpath(os.path.join(self.image_root, file_name))
            # The name is data: it may not climb out of the image root, nor (for a request) follow a
            # symlink out of the data roots; both read as "not found", which tells nothing more.
            inside = full.startswith(self.image_root + os.sep) and (not self.confined or is_in_data_roots(full))
            if not inside or not os.path.isfile(full):
                raise ImportFormatError(
                    "image file not found under the image root",
                    file=path,
                    record=record,
                    field="file_name",
                )
            url = local_file_url(full)
        elif isinstance(raw.get("coco_url"), str) and raw["coco_url"]:
            url = raw["coco_url"]
        else:
            raise ImportFormatError(
                "no image: give an image root with file_name, or a coco_url",
                file=path,
                record=record,
                field="file_name",
            )
        metadata = {k: v for k, v in raw.items() if k not in _IMAGE_FIELDS}
        if isinstance(file_name, str):
            metadata["file_name"] = file_name
        if raw.get("coco_url"):
            metadata["coco_url"] = raw["coco_url"]
        return ImageRecord(
            key=str(image_id), url=url, width=width, height=height, id=image_id, metadata=metadata, where=path
        )

    def _annotation_rows(
        self,
        items: Iterator[Any],
        path: str,
        record_prefix: str,
        categories: dict[int, CocoCategory],
        problems: Problems,
        *,
        label: str,
        label_type: str,
    ) -> Iterator[tuple[int, tuple]]:
        """Validated annotation rows ``(image_id, (file, record, *AnnotationRecord fields))``."""
        for index, raw in enumerate(items):
            record = f"{record_prefix}[{index}]"
            try:
                yield self._annotation(raw, path, record, categories, label=label, label_type=label_type)
            except ImportFormatError as exc:
                problems.report(exc)

    def _annotation(
        self,
        raw: Any,
        path: str,
        record: str,
        categories: dict[int, CocoCategory],
        *,
        label: str,
        label_type: str,
    ) -> tuple[int, tuple]:
        if not isinstance(raw, dict):
            raise ImportFormatError("an annotation must be an object", file=path, record=record)
        image_id = raw.get("image_id")
        if type(image_id) is not int:  # the checks below run only off the common path
            image_id = require_int(image_id, file=path, record=record, field="image_id")
        category = None
        category_name = ""
        category_id = raw.get("category_id")
        if category_id not in (None, 0):
            if type(category_id) is not int:
                category_id = require_int(category_id, file=path, record=record, field="category_id")
            category = categories.get(category_id)
            if category is None:
                raise ImportFormatError("unknown category_id", file=path, record=record, field="category_id")
            category_name = category.name
        # The image size is only known at the merge; boxes are checked there (check_annotation).
        bbox = raw.get("bbox")
        if bbox is not None:
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise ImportFormatError("bbox must be [x, y, width, height]", file=path, record=record, field="bbox")
            bbox = require_numbers(bbox, file=path, record=record, field="bbox")
        polygons, rle = _segmentation(raw.get("segmentation"), file=path, record=record)
        if rle is not None and bbox is None:
            bbox = tuple(
                float(v) for v in mask_utils.toBbox({"size": rle["size"], "counts": rle["counts"].encode("ascii")})
            )
        keypoints = _keypoints(raw.get("keypoints"), category, file=path, record=record)
        caption = raw.get("caption", "")
        if not isinstance(caption, str):
            raise ImportFormatError("caption must be a string", file=path, record=record, field="caption")
        is_gt = label_type == "GT"
        conf = 1.0 if is_gt else require_number(raw.get("score"), file=path, record=record, field="score")
        iscrowd = raw.get("iscrowd", 0)
        if iscrowd not in (0, 1, True, False):
            raise ImportFormatError("iscrowd must be 0 or 1", file=path, record=record, field="iscrowd")
        fields = (
            category_name,
            label,
            label_type,
            conf,
            bool(iscrowd),
            bbox,
            polygons,
            rle,
            keypoints,
            category.keypoint_names if keypoints and category else None,
            category.skeleton if keypoints and category else None,
            category.colors if keypoints and category else None,
            caption,
        )
        return image_id, (path, record, *fields)
