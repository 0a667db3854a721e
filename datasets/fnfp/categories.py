"""Per-category COCO AP@[.5:.95], AP50 and the precision-recall curve at IoU .50 of a prediction set,
from the FN/FP matching (no second matcher, no pycocotools).

The values equal pycocotools' ``COCOeval.eval["precision"][:, :, k, 0, -1]`` (area "all", 100
detections) sliced per category ``k``: per image and category the 100 highest-scoring predictions
are kept (``MAX_DETS``), the kept ones are sorted by score across images (ties: image id, then the
order in the image, as COCOeval's stable sorts), crowd matches are ignored, and the interpolated
precision is read at COCO's 101 recall points (``RECALL_POINTS``). A category without non-crowd
ground truth has no AP (None), as COCOeval's -1.

Images without width/height are included (the matching is in normalized coordinates), whereas
``coco_metrics`` (pycocotools over pixel boxes) leaves them out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from datasets.fnfp.matching import COCO_IOU_THRESHOLDS, Match

# COCOeval's recall points 0:.01:1, built as pycocotools builds them.
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = 100
AP_DECIMALS = 6
CURVE_DECIMALS = 4


def top_per_category(codes: np.ndarray, scores: np.ndarray, limit: int = MAX_DETS) -> np.ndarray:
    """Mask of the ``limit`` highest-scoring predictions of each category (ties: the earlier one)."""
    keep = np.ones(len(codes), dtype=bool)
    if len(codes) <= limit:
        return keep
    order = np.lexsort((-scores, codes))  # by category, then score; stable, so ties keep their order
    sorted_codes = codes[order]
    starts = np.r_[0, np.flatnonzero(sorted_codes[1:] != sorted_codes[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(codes)]))
    keep[order] = np.arange(len(codes)) - group_start < limit
    return keep


def interpolated_precision(tp: np.ndarray, ignored: np.ndarray, num_gt: int) -> np.ndarray:
    """Precision (T x R) at ``RECALL_POINTS`` from predictions sorted by score, as ``COCOeval.accumulate``.

    ``tp``/``ignored`` are T x N; ignored predictions stay in the sequence, counting neither way.
    """
    tp_sum = np.cumsum(tp & ~ignored, axis=1).astype(float)
    fp_sum = np.cumsum(~tp & ~ignored, axis=1).astype(float)
    out = np.zeros((tp.shape[0], len(RECALL_POINTS)))
    count = tp.shape[1]
    if not count:
        return out
    for t in range(tp.shape[0]):
        recall = tp_sum[t] / num_gt
        precision = tp_sum[t] / (fp_sum[t] + tp_sum[t] + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        inds = np.searchsorted(recall, RECALL_POINTS, side="left")
        reached = inds < count
        out[t, reached] = precision[inds[reached]]
    return out


class CategoryAccumulator:
    """One prediction set's predictions as the images are read; ``result`` computes the metrics."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._num_pred: dict[str, int] = {}
        self._chunks: list[tuple[np.ndarray, ...]] = []

    def add(self, image_id: int, cats: Sequence[str], scores: np.ndarray, match: Match) -> None:
        """One image's predictions of the set (``match`` made with ``all_thresholds``)."""
        if not len(cats):
            return
        if match.tp_iou is None or match.ignored_iou is None:
            raise ValueError("per-category metrics need the matching at every IoU threshold")
        for cat in cats:
            self._num_pred[cat] = self._num_pred.get(cat, 0) + 1
        codes = np.fromiter((self._codes.setdefault(cat, len(self._codes)) for cat in cats), np.int64, len(cats))
        keep = top_per_category(codes, scores)
        index = np.flatnonzero(keep)
        self._chunks.append(
            (
                codes[keep],
                scores[keep],
                np.full(len(index), image_id, dtype=np.int64),
                index,
                match.tp_iou[:, keep],
                match.ignored_iou[:, keep],
            )
        )

    def result(self, num_gt: dict[str, int]) -> list[dict]:
        """``[{category_id, num_gt, num_pred, ap, ap50, pr_curve}]`` for every category with ground
        truth or predictions, by category id. ``pr_curve``: precision at IoU .50 at the recall points
        0, .01, ..., 1, its trailing zeros (recall never reached) left out; None without ground truth."""
        categories = sorted(set(num_gt) | set(self._num_pred))
        by_code = self._sorted_by_category()
        out = []
        for cat in categories:
            gt_count = num_gt.get(cat, 0)
            entry = {"category_id": cat, "num_gt": gt_count, "num_pred": self._num_pred.get(cat, 0)}
            if not gt_count:
                out.append({**entry, "ap": None, "ap50": None, "pr_curve": None})
                continue
            code = self._codes.get(cat)
            tp, ignored = by_code.get(code, (np.zeros((len(COCO_IOU_THRESHOLDS), 0), bool),) * 2)
            precision = interpolated_precision(tp, ignored, gt_count)
            curve = np.round(precision[0], CURVE_DECIMALS)
            reached = np.flatnonzero(curve)
            out.append(
                {
                    **entry,
                    "ap": round(float(precision.mean()), AP_DECIMALS),
                    "ap50": round(float(precision[0].mean()), AP_DECIMALS),
                    "pr_curve": curve[: reached[-1] + 1 if len(reached) else 0].tolist(),
                }
            )
        return out

    def _sorted_by_category(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per category code, its (tp, ignored) columns in COCOeval's order: score descending, then
        image id, then the order in the image."""
        if not self._chunks:
            return {}
        codes, scores, image_ids, index, tp, ignored = (
            np.concatenate(part, axis=-1) for part in zip(*self._chunks, strict=True)
        )
        order = np.lexsort((index, image_ids, -scores, codes))
        codes, tp, ignored = codes[order], tp[:, order], ignored[:, order]
        bounds = np.r_[0, np.flatnonzero(codes[1:] != codes[:-1]) + 1, len(codes)]
        return {
            int(codes[start]): (tp[:, start:end], ignored[:, start:end]) for start, end in itertools.pairwise(bounds)
        }
