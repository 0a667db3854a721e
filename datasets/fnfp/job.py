"""The FN/FP job over a dataset: read every image once, compute thresholds, write each image's results.

Each image is written with a conditional update on the revision it was read at
(``datasets.store.REVISION``, renewed by every write of an image's objects), so a concurrent edit is
not lost: that image is re-read and recomputed instead.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from datasets import jobs, store
from datasets.fnfp.analysis import EMPTY_ANALYSIS, PerCategory
from datasets.fnfp.matching import (
    COUNTERS,
    ImageMatches,
    image_updates,
    match_document,
    precision_thresholds,
)
from datasets.fnfp.metrics import CocoInputs
from datasets.importers.errors import JobFailed
from datasets.importers.spool import Spool
from datasets.models import Label
from dds_site.gcpause import collector_paused

JOB_KIND = "fnfp"
# DDS's processor name in detail_status, read by the comparisons endpoint.
DDS_PROCESSOR_KEY = "FNFPCalculator"
_WRITE_BATCH = 1000
_READ_BATCH = 1000
_RETRIES = 3
REDO_PROJECTION = {"objects": 1, store.REVISION: 1, **dict.fromkeys(COUNTERS, 1)}

# Seams for tests that interleave other work with the job or make a write fail. ``after_collect``
# hooks get the dataset id once every image was read and matched, before any result is written;
# ``before_results_write`` hooks get each non-empty batch of ``store.GuardedSet`` on the writer thread.
after_collect: list[Callable[[str], None]] = []
before_results_write: list[Callable[[list[store.GuardedSet]], None]] = []


@dataclass
class ReadImage:
    """What pass 1 keeps of an image for pass 2: its matching and the state it was read in."""

    matches: ImageMatches
    objects: list[dict]
    counters: dict
    revision: object  # None for an image never written here (e.g. by DDS)

    @classmethod
    def of(cls, document: dict, pred_label_ids: Iterable[str], *, all_thresholds: bool = False) -> ReadImage:
        return cls(
            match_document(document, pred_label_ids, all_thresholds=all_thresholds),
            document.get("objects") or [],
            {key: document.get(key) for key in COUNTERS},
            document.get(store.REVISION),
        )


def guarded_update(image: ReadImage, thresholds: dict[str, list[dict]], single_set: bool) -> store.GuardedSet | None:
    """The write of one image's results, applied only if it is still at the revision read; None if
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
    if new_objects == image.objects and all(image.counters[key] == counters[key] for key in COUNTERS):
        return None
    return store.GuardedSet(image.matches.image_id, image.revision, {"objects": new_objects, **counters})


@dataclass
class FnFpResult:
    dataset_id: str
    num_images: int
    labels: dict[str, dict]  # label id -> {name, compare_precisions, coco_metrics}
    retried_images: int = 0
    # label id -> {"category_metrics", "confusion_matrix"} as stored on the Label (empty when not computed)
    analysis: dict[str, dict] = field(default_factory=dict)


def prediction_labels(dataset_id: str) -> dict[str, str]:
    """``{label id: name}`` of the dataset's prediction sets."""
    return dict(Label.objects.filter(dataset_id=dataset_id, type="Pred").values_list("pk", "name"))


def _collect(
    dataset_id: str,
    label_ids: list[str],
    spool: Spool,
    progress: Callable[[int], None] | None,
    coco: CocoInputs | None = None,
    per_category: PerCategory | None = None,
):
    """Pass 1: match every image against every set (kept in the spool); gather what makes the
    thresholds, the COCO metrics' inputs when ``coco`` is given, and the per-category metrics'
    when ``per_category`` is (the matching then runs at every COCO IoU threshold)."""
    scores = {label: [] for label in label_ids}
    tps = {label: [] for label in label_ids}
    ignored = {label: [] for label in label_ids}
    num_gt = 0
    count = 0
    # No projection: the server answers whole documents faster than projected ones.
    documents = _prefetched(store.image_cursor(dataset_id, batch_size=_READ_BATCH))
    for count, document in enumerate(documents, start=1):
        image = ReadImage.of(document, label_ids, all_thresholds=per_category is not None)
        matches = image.matches
        if per_category is not None:
            per_category.add(matches)
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
    dataset_id: str,
    thresholds: dict[str, list[dict]],
    spool: Spool,
    progress: Callable[[int], None] | None,
    observe: Callable[[ImageMatches], None] | None = None,
) -> int:
    """Pass 2: per-image results from the spool, written with guarded updates; returns images redone.

    A ``store.BackgroundWriter`` sends each batch while the next one is computed. In a batch where
    some image changed after it was read, the images that do not carry the revision written for
    them are redone afterwards, one at a time from a fresh read.
    """
    single = len(thresholds) == 1
    set_guarded = store.guarded_setter(dataset_id)
    conflicts: list[list[store.GuardedSet]] = []

    def updates_of(batch: list[ReadImage]) -> list[store.GuardedSet]:
        updates = (guarded_update(image, thresholds, single) for image in batch)
        return [update for update in updates if update is not None]

    def write(updates: list[store.GuardedSet]) -> None:
        if not updates:
            return
        for hook in before_results_write:
            hook(updates)
        if set_guarded(updates) != len(updates):
            conflicts.append(updates)

    batch: list[ReadImage] = []
    with store.BackgroundWriter(write, name="dds-fnfp-writer") as writer:
        for count, (_image_id, entry) in enumerate(spool.iter_images(), start=1):
            if observe is not None:
                observe(entry.matches)
            batch.append(entry)
            if len(batch) >= _WRITE_BATCH:
                writer.put(updates_of(batch))
                batch = []
                if progress:
                    progress(count)
        writer.put(updates_of(batch))
    return sum(_redo(dataset_id, updates, thresholds) for updates in conflicts)


def _redo(dataset_id: str, updates: list[store.GuardedSet], thresholds: dict[str, list[dict]]) -> int:
    """Recompute and write, from a fresh read, the images of a batch whose guard failed; returns how many."""
    written = {update.image_id: update.written for update in updates}
    current = store.image_revisions(dataset_id, written)
    # An image written again since also shows another revision: redoing it is harmless.
    missed = set(written) - {image_id for image_id, revision in current.items() if revision == written[image_id]}
    return sum(_redo_image(dataset_id, image_id, thresholds) for image_id in sorted(missed))


def _redo_image(dataset_id: str, image_id: int, thresholds: dict[str, list[dict]]) -> bool:
    for _attempt in range(_RETRIES):
        document = store.image_document(dataset_id, image_id, REDO_PROJECTION)
        if document is None:
            return False
        update = guarded_update(ReadImage.of(document, list(thresholds)), thresholds, len(thresholds) == 1)
        if update is None or store.image_set_guarded(dataset_id, update):
            return True
    return False


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


def calculate_fnfp(
    dataset_id: str,
    *,
    with_coco_metrics: bool = True,
    with_category_metrics: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> FnFpResult:
    """Run the FN/FP analysis of every prediction set of the dataset; see ``datasets.fnfp``.

    ``with_category_metrics``: also per-category AP/AP50/PR curve and the confusion matrix of each
    set (``Label.category_metrics``/``confusion_matrix``); without, those of an earlier run are
    cleared, as they may describe other data.

    Progress and outcome go to ``detail_status["fnfp"]`` (and DDS's ``FNFPCalculator``);
    the dataset's own ``status`` is never changed (DDS marked the whole dataset failed).
    """
    record = jobs.job_start(dataset_id, JOB_KIND)
    if record is None:
        jobs.mark_stale_failed(dataset_id, JOB_KIND)
        record = jobs.job_start(dataset_id, JOB_KIND)
        if record is None:
            raise JobFailed("An FN/FP analysis of this dataset is already running.", code=409000)
    store.dataset_set_detail(dataset_id, DDS_PROCESSOR_KEY, "processing")
    try:
        with record.heartbeat(), collector_paused():
            result = _calculate(dataset_id, record, with_coco_metrics, with_category_metrics, progress)
    except BaseException as exc:
        record.fail(str(exc) or type(exc).__name__)
        store.dataset_set_detail(dataset_id, DDS_PROCESSOR_KEY, "failed")
        raise
    store.dataset_set_detail(dataset_id, DDS_PROCESSOR_KEY, "ready")
    record.finish(num_images=result.num_images, labels=result.labels, retried_images=result.retried_images)
    return result


def _thresholds(label_ids: list[str], num_gt: int, scores: dict, tps: dict, ignored: dict) -> dict[str, list[dict]]:
    thresholds: dict[str, list[dict]] = {}
    for label in label_ids:
        if scores[label]:
            thresholds[label] = precision_thresholds(
                np.concatenate(scores[label]), np.concatenate(tps[label]), np.concatenate(ignored[label]), num_gt
            )
        else:
            thresholds[label] = []
    return thresholds


def _calculate(
    dataset_id: str, record: jobs.JobRecord, with_coco_metrics: bool, with_category_metrics: bool, progress
) -> FnFpResult:
    labels = prediction_labels(dataset_id)
    label_ids = sorted(labels)
    # Each image is read once and its results written once: 2 steps per image. The estimate
    # stands in for the count until the read pass has counted them.
    total = store.image_count(dataset_id, estimate=True)

    def report(done: int, *, force: bool = False) -> None:
        record.progress(done, 2 * total, force=force)
        if progress:
            progress(done, 2 * total)

    # The COCO metrics' inputs are gathered in the same read of the dataset.
    coco = CocoInputs(label_ids) if with_coco_metrics else None
    per_category = PerCategory(label_ids) if with_category_metrics else None
    with Spool() as spool:
        count, num_gt, scores, tps, ignored = _collect(dataset_id, label_ids, spool, report, coco, per_category)
        total = count
        report(count)
        for hook in after_collect:
            hook(dataset_id)
        thresholds = _thresholds(label_ids, num_gt, scores, tps, ignored)
        observe = per_category.confusion_pass(thresholds) if per_category is not None else None
        retried = _write_results(dataset_id, thresholds, spool, lambda done: report(count + done), observe)
        report(2 * count, force=True)
    analysis = per_category.results(dataset_id) if per_category is not None else {}
    out: dict[str, dict] = {}
    for label in label_ids:
        metrics = coco.metrics(label) if coco is not None else None
        fields = {"compare_precisions": thresholds[label], **analysis.get(label, EMPTY_ANALYSIS)}
        if metrics is not None:
            fields["coco_metrics"] = metrics
        Label.objects.filter(pk=label).update(**fields)
        out[label] = {"name": labels[label], "compare_precisions": thresholds[label], "coco_metrics": metrics}
    return FnFpResult(dataset_id=dataset_id, num_images=count, labels=out, retried_images=retried, analysis=analysis)
