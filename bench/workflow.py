"""Benchmark: label-project initialisation speed and per-action cost against dataset size.

Run as ``python bench/workflow.py``. Without ``MONGODB_URI`` an in-memory embedded server is started
for the run. Two datasets (1,000 and 50,000 images, written with raw ``insert_many``) each get a
project (batch_size 100, label_times 1, review_times 1); ``init_project`` is timed on both, then in
one task of each project 200 label and 200 review actions are timed (per image: label, reject,
relabel, accept). The last line printed is one JSON object with ``init_images_per_s`` (all images
initialised / total init time), ``action_ms_small``, ``action_ms_large`` (median per action) and
``action_ratio`` (large / small; a cost independent of dataset size gives about 1).

The floor: on each size, a raw indexed update of one task image by ``_id`` (a ``$set`` of its status,
timed ``FLOOR_UPDATES`` times on the task's images), so ``floor_ratio`` (large / small) shows how much
the server's own cost of the cheapest write grows with the collection, and ``ratio_vs_floor``
(``action_ratio / floor_ratio``) what is left to the application. ``BENCH_PROFILE=1`` prints a cProfile
of the actions on each size (the functions with the largest cumulative time).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import time

from common import run_and_print

SIZES = (int(os.environ.get("BENCH_SMALL", 1_000)), int(os.environ.get("BENCH_LARGE", 50_000)))
INSERT_BATCH = 5_000
FLOOR_UPDATES = 200
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
BOX = [{"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.4, "ymax": 0.5}}]


def _dataset(name: str, size: int):
    from datasets.images import Image
    from datasets.models import DataSet

    dataset = DataSet.create_dataset(name)
    collection = Image(dataset.pk).get_collection()
    for start in range(0, size, INSERT_BATCH):
        collection.insert_many(
            [
                {
                    "_id": n,
                    "idx": n,
                    "url": f"http://img/{name}/{n}.jpg",
                    "url_full_res": "",
                    "dataset_id": dataset.pk,
                    "width": 640,
                    "height": 480,
                    "objects": [],
                }
                for n in range(start, min(size, start + INSERT_BATCH))
            ]
        )
    return dataset


def _project(users: dict, dataset):
    from labeling.models import LabelProject

    return LabelProject.create_project(
        name=f"bench {dataset.name}",
        owner=users["owner"],
        datasets=[dataset],
        managers=[users["manager"]],
        categories=["cat", "dog"],
    )


def _actions(users: dict, project) -> list[float]:
    """Times (ms) of 200 label and 200 review actions in the middle task of the project."""
    from labeling.models import LabelTask
    from labeling.task_images import LabelTaskImage
    from labeling.workflow import Role

    task = LabelTask.objects.get(project_id=project.pk, idx=project.task_num_total // 2)
    task.set_leader(users["label_leader"], Role.LABEL_LEADER)
    task.set_leader(users["review_leader"], Role.REVIEW_LEADER)
    task.init_workers([users["labeler"]], Role.LABELER)
    task.init_workers([users["reviewer"]], Role.REVIEWER)
    task.refresh_from_db()
    images = list(LabelTaskImage(task.dataset_id).find_many({"task_id": task.pk}))
    timings = []
    profile = cProfile.Profile() if PROFILE else None
    if profile is not None:
        profile.enable()
    for verdict in ("reject", "accept"):
        for image in images:
            start = time.perf_counter()
            label = image.set_label(task, users["labeler"], BOX)
            timings.append(time.perf_counter() - start)
            start = time.perf_counter()
            image.set_review(task, users["reviewer"], label["id"], verdict)
            timings.append(time.perf_counter() - start)
    if profile is not None:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(r"/work/|labeling|datasets|pymongo", 40)
    task.refresh_from_db()
    if task.status != "reviewing":
        raise RuntimeError(f"the benchmark task should have completed, it is {task.status}")
    return [t * 1000 for t in timings]


def _floor_ms(project) -> float:
    """Median ms of a raw ``update_one`` by ``_id`` on the task images of the project's middle task."""
    from labeling import store
    from labeling.models import LabelTask

    task = LabelTask.objects.get(project_id=project.pk, idx=project.task_num_total // 2)
    collection = store.task_images(task.dataset_id)
    ids = [doc["_id"] for doc in collection.find({"task_id": task.pk}, {"_id": 1})]
    timings = []
    for n in range(FLOOR_UPDATES):
        start = time.perf_counter()
        collection.update_one({"_id": ids[n % len(ids)]}, {"$set": {"bench_floor": n}})
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def run() -> dict:
    from accounts.models import User

    users = {
        kind: User.objects.create_user(f"bench_{kind}", "bench-password-1", is_staff=kind == "owner")
        for kind in ("owner", "manager", "label_leader", "review_leader", "labeler", "reviewer")
    }
    results = {}
    floors = {}
    init_seconds = 0.0
    for size in SIZES:
        started = time.perf_counter()
        dataset = _dataset(f"bench_{size}", size)
        print(f"dataset of {size} images written in {time.perf_counter() - started:.1f}s", flush=True)
        project = _project(users, dataset)
        started = time.perf_counter()
        project.init_project(batch_size=100, label_times=1, review_times=1)
        elapsed = time.perf_counter() - started
        init_seconds += elapsed
        print(f"init_project of {size} images: {elapsed:.1f}s ({size / elapsed:.0f} images/s)", flush=True)
        timings = _actions(users, project)
        results[size] = statistics.median(timings)
        print(f"{len(timings)} actions on the {size}-image dataset: median {results[size]:.2f} ms", flush=True)
        floors[size] = _floor_ms(project)
        print(f"raw update by _id on the {size}-image dataset: median {floors[size]:.2f} ms", flush=True)
    small, large = results[SIZES[0]], results[SIZES[1]]
    floor_ratio = floors[SIZES[1]] / floors[SIZES[0]]
    return {
        "sizes": list(SIZES),
        "init_images_per_s": round(sum(SIZES) / init_seconds, 1),
        "action_ms_small": round(small, 2),
        "action_ms_large": round(large, 2),
        "action_ratio": round(large / small, 3),
        "floor_ms_small": round(floors[SIZES[0]], 2),
        "floor_ms_large": round(floors[SIZES[1]], 2),
        "floor_ratio": round(floor_ratio, 3),
        "ratio_vs_floor": round(large / small / floor_ratio, 3),
    }


def main() -> None:
    run_and_print(run)


if __name__ == "__main__":
    main()
