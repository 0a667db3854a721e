"""A small COCO dataset with real image files, boxes, polygons, keypoints, a crowd mask, captions and a
prediction set analysed for FN/FP: imported with the COCO importer, for the gallery tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw

from datasets.fnfp import calculate_fnfp
from datasets.importers.coco import CocoImporter, PredictionFile
from datasets.importers.runner import run_import
from datasets.models import DataSet

WIDTH, HEIGHT = 200, 100
CATEGORIES = [
    {"id": 1, "name": "cat"},
    {"id": 2, "name": "dog"},
    {"id": 3, "name": "person", "keypoints": ["nose", "left_eye", "right_eye"], "skeleton": [[1, 2], [1, 3]]},
]
# image id -> GT annotations (pixels)
GT = {
    1: [
        {"category_id": 1, "bbox": [20, 10, 80, 40], "segmentation": [[20, 10, 100, 10, 100, 50, 20, 50]],
         "caption": "a cat on a mat"},
        {"category_id": 3, "bbox": [120, 20, 60, 70], "keypoints": [130, 30, 2, 150, 40, 2, 170, 40, 1],
         "num_keypoints": 3},
    ],
    2: [
        {"category_id": 2, "bbox": [10, 10, 50, 50]},
        # a crowd of 2 x 10 pixels at (10, 10), as an uncompressed (column-major) RLE
        {"category_id": 1, "iscrowd": 1,
         "segmentation": {"counts": [1010, 10, 90, 10, 18880], "size": [HEIGHT, WIDTH]}},
    ],
    3: [{"category_id": 1, "bbox": [60, 30, 40, 40]}],
}  # fmt: skip
PREDICTIONS = [
    {"image_id": 1, "category_id": 1, "bbox": [21, 10, 80, 40], "score": 0.9},  # a hit
    {"image_id": 1, "category_id": 2, "bbox": [150, 60, 20, 20], "score": 0.8},  # a false positive
    {"image_id": 3, "category_id": 1, "bbox": [60, 31, 40, 40], "score": 0.95},  # a hit; image 2's dog is missed
]
COLORS = {1: (120, 160, 200), 2: (200, 170, 120), 3: (140, 190, 140)}


def write_coco(directory: Path) -> tuple[Path, Path, Path]:
    """The image files, the GT JSON and the prediction JSON under ``directory``."""
    images = directory / "images"
    images.mkdir(parents=True, exist_ok=True)
    coco_images, annotations = [], []
    for image_id, image_annotations in GT.items():
        name = f"img{image_id}.jpg"
        PILImage.new("RGB", (WIDTH, HEIGHT), COLORS[image_id]).save(images / name, format="JPEG")
        coco_images.append({"id": image_id, "file_name": name, "width": WIDTH, "height": HEIGHT})
        for annotation in image_annotations:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "iscrowd": 0, **annotation})
    gt_path = directory / "gt.json"
    gt_path.write_text(json.dumps({"images": coco_images, "annotations": annotations, "categories": CATEGORIES}))
    predictions_path = directory / "det.json"
    predictions_path.write_text(json.dumps(PREDICTIONS))
    return images, gt_path, predictions_path


def import_gallery_dataset(directory: Path, dataset_id: str = "gallery") -> DataSet:
    """Import the sample under ``directory`` (inside the data roots) and run the FN/FP analysis."""
    images, gt_path, predictions_path = write_coco(directory)
    dataset = DataSet.get_importing_dataset("Street scenes", id_=dataset_id)
    run_import(
        dataset,
        CocoImporter(str(gt_path), image_root=str(images), predictions=[PredictionFile("det", str(predictions_path))]),
    )
    calculate_fnfp(dataset_id)
    return DataSet.objects.get(pk=dataset_id)


SCENE_CATEGORIES = ["car", "person", "tree", "dog", "bicycle", "traffic light"]


def _scene(rng: random.Random, width: int, height: int) -> tuple[PILImage.Image, list[dict]]:
    """A picture of a few coloured shapes over a sky and a ground, and their GT annotations."""
    picture = PILImage.new("RGB", (width, height), (rng.randint(120, 170), rng.randint(170, 210), 235))
    draw = ImageDraw.Draw(picture)
    horizon = int(height * rng.uniform(0.45, 0.65))
    draw.rectangle([0, horizon, width, height], fill=(rng.randint(90, 130), rng.randint(110, 140), 80))
    annotations = []
    for _ in range(rng.randint(1, 4)):
        category = rng.randrange(len(SCENE_CATEGORIES))
        w, h = rng.randint(width // 10, width // 3), rng.randint(height // 8, height // 2)
        x, y = rng.randint(0, width - w - 1), rng.randint(max(0, horizon - h), height - h - 1)
        color = tuple(rng.randint(30, 230) for _ in range(3))
        if category in (1, 2):  # people and trees as polygons
            polygon = [x + w / 2, y, x + w, y + h, x, y + h]
            draw.polygon(polygon, fill=color)
            annotations.append({"category_id": category + 1, "bbox": [x, y, w, h], "segmentation": [polygon]})
        else:
            draw.rectangle([x, y, x + w, y + h], fill=color)
            annotations.append({"category_id": category + 1, "bbox": [x, y, w, h]})
    return picture, annotations


def import_scene_dataset(directory: Path, count: int, *, dataset_id: str = "scenes", seed: int = 7) -> DataSet:
    """``count`` generated JPEG scenes of various sizes with boxes and polygons, and a prediction set with
    jittered boxes, random scores and a few false positives; imported and analysed for FN/FP."""
    rng = random.Random(seed)
    images_dir = directory / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    images, annotations, predictions = [], [], []
    for image_id in range(1, count + 1):
        width, height = rng.choice([(640, 480), (480, 640), (800, 450), (500, 500)])
        picture, image_annotations = _scene(rng, width, height)
        picture.save(images_dir / f"scene{image_id}.jpg", format="JPEG", quality=85)
        images.append({"id": image_id, "file_name": f"scene{image_id}.jpg", "width": width, "height": height})
        for annotation in image_annotations:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "iscrowd": 0, **annotation})
            if rng.random() < 0.8:
                x, y, w, h = annotation["bbox"]
                dx, dy = rng.randint(-6, 6), rng.randint(-6, 6)
                jitter = [min(max(0, x + dx), width - w), min(max(0, y + dy), height - h), w, h]
                predictions.append(
                    {"image_id": image_id, "category_id": annotation["category_id"], "bbox": jitter,
                     "score": round(rng.uniform(0.4, 0.99), 2)}
                )  # fmt: skip
        if rng.random() < 0.3:
            predictions.append(
                {"image_id": image_id, "category_id": rng.randint(1, len(SCENE_CATEGORIES)),
                 "bbox": [10, 10, width // 5, height // 5], "score": round(rng.uniform(0.3, 0.9), 2)}
            )  # fmt: skip
    categories = [{"id": number + 1, "name": name} for number, name in enumerate(SCENE_CATEGORIES)]
    gt_path = directory / "scenes.json"
    gt_path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    predictions_path = directory / "detector.json"
    predictions_path.write_text(json.dumps(predictions))
    dataset = DataSet.get_importing_dataset("City scenes", id_=dataset_id)
    run_import(
        dataset,
        CocoImporter(
            str(gt_path), image_root=str(images_dir), predictions=[PredictionFile("detector", str(predictions_path))]
        ),
    )
    calculate_fnfp(dataset_id)
    return DataSet.objects.get(pk=dataset_id)
