"""Turn parsed records into DDS image documents (reference §3.3, §3.4)."""

from __future__ import annotations

import functools
import json

from datasets.images import REVISION, new_revision
from datasets.importers.records import AnnotationRecord, ImageRecord
from datasets.services import category_id_for, label_id_for

# Extra image field (not in DDS's ImageModel): the stable identity of an image in its source
# (COCO id, file name, TSV image id) so a re-import re-attaches user annotations and flags to
# the same picture even when ids or line numbers change (DDS matched by line index, §12.22).
SOURCE_KEY = "source_key"


@functools.lru_cache(maxsize=4096)
def _label_id(dataset_id: str, name: str) -> str:
    return label_id_for(dataset_id, name)


@functools.lru_cache(maxsize=4096)
def _category_id(dataset_id: str, name: str) -> str:
    return category_id_for(dataset_id, name) if name else ""


def object_document(ann: AnnotationRecord, image: ImageRecord, dataset_id: str) -> dict:
    """The stored ``Object`` dict of one annotation: normalised box, string polygons, 6-number keypoints."""
    box = {}
    if ann.bbox is not None:
        x, y, w, h = ann.bbox
        box = {
            "xmin": x / image.width,
            "ymin": y / image.height,
            "xmax": (x + w) / image.width,
            "ymax": (y + h) / image.height,
        }
    points: list = []
    if ann.keypoints:
        kp = ann.keypoints
        for i in range(0, len(kp), 4):
            points.extend((float(kp[i]), float(kp[i + 1]), 0.0, 1.0, int(kp[i + 2]), kp[i + 3]))
    return {
        "label_name": ann.label,
        "label_type": ann.label_type,
        "label_id": _label_id(dataset_id, ann.label),
        "category_id": _category_id(dataset_id, ann.category),
        "category_name": ann.category,
        "conf": ann.conf,
        "is_group": ann.is_group,
        "bounding_box": box,
        "segmentation": "/".join(",".join(map(str, poly)) for poly in ann.polygons or ()),
        "alpha": ann.alpha,
        "points": points,
        "lines": list(ann.keypoint_skeleton or []) if points else [],
        "point_colors": list(ann.keypoint_colors or []) if points else [],
        "point_names": list(ann.keypoint_names or []) if points else [],
        "caption": ann.caption,
        "confirm_type": 0,
        "compare_result": {},
        "matched_det_idx": None,
        "mask": dict(ann.mask) if ann.mask else {},
    }


def image_document(image: ImageRecord, *, image_id: int, idx: int, dataset_id: str, dataset_type: str) -> dict:
    """The stored image document (``_id`` is the integer image id)."""
    return {
        "_id": image_id,
        "idx": idx,
        "url": image.url,
        "dataset_id": dataset_id,
        "type": dataset_type,
        "url_full_res": image.url_full_res or image.url,
        "objects": [object_document(ann, image, dataset_id) for ann in image.annotations],
        "width": image.width,
        "height": image.height,
        "metadata": json.dumps(image.metadata, ensure_ascii=False),
        "flag": 0,
        "flag_ts": 0,
        "num_fn": {},
        "num_fp": {},
        "num_fn_cat": {},
        "num_fp_cat": {},
        "label_confirm": {},
        SOURCE_KEY: image.key,
        REVISION: new_revision(),
    }
