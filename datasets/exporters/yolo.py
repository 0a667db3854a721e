"""Export to YOLO: ``classes.txt`` and one ``labels/<stem>.txt`` per image, streamed.

Detection labels (the default) are ``class cx cy w h`` lines. With ``segments`` the files are
YOLO segmentation labels, ``class x1 y1 x2 y2 ...``: an object's polygons (one line per part, as
YOLO has one polygon per line), or its box as a four-corner polygon when it has none.
Prediction sets get a trailing confidence on each line in both forms.
"""

from __future__ import annotations

import os
from pathlib import Path

from datasets.exporters.common import (
    atomic_output,
    file_name_of,
    iter_images,
    label_names,
    parse_polygons,
    pixel_box,
)
from dds_site import mongo


def _box_values(box: list[float], width: int, height: int) -> list[list[float]]:
    x, y, w, h = box
    return [[(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]]


def _segment_values(obj: dict, box: list[float], width: int, height: int) -> list[list[float]]:
    polygons = [p for p in parse_polygons(obj.get("segmentation") or "") if len(p) >= 6 and len(p) % 2 == 0]
    if not polygons:
        x, y, w, h = box
        polygons = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return [[v / (width if i % 2 == 0 else height) for i, v in enumerate(polygon)] for polygon in polygons]


def export_yolo(
    dataset_id: str,
    output_dir: str | Path,
    *,
    labels: list[str] | None = None,
    prediction: str | None = None,
    segments: bool = False,
) -> dict:
    """Objects of the chosen GT sets (or of one prediction set, with a confidence column).

    Objects without a box are not written (every YOLO label line locates its object).
    """
    output_dir = Path(output_dir)
    chosen = label_names(dataset_id, [prediction] if prediction else labels, types=("GT",))
    names = sorted(doc["name"] for doc in mongo.get_collection("categories").find({"dataset_id": dataset_id}))
    index = {name: number for number, name in enumerate(names)}
    with atomic_output(output_dir / "classes.txt") as out:
        out.write("".join(f"{name}\n" for name in names))
    labels_dir = output_dir / "labels"
    num_images = num_lines = 0
    for document in iter_images(dataset_id):
        width, height = document.get("width") or 0, document.get("height") or 0
        lines = []
        for obj in document.get("objects") or ():
            if obj.get("label_name") not in chosen or obj.get("category_name") not in index:
                continue
            box = pixel_box(obj, width, height)
            if box is None:
                continue
            rows = _segment_values(obj, box, width, height) if segments else _box_values(box, width, height)
            for values in rows:
                if prediction:
                    values.append(obj.get("conf", 1.0))
                lines.append(" ".join([str(index[obj["category_name"]]), *(repr(float(v)) for v in values)]))
        stem = os.path.splitext(file_name_of(document))[0]
        with atomic_output(labels_dir / f"{stem}.txt") as out:
            out.write("".join(f"{line}\n" for line in lines))
        num_images += 1
        num_lines += len(lines)
    return {"images": num_images, "lines": num_lines}
