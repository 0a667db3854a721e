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

Every run recomputes all of it from the annotations (re-runs are idempotent, and write only the
images whose results changed). Each image is written with a conditional update on the revision
it was read at (``datasets.images.REVISION``, renewed by every write of an image's objects), so a
concurrent edit is not lost: that image is re-read and recomputed instead.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from pymongo import UpdateOne

from datasets import jobs
from datasets.images import REVISION, image_collection_name, new_revision
from datasets.importers.errors import JobFailed
from datasets.importers.spool import Spool
from dds_site import mongo
from dds_site.gcpause import collector_paused

logger = logging.getLogger(__name__)

JOB_KIND = "fnfp"
# DDS's processor name in detail_status, read by the comparisons endpoint.
DDS_PROCESSOR_KEY = "FNFPCalculator"
IOU_THRESHOLD = 0.5
PRECISION_LEVELS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
_EPS = 1e-9
_WRITE_BATCH = 1000
_READ_BATCH = 1000
_RETRIES = 3


def level_key(precision: float) -> str:
    """DDS's key of a precision level: ``0.9`` -> ``"90"``."""
    return str(round(precision * 100))


def gt_result_key(label_id: str, level: str) -> str:
    """Key of a GT object's result against one prediction set at one level."""
    return f"{label_id}_{level}"


# --- the algorithm (pure numpy) -----------------------------------------------------------------


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
    """Matching of one image's predictions (D) against its GT boxes (G)."""

    tp: np.ndarray  # bool (D)
    ignored: np.ndarray  # bool (D): matched a crowd region
    gt_match: np.ndarray  # int (G): index of the matching prediction, -1 if none


def match_image(
    gt_boxes: np.ndarray,
    gt_cats: np.ndarray,
    gt_crowd: np.ndarray,
    dt_boxes: np.ndarray,
    dt_cats: np.ndarray,
    dt_scores: np.ndarray,
    iou_threshold: float = IOU_THRESHOLD,
) -> Match:
    """Greedy COCO-style matching of predictions to same-category GT boxes."""
    num_dt, num_gt = len(dt_boxes), len(gt_boxes)
    tp = np.zeros(num_dt, dtype=bool)
    ignored = np.zeros(num_dt, dtype=bool)
    gt_match = np.full(num_gt, -1, dtype=np.int64)
    if not num_dt or not num_gt:
        return Match(tp, ignored, gt_match)
    iou = box_iou(dt_boxes, gt_boxes, gt_crowd)
    iou[dt_cats[:, None] != gt_cats[None, :]] = -1.0
    threshold = min(iou_threshold, 1 - 1e-10)
    crowd = gt_crowd.tolist()
    taken = [False] * num_gt
    rows = iou.tolist()
    for d in np.argsort(-dt_scores, kind="mergesort").tolist():
        row = rows[d]
        best, best_iou = -1, threshold
        for g in range(num_gt):
            if crowd[g] or taken[g]:
                continue
            if row[g] >= best_iou:  # >=: on a tie the later GT wins, as in COCOeval
                best, best_iou = g, row[g]
        if best >= 0:
            taken[best] = True
            tp[d] = True
            gt_match[best] = d
            continue
        if any(crowd[g] and row[g] >= threshold for g in range(num_gt)):
            ignored[d] = True
    return Match(tp, ignored, gt_match)


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
        reached = np.nonzero(envelope >= level - _EPS)[0]
        if len(reached):
            last = reached[-1]
            out.append({"precision": level, "threshold": float(scores[last]), "recall": float(recall[last])})
    return out


# --- reading objects out of image documents -----------------------------------------------------


def _box(obj: dict) -> list[float] | None:
    box = obj.get("bounding_box")
    if not box:
        return None
    try:
        return [float(box["xmin"]), float(box["ymin"]), float(box["xmax"]), float(box["ymax"])]
    except (KeyError, TypeError, ValueError):
        return None


_FULL_PROJECTION = {"objects": 1, "width": 1, "height": 1}
_COUNTERS = ("num_fn", "num_fp", "num_fn_cat", "num_fp_cat")
_REDO_PROJECTION = {"objects": 1, REVISION: 1, **dict.fromkeys(_COUNTERS, 1)}


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


def match_document(document: dict, pred_label_ids: Iterable[str]) -> ImageMatches:
    """Match every prediction set of one image document against its GT boxes."""
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
        box = _box(obj)
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
            valid = scores >= entry["threshold"] - _EPS
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


@dataclass
class ReadImage:
    """What pass 1 keeps of an image for pass 2: its matching and the state it was read in."""

    matches: ImageMatches
    objects: list[dict]
    counters: dict
    revision: object  # None for an image never written here (e.g. by DDS)

    @classmethod
    def of(cls, document: dict, pred_label_ids: Iterable[str]) -> ReadImage:
        return cls(
            match_document(document, pred_label_ids),
            document.get("objects") or [],
            {key: document.get(key) for key in _COUNTERS},
            document.get(REVISION),
        )


def _guarded_update(image: ReadImage, thresholds: dict[str, list[dict]], single_set: bool) -> tuple[dict, dict] | None:
    """Filter + update of one image, applied only if it is still at the revision read; None if
    the image already holds exactly these results (a re-run then writes nothing).

    The whole ``objects`` array is rewritten: one path is much cheaper for the server than one
    dotted path per object.
    """
    results, matched, counters = image_updates(image.matches, thresholds, single_set)
    new_objects = []
    for pos, obj in enumerate(image.objects):
        if pos in results:
            obj = {**obj, "compare_result": results[pos], "matched_det_idx": matched[pos]}
        new_objects.append(obj)
    if new_objects == image.objects and all(image.counters[key] == counters[key] for key in _COUNTERS):
        return None
    condition = {"_id": image.matches.image_id, REVISION: image.revision}
    return condition, {"$set": {"objects": new_objects, **counters, REVISION: new_revision()}}


# --- the job over a dataset ---------------------------------------------------------------------


@dataclass
class FnFpResult:
    dataset_id: str
    num_images: int
    labels: dict[str, dict]  # label id -> {name, compare_precisions, coco_metrics}
    retried_images: int = 0


def _prediction_labels(dataset_id: str) -> dict[str, str]:
    return {
        doc["_id"]: doc["name"]
        for doc in mongo.get_collection("labels").find({"dataset_id": dataset_id, "type": "Pred"}, {"name": 1})
    }


def _collect(
    dataset_id: str,
    label_ids: list[str],
    spool: Spool,
    progress: Callable[[int], None] | None,
    coco: CocoInputs | None = None,
):
    """Pass 1: match every image against every set (kept in the spool); gather what makes the
    thresholds, and the COCO metrics' inputs when ``coco`` is given."""
    scores = {label: [] for label in label_ids}
    tps = {label: [] for label in label_ids}
    ignored = {label: [] for label in label_ids}
    num_gt = 0
    collection = mongo.get_collection(image_collection_name(dataset_id))
    count = 0
    # No projection: the server answers whole documents faster than projected ones.
    for count, document in enumerate(_prefetched(collection.find({}, batch_size=_READ_BATCH)), start=1):
        image = ReadImage.of(document, label_ids)
        matches = image.matches
        spool.add_image(matches.image_id, image)
        if coco is not None:
            coco.add(document)
        num_gt += sum(1 for crowd in matches.gt_crowd if not crowd)
        for label, (_positions, _cats, set_scores, match) in matches.sets.items():
            scores[label].append(set_scores)
            tps[label].append(match.tp)
            ignored[label].append(match.ignored)
        if progress and count % 1000 == 0:
            progress(count)
    return count, num_gt, scores, tps, ignored


def _write_results(
    dataset_id: str, thresholds: dict[str, list[dict]], spool: Spool, progress: Callable[[int], None] | None
) -> int:
    """Pass 2: per-image results from the spool, written with guarded updates; returns images redone.

    A writer thread sends each batch while the next one is computed. In a batch where some
    image changed after it was read, the images that do not carry the revision written for them
    are redone afterwards, one at a time from a fresh read.
    """
    collection = mongo.get_collection(image_collection_name(dataset_id))
    single = len(thresholds) == 1
    label_ids = list(thresholds)

    def updates_of(batch: list[ReadImage]) -> list[tuple[int, tuple]]:
        updates = ((image.matches.image_id, _guarded_update(image, thresholds, single)) for image in batch)
        return [(image_id, update) for image_id, update in updates if update is not None]

    def redo(updates: list[tuple[int, tuple]]) -> int:
        written = {image_id: update[1]["$set"][REVISION] for image_id, update in updates}
        current = collection.find({"_id": {"$in": list(written)}}, {REVISION: 1})
        # An image written again since also shows another revision: redoing it is harmless.
        missed = set(written) - {doc["_id"] for doc in current if doc.get(REVISION) == written[doc["_id"]]}
        redone = 0
        for image_id in sorted(missed):
            for _attempt in range(_RETRIES):
                document = collection.find_one({"_id": image_id}, _REDO_PROJECTION)
                if document is None:
                    break
                update = _guarded_update(ReadImage.of(document, label_ids), thresholds, single)
                if update is None or collection.update_one(*update).matched_count:
                    redone += 1
                    break
        return redone

    writer = _BulkWriter(collection)
    writer.start()
    batch: list[ReadImage] = []
    count = 0
    try:
        for count, (_image_id, entry) in enumerate(spool.iter_images(), start=1):
            batch.append(entry)
            if len(batch) >= _WRITE_BATCH:
                writer.put(updates_of(batch))
                batch = []
                if progress:
                    progress(count)
        writer.put(updates_of(batch))
    except BaseException:
        writer.close(reraise=False)  # the first failure is the one reported
        raise
    writer.close()
    return sum(redo(updates) for updates in writer.conflicts)


class _BulkWriter(threading.Thread):
    """Sends guarded update batches on its own thread; keeps the batches where a guard failed."""

    def __init__(self, collection) -> None:
        super().__init__(name="dds-fnfp-writer", daemon=True)
        self._collection = collection
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self.conflicts: list[list[tuple[int, tuple]]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            updates = self._queue.get()
            if updates is None:
                return
            if self.error is not None or not updates:
                continue
            try:
                requests = [UpdateOne(*update) for _image_id, update in updates]
                if self._collection.bulk_write(requests, ordered=False).matched_count != len(updates):
                    self.conflicts.append(updates)
            except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
                self.error = exc

    def put(self, updates: list[tuple[int, tuple]]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(updates)

    def close(self, *, reraise: bool = True) -> None:
        self._queue.put(None)
        self.join()
        if reraise and self.error is not None:
            raise self.error


def _prefetched(cursor, depth: int = 2) -> Iterator[dict]:
    """Iterate ``cursor`` on a helper thread, so the server's answers overlap the matching here."""
    chunks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def offer(item: list[dict] | None) -> bool:
        while not stop.is_set():  # the consumer may stop early (an exception there)
            with contextlib.suppress(queue.Full):
                chunks.put(item, timeout=0.1)
                return True
        return False

    def read() -> None:
        chunk: list[dict] = []
        try:
            for document in cursor:
                chunk.append(document)
                if len(chunk) >= _READ_BATCH:
                    if not offer(chunk):
                        return
                    chunk = []
            offer(chunk)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            failure.append(exc)
        finally:
            cursor.close()
            offer(None)

    reader = threading.Thread(target=read, name="dds-fnfp-reader", daemon=True)
    reader.start()
    try:
        while (chunk := chunks.get()) is not None:
            yield from chunk
    finally:
        stop.set()
        reader.join()
    if failure:
        raise failure[0]


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
            box = _box(obj)
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
        for document in mongo.get_collection(image_collection_name(dataset_id)).find({}, _FULL_PROJECTION):
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


def calculate_fnfp(
    dataset_id: str,
    *,
    with_coco_metrics: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> FnFpResult:
    """Run the FN/FP analysis of every prediction set of the dataset; see the module docstring.

    Progress and outcome go to ``detail_status["fnfp"]`` (and DDS's ``FNFPCalculator``);
    the dataset's own ``status`` is never changed (DDS marked the whole dataset failed).
    """
    record = jobs.job_start(dataset_id, JOB_KIND)
    if record is None:
        jobs.mark_stale_failed(dataset_id, JOB_KIND)
        record = jobs.job_start(dataset_id, JOB_KIND)
        if record is None:
            raise JobFailed("An FN/FP analysis of this dataset is already running.", code=409000)
    datasets = mongo.get_collection("datasets")
    datasets.update_one({"_id": dataset_id}, {"$set": {f"detail_status.{DDS_PROCESSOR_KEY}": "processing"}})
    try:
        with record.heartbeat(), collector_paused():
            result = _calculate(dataset_id, record, with_coco_metrics, progress)
    except BaseException as exc:
        record.fail(str(exc) or type(exc).__name__)
        datasets.update_one({"_id": dataset_id}, {"$set": {f"detail_status.{DDS_PROCESSOR_KEY}": "failed"}})
        raise
    datasets.update_one({"_id": dataset_id}, {"$set": {f"detail_status.{DDS_PROCESSOR_KEY}": "ready"}})
    record.finish(num_images=result.num_images, labels=result.labels, retried_images=result.retried_images)
    return result


def _calculate(dataset_id, record, with_coco_metrics, progress) -> FnFpResult:
    labels = _prediction_labels(dataset_id)
    label_ids = sorted(labels)
    total = mongo.get_collection(image_collection_name(dataset_id)).estimated_document_count()

    def report(done: int) -> None:
        record.progress(done, 2 * total)
        if progress:
            progress(done, 2 * total)

    # The COCO metrics' inputs are gathered in the same read of the dataset.
    coco = CocoInputs(label_ids) if with_coco_metrics else None
    with Spool() as spool:
        count, num_gt, scores, tps, ignored = _collect(dataset_id, label_ids, spool, report, coco)
        thresholds: dict[str, list[dict]] = {}
        for label in label_ids:
            if scores[label]:
                thresholds[label] = precision_thresholds(
                    np.concatenate(scores[label]), np.concatenate(tps[label]), np.concatenate(ignored[label]), num_gt
                )
            else:
                thresholds[label] = []
        retried = _write_results(dataset_id, thresholds, spool, lambda done: report(count + done))
    out: dict[str, dict] = {}
    for label in label_ids:
        metrics = coco.metrics(label) if coco is not None else None
        fields = {"compare_precisions": thresholds[label]}
        if metrics is not None:
            fields["coco_metrics"] = metrics
        mongo.get_collection("labels").update_one({"_id": label}, {"$set": fields})
        out[label] = {"name": labels[label], "compare_precisions": thresholds[label], "coco_metrics": metrics}
    return FnFpResult(dataset_id=dataset_id, num_images=count, labels=out, retried_images=retried)
