"""Small COCO / TSV / YOLO sample builders for the import, export and FN/FP tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image as PILImage

from datasets.importers import runner

CATEGORIES = [
    {"id": 1, "name": "cat", "supercategory": "animal"},
    {"id": 2, "name": "dog", "supercategory": "animal"},
    {
        "id": 3,
        "name": "person",
        "keypoints": ["nose", "left_eye", "right_eye"],
        "skeleton": [[1, 2], [1, 3]],
    },
]


def coco_gt(num_images: int = 4, *, with_files: Path | None = None) -> dict:
    """A COCO GT dict: 100x80 images, each with a box, a polygon, and on image 1 a crowd RLE and keypoints."""
    images, annotations = [], []
    ann_id = 1
    for number in range(1, num_images + 1):
        image = {"id": number * 10, "file_name": f"img{number}.png", "width": 100, "height": 80, "license": 3}
        if with_files is None:
            image["coco_url"] = f"http://images.example/img{number}.png"
        images.append(image)
        annotations.append(
            {
                "id": ann_id,
                "image_id": number * 10,
                "category_id": 1 + number % 2,
                "bbox": [10.0, 10.0, 30.0, 20.0],
                "area": 600.0,
                "iscrowd": 0,
                "segmentation": [[10, 10, 40, 10, 40, 30, 10, 30]],
            }
        )
        ann_id += 1
        annotations.append(
            {
                "id": ann_id,
                "image_id": number * 10,
                "category_id": 2,
                "bbox": [50, 40, 20.5, 10],
                "area": 205.0,
                "iscrowd": 0,
                "segmentation": [],
            }
        )
        ann_id += 1
    annotations.append(
        {
            "id": ann_id,
            "image_id": 10,
            "category_id": 1,
            "iscrowd": 1,
            "area": 4.0,
            "segmentation": {"counts": [0, 2, 78, 2, 7918], "size": [80, 100]},
        }
    )
    ann_id += 1
    annotations.append(
        {
            "id": ann_id,
            "image_id": 10,
            "category_id": 3,
            "iscrowd": 0,
            "bbox": [0, 0, 50, 50],
            "keypoints": [5, 5, 2, 10, 10, 1, 0, 0, 0],
            "num_keypoints": 2,
        }
    )
    if with_files is not None:
        with_files.mkdir(parents=True, exist_ok=True)
        for image in images:
            PILImage.new("RGB", (image["width"], image["height"]), "white").save(with_files / image["file_name"])
    # Annotations first on purpose: the parser must not depend on the order of the arrays.
    return {"annotations": annotations, "images": images, "categories": [dict(c) for c in CATEGORIES]}


def coco_results(gt: dict) -> list[dict]:
    """A COCO results list: per GT box one hit (shifted by 1 px) and one miss."""
    results = []
    for ann in gt["annotations"]:
        if "bbox" not in ann or ann.get("iscrowd"):
            continue
        x, y, w, h = ann["bbox"]
        results.append(
            {"image_id": ann["image_id"], "category_id": ann["category_id"], "bbox": [x + 1, y, w, h], "score": 0.9}
        )
        results.append(
            {"image_id": ann["image_id"], "category_id": ann["category_id"], "bbox": [0, 60, 10, 10], "score": 0.3}
        )
    return results


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def objects_by_key(dataset_id: str) -> dict:
    """``{source_key: sorted objects without ids}`` of a dataset's images, for round-trip comparisons."""
    from datasets.images import Image

    out = {}
    for image in Image(dataset_id).find_many({}, to_dict=True):
        objects = []
        for obj in image["objects"]:
            obj = dict(obj)
            obj.pop("label_id", None)
            obj.pop("category_id", None)
            if obj.get("bounding_box"):
                obj["bounding_box"] = {k: round(v, 6) for k, v in obj["bounding_box"].items()}
            objects.append(json.dumps(obj, sort_keys=True))
        out[image.get("source_key", str(image["id"]))] = sorted(objects)
    return out


def client_uri(app_name: str) -> str:
    """The test database's URI for a client process that names itself ``app_name`` to the server."""
    from django.conf import settings

    uri = settings.DATABASES["default"]["HOST"]
    separator = "&" if "?" in uri else ("?" if uri.count("/") >= 3 else "/?")
    return f"{uri}{separator}appName={app_name}"


def wait_until_disconnected(app_name: str, timeout_s: float = 60.0) -> None:
    """Return once the server holds no connection of the client ``app_name`` (see ``client_uri``).

    A server handles a connection's requests in order and drops it only after the last one, so
    after this no write a killed client had sent can still land.
    """
    from dds_site import mongo

    admin = mongo.get_database().client.admin
    deadline = time.monotonic() + timeout_s
    while True:
        operations = admin.command({"currentOp": 1, "$all": True})["inprog"]
        names = {
            op.get("appName") or (op.get("clientMetadata") or {}).get("application", {}).get("name")
            for op in operations
        }
        if app_name not in names:
            return
        assert time.monotonic() < deadline, f"the server still holds connections of {app_name} after {timeout_s:.0f} s"
        time.sleep(0.05)


def import_killed_after_swap_journal(monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> None:
    """Run an import as a process killed right after journalling its swap: no failure handler runs."""

    def killed(dataset_id):
        raise SystemExit("killed")

    monkeypatch.setattr(runner, "after_swap_journal", [killed])
    with pytest.raises(SystemExit):
        run()
    monkeypatch.undo()
