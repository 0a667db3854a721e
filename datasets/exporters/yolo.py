"""Export to YOLO: ``classes.txt`` and one ``labels/<stem>.txt`` per image, streamed."""

from __future__ import annotations

import os
from pathlib import Path

from datasets.exporters.common import atomic_output, file_name_of, iter_images, label_names, pixel_box
from dds_site import mongo


def export_yolo(
    dataset_id: str, output_dir: str | Path, *, labels: list[str] | None = None, prediction: str | None = None
) -> dict:
    """Boxes of the chosen GT sets (or of one prediction set, with a confidence column).

    Objects without a box are not written (YOLO detection labels are boxes).
    """
    output_dir = Path(output_dir)
    chosen = label_names(dataset_id, [prediction] if prediction else labels, types=("GT",))
    names = sorted(doc["name"] for doc in mongo.get_collection("categories").find({"dataset_id": dataset_id}))
    index = {name: number for number, name in enumerate(names)}
    with atomic_output(output_dir / "classes.txt") as out:
        out.write("".join(f"{name}\n" for name in names))
    labels_dir = output_dir / "labels"
    num_images = num_boxes = 0
    for document in iter_images(dataset_id):
        width, height = document.get("width") or 0, document.get("height") or 0
        lines = []
        for obj in document.get("objects") or ():
            if obj.get("label_name") not in chosen or obj.get("category_name") not in index:
                continue
            box = pixel_box(obj, width, height)
            if box is None:
                continue
            x, y, w, h = box
            values = [(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]
            if prediction:
                values.append(obj.get("conf", 1.0))
            lines.append(" ".join([str(index[obj["category_name"]]), *(repr(float(v)) for v in values)]))
        stem = os.path.splitext(file_name_of(document))[0]
        with atomic_output(labels_dir / f"{stem}.txt") as out:
            out.write("".join(f"{line}\n" for line in lines))
        num_images += 1
        num_boxes += len(lines)
    return {"images": num_images, "boxes": num_boxes}
