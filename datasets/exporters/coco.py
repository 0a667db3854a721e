"""Export to COCO: a ground-truth file (instances/keypoints/captions) or a results list.

Written image by image: images and annotations go to two temporary files in one pass over
the dataset, then are joined into the output, which appears atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from pycocotools import mask as mask_utils

from datasets.exporters.common import (
    atomic_output,
    file_name_of,
    iter_images,
    label_names,
    metadata_of,
    parse_polygons,
    pixel_box,
)
from datasets.importers.errors import OutputExists
from datasets.models import Category, DataSet

_DEFAULT_INFO = {"description": "exported by DeepDataSpace"}
_IMAGE_META_SKIP = {"file_name", "coco_url", "width", "height", "id"}


def _category_table(dataset_id: str) -> dict[str, tuple[int, str | None]]:
    """Category name -> (COCO id, supercategory), by id.

    A category imported from COCO keeps its source id; the others (added by users, or imported
    from another format) are numbered by name after the largest source id.
    """
    rows = list(Category.objects.filter(dataset_id=dataset_id).values_list("name", "source_id", "supercategory"))
    taken = {source_id for _name, source_id, _super in rows if source_id is not None}
    table = {name: (source_id, supercategory) for name, source_id, supercategory in rows if source_id is not None}
    number = max(taken, default=0)
    for name in sorted(name for name, source_id, _super in rows if source_id is None):
        number += 1
        table[name] = (number, None)
    return dict(sorted(table.items(), key=lambda item: item[1][0]))


def _polygon_area(polygon: list[float]) -> float:
    xs, ys = polygon[0::2], polygon[1::2]
    return abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2


def _annotation(obj: dict, width: int, height: int, *, results: bool) -> dict:
    out: dict = {}
    box = pixel_box(obj, width, height)
    if box is not None:
        out["bbox"] = box
    area = box[2] * box[3] if box else 0.0
    if obj.get("mask"):
        rle = {"size": obj["mask"]["size"], "counts": obj["mask"]["counts"]}
        out["segmentation"] = rle
        area = float(mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode("ascii")}))
    elif obj.get("segmentation"):
        polygons = parse_polygons(obj["segmentation"])
        out["segmentation"] = polygons
        area = sum(_polygon_area(p) for p in polygons)
    elif not results:
        out["segmentation"] = []
    if obj.get("points"):
        points = obj["points"]
        keypoints = []
        for i in range(0, len(points), 6):
            x, y, _z, _w, visibility, _conf = points[i : i + 6]
            keypoints.extend((x, y, int(visibility)))
        out["keypoints"] = keypoints
        out["num_keypoints"] = sum(1 for v in keypoints[2::3] if v > 0)
    if obj.get("caption"):
        out["caption"] = obj["caption"]
    if results:
        out["score"] = obj.get("conf", 1.0)
    else:
        out["area"] = area
        out["iscrowd"] = int(bool(obj.get("is_group")))
    return out


def export_coco(
    dataset_id: str,
    output: str | Path,
    *,
    labels: list[str] | None = None,
    results: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Write ``output``: COCO GT of the chosen label sets (default: every GT set), or, with
    ``results=<prediction set name>``, that set as a COCO results list. Returns counts.

    An existing ``output`` is replaced only with ``overwrite`` (else ``OutputExists``, 409)."""
    if not overwrite and os.path.lexists(output):
        raise OutputExists(str(output))  # before the work, not only at the end
    if results is not None:
        return _export_results(dataset_id, output, results, overwrite=overwrite)
    chosen = label_names(dataset_id, labels, types=("GT",))
    table = _category_table(dataset_id)
    categories = {category: number for category, (number, _super) in table.items()}
    keypoint_info: dict[str, dict] = {}
    num_images = num_annotations = 0
    with tempfile.TemporaryDirectory(prefix="dds-export-") as scratch:
        images_path, anns_path = Path(scratch, "images"), Path(scratch, "annotations")
        with open(images_path, "w") as images_out, open(anns_path, "w") as anns_out:
            for document in iter_images(dataset_id):
                width, height = document.get("width") or 0, document.get("height") or 0
                image = {k: v for k, v in metadata_of(document).items() if k not in _IMAGE_META_SKIP}
                image.update(
                    {"id": document["_id"], "file_name": file_name_of(document), "width": width, "height": height}
                )
                url = document.get("url") or ""
                if url.startswith(("http://", "https://")):
                    image["coco_url"] = url
                images_out.write(("," if num_images else "") + json.dumps(image))
                num_images += 1
                for obj in document.get("objects") or ():
                    if obj.get("label_name") not in chosen:
                        continue
                    ann = _annotation(obj, width, height, results=False)
                    name = obj.get("category_name") or ""
                    ann.update(
                        {"id": num_annotations + 1, "image_id": document["_id"], "category_id": categories.get(name, 0)}
                    )
                    if obj.get("points") and name not in keypoint_info:
                        keypoint_info[name] = obj
                    anns_out.write(("," if num_annotations else "") + json.dumps(ann))
                    num_annotations += 1
        with atomic_output(output, overwrite=overwrite) as out:
            out.write(_header(dataset_id))
            with open(images_path) as part:
                shutil.copyfileobj(part, out)
            out.write('], "annotations": [')
            with open(anns_path) as part:
                shutil.copyfileobj(part, out)
            out.write('], "categories": ')
            out.write(
                json.dumps(
                    [
                        _category(name, number, supercategory, keypoint_info.get(name))
                        for name, (number, supercategory) in table.items()
                    ]
                )
            )
            out.write("}")
    return {"images": num_images, "annotations": num_annotations}


def _header(dataset_id: str) -> str:
    """The file's start up to the images: the source's ``info`` and ``licenses`` when it had them."""
    source = DataSet.objects.filter(pk=dataset_id).values_list("source_info", flat=True).first() or {}
    head = {"info": source.get("info", _DEFAULT_INFO)} if source.get("format") == "coco" else {"info": _DEFAULT_INFO}
    if source.get("format") == "coco" and "licenses" in source:
        head["licenses"] = source["licenses"]
    return json.dumps(head)[:-1] + ', "images": ['


def _category(name: str, number: int, supercategory: str | None, sample: dict | None) -> dict:
    category: dict = {"id": number, "name": name}
    if supercategory is not None:
        category["supercategory"] = supercategory
    if sample is not None:
        lines = sample.get("lines") or []
        category["keypoints"] = list(sample.get("point_names") or [])
        category["skeleton"] = [[lines[i] + 1, lines[i + 1] + 1] for i in range(0, len(lines) - 1, 2)]
        colors = sample.get("point_colors") or []
        category["keypoint_colors"] = [colors[i : i + 3] for i in range(0, len(colors), 3)]
    return category


def _export_results(dataset_id: str, output: str | Path, name: str, *, overwrite: bool) -> dict:
    label_names(dataset_id, [name], types=("Pred",))
    categories = {category: number for category, (number, _super) in _category_table(dataset_id).items()}
    count = 0
    with atomic_output(output, overwrite=overwrite) as out:
        out.write("[")
        for document in iter_images(dataset_id):
            width, height = document.get("width") or 0, document.get("height") or 0
            for obj in document.get("objects") or ():
                if obj.get("label_name") != name:
                    continue
                ann = _annotation(obj, width, height, results=True)
                ann.update({"image_id": document["_id"], "category_id": categories.get(obj.get("category_name"), 0)})
                out.write(("," if count else "") + json.dumps(ann))
                count += 1
        out.write("]")
    return {"annotations": count}
