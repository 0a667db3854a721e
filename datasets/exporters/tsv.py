"""Export to DDS's TSV format, with one ``<stem>.<set>.pred`` sidecar per prediction set.

Inline images and alpha mattes are byte-range URLs into a local file (the TSV they were imported
from). Such a URL is data, so its bytes are copied only from a file under the data roots or from
one of the dataset's own import files (``DataSet.files``, chosen by whoever imported it); any
other, or an unreadable one, is counted in ``unread_local_files``: an image keeps its URL in the
image column, an alpha matte is left out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from pathlib import Path
from urllib.parse import unquote

from datasets.exporters.common import atomic_output, iter_images, label_names, metadata_of
from datasets.models import DataSet
from dds_site.files import is_in_data_roots

logger = logging.getLogger(__name__)

_RANGE_URL = re.compile(r"^/files/local_files/b/2/(\d+)_(\d+)/[^/]+/(.+)$")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_PATH_CACHE_SIZE = 1024
_BOX_DIGITS = 12


class _RangeReader:
    """Reads the base64 text byte-range URLs point at, from the files a dataset may read."""

    def __init__(self, dataset_id: str) -> None:
        files = DataSet.objects.filter(pk=dataset_id).values_list("files", flat=True).first() or {}
        self._own = {Path(p).resolve() for p in files.values() if isinstance(p, str) and p}
        self._allowed: dict[str, bool] = {}
        self.unread = 0

    def _may_read(self, path: str) -> bool:
        if path not in self._allowed:
            if len(self._allowed) >= _PATH_CACHE_SIZE:
                self._allowed.clear()
            try:
                own = Path(path).resolve() in self._own
            except (OSError, RuntimeError, ValueError):
                own = False
            self._allowed[path] = own or is_in_data_roots(path)
        return self._allowed[path]

    def read(self, url: str) -> bytes | None:
        """The base64 bytes ``url`` points at; None if it is no range URL, or they may not be read."""
        match = _RANGE_URL.match(url or "")
        if not match:
            return None
        begin, end, path = int(match[1]), int(match[2]), unquote(match[3])
        data = None
        if self._may_read(path):
            try:
                with open(path, "rb") as handle:
                    handle.seek(begin)
                    data = handle.read(max(end - begin, 0)).strip()
            except (OSError, ValueError):
                data = None
        if data is None or not _BASE64.fullmatch(data):  # a tab or newline would break the line too
            self.unread += 1
            return None
        return data


def _has_class(obj: dict) -> bool:
    """TSV objects have a class (DDS's reader skips the others): captions alone are not written."""
    return bool(obj.get("category_name"))


def _tsv_object(obj: dict, width: int, height: int, reader: _RangeReader) -> dict:
    out: dict = {"class": obj.get("category_name") or "", "iscrowd": int(bool(obj.get("is_group")))}
    if obj.get("label_type") != "GT":
        out["conf"] = obj.get("conf", 1.0)
    if obj.get("bounding_box"):
        # Rounded far below a pixel: a re-import goes through pixels and back, which moves the last bits.
        out["bounding_box"] = {k: round(obj["bounding_box"][k], _BOX_DIGITS) for k in ("xmin", "ymin", "xmax", "ymax")}
    if obj.get("segmentation"):
        out["segmentation"] = f"{height},{width}/{obj['segmentation']}"
    alpha = reader.read(obj.get("alpha") or "")
    if alpha:
        out["alpha"] = alpha.decode("ascii")
    return out


def export_tsv(
    dataset_id: str,
    output: str | Path,
    *,
    labels: list[str] | None = None,
    predictions: list[str] | None = None,
    overwrite: bool = False,
) -> dict:
    """Write ``output`` (GT sets, default all) and ``<stem>.<set>.pred`` for each chosen prediction set.

    Existing files are replaced only with ``overwrite`` (else ``OutputExists``, 409).
    """
    output = Path(output)
    gt = label_names(dataset_id, labels, types=("GT",))
    preds = list(label_names(dataset_id, predictions, types=("Pred",)))
    reader = _RangeReader(dataset_id)
    count = 0
    with contextlib.ExitStack() as stack:
        main = stack.enter_context(atomic_output(output, "wb", overwrite=overwrite))
        sidecars = {
            name: stack.enter_context(
                atomic_output(output.with_name(f"{output.stem}.{name}.pred"), "wb", overwrite=overwrite)
            )
            for name in preds
        }
        for document in iter_images(dataset_id):
            width, height = document.get("width") or 0, document.get("height") or 0
            key = str(document.get("source_key") or document["_id"]).replace("\t", " ")
            metadata = {**metadata_of(document), "width": width, "height": height}
            objects = [
                _tsv_object(o, width, height, reader)
                for o in document.get("objects") or ()
                if o["label_name"] in gt and _has_class(o)
            ]
            url = document.get("url") or ""
            content = reader.read(url) or re.sub(r"[\t\r\n]", " ", url).encode()
            line = json.dumps({"metadata": metadata, "objects": objects}, ensure_ascii=False)
            main.write(key.encode() + b"\t" + line.encode() + b"\t" + content + b"\n")
            for name, handle in sidecars.items():
                pred_objects = [
                    _tsv_object(o, width, height, reader)
                    for o in document.get("objects") or ()
                    if o["label_name"] == name and _has_class(o)
                ]
                handle.write(key.encode() + b"\t" + json.dumps({"objects": pred_objects}).encode() + b"\n")
            count += 1
    if reader.unread:
        logger.warning("TSV export of dataset %s: %d inline images or mattes not copied", dataset_id, reader.unread)
    return {"images": count, "unread_local_files": reader.unread}
