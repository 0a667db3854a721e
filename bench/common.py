"""What the benchmarks share: Django on a throwaway database, raw dataset writes, medians."""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INSERT_BATCH = 5_000


def setup_django():
    """Django on a fresh database: an in-memory embedded server unless ``MONGODB_URI`` is set.

    Returns the embedded server (to stop at the end) or None."""
    server = None
    if not os.environ.get("MONGODB_URI"):
        from dds_site import mongo

        server = mongo.start_server(":memory:")
        os.environ["MONGODB_URI"] = server.uri
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dds_site.settings")
    os.environ.setdefault("MONGODB_NAME", f"bench_{uuid.uuid4().hex[:8]}")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return server


def image_document(dataset_id: str, name: str, n: int, objects: list[dict]) -> dict:
    return {
        "_id": n,
        "idx": n,
        "url": f"http://img/{name}/{n}.jpg",
        "url_full_res": "",
        "dataset_id": dataset_id,
        "width": 640,
        "height": 480,
        "flag": 0,
        "objects": objects,
    }


def raw_dataset(name: str, size: int, objects: Callable[[int], list[dict]] = lambda n: []):
    """A dataset of ``size`` images written with raw ``insert_many`` (the floor every import is measured against)."""
    from datasets.images import Image
    from datasets.models import DataSet

    dataset = DataSet.create_dataset(name)
    collection = Image(dataset.pk).get_collection()
    for start in range(0, size, INSERT_BATCH):
        collection.insert_many(
            [image_document(dataset.pk, name, n, objects(n)) for n in range(start, min(size, start + INSERT_BATCH))]
        )
    return dataset


def median_ms(action: Callable[[], object], *, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def run_and_print(run: Callable[[], dict]) -> None:
    """Django on a fresh database, ``run()``, its figures printed as the last line (one JSON object)."""
    import json

    server = setup_django()
    try:
        print(json.dumps(run()))
    finally:
        if server is not None:
            server.stop()
