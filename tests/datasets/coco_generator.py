"""A seeded generator of COCO data for the round-trip tests: boxes, polygons, crowd RLE, keypoints,
captions, several prediction sets, COCO ``info`` / ``licenses`` and category ids that are neither
contiguous nor in name order (so renumbering by name shows)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

INFO = {"description": "generated", "version": "1.0", "year": 2026, "contributor": "tests"}
LICENSES = [
    {"id": 1, "name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
    {"id": 4, "name": "CC0", "url": "https://creativecommons.org/publicdomain/zero/1.0/"},
]
CATEGORIES = [
    {"id": 7, "name": "zebra", "supercategory": "animal"},
    {"id": 2, "name": "bicycle", "supercategory": "vehicle"},
    {"id": 11, "name": "apple", "supercategory": "food"},
    {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": ["nose", "left_eye", "right_eye"],
        "skeleton": [[1, 2], [1, 3]],
    },
]
BOX_CATEGORIES = (7, 2, 11)


@dataclass
class CocoSet:
    """A generated ground truth and its prediction sets (``{name: COCO results list}``)."""

    gt: dict
    predictions: dict[str, list[dict]] = field(default_factory=dict)

    def write(self, folder: Path) -> tuple[Path, dict[str, Path]]:
        """Write ``gt.json`` and ``<name>.json`` per prediction set; returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        gt_path = folder / "gt.json"
        gt_path.write_text(json.dumps(self.gt))
        paths = {}
        for name, results in self.predictions.items():
            paths[name] = folder / f"{name}.json"
            paths[name].write_text(json.dumps(results))
        return gt_path, paths


def _box(rng: random.Random, width: int, height: int) -> list[float]:
    w, h = rng.randint(4, width // 2), rng.randint(4, height // 2)
    x, y = rng.randint(0, width - w), rng.randint(0, height - h)
    if rng.random() < 0.5:  # fractional pixels, as real annotations have
        return [x + 0.25, y + 0.5, w - 0.75, h - 0.5]
    return [x, y, w, h]


def _rle(width: int, height: int, box: list[float]) -> dict:
    mask = np.zeros((height, width), dtype=np.uint8, order="F")
    x, y, w, h = (int(v) for v in box)
    mask[y : y + h, x : x + w] = 1
    rle = mask_utils.encode(mask)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def generate_coco(
    num_images: int = 12, *, seed: int = 7, prediction_sets: tuple[str, ...] = ("detA", "detB"), overhang: int = 0
) -> CocoSet:
    """A COCO set of ``num_images`` images; each has a box with a polygon, a plain box, and (every
    third) a crowd RLE, (every fourth) a person with keypoints, (every fifth) a caption. Prediction
    sets hold one shifted box per GT box and one miss per image; with ``overhang``, every second
    prediction set holds one more box per image, sticking out of the image's right edge by that many pixels."""
    rng = random.Random(seed)
    images, annotations = [], []
    for number in range(1, num_images + 1):
        width, height = rng.choice([(64, 48), (80, 60), (100, 80)])
        image_id = 1000 + number * 3
        images.append(
            {
                "license": rng.choice([1, 4]),
                "file_name": f"{image_id:012d}.jpg",
                "coco_url": f"http://images.example/val/{image_id:012d}.jpg",
                "height": height,
                "width": width,
                "date_captured": f"2013-11-{number % 28 + 1:02d} 10:00:00",
                "flickr_url": f"http://farm.example/{image_id}.jpg",
                "id": image_id,
            }
        )
        box = _box(rng, width, height)
        x, y, w, h = box
        annotations.append(
            {
                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                "area": w * h,
                "iscrowd": 0,
                "image_id": image_id,
                "bbox": box,
                "category_id": rng.choice(BOX_CATEGORIES),
                "id": len(annotations) + 1,
            }
        )
        annotations.append(
            {
                "segmentation": [],
                "area": 0,
                "iscrowd": 0,
                "image_id": image_id,
                "bbox": _box(rng, width, height),
                "category_id": rng.choice(BOX_CATEGORIES),
                "id": len(annotations) + 1,
            }
        )
        if number % 3 == 0:
            crowd = [float(v) for v in _box(rng, width, height)]
            crowd = [float(int(v)) for v in crowd]
            annotations.append(
                {
                    "segmentation": _rle(width, height, crowd),
                    "iscrowd": 1,
                    "image_id": image_id,
                    "bbox": crowd,
                    "category_id": BOX_CATEGORIES[0],
                    "id": len(annotations) + 1,
                }
            )
        if number % 4 == 0:
            annotations.append(
                {
                    "keypoints": [5, 6, 2, 9, 4, 2, 0, 0, 0],
                    "num_keypoints": 2,
                    "iscrowd": 0,
                    "image_id": image_id,
                    "bbox": [2, 2, 20, 30],
                    "category_id": 1,
                    "id": len(annotations) + 1,
                }
            )
        if number % 5 == 0:
            annotations.append(
                {"image_id": image_id, "caption": f"picture number {number}", "id": len(annotations) + 1}
            )
    gt = {"info": INFO, "licenses": LICENSES, "images": images, "annotations": annotations, "categories": CATEGORIES}
    sizes = {image["id"]: (image["width"], image["height"]) for image in images}
    predictions = {}
    for set_number, name in enumerate(prediction_sets):
        results = []
        for ann in annotations:
            if "bbox" not in ann or ann.get("iscrowd") or "keypoints" in ann:
                continue
            x, y, w, h = ann["bbox"]
            shift = min(set_number + 1, sizes[ann["image_id"]][0] - (x + w))
            results.append(
                {
                    "image_id": ann["image_id"],
                    "category_id": ann["category_id"],
                    "bbox": [x + shift, y, w, h],
                    "score": 0.9,
                }
            )
        for image in images:
            results.append({"image_id": image["id"], "category_id": 2, "bbox": [0, 0, 3, 3], "score": 0.25})
            if overhang and set_number % 2:
                width = image["width"]
                results.append(
                    {"image_id": image["id"], "category_id": 7, "bbox": [width - 10, 1, 10 + overhang, 5], "score": 0.5}
                )
        predictions[name] = results
    return CocoSet(gt=gt, predictions=predictions)
