"""COCO bbox mAP@[.5:.95] and AP50 of prediction sets (pycocotools), in pixels."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable

import numpy as np

from datasets import store
from datasets.fnfp.matching import box_of
from dds_site.gcpause import collector_paused

FULL_PROJECTION = {"objects": 1, "width": 1, "height": 1}


class CocoInputs:
    """A dataset's images, GT boxes and the boxes of chosen prediction sets in COCO's form (pixels),
    gathered from image documents as they are read."""

    def __init__(self, label_ids: Iterable[str]) -> None:
        self.images: list[dict] = []
        self.gts: list[dict] = []
        self.dts: dict[str, list[dict]] = {label: [] for label in label_ids}
        self._cat_ids: dict[str, int] = {}

    def add(self, document: dict) -> None:
        width, height = document.get("width") or 0, document.get("height") or 0
        if not width or not height:
            return
        image_id = document["_id"]
        self.images.append({"id": image_id, "width": width, "height": height})
        for obj in document.get("objects") or ():
            kind = obj.get("label_type")
            if kind == "Pred":
                dts = self.dts.get(obj.get("label_id"))
                if dts is None:
                    continue
            elif kind != "GT":
                continue
            box = box_of(obj)
            if box is None:
                continue
            cat = self._cat_ids.setdefault(obj.get("category_id") or "", len(self._cat_ids) + 1)
            xywh = [box[0] * width, box[1] * height, (box[2] - box[0]) * width, (box[3] - box[1]) * height]
            if kind == "GT":
                self.gts.append(
                    {
                        "id": len(self.gts) + 1,
                        "image_id": image_id,
                        "category_id": cat,
                        "bbox": xywh,
                        "area": xywh[2] * xywh[3],
                        "iscrowd": int(bool(obj.get("is_group"))),
                    }
                )
            else:
                dts.append(
                    {
                        "image_id": image_id,
                        "category_id": cat,
                        "bbox": xywh,
                        "score": float(obj.get("conf", 1.0) or 0.0),
                    }
                )

    def metrics(self, label_id: str) -> dict:
        with collector_paused():
            return coco_map(self.images, self.gts, self.dts[label_id])


def coco_metrics(dataset_id: str, label_id: str) -> dict:
    """COCO bbox mAP@[.5:.95] and AP50 of one prediction set (pycocotools), in pixels."""
    inputs = CocoInputs([label_id])
    with collector_paused():
        for document in store.image_cursor(dataset_id, FULL_PROJECTION):
            inputs.add(document)
    return inputs.metrics(label_id)


def coco_map(images: list[dict], gts: list[dict], dts: list[dict]) -> dict:
    """COCO bbox mAP@[.5:.95] and AP50, equal to COCOeval's ``stats[0]`` and ``stats[1]``.

    COCOeval visits every (image, category) pair; here each category is evaluated over only the
    images where it occurs, then the per-category APs are averaged as COCO's summary does.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not gts or not dts:
        return {"map": None, "ap50": None}
    images_of: dict[int, set] = {}
    for ann in (*gts, *dts):
        images_of.setdefault(ann["category_id"], set()).add(ann["image_id"])
    maps, ap50s = [], []
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": images,
            "annotations": gts,
            "categories": [{"id": cat} for cat in sorted(images_of)],
        }
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(d) for d in dts])
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        # Only what mAP and AP50 read: area "all", 100 detections per image.
        evaluator.params.areaRng, evaluator.params.areaRngLbl = [[0, 1e10]], ["all"]
        evaluator.params.maxDets = [100]
        for cat in sorted(images_of):
            evaluator.params.catIds = [cat]
            evaluator.params.imgIds = sorted(images_of[cat])
            evaluator.evaluate()
            evaluator.accumulate()
            # precision[T, R, K, A, M]: every IoU and recall level, area "all", 100 detections.
            precision = evaluator.eval["precision"][:, :, 0, 0, 0]
            if (precision > -1).all():
                maps.append(float(precision.mean()))
                ap50s.append(float(precision[0].mean()))
    if not maps:
        return {"map": None, "ap50": None}
    return {"map": round(float(np.mean(maps)), 6), "ap50": round(float(np.mean(ap50s)), 6)}
