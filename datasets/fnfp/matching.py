"""FN/FP matching of predictions to ground truth, per image, and the per-image results (pure numpy).

See ``datasets.fnfp`` for the rules (COCOeval's greedy matching, crowd regions, precision levels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

IOU_THRESHOLD = 0.5
PRECISION_LEVELS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
EPS = 1e-9
COUNTERS = ("num_fn", "num_fp", "num_fn_cat", "num_fp_cat")
# COCOeval's IoU thresholds .50:.05:.95, built as pycocotools builds them (bit-identical values).
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)


def level_key(precision: float) -> str:
    """DDS's key of a precision level: ``0.9`` -> ``"90"``."""
    return str(round(precision * 100))


def gt_result_key(label_id: str, level: str) -> str:
    """Key of a GT object's result against one prediction set at one level."""
    return f"{label_id}_{level}"


def box_iou(dt: np.ndarray, gt: np.ndarray, gt_crowd: np.ndarray) -> np.ndarray:
    """IoU matrix (D x G) of ``[xmin, ymin, xmax, ymax]`` boxes; crowd GT: intersection / dt area (COCO)."""
    if not len(dt) or not len(gt):
        return np.zeros((len(dt), len(gt)))
    ix = np.clip(np.minimum(dt[:, None, 2], gt[None, :, 2]) - np.maximum(dt[:, None, 0], gt[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(dt[:, None, 3], gt[None, :, 3]) - np.maximum(dt[:, None, 1], gt[None, :, 1]), 0, None)
    inter = ix * iy
    dt_area = ((dt[:, 2] - dt[:, 0]) * (dt[:, 3] - dt[:, 1]))[:, None]
    gt_area = ((gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]))[None, :]
    union = np.where(gt_crowd[None, :], dt_area, dt_area + gt_area - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


@dataclass
class Match:
    """Matching of one image's predictions (D) against its GT boxes (G).

    ``tp``, ``ignored`` and ``gt_match`` are at IoU ``IOU_THRESHOLD`` (the FN/FP results). When
    asked for, the same greedy pass also fills ``tp_iou``/``ignored_iou`` (T x D) at each of
    ``COCO_IOU_THRESHOLDS`` (row 0 is ``tp``/``ignored``) and ``cross``: the (prediction, GT, IoU)
    pairs of different categories with IoU >= ``IOU_THRESHOLD``, GT not crowd (for the confusion
    matrix); both are None otherwise.
    """

    tp: np.ndarray  # bool (D)
    ignored: np.ndarray  # bool (D): matched a crowd region
    gt_match: np.ndarray  # int (G): index of the matching prediction, -1 if none
    tp_iou: np.ndarray | None = None  # bool (T x D)
    ignored_iou: np.ndarray | None = None  # bool (T x D)
    cross: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (dt index, gt index, IoU)

    def lean(self) -> Match:
        """Only what the per-image FN/FP results need (kept for the write pass)."""
        return Match(self.tp, self.ignored, self.gt_match, cross=self.cross)


def match_image(
    gt_boxes: np.ndarray,
    gt_cats: np.ndarray,
    gt_crowd: np.ndarray,
    dt_boxes: np.ndarray,
    dt_cats: np.ndarray,
    dt_scores: np.ndarray,
    iou_threshold: float = IOU_THRESHOLD,
    *,
    all_thresholds: bool = False,
) -> Match:
    """Greedy COCO-style matching of predictions to same-category GT boxes.

    With ``all_thresholds``, also at every IoU of ``COCO_IOU_THRESHOLDS`` (``iou_threshold`` must
    then be their first) and the cross-category pairs: the IoU matrix is computed once; at a
    higher threshold a prediction's candidates are a subset of those at ``iou_threshold``.
    """
    num_dt, num_gt = len(dt_boxes), len(gt_boxes)
    levels = COCO_IOU_THRESHOLDS if all_thresholds else np.array([iou_threshold])
    tp_iou = np.zeros((len(levels), num_dt), dtype=bool)
    ignored_iou = np.zeros((len(levels), num_dt), dtype=bool)
    gt_match = np.full(num_gt, -1, dtype=np.int64)
    cross = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)) if all_thresholds else None
    if not num_dt or not num_gt:
        return _match(tp_iou, ignored_iou, gt_match, cross, all_thresholds)
    iou = box_iou(dt_boxes, gt_boxes, gt_crowd)
    same = dt_cats[:, None] == gt_cats[None, :]
    limits = np.minimum(levels, 1 - 1e-10)
    if all_thresholds:
        d_idx, g_idx = np.nonzero(~same & ~gt_crowd[None, :] & (iou >= limits[0]))
        cross = (d_idx, g_idx, iou[d_idx, g_idx])
    iou[~same] = -1.0
    # Per prediction, the non-crowd GT it may take at the lowest threshold, in GT order.
    candidates: dict[int, list[int]] = {}
    for d, g in zip(*np.nonzero((iou >= limits[0]) & ~gt_crowd[None, :]), strict=True):
        candidates.setdefault(int(d), []).append(int(g))
    rows = iou.tolist()
    limit_list = limits.tolist()
    taken = [[False] * num_gt for _ in limit_list]
    for d in np.argsort(-dt_scores, kind="mergesort").tolist():
        cands = candidates.get(d)
        if not cands:
            continue
        row = rows[d]
        for t, limit in enumerate(limit_list):
            best, best_iou = -1, limit
            for g in cands:
                if not taken[t][g] and row[g] >= best_iou:  # >=: on a tie the later GT wins, as in COCOeval
                    best, best_iou = g, row[g]
            if best >= 0:
                taken[t][best] = True
                tp_iou[t, d] = True
                if t == 0:
                    gt_match[best] = d
    if gt_crowd.any():
        # Left unmatched but covering a same-category crowd region at that IoU: ignored.
        crowd_best = np.where(gt_crowd[None, :], iou, -1.0).max(axis=1)
        ignored_iou = (crowd_best[None, :] >= limits[:, None]) & ~tp_iou
    return _match(tp_iou, ignored_iou, gt_match, cross, all_thresholds)


def _match(tp_iou, ignored_iou, gt_match, cross, all_thresholds: bool) -> Match:
    if all_thresholds:
        return Match(tp_iou[0], ignored_iou[0], gt_match, tp_iou, ignored_iou, cross)
    return Match(tp_iou[0], ignored_iou[0], gt_match)


def precision_thresholds(scores: np.ndarray, tp: np.ndarray, ignored: np.ndarray, num_gt: int) -> list[dict]:
    """``[{precision, threshold, recall}]`` for each reachable level, highest precision first."""
    keep = ~ignored
    scores, tp = scores[keep], tp[keep]
    if not len(scores):
        return []
    order = np.argsort(-scores, kind="mergesort")
    scores, tp = scores[order], tp[order]
    tp_cum = np.cumsum(tp)
    precision = tp_cum / np.arange(1, len(tp) + 1)
    recall = tp_cum / num_gt if num_gt else np.zeros(len(tp))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    out = []
    for level in PRECISION_LEVELS:
        reached = np.nonzero(envelope >= level - EPS)[0]
        if len(reached):
            last = reached[-1]
            out.append({"precision": level, "threshold": float(scores[last]), "recall": float(recall[last])})
    return out


def box_of(obj: dict) -> list[float] | None:
    box = obj.get("bounding_box")
    if not box:
        return None
    try:
        return [float(box["xmin"]), float(box["ymin"]), float(box["xmax"]), float(box["ymax"])]
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class ImageMatches:
    """One image's GT boxes and, per prediction set, its predictions and their matching."""

    image_id: int
    num_objects: int
    scored: dict[int, str]  # position -> label id of every GT/Pred object (each gets a result)
    gt_pos: list[int]
    gt_cats: list[str]
    gt_crowd: list[bool]
    sets: dict[str, tuple[list[int], list[str], np.ndarray, Match]] = field(default_factory=dict)


def match_document(document: dict, pred_label_ids: Iterable[str], *, all_thresholds: bool = False) -> ImageMatches:
    """Match every prediction set of one image document against its GT boxes (``all_thresholds``:
    see ``match_image``)."""
    objects = document.get("objects") or []
    wanted = set(pred_label_ids)
    scored: dict[int, str] = {}
    gt_pos, gt_boxes, gt_cats, gt_crowd = [], [], [], []
    preds: dict[str, tuple[list, list, list, list]] = {}
    for pos, obj in enumerate(objects):
        label_type = obj.get("label_type")
        if label_type not in ("GT", "Pred"):
            continue
        scored[pos] = obj.get("label_id") or ""
        box = box_of(obj)
        if box is None:
            continue
        if label_type == "GT":
            gt_pos.append(pos)
            gt_boxes.append(box)
            gt_cats.append(obj.get("category_id") or "")
            gt_crowd.append(bool(obj.get("is_group")))
        elif obj.get("label_id") in wanted:
            entry = preds.setdefault(obj["label_id"], ([], [], [], []))
            entry[0].append(pos)
            entry[1].append(box)
            entry[2].append(obj.get("category_id") or "")
            entry[3].append(float(obj.get("conf", 1.0) or 0.0))
    result = ImageMatches(document["_id"], len(objects), scored, gt_pos, gt_cats, gt_crowd)
    gt_array = np.asarray(gt_boxes, dtype=float).reshape(-1, 4)
    crowd_array = np.asarray(gt_crowd, dtype=bool)
    for label_id, (positions, boxes, cats, scores) in preds.items():
        # Categories compared as small ints: one vocabulary per image.
        vocab = {name: i for i, name in enumerate(set(gt_cats) | set(cats))}
        score_array = np.asarray(scores, dtype=float)
        match = match_image(
            gt_array,
            np.asarray([vocab[c] for c in gt_cats], dtype=np.int64),
            crowd_array,
            np.asarray(boxes, dtype=float).reshape(-1, 4),
            np.asarray([vocab[c] for c in cats], dtype=np.int64),
            score_array,
            all_thresholds=all_thresholds,
        )
        result.sets[label_id] = (positions, cats, score_array, match)
    return result


def image_updates(
    m: ImageMatches, thresholds: dict[str, list[dict]], single_set: bool
) -> tuple[dict[int, dict], dict[int, int | None], dict]:
    """One image's results: ``compare_result`` and ``matched_det_idx`` by object position, and the counters."""
    results: dict[int, dict] = {pos: {} for pos in m.scored}
    matched: dict[int, int | None] = dict.fromkeys(m.scored)
    num_fn: dict = {}
    num_fp: dict = {}
    num_fn_cat: dict = {}
    num_fp_cat: dict = {}
    empty = ([], [], np.zeros(0), Match(np.zeros(0, bool), np.zeros(0, bool), np.full(len(m.gt_pos), -1)))
    for label_id, levels in thresholds.items():
        positions, cats, scores, match = m.sets.get(label_id, empty)
        fn_l, fp_l, fn_cat, fp_cat = {}, {}, {}, {}
        for entry in levels:
            key = level_key(entry["precision"])
            valid = scores >= entry["threshold"] - EPS
            fp = valid & ~match.tp & ~match.ignored
            fp_l[key] = int(fp.sum())
            fn_count = 0
            for g, pos in enumerate(m.gt_pos):
                if m.gt_crowd[g]:
                    continue
                d = int(match.gt_match[g])
                ok = d >= 0 and bool(valid[d])
                results[pos][gt_result_key(label_id, key)] = "OK" if ok else "FN"
                if single_set and ok:
                    matched[pos] = positions[d]
                if not ok:
                    fn_count += 1
                    counts = fn_cat.setdefault(m.gt_cats[g], {})
                    counts[key] = counts.get(key, 0) + 1
            fn_l[key] = fn_count
            for d, pos in enumerate(positions):
                if not valid[d] or match.ignored[d]:
                    continue
                results[pos][key] = "OK" if match.tp[d] else "FP"
                if fp[d]:
                    counts = fp_cat.setdefault(cats[d], {})
                    counts[key] = counts.get(key, 0) + 1
        num_fn[label_id], num_fp[label_id] = fn_l, fp_l
        num_fn_cat[label_id], num_fp_cat[label_id] = fn_cat, fp_cat
    counters = {"num_fn": num_fn, "num_fp": num_fp, "num_fn_cat": num_fn_cat, "num_fp_cat": num_fp_cat}
    return results, matched, counters
