"""Benchmark: the admin gallery page of 100 thumbnails against the API list of the same 100 images,
and a thumbnail's first request (made with Pillow) against its second (served from disk).

Run as ``python bench/gallery.py``. Without ``MONGODB_URI`` an in-memory embedded server is started
for the run; image files and thumbnails live in a temporary directory that is the only data root.
``BENCH_IMAGES`` (default 300) JPEG files of 640x480 are written with Pillow and added with
``DataSet.batch_add_image`` as local files, each with ``OBJECTS_PER_IMAGE`` ground-truth boxes and
polygons and as many predictions. Both pages are requested in the same process through Django's test
client as a logged-in superuser: ``/admin/datasets/dataset/<id>/gallery/?page_size=100`` and
``/api/v1/datasets/<id>/images?cursor=-1&page_size=100``, alternating, ``BENCH_ROUNDS`` times
(default 7); medians are compared. Then ``BENCH_THUMBS`` (default 20) thumbnails are requested twice
each (the second must reuse the file the first made), and as many others are made and found again by
``image_files.thumbnail`` alone, without the request around it. The last line printed is one JSON
object with ``gallery_ratio`` (gallery / API, target < 2) and the thumbnail figures.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NUM_IMAGES = int(os.environ.get("BENCH_IMAGES", 300))
OBJECTS_PER_IMAGE = 4
PAGE_SIZE = 100
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 7))
NUM_THUMBS = int(os.environ.get("BENCH_THUMBS", 20))
WIDTH, HEIGHT = 640, 480
CATEGORIES = [f"category_{number}" for number in range(12)]


def _setup_django(workdir: Path) -> tuple[object | None, bool]:
    """Start an embedded server unless MONGODB_URI is set; use a scratch database unless MONGODB_NAME is."""
    server = None
    if not os.environ.get("MONGODB_URI"):
        from dds_site import mongo

        server = mongo.start_server(":memory:")
        os.environ["MONGODB_URI"] = server.uri
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dds_site.settings")
    os.environ["DDS_DATA_ROOTS"] = str(workdir / "data")
    os.environ["DDS_THUMBS_DIR"] = str(workdir / "thumbs")
    scratch_database = "MONGODB_NAME" not in os.environ
    if scratch_database:
        os.environ["MONGODB_NAME"] = f"bench_{uuid.uuid4().hex[:8]}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return server, scratch_database


def _write_picture(path: Path, rng: random.Random) -> None:
    from PIL import Image as PILImage
    from PIL import ImageDraw

    picture = PILImage.new("RGB", (WIDTH, HEIGHT), tuple(rng.randint(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(6):
        x, y = rng.randint(0, WIDTH - 80), rng.randint(0, HEIGHT - 60)
        draw.rectangle(
            [x, y, x + rng.randint(20, 80), y + rng.randint(20, 60)], fill=tuple(rng.randint(0, 255) for _ in range(3))
        )
    picture.save(path, format="JPEG", quality=85)


def _build_dataset(data_dir: Path) -> str:
    """A dataset of NUM_IMAGES local JPEG files with GT and predicted boxes and polygons; its id."""
    from datasets.models import DataSet

    rng = random.Random(42)
    data_dir.mkdir(parents=True, exist_ok=True)
    dataset = DataSet.create_dataset("bench gallery")
    for number in range(NUM_IMAGES):
        path = data_dir / f"{number}.jpg"
        _write_picture(path, rng)
        image = dataset.batch_add_image(f"file://{path}", width=WIDTH, height=HEIGHT, id_=number)
        for _ in range(OBJECTS_PER_IMAGE):
            x, y = rng.randint(0, WIDTH - 120), rng.randint(0, HEIGHT - 90)
            w, h = rng.randint(10, 120), rng.randint(10, 90)
            category = rng.choice(CATEGORIES)
            polygon = [x, y, x + w, y, x + w, y + h, x, y + h]
            image.batch_add_annotation(category, bbox=(x, y, w, h), segmentation=[polygon])
            image.batch_add_annotation(
                category, label="detector", label_type="Pred", conf=round(rng.random(), 2), bbox=(x + 2, y, w, h)
            )
    dataset.finish_batch_add_image()
    return dataset.pk


def _timed_get(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    if response.streaming:
        b"".join(response.streaming_content)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed


def _pages(client, dataset_id: str) -> dict:
    """Medians of the gallery page and of the API list of the same images, requested alternately."""
    gallery_url = f"/admin/datasets/dataset/{dataset_id}/gallery/?page_size={PAGE_SIZE}"
    api_url = f"/api/v1/datasets/{dataset_id}/images?cursor=-1&page_size={PAGE_SIZE}"
    gallery_page = client.get(gallery_url).content.decode()
    shown = gallery_page.count('class="gal-tile')
    listed = len(client.get(api_url).json()["results"])
    if shown != PAGE_SIZE or listed != PAGE_SIZE:
        raise RuntimeError(f"expected {PAGE_SIZE} images on both pages, got {shown} and {listed}")
    gallery_times, api_times = [], []
    for _ in range(ROUNDS):
        gallery_times.append(_timed_get(client, gallery_url))
        api_times.append(_timed_get(client, api_url))
    return {
        "gallery_ms": round(statistics.median(gallery_times) * 1000, 1),
        "api_ms": round(statistics.median(api_times) * 1000, 1),
        "gallery_ratio": round(statistics.median(gallery_times) / statistics.median(api_times), 3),
        "gallery_runs_ms": [round(value * 1000, 1) for value in gallery_times],
        "api_runs_ms": [round(value * 1000, 1) for value in api_times],
    }


def _thumbnails(client, dataset_id: str, thumbs_dir: Path) -> dict:
    """Each of NUM_THUMBS thumbnails requested twice: made on the first request, read from disk on the second."""
    first, second = [], []
    for image_id in range(NUM_THUMBS):
        url = f"/api/v1/datasets/{dataset_id}/images/{image_id}/thumbnail?size=256"
        first.append(_timed_get(client, url))
        made = {path.name: path.stat().st_mtime_ns for path in (thumbs_dir / dataset_id).glob(f"{image_id}-256-*")}
        second.append(_timed_get(client, url))
        again = {path.name: path.stat().st_mtime_ns for path in (thumbs_dir / dataset_id).glob(f"{image_id}-256-*")}
        if len(made) != 1 or again != made:
            raise RuntimeError(f"thumbnail of image {image_id} was not made once and then reused")
    made_s, cached_s = _thumbnail_calls(dataset_id)
    return {
        "thumbnails": NUM_THUMBS,
        "thumb_first_ms": round(statistics.median(first) * 1000, 2),
        "thumb_second_ms": round(statistics.median(second) * 1000, 2),
        "thumb_speedup": round(statistics.median(first) / statistics.median(second), 1),
        "thumb_files": len(list((thumbs_dir / dataset_id).glob("*-256-*.jpg"))),
        "thumb_make_ms": round(statistics.median(made_s) * 1000, 2),
        "thumb_cached_ms": round(statistics.median(cached_s) * 1000, 3),
    }


def _thumbnail_calls(dataset_id: str) -> tuple[list[float], list[float]]:
    """``image_files.thumbnail`` alone, without the request around it, for NUM_THUMBS other images:
    the time to make one, and to find it made."""
    from datasets import image_files, selectors

    dataset = selectors.dataset_get(dataset_id)
    made, cached = [], []
    for image_id in range(NUM_THUMBS, 2 * NUM_THUMBS):
        image = selectors.image_get(dataset, image_id)
        for times, expect_made in ((made, True), (cached, False)):
            started = time.perf_counter()
            result = image_files.thumbnail(dataset_id, image, 256)
            times.append(time.perf_counter() - started)
            if result.made != expect_made or result.placeholder:
                raise RuntimeError(f"thumbnail of image {image_id}: made={result.made}, expected {expect_made}")
    return made, cached


def run(workdir: Path) -> dict:
    from django.test import Client

    from accounts.models import User

    started = time.perf_counter()
    dataset_id = _build_dataset(workdir / "data" / "images")
    build_seconds = time.perf_counter() - started
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.create_superuser("bench", "bench-password-1"))
    result = {"images": NUM_IMAGES, "objects_per_image": OBJECTS_PER_IMAGE * 2, "page_size": PAGE_SIZE}
    result["build_seconds"] = round(build_seconds, 2)
    result.update(_pages(client, dataset_id))
    result.update(_thumbnails(client, dataset_id, workdir / "thumbs"))
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-gallery-") as directory:
        workdir = Path(directory)
        server, scratch_database = _setup_django(workdir)
        try:
            result = run(workdir)
        finally:
            if scratch_database:
                from dds_site import mongo

                mongo.get_database().client.drop_database(os.environ["MONGODB_NAME"])
            if server is not None:
                server.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
