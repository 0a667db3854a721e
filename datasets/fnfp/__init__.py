"""FN/FP analysis of prediction sets against the ground truth (reference §9.5), with numpy.

For every prediction label set of a dataset:

1. Matching, per image, once: predictions by descending confidence (stable), each takes the
   unmatched same-category GT box with the highest IoU >= 0.5 (ties: the later GT), exactly as
   pycocotools' COCOeval does. GT objects with ``is_group`` (COCO ``iscrowd``) are never
   matched and never missed; a prediction left unmatched that covers a crowd region
   (intersection / prediction area >= 0.5) is ignored, neither TP nor FP, as in COCO.
   Objects without a box are skipped. User-type objects are not ground truth.
2. Thresholds: cumulative precision/recall over the whole set, precision made non-increasing
   (interpolated); for each precision level 0.9 ... 0.1 the lowest confidence that still reaches
   it. Unreachable levels are left out (DDS stored -1 placeholders); no GT means recall 0, not a
   division by zero. Stored on the Label as ``compare_precisions``, plus COCO mAP@[.5:.95] and AP50
   (pycocotools) as ``coco_metrics``.
3. Per image and level ``L`` (``"90"`` ... ``"10"``): predictions with confidence >= the level's
   threshold are valid; ``num_fp[label][L]`` counts valid unmatched predictions and
   ``num_fn[label][L]`` GT boxes without a valid match; the per-category counters count the same
   things (DDS counted FPs below the threshold there). Prediction objects get
   ``compare_result[L]`` = OK/FP when valid; GT objects get one entry per prediction set, keyed
   ``"<label_id>_<L>"`` (DDS kept one shared ``L`` key, so the last set processed won).

4. Per set, from the same matching (run at every COCO IoU threshold .50:.95 in the same pass):
   per-category AP, AP50 and PR curve at IoU .50, equal to pycocotools' per-category precision
   (``categories``), and a confusion matrix at the level-.5 confidence threshold (``confusion``);
   stored on the Label as ``category_metrics`` and ``confusion_matrix`` (``analysis``).

Every run recomputes all of it from the annotations (re-runs are idempotent, and write only the
images whose results changed). Each image is written with a conditional update on the revision
it was read at (``datasets.store.REVISION``, renewed by every write of an image's objects), so a
concurrent edit is not lost: that image is re-read and recomputed instead.

``matching`` holds the algorithm (pure numpy), ``metrics`` the COCO mAP, ``categories`` and
``confusion`` the per-category figures, ``job`` the job over a dataset; their public names are
importable from here.
"""

from __future__ import annotations

from datasets.fnfp.categories import CategoryAccumulator
from datasets.fnfp.confusion import ConfusionAccumulator
from datasets.fnfp.job import (
    DDS_PROCESSOR_KEY,
    JOB_KIND,
    FnFpResult,
    ReadImage,
    calculate_fnfp,
    guarded_update,
    prediction_labels,
)
from datasets.fnfp.matching import (
    COCO_IOU_THRESHOLDS,
    COUNTERS,
    IOU_THRESHOLD,
    PRECISION_LEVELS,
    ImageMatches,
    Match,
    box_iou,
    gt_result_key,
    image_updates,
    level_key,
    match_document,
    match_image,
    precision_thresholds,
)
from datasets.fnfp.metrics import CocoInputs, coco_map, coco_metrics

__all__ = [
    "COCO_IOU_THRESHOLDS",
    "COUNTERS",
    "DDS_PROCESSOR_KEY",
    "IOU_THRESHOLD",
    "JOB_KIND",
    "PRECISION_LEVELS",
    "CategoryAccumulator",
    "CocoInputs",
    "ConfusionAccumulator",
    "FnFpResult",
    "ImageMatches",
    "Match",
    "ReadImage",
    "box_iou",
    "calculate_fnfp",
    "coco_map",
    "coco_metrics",
    "gt_result_key",
    "guarded_update",
    "image_updates",
    "level_key",
    "match_document",
    "match_image",
    "precision_thresholds",
    "prediction_labels",
]
