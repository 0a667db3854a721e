"""Benchmark: importing images through the DDS batch API versus raw ``insert_many``.

Run as ``python bench/import_images.py``. Without ``MONGODB_URI`` an in-memory embedded server is
started for the run. 10,000 images x 10 objects (80 categories, boxes and polygons) go through
``DataSet.batch_add_image`` / ``ImageModel.batch_add_annotation`` / ``finish_batch_add_image``;
then the very same documents are written with ``insert_many`` into a scratch collection with the
same indexes on the same server. The last line printed is one JSON object with
``images_per_s``, ``raw_images_per_s`` and ``ratio`` (ours / raw).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NUM_IMAGES = int(os.environ.get("BENCH_IMAGES", 10_000))
OBJECTS_PER_IMAGE = 10
NUM_CATEGORIES = 80
RAW_BATCH = 200  # the same batch size as DataSet's buffer


def _setup_django():
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


def _annotations(rng: random.Random) -> list[dict]:
    annotations = []
    for _ in range(OBJECTS_PER_IMAGE):
        x, y = rng.randint(0, 500), rng.randint(0, 400)
        w, h = rng.randint(5, 120), rng.randint(5, 80)
        polygon = [x, y, x + w, y, x + w, y + h, x, y + h]
        annotations.append(
            {"category": f"category_{rng.randrange(NUM_CATEGORIES)}", "bbox": (x, y, w, h), "segmentation": [polygon]}
        )
    return annotations


def run() -> dict:
    from datasets.images import IMAGE_INDEXES, Image
    from datasets.models import DataSet
    from dds_site import mongo

    rng = random.Random(42)
    inputs = [(f"http://images.example/{n}.jpg", _annotations(rng)) for n in range(NUM_IMAGES)]

    dataset = DataSet.create_dataset("bench")
    started = time.perf_counter()
    for number, (uri, image_annotations) in enumerate(inputs):
        image = dataset.batch_add_image(uri, width=640, height=480, id_=number)
        for annotation in image_annotations:
            image.batch_add_annotation(**annotation)
    dataset.finish_batch_add_image()
    ours = time.perf_counter() - started
    assert Image(dataset.id).count_num({}) == NUM_IMAGES

    documents = list(Image(dataset.id).get_collection().find({}).sort("_id", 1))
    scratch = mongo.get_collection(f"bench_raw_{uuid.uuid4().hex[:8]}")
    for field, direction in IMAGE_INDEXES:
        scratch.create_index([(field, direction)])
    started = time.perf_counter()
    for start in range(0, len(documents), RAW_BATCH):
        scratch.insert_many(documents[start : start + RAW_BATCH], ordered=False)
    raw = time.perf_counter() - started
    scratch.drop()
    DataSet.cascade_delete(dataset)
    return {
        "images": NUM_IMAGES,
        "objects_per_image": OBJECTS_PER_IMAGE,
        "seconds": round(ours, 3),
        "raw_seconds": round(raw, 3),
        "images_per_s": round(NUM_IMAGES / ours, 1),
        "raw_images_per_s": round(NUM_IMAGES / raw, 1),
        "ratio": round(raw / ours, 3),
    }


def main() -> None:
    server = _setup_django()
    try:
        result = run()
    finally:
        if server is not None:
            server.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
