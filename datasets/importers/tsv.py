"""DDS's TSV format (reference §9.3), with its ``.pred`` sidecars and inline base64 images.

A line is ``<image id> TAB <JSON> TAB <image content>``; the JSON holds ``metadata`` (with
optional width/height) and ``objects`` ``[{class, bounding_box (normalised), segmentation
("h,w/x,y,.../..."), alpha (base64 PNG), iscrowd, conf}]``. Content is an http(s) URL or a base64
image; inline images and alpha mattes are served by byte-range URLs into the TSV file, whose
offsets are counted in bytes (DDS counted characters, wrong for non-ASCII lines, §12.22).
Sibling files ``<name>.<set>.pred`` hold prediction sets, line-aligned with the TSV.
"""

from __future__ import annotations

import base64
import binascii
import glob
import io
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from datasets.importers.errors import ImportFormatError
from datasets.importers.imagedir import check_listed_file
from datasets.importers.records import (
    CLIPPED_BOXES,
    GROUND_TRUTH,
    AnnotationRecord,
    ImageRecord,
    Problems,
    check_annotation,
    parse_number,
    require_int,
    require_number,
)

DATASET_TYPE = "tsv"
# Image contents that are URLs, not inline base64. A local-file URL (as an export of images imported
# from files writes) cannot be base64: ``_`` is not in its alphabet. Serving it is checked like any URL.
_URL_STARTS = (b"http://", b"https://", b"/files/local_files/")


def range_url(path: str, begin: int, end: int, mime: str) -> str:
    """Local-file URL of bytes ``[begin, end)`` of ``path``, base64-decoded when served (encoding 2)."""
    return f"/files/local_files/b/2/{begin}_{end}/{mime.replace('/', '_')}/{quote(path)}"


def _sniff_mime(b64_head: bytes) -> str:
    return "image/png" if b64_head.startswith(b"iVBOR") else "image/jpeg"


def prediction_files(tsv_path: str) -> dict[str, str]:
    """``{set name: path}`` of the ``<stem>.<set>.pred`` files beside the TSV."""
    directory, name = os.path.split(tsv_path)
    stem = os.path.splitext(name)[0]
    found = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(directory), glob.escape(stem) + ".*.pred"))):
        middle = os.path.basename(path)[len(stem) + 1 : -len(".pred")]
        if middle:
            found[middle] = path
    return found


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    """``(byte offset, line without newline)`` of every line, read in binary."""
    offset = 0
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.rstrip(b"\r\n")
            yield offset, line
            offset += len(raw)


class TsvImporter:
    """A DDS TSV file and its prediction sidecars; images keyed by their TSV image id."""

    dataset_type = DATASET_TYPE

    def __init__(
        self, path: str, *, predictions: dict[str, str] | None = None, confined: bool = False, strict: bool = False
    ) -> None:
        """``confined``: the import runs for a request, so the ``.pred`` sidecars found beside the TSV
        must lie under the data roots too (a sidecar may be a symlink)."""
        self.path = os.path.abspath(path)
        if not os.path.isfile(self.path):
            raise ImportFormatError("file not found", file=self.path)
        self.predictions = (
            {name: os.path.abspath(p) for name, p in predictions.items()}
            if predictions is not None
            else prediction_files(self.path)
        )
        for sidecar in self.predictions.values():
            if not os.path.isfile(sidecar):
                raise ImportFormatError("file not found", file=sidecar)
            check_listed_file(sidecar, confined=confined)
        self.strict = strict  # refuse boxes overhanging the image instead of clipping them
        self.total: int | None = None

    @property
    def files(self) -> dict[str, str]:
        files = {"GroundTruth": self.path}
        files.update({f"Pred/{name}": path for name, path in self.predictions.items()})
        return files

    def iter_images(self, problems: Problems) -> Iterator[ImageRecord]:
        handles = {name: _lines(path) for name, path in self.predictions.items()}
        for number, (offset, line) in enumerate(_lines(self.path)):
            pred_lines = {name: next(lines, (None, None)) for name, lines in handles.items()}
            if not line.strip():
                continue
            record = f"line {number + 1}"
            try:
                image = self._image(number, offset, line, record)
                image.annotations = self._objects(line, image, self.path, record, GROUND_TRUTH, "GT", offset, problems)
                for name, (pred_offset, pred_line) in pred_lines.items():
                    pred_path = self.predictions[name]
                    if pred_line is None:
                        raise ImportFormatError(
                            "prediction file has fewer lines than the TSV", file=pred_path, record=record
                        )
                    key = pred_line.split(b"\t", 1)[0].decode("utf-8", "replace")
                    if key != image.key:
                        raise ImportFormatError(
                            "the line's image id differs from the TSV line's",
                            file=pred_path,
                            record=record,
                            field="image id",
                        )
                    image.annotations += self._objects(
                        pred_line, image, pred_path, record, name, "Pred", pred_offset, problems
                    )
            except ImportFormatError as exc:
                problems.report(exc, whole_image=True)
                continue
            yield image

    def _image(self, number: int, offset: int, line: bytes, record: str) -> ImageRecord:
        parts = line.split(b"\t")
        if len(parts) < 3:
            raise ImportFormatError("expected <image id> TAB <JSON> TAB <image>", file=self.path, record=record)
        key = parts[0].decode("utf-8", "replace")
        data = self._json(parts[1], self.path, record)
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ImportFormatError("metadata must be an object", file=self.path, record=record, field="metadata")
        content = parts[2].strip()
        width, height = metadata.get("width"), metadata.get("height")
        if content.startswith(_URL_STARTS):
            try:
                url = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFormatError(
                    "the image URL is not UTF-8", file=self.path, record=record, field="image"
                ) from exc
        else:
            begin = offset + len(parts[0]) + 1 + len(parts[1]) + 1
            url = range_url(self.path, begin, begin + len(parts[2]), _sniff_mime(content[:8]))
            if not width or not height:
                width, height = self._inline_size(content, record)
        if not width or not height:
            width, height = self._size_from_segmentation(data)
        if not width or not height:
            raise ImportFormatError(
                "image size unknown: give metadata width and height", file=self.path, record=record, field="metadata"
            )
        width = require_int(width, file=self.path, record=record, field="metadata.width", positive=True)
        height = require_int(height, file=self.path, record=record, field="metadata.height", positive=True)
        metadata = {**metadata, "width": width, "height": height}
        return ImageRecord(key=key, url=url, width=width, height=height, id=number, metadata=metadata, where=self.path)

    def _inline_size(self, content: bytes, record: str) -> tuple[int, int]:
        try:
            with PILImage.open(io.BytesIO(base64.b64decode(content, validate=True))) as image:
                return image.size
        except (binascii.Error, OSError, UnidentifiedImageError, ValueError, PILImage.DecompressionBombError) as exc:
            raise ImportFormatError(
                "inline image is not a base64 image", file=self.path, record=record, field="image"
            ) from exc

    @staticmethod
    def _size_from_segmentation(data: dict) -> tuple[int | None, int | None]:
        for obj in data.get("objects") or ():
            seg = obj.get("segmentation") if isinstance(obj, dict) else None
            if isinstance(seg, str) and seg:
                try:
                    h, w = (int(float(v)) for v in seg.split("/", 1)[0].split(","))
                    return w, h
                except ValueError:
                    continue
        return None, None

    @staticmethod
    def _json(raw: bytes, path: str, record: str) -> dict:
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ImportFormatError("the JSON column is not UTF-8", file=path, record=record) from exc
        except json.JSONDecodeError as exc:
            # ``msg`` is the decoder's fixed description; ``str(exc)`` is the same plus positions.
            # Not the decoder's text: some of its messages quote the offending character.
            raise ImportFormatError(f"malformed JSON at column {exc.colno}", file=path, record=record) from exc
        except (ValueError, RecursionError) as exc:
            raise ImportFormatError("malformed JSON", file=path, record=record) from exc
        if not isinstance(data, dict):
            raise ImportFormatError("the JSON column must be an object", file=path, record=record)
        return data

    def _objects(
        self,
        line: bytes,
        image: ImageRecord,
        path: str,
        record: str,
        label: str,
        label_type: str,
        offset: int,
        problems: Problems,
    ) -> list[AnnotationRecord]:
        parts = line.split(b"\t")
        if len(parts) < 2:
            raise ImportFormatError("expected <image id> TAB <JSON>", file=path, record=record)
        data = self._json(parts[1], path, record)
        objects = data.get("objects") or []
        if not isinstance(objects, list):
            raise ImportFormatError("objects must be a list", file=path, record=record, field="objects")
        json_begin = offset + len(parts[0]) + 1
        out = []
        for index, obj in enumerate(objects):
            where = f"{record} objects[{index}]"
            if not isinstance(obj, dict):
                raise ImportFormatError("an object must be a JSON object", file=path, record=where)
            if not obj.get("class"):
                continue  # DDS skips objects without a class
            ann = AnnotationRecord(
                category=str(obj["class"]), label=label, label_type=label_type, is_group=bool(obj.get("iscrowd"))
            )
            if label_type != "GT":
                ann.conf = require_number(obj.get("conf", 1.0), file=path, record=where, field="conf")
            if obj.get("bounding_box"):
                ann.bbox = _bbox(obj["bounding_box"], image, path, where)
            if obj.get("segmentation"):
                ann.polygons = _polygons(obj["segmentation"], path, where)
            if obj.get("alpha"):
                ann.alpha = _alpha_url(obj["alpha"], parts[1], json_begin, path, where)
            if check_annotation(ann, image, file=path, record=where, strict=self.strict):
                problems.warn(CLIPPED_BOXES)
            out.append(ann)
        return out


def _bbox(box: Any, image: ImageRecord, path: str, where: str) -> tuple[float, float, float, float]:
    """A normalised ``{xmin, ymin, xmax, ymax}`` as a pixel ``(x, y, w, h)``."""
    if not isinstance(box, dict) or set(box) < {"xmin", "ymin", "xmax", "ymax"}:
        message = "bounding_box needs xmin, ymin, xmax, ymax"
        raise ImportFormatError(message, file=path, record=where, field="bounding_box")
    x0, y0, x1, y1 = (
        require_number(box[k], file=path, record=where, field="bounding_box") for k in ("xmin", "ymin", "xmax", "ymax")
    )
    return (x0 * image.width, y0 * image.height, (x1 - x0) * image.width, (y1 - y0) * image.height)


def _polygons(seg: Any, path: str, where: str) -> list[list[float]]:
    """DDS's ``"/x,y,.../x,y,..."`` segmentation as polygons."""
    if not isinstance(seg, str):
        raise ImportFormatError("segmentation must be a string", file=path, record=where, field="segmentation")
    try:
        return [[parse_number(v) for v in part.split(",")] for part in seg.split("/")[1:] if part]
    except ValueError as exc:
        raise ImportFormatError("segmentation is not numbers", file=path, record=where, field="segmentation") from exc


def _alpha_url(alpha: Any, json_text: bytes, json_begin: int, path: str, where: str) -> str:
    """A URL of the byte range of the line where the base64 ``alpha`` mask is."""
    at = json_text.find(f'"{alpha}"'.encode()) if isinstance(alpha, str) else -1
    if at < 0:
        raise ImportFormatError("alpha must be a plain base64 string", file=path, record=where, field="alpha")
    begin = json_begin + at + 1
    return range_url(path, begin, begin + len(alpha.encode()), "image/png")
