"""Benchmark: COCO import through the importer framework versus raw ``insert_many``, and FN/FP.

Run as ``python bench/import_coco.py [--images N]``. Without ``MONGODB_URI`` an embedded server
with a temporary on-disk store is started for the run. A COCO file of N images x 10 objects
(boxes + polygons, 80 categories) is written to a temporary directory and imported into a new
dataset (parse, spool, build documents, write, index, swap; a dataset without images is written
directly into its live collection, a re-import through a staging collection). The very same
image documents are then written with ``insert_many`` (batches of 500, the importer's batch
size) into a scratch collection with the same indexes on the same server; only the inserts and
the index builds are timed. The import and the raw insert alternate ``--rounds`` times per file
(default 2, or ``BENCH_ROUNDS``) and the best round of each side is compared, as in
``bench/import_images.py`` (``rounds`` lists every round's seconds). Peak RSS is this process's (the
server is another process): it is measured after the first import, before anything else is loaded.

Then a COCO results file with 10 boxes per image is imported as a prediction set and the FN/FP
analysis is timed end to end, against the server's own floor for it (``raw_fnfp_*``: reading
every image and ``$set``-ing every image's results, timed raw; ``fnfp_ratio`` = floor / ours);
then re-run, without and with its COCO mAP step; ``fnfp_compute_images_per_s`` is the algorithm
alone on documents already in memory, and ``compute_vs_cocoeval`` pycocotools' ``COCOeval.evaluate()``
(its per-image matching, bbox) on the same files in the same run over ours (matching with all precision
thresholds). The FN/FP job also computes per-category AP/AP50/PR curves and confusion matrices by
default: ``category_metrics_job_ratio`` is a re-run's time with them over one without them, and
``category_metrics_compute_ratio`` the same for the algorithm alone in memory.
The import's phases (first batch, write, index, swap) are reported against their raw floors
(``*_floor_ratio`` = floor / ours), with the CPU seconds of this process (``client_cpu_s``: parsing,
building, encoding) and of the server (``server_cpu_s``, ``raw_server_cpu_s``; only when the bench started
the server), which say where the time goes on a machine shared with other work. The file lists its
annotations by ascending image id, which the importer joins straight from the file; the same import of a
file whose annotations are scattered (as in COCO's own files, which makes the importer spool them first)
is reported under ``scattered_*``. The last line printed is one JSON object with
``images_per_s``, ``raw_images_per_s``, ``ratio``, ``peak_rss_mb``, ``fnfp_images_per_s``, ...
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OBJECTS_PER_IMAGE = 10
NUM_CATEGORIES = 80
RAW_BATCH = 500
FNFP_BATCH = 1000  # the FN/FP job's read and write batch size
_SERVER_PID = 0  # the embedded server's process when the bench started one (its CPU time is read)


def _setup_django(storage: str):
    server = None
    if not os.environ.get("MONGODB_URI"):
        from dds_site import mongo

        # On disk: the in-memory engine's cache cannot hold 50k images twice over.
        server = mongo.start_server(storage)
        os.environ["MONGODB_URI"] = server.uri
        global _SERVER_PID
        _SERVER_PID = server.pid if os.path.exists(f"/proc/{server.pid}/stat") else 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dds_site.settings")
    os.environ.setdefault("MONGODB_NAME", f"bench_{uuid.uuid4().hex[:8]}")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return server


def _box(rng: random.Random) -> list[int]:
    x, y = rng.randint(0, 500), rng.randint(0, 380)
    return [x, y, rng.randint(5, 120), rng.randint(5, 80)]


def write_coco(path: Path, num_images: int, seed: int = 7, *, scattered: bool = False) -> None:
    """Stream a COCO GT file to disk (the generator itself keeps nothing in memory).

    Annotations come grouped by image in ascending image id (as most tools write them), or with
    ``scattered`` in an order unrelated to the ids (as COCO's own files list them)."""
    rng = random.Random(seed)
    stride = _stride(num_images) if scattered else 1
    with open(path, "w") as out:
        out.write('{"images": [')
        for i in range(1, num_images + 1):
            image = {
                "id": i,
                "file_name": f"{i:012d}.jpg",
                "width": 640,
                "height": 480,
                "coco_url": f"http://images.example/{i:012d}.jpg",
                "license": 1,
            }
            out.write(("," if i > 1 else "") + json.dumps(image))
        out.write('], "annotations": [')
        ann_id = 0
        for n in range(num_images):
            i = n * stride % num_images + 1
            for _ in range(OBJECTS_PER_IMAGE):
                x, y, w, h = _box(rng)
                ann_id += 1
                ann = {
                    "id": ann_id,
                    "image_id": i,
                    "category_id": rng.randint(1, NUM_CATEGORIES),
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                }
                out.write(("," if ann_id > 1 else "") + json.dumps(ann))
        categories = [{"id": c, "name": f"category_{c}"} for c in range(1, NUM_CATEGORIES + 1)]
        out.write('], "categories": ' + json.dumps(categories) + "}")


def _stride(num_images: int) -> int:
    """A step visiting every image id once, far from ascending order (coprime to ``num_images``)."""
    stride = int(num_images * 0.618) | 1
    while math.gcd(stride, num_images) != 1:
        stride += 2
    return stride


def write_results(gt_path: Path, path: Path, seed: int = 11) -> None:
    """10 boxes per image: jittered copies of the GT boxes with random scores (streamed)."""
    import ijson

    rng = random.Random(seed)
    with open(gt_path, "rb") as source, open(path, "w") as out:
        out.write("[")
        first = True
        for ann in ijson.items(source, "annotations.item", use_float=True):
            x, y, w, h = ann["bbox"]
            jitter = 0.1 * w if rng.random() < 0.7 else w
            result = {
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "score": round(rng.random(), 4),
                "bbox": [min(x + jitter, 640 - w), y, w, h],
            }
            out.write(("" if first else ",") + json.dumps(result))
            first = False
        out.write("]")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _server_cpu_s() -> float:
    """CPU seconds the embedded server started by the bench has used so far (0 for another server)."""
    if not _SERVER_PID:
        return 0.0
    with open(f"/proc/{_SERVER_PID}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def raw_insert(dataset_id: str) -> tuple[float, float, float, float]:
    """Seconds to ``insert_many`` the dataset's image documents into a scratch collection (+ its indexes):
    (the first batch, the other batches, the index builds, the server's CPU seconds for all of them)."""
    from datasets.images import IMAGE_INDEXES, image_collection_name
    from dds_site import mongo

    source = mongo.get_collection(image_collection_name(dataset_id))
    target = mongo.get_collection(f"raw_{uuid.uuid4().hex[:8]}")
    batches: list[float] = []
    server_cpu = 0.0
    total = source.estimated_document_count()
    # Pages by bounded idx ranges (the import numbers idx 0..n-1): no cursor stays open during the inserts.
    for start in range(0, total, RAW_BATCH):
        batch = list(source.find({"idx": {"$gte": start, "$lt": start + RAW_BATCH}}))
        server_cpu -= _server_cpu_s()
        started = time.perf_counter()
        target.insert_many(batch, ordered=False)
        batches.append(time.perf_counter() - started)
        server_cpu += _server_cpu_s()
    server_cpu -= _server_cpu_s()
    started = time.perf_counter()
    for field, direction in IMAGE_INDEXES:
        target.create_index([(field, direction)])
    index_s = time.perf_counter() - started
    server_cpu += _server_cpu_s()
    target.drop()
    return batches[0], sum(batches[1:]), index_s, server_cpu


def raw_fnfp_seconds(dataset_id: str) -> tuple[float, float]:
    """The server's share of any FN/FP run: (read every image, write every image's results), in seconds.

    The analysed documents are read back by idx ranges (timed: the read), copied without their
    results into a scratch collection (not timed), and given their results there with the same
    bulk ``$set`` by ``_id`` of ``objects`` and the counters (timed: the write).
    """
    from pymongo import UpdateOne

    from datasets.fnfp import COUNTERS as _COUNTERS
    from datasets.images import IMAGE_INDEXES, image_collection_name
    from dds_site import mongo

    source = mongo.get_collection(image_collection_name(dataset_id))
    target = mongo.get_collection(f"raw_{uuid.uuid4().hex[:8]}")
    for field, direction in IMAGE_INDEXES:
        target.create_index([(field, direction)])
    read_s = write_s = 0.0
    total = source.estimated_document_count()
    for start in range(0, total, FNFP_BATCH):
        started = time.perf_counter()
        batch = list(source.find({"idx": {"$gte": start, "$lt": start + FNFP_BATCH}}))
        read_s += time.perf_counter() - started
        bare = [
            {
                **{key: value for key, value in document.items() if key not in _COUNTERS},
                "objects": [{**obj, "compare_result": {}, "matched_det_idx": None} for obj in document["objects"]],
            }
            for document in batch
        ]
        target.insert_many(bare, ordered=False)
        updates = [
            UpdateOne(
                {"_id": document["_id"]},
                {"$set": {"objects": document["objects"], **{key: document.get(key) for key in _COUNTERS}}},
            )
            for document in batch
        ]
        started = time.perf_counter()
        target.bulk_write(updates, ordered=False)
        write_s += time.perf_counter() - started
    target.drop()
    return read_s, write_s


def fnfp_compute_seconds(dataset_id: str, *, with_category_metrics: bool = False) -> float:
    """The FN/FP algorithm alone (matching, thresholds, per-image results) on documents already in memory;
    ``with_category_metrics``: also the per-category AP/PR curves and the confusion matrices."""
    import numpy as np

    from datasets.fnfp import ReadImage, guarded_update, precision_thresholds, prediction_labels
    from datasets.fnfp.analysis import PerCategory
    from datasets.images import image_collection_name
    from dds_site import mongo

    documents = list(mongo.get_collection(image_collection_name(dataset_id)).find({}))
    for document in documents:  # as if never analysed, so every image gets its update built
        document["objects"] = [{**obj, "compare_result": {}} for obj in document["objects"]]
    labels = sorted(prediction_labels(dataset_id))
    started = time.perf_counter()
    images = [ReadImage.of(document, labels, all_thresholds=with_category_metrics) for document in documents]
    per_category = PerCategory(labels) if with_category_metrics else None
    if per_category is not None:
        for image in images:
            per_category.add(image.matches)
    num_gt = sum(1 for image in images for crowd in image.matches.gt_crowd if not crowd)
    thresholds = {}
    for label in labels:
        sets = [image.matches.sets[label] for image in images if label in image.matches.sets]
        thresholds[label] = precision_thresholds(
            np.concatenate([s[2] for s in sets]),
            np.concatenate([s[3].tp for s in sets]),
            np.concatenate([s[3].ignored for s in sets]),
            num_gt,
        )
    observe = per_category.confusion_pass(thresholds) if per_category is not None else None
    for image in images:
        if observe is not None:
            observe(image.matches)
        guarded_update(image, thresholds, len(labels) == 1)
    if per_category is not None:
        per_category.results(dataset_id)
    return time.perf_counter() - started


def _phases_vs_floor(phases: dict, first_s: float, rest_s: float, index_s: float) -> dict:
    """Each phase of the import log against its raw floor (``*_floor_ratio`` = floor / ours).

    first_batch (parsing and spooling up to the first write) against the raw insert of the first batch;
    write (the other batches) against the other raw inserts; index against the raw index builds; swap
    (staging collection renamed over the live one, none for a first import) has no raw counterpart.
    """
    out = {f"phase_{name}_s": seconds for name, seconds in phases.items()}
    for name, floor in (("first_batch", first_s), ("write", rest_s), ("index", index_s)):
        out[f"raw_{name}_s"] = round(floor, 3)
        if phases.get(name) and floor:
            out[f"{name}_floor_ratio"] = round(floor / phases[name], 3)
    return out


def cocoeval_evaluate_seconds(gt_path: Path, det_path: Path) -> float:
    """pycocotools' per-image matching (``COCOeval.evaluate``, bbox) on the same files; loading not timed."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        evaluation = COCOeval(gt, gt.loadRes(str(det_path)), "bbox")
        started = time.perf_counter()
        evaluation.evaluate()
        return time.perf_counter() - started


def _import_once(path: Path, num_images: int) -> tuple[object, dict]:
    """Import ``path`` into a new dataset; (dataset, its wall and CPU seconds, phases)."""
    from datasets.importers.coco import CocoImporter
    from datasets.importers.runner import run_import
    from datasets.models import DataSet

    dataset = DataSet.get_importing_dataset("bench", id_=uuid.uuid4().hex)
    server_cpu = _server_cpu_s()
    client_cpu = time.process_time()
    started = time.perf_counter()
    result = run_import(dataset, CocoImporter(str(path)))
    import_s = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = _server_cpu_s() - server_cpu
    assert result.num_images == num_images
    print(f"import of {path.name}: {num_images} images in {import_s:.2f} s, phases {result.phases}", flush=True)
    return dataset, {"seconds": import_s, "client_cpu": client_cpu, "server_cpu": server_cpu, "phases": result.phases}


def import_vs_raw(path: Path, num_images: int, rounds: int = 1) -> tuple[object, dict]:
    """Import ``path`` into a new dataset, then ``insert_many`` its documents raw; (dataset, figures).

    The two alternate ``rounds`` times and the best round of each side is compared (its phases and
    CPU seconds with it), so a burst of load from other processes on the machine lands on one side
    only if it outlasts the rounds; ``rounds`` lists every round. The dataset of the last round is
    returned, the others are deleted. Besides wall seconds, the CPU seconds of this process (parsing,
    building, encoding) and of the server (when the bench started it) say where the time goes on a
    machine shared with other work.
    """
    from datasets.models import DataSet

    dataset = best = best_raw = None
    rss = 0.0
    per_round = []
    for number in range(rounds):
        if dataset is not None:
            DataSet.cascade_delete(dataset)
        dataset, ours = _import_once(path, num_images)
        if number == 0:
            rss = peak_rss_mb()  # after the first import, before anything else is loaded
        raw = raw_insert(dataset.id)
        per_round.append({"import_s": round(ours["seconds"], 2), "raw_insert_s": round(sum(raw[:3]), 2)})
        if best is None or ours["seconds"] < best["seconds"]:
            best = ours
        if best_raw is None or sum(raw[:3]) < sum(best_raw[:3]):
            best_raw = raw
    import_s = best["seconds"]
    raw_first_s, raw_rest_s, raw_index_s, raw_server_cpu = best_raw
    raw_s = raw_first_s + raw_rest_s + raw_index_s
    figures = {
        "import_s": round(import_s, 2),
        "raw_insert_s": round(raw_s, 2),
        "images_per_s": round(num_images / import_s, 1),
        "raw_images_per_s": round(num_images / raw_s, 1),
        "ratio": round(raw_s / import_s, 3),
        "peak_rss_mb": round(rss, 1),
        **_phases_vs_floor(best["phases"], raw_first_s, raw_rest_s, raw_index_s),
        "client_cpu_s": round(best["client_cpu"], 2),
    }
    if _SERVER_PID:
        figures["server_cpu_s"] = round(best["server_cpu"], 2)
        figures["raw_server_cpu_s"] = round(raw_server_cpu, 2)
    figures["rounds"] = per_round
    return dataset, figures


def run(num_images: int, with_fnfp: bool, rounds: int = 1) -> dict:
    from datasets.fnfp import calculate_fnfp
    from datasets.importers.coco import CocoImporter, PredictionFile
    from datasets.importers.runner import run_import
    from datasets.models import DataSet
    from datasets.services import label_id_for

    with tempfile.TemporaryDirectory(prefix="dds-bench-") as scratch:
        gt_path = Path(scratch, "gt.json")
        write_coco(gt_path, num_images)
        size_mb = gt_path.stat().st_size / 2**20
        dataset, figures = import_vs_raw(gt_path, num_images, rounds)
        out = {"images": num_images, "file_mb": round(size_mb, 1), **figures}
        scattered_path = Path(scratch, "gt_scattered.json")
        write_coco(scattered_path, num_images, scattered=True)
        scattered, figures = import_vs_raw(scattered_path, num_images, rounds)
        out.update({f"scattered_{key}": value for key, value in figures.items() if key != "peak_rss_mb"})
        DataSet.cascade_delete(scattered)
        if with_fnfp:
            pred_path = Path(scratch, "det.json")
            write_results(gt_path, pred_path)
            started = time.perf_counter()
            run_import(dataset, CocoImporter(str(gt_path), predictions=[PredictionFile("det", str(pred_path))]))
            out["import_with_predictions_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            calculate_fnfp(dataset.id, with_coco_metrics=False)
            fnfp_s = time.perf_counter() - started
            out["fnfp_s"] = round(fnfp_s, 2)
            out["fnfp_images_per_s"] = round(num_images / fnfp_s, 1)
            read_s, write_s = raw_fnfp_seconds(dataset.id)
            out["raw_fnfp_read_s"] = round(read_s, 2)
            out["raw_fnfp_write_s"] = round(write_s, 2)
            out["raw_fnfp_images_per_s"] = round(num_images / (read_s + write_s), 1)
            out["fnfp_ratio"] = round((read_s + write_s) / fnfp_s, 3)
            started = time.perf_counter()
            calculate_fnfp(dataset.id, with_coco_metrics=False)  # nothing changed: reads, writes nothing
            rerun_s = time.perf_counter() - started
            out["fnfp_rerun_s"] = round(rerun_s, 2)
            started = time.perf_counter()
            calculate_fnfp(dataset.id, with_coco_metrics=False, with_category_metrics=False)
            rerun_bare_s = time.perf_counter() - started
            out["fnfp_rerun_without_category_metrics_s"] = round(rerun_bare_s, 2)
            out["category_metrics_job_ratio"] = round(rerun_s / rerun_bare_s, 3)
            started = time.perf_counter()
            result = calculate_fnfp(dataset.id)  # the default job: also COCO mAP/AP50 (pycocotools)
            out["fnfp_rerun_with_coco_metrics_s"] = round(time.perf_counter() - started, 2)
            out["coco_map"] = result.labels[label_id_for(dataset.id, "det")]["coco_metrics"]["map"]
            compute_s = fnfp_compute_seconds(dataset.id)
            out["fnfp_compute_images_per_s"] = round(num_images / compute_s, 1)
            with_categories_s = fnfp_compute_seconds(dataset.id, with_category_metrics=True)
            out["category_metrics_compute_ratio"] = round(with_categories_s / compute_s, 3)
            cocoeval_s = cocoeval_evaluate_seconds(gt_path, pred_path)
            out["cocoeval_evaluate_s"] = round(cocoeval_s, 2)
            out["compute_vs_cocoeval"] = round(cocoeval_s / compute_s, 3)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=int(os.environ.get("BENCH_IMAGES", 10_000)))
    parser.add_argument("--no-fnfp", action="store_true", help="skip the FN/FP part")
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", 2)),
        help="imports and raw inserts alternated per file layout; the best of each side is compared",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dds-bench-db-") as storage:
        server = _setup_django(storage)
        try:
            result = run(args.images, not args.no_fnfp, args.rounds)
        finally:
            if server is not None:
                server.stop()
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
