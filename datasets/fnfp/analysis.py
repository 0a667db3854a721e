"""What the FN/FP job adds per prediction set beyond the FN/FP results: per-category AP, AP50 and
PR curve (``categories``) and the confusion matrix (``confusion``), stored on the Label as
``category_metrics`` and ``confusion_matrix``.

Both come from the job's own matching (run at every COCO IoU threshold in the same pass), in the
job's two passes over the images: the AP inputs while reading, the confusion counts while writing,
once the confidence threshold is known.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from datasets.fnfp.categories import MAX_DETS, RECALL_POINTS, CategoryAccumulator
from datasets.fnfp.confusion import ConfusionAccumulator
from datasets.fnfp.matching import ImageMatches, Match
from datasets.models import Category

# The precision level whose confidence threshold (``compare_precisions``) the confusion matrix is
# counted at; when a set never reaches it, every prediction counts (threshold 0).
CONFUSION_PRECISION = 0.5

EMPTY_ANALYSIS = {"category_metrics": None, "confusion_matrix": None}


class PerCategory:
    """The per-category metrics and confusion matrices of every set, gathered as the passes go:
    AP inputs while reading (pass 1, which then keeps only the matching at IoU .5 in the spool),
    the confusion counts while writing (pass 2, once the confidence threshold is known)."""

    def __init__(self, label_ids: list[str]) -> None:
        self.label_ids = label_ids
        self.ap = {label: CategoryAccumulator() for label in label_ids}
        self.num_gt: dict[str, int] = {}
        self.confusion: dict[str, ConfusionAccumulator] = {}
        self.levels: dict[str, float | None] = {}

    def add(self, matches: ImageMatches) -> None:
        for cat, crowd in zip(matches.gt_cats, matches.gt_crowd, strict=True):
            if not crowd:
                self.num_gt[cat] = self.num_gt.get(cat, 0) + 1
        for label, (positions, cats, set_scores, match) in list(matches.sets.items()):
            self.ap[label].add(matches.image_id, cats, set_scores, match)
            matches.sets[label] = (positions, cats, set_scores, match.lean())

    def confusion_pass(self, thresholds: dict[str, list[dict]]) -> Callable[[ImageMatches], None]:
        for label in self.label_ids:
            level = next((e for e in thresholds[label] if e["precision"] == CONFUSION_PRECISION), None)
            self.levels[label] = CONFUSION_PRECISION if level else None
            self.confusion[label] = ConfusionAccumulator(level["threshold"] if level else 0.0)

        def observe(matches: ImageMatches) -> None:
            no_match = Match(np.zeros(0, bool), np.zeros(0, bool), np.full(len(matches.gt_cats), -1))
            for label, accumulator in self.confusion.items():
                _positions, cats, set_scores, match = matches.sets.get(label, ([], [], np.zeros(0), no_match))
                accumulator.add(matches.gt_cats, matches.gt_crowd, cats, set_scores, match)

        return observe

    def results(self, dataset_id: str) -> dict[str, dict]:
        by_name = Category.objects.filter(dataset_id=dataset_id).order_by("name").values_list("pk", flat=True)
        order = list(by_name)
        rank = {cat: i for i, cat in enumerate(order)}
        out = {}
        for label in self.label_ids:
            categories = sorted(
                self.ap[label].result(self.num_gt),
                key=lambda e: (rank.get(e["category_id"], len(rank)), e["category_id"]),
            )
            confusion = self.confusion[label].result(order) if label in self.confusion else None
            if confusion is not None:
                confusion["precision_level"] = self.levels[label]
            out[label] = {
                "category_metrics": {
                    "max_dets": MAX_DETS,
                    "recall_points": len(RECALL_POINTS),
                    "categories": categories,
                },
                "confusion_matrix": confusion,
            }
        return out
