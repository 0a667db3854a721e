"""A small COCO dataset with real image files, boxes, polygons, keypoints, a crowd mask, captions and a
prediction set analysed for FN/FP: imported with the COCO importer, for the gallery tests."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image as PILImage

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
