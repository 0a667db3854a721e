"""The confusion matrix of a prediction set at one confidence threshold, from the FN/FP matching.

Rows are predicted categories, columns the ground truth's, each with a "background" slot:

- a prediction matched to a GT box of its category (the FN/FP matching, IoU >= .5) counts on the
  diagonal;
- then, per image, the predictions left unmatched take, by descending confidence, the unmatched GT
  box of *another* category with the highest IoU >= .5 (a confusion, off the diagonal);
- predictions still unmatched count in the background column (false detections), GT boxes still
  unmatched in the background row (missed).

Only predictions with confidence >= the threshold count, the same ones the FN/FP results count as
valid at that threshold, so the off-diagonal cells of a predicted category's row add up to its FPs
there and those of a GT category's column to its FNs. Crowd GT boxes are never counted; a
prediction ignored for covering a crowd region of its category is not counted either (as in COCO).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from datasets.fnfp.matching import EPS, IOU_THRESHOLD, Match

BACKGROUND = None  # the category of the background row and column while counting


class ConfusionAccumulator:
    """One prediction set's confusion counts over the images, at ``conf_threshold``."""

    def __init__(self, conf_threshold: float) -> None:
        self.conf_threshold = conf_threshold
        self.counts: Counter[tuple[str | None, str | None]] = Counter()  # (predicted, actual) -> count

    def add(
        self,
        gt_cats: Sequence[str],
        gt_crowd: Sequence[bool],
        cats: Sequence[str],
        scores: np.ndarray,
        match: Match,
    ) -> None:
        """One image: its GT boxes and the set's predictions with their matching (``match.cross`` needed
        when the image has predictions)."""
        valid = scores >= self.conf_threshold - EPS
        gt_left = {g for g, crowd in enumerate(gt_crowd) if not crowd}
        for g in list(gt_left):
            d = int(match.gt_match[g]) if len(match.gt_match) else -1
            if d >= 0 and valid[d]:
                self.counts[gt_cats[g], gt_cats[g]] += 1
                gt_left.discard(g)
        dt_left = np.flatnonzero(valid & ~match.tp & ~match.ignored)
        if len(dt_left) and gt_left:
            if match.cross is None:
                raise ValueError("the confusion matrix needs the cross-category pairs of the matching")
            pairs: dict[int, list[tuple[int, float]]] = {}
            for d, g, iou in zip(*(part.tolist() for part in match.cross), strict=True):
                pairs.setdefault(d, []).append((g, iou))
            taken_dt = set()
            for d in dt_left[np.argsort(-scores[dt_left], kind="mergesort")].tolist():
                best, best_iou = -1, min(IOU_THRESHOLD, 1 - 1e-10)
                for g, iou in pairs.get(d, ()):
                    if g in gt_left and iou >= best_iou:  # >=: on a tie the later GT, as the matching
                        best, best_iou = g, iou
                if best >= 0:
                    self.counts[cats[d], gt_cats[best]] += 1
                    gt_left.discard(best)
                    taken_dt.add(d)
            dt_left = [d for d in dt_left.tolist() if d not in taken_dt]
        for d in dt_left:
            self.counts[cats[int(d)], BACKGROUND] += 1
        for g in gt_left:
            self.counts[BACKGROUND, gt_cats[g]] += 1

    def result(self, order: Sequence[str] = ()) -> dict:
        """``{iou_threshold, conf_threshold, categories, cells}``: ``categories`` are category ids
        (those in ``order`` first, in that order, then the others by id); ``cells`` the non-zero
        counts ``{predicted, actual, count}``, indexes into ``categories``, ``len(categories)``
        standing for the background."""
        seen = {cat for pair in self.counts for cat in pair if cat is not BACKGROUND}
        categories = [cat for cat in order if cat in seen]
        categories += sorted(seen - set(categories))
        index = {cat: i for i, cat in enumerate(categories)}
        index[BACKGROUND] = len(categories)
        ordered = sorted(self.counts.items(), key=lambda item: (index[item[0][0]], index[item[0][1]]))
        cells = [
            {"predicted": index[pred], "actual": index[actual], "count": count} for (pred, actual), count in ordered
        ]
        return {
            "iou_threshold": IOU_THRESHOLD,
            "conf_threshold": self.conf_threshold,
            "categories": categories,
            "cells": cells,
        }
