"""Export to DDS's TSV format, with one ``<stem>.<set>.pred`` sidecar per prediction set."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from urllib.parse import unquote

from datasets.exporters.common import atomic_output, iter_images, label_names, metadata_of

_RANGE_URL = re.compile(r"^/files/local_files/b/2/(\d+)_(\d+)/[^/]+/(.+)$")


def _range_bytes(url: str) -> bytes | None:
    """The base64 text a byte-range URL points at (inline TSV images and alpha mattes)."""
    match = _RANGE_URL.match(url or "")
    if not match:
        return None
    begin, end, path = int(match[1]), int(match[2]), unquote(match[3])
    with open(path, "rb") as handle:
        handle.seek(begin)
        return handle.read(end - begin)


def _tsv_object(obj: dict, width: int, height: int) -> dict:
    out: dict = {"class": obj.get("category_name") or "", "iscrowd": int(bool(obj.get("is_group")))}
    if obj.get("label_type") != "GT":
        out["conf"] = obj.get("conf", 1.0)
    if obj.get("bounding_box"):
        out["bounding_box"] = {k: obj["bounding_box"][k] for k in ("xmin", "ymin", "xmax", "ymax")}
    if obj.get("segmentation"):
        out["segmentation"] = f"{height},{width}/{obj['segmentation']}"
    alpha = _range_bytes(obj.get("alpha") or "")
    if alpha:
        out["alpha"] = alpha.decode("ascii")
    return out


def export_tsv(
    dataset_id: str, output: str | Path, *, labels: list[str] | None = None, predictions: list[str] | None = None
) -> dict:
    """Write ``output`` (GT sets, default all) and ``<stem>.<set>.pred`` for each chosen prediction set."""
    output = Path(output)
    gt = label_names(dataset_id, labels, types=("GT",))
    preds = list(label_names(dataset_id, predictions, types=("Pred",)))
    count = 0
    with contextlib.ExitStack() as stack:
        main = stack.enter_context(atomic_output(output, "wb"))
        sidecars = {
            name: stack.enter_context(atomic_output(output.with_name(f"{output.stem}.{name}.pred"), "wb"))
            for name in preds
        }
        for document in iter_images(dataset_id):
            width, height = document.get("width") or 0, document.get("height") or 0
            key = str(document.get("source_key") or document["_id"]).replace("\t", " ")
            metadata = {**metadata_of(document), "width": width, "height": height}
            objects = [_tsv_object(o, width, height) for o in document.get("objects") or () if o["label_name"] in gt]
            content = _range_bytes(document.get("url") or "") or (document.get("url") or "").encode()
            line = json.dumps({"metadata": metadata, "objects": objects}, ensure_ascii=False)
            main.write(key.encode() + b"\t" + line.encode() + b"\t" + content + b"\n")
            for name, handle in sidecars.items():
                pred_objects = [
                    _tsv_object(o, width, height) for o in document.get("objects") or () if o["label_name"] == name
                ]
                handle.write(key.encode() + b"\t" + json.dumps({"objects": pred_objects}).encode() + b"\n")
            count += 1
    return {"images": count}
