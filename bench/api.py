"""Benchmark: the API's image lists against raw PyMongo, and deep pages against the first.

Run as ``python bench/api.py``. Without ``MONGODB_URI`` an in-memory embedded server is started. A dataset
of 10,000 images (3 boxes each with every field, as the importers store them; raw ``insert_many``) and a
label project with one 10,000-image task are built; then, in one process and one run:

- ``overhead_ratio``: the dataset image list through the API (token auth, 100 per page, keyset cursor) vs
  a raw ``find`` of the same 100 documents by their idx range (the cheapest query for them);
- ``deep_page_ratio``: the cursor's page 50 vs its page 1 (a keyset page costs the same at any depth);
- ``page_number_ratio``: page-number mode at page 50 vs page 1 (skip grows with depth: reported, not a target);
- ``queries_per_request``: the MongoDB commands one first-page request sends (token authentication, the
  lookups of the permission checks, the page's reads), counted by a PyMongo command listener;
- the same four for the task image list of the 10,000-image task (``task_*``).

Before measuring, ``BENCH_TOKENS`` (default 1,000) API tokens of 100 other users are issued, as the logins of
a team would leave them, so that token authentication is measured against a collection that holds more than
the caller's token (reported as ``other_tokens``).

Medians of ``BENCH_REPEAT`` (default 30) requests through Django's test client, so the figures are the
application's cost without a network; the first page, the deep page and the raw find are timed in turn,
one of each per round, so a machine busy for part of the run weighs on each of them alike. The last line
printed is one JSON object.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from common import raw_dataset, run_and_print
from pymongo import monitoring

SIZE = int(os.environ.get("BENCH_IMAGES", 10_000))
PAGE_SIZE = 100
DEEP_PAGE = 50
REPEAT = int(os.environ.get("BENCH_REPEAT", 30))
OTHER_TOKENS = int(os.environ.get("BENCH_TOKENS", 1_000))


class CommandCounter(monitoring.CommandListener):
    """Counts the commands sent while ``counting`` is set (registered before any client is created)."""

    counting = False
    count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.counting:
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = CommandCounter()
monitoring.register(COMMANDS)


def _boxes(n: int) -> list[dict]:
    """Three boxes per image, stored with every field, as the project's importers and APIs store them."""
    from datasets.documents import label_id_for, md5_id, object_document

    names = ("cat", "dog", "bird")
    return [
        object_document(
            label_name="GroundTruth",
            label_type="GT",
            label_id=label_id_for("bench", "GroundTruth"),
            category_name=names[(n + k) % 3],
            category_id=md5_id(names[(n + k) % 3]),
            bounding_box={"xmin": 0.1 * k, "ymin": 0.1, "xmax": 0.1 * k + 0.2, "ymax": 0.5},
        )
        for k in range(3)
    ]


def _client(user):
    from rest_framework.test import APIClient

    from accounts import services

    client = APIClient(SERVER_NAME="localhost")  # a host ALLOWED_HOSTS accepts outside tests
    client.credentials(HTTP_AUTHORIZATION=f"Token {services.token_issue(user).value}")
    return client


def _get(client, url: str, params: dict) -> dict:
    response = client.get(url, params)
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params}: {response.status_code} {response.content[:200]!r}")
    return response.json()


def _commands_of(action) -> int:
    COMMANDS.count, COMMANDS.counting = 0, True
    try:
        action()
    finally:
        COMMANDS.counting = False
    return COMMANDS.count


def _other_tokens(count: int) -> None:
    from accounts import services
    from accounts.models import User

    users = [User.objects.create_user(f"bench_other_{n}") for n in range(min(100, count))]  # no password: no hashing
    for n in range(count):
        services.token_issue(users[n % len(users)])


def _cursor_before_page(client, url: str, page: int, extra: dict) -> int:
    """The cursor that opens keyset page ``page`` (walked there once, as a client would)."""
    cursor = -1
    for _ in range(page - 1):
        body = _get(client, url, {**extra, "cursor": cursor, "page_size": PAGE_SIZE})
        cursor = body["next_cursor"]
    return cursor


def interleaved_medians_ms(
    actions: dict[str, Callable[[], object]], *, repeat: int, warmup: int = 2
) -> dict[str, float]:
    """The median time of each action, the actions taken in turn (a, b, c, a, b, c, ...), so that a machine
    busy for part of the run slows every action alike instead of whichever was being measured then."""
    for _ in range(warmup):
        for action in actions.values():
            action()
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def _measure(client, url: str, raw_find, extra: dict) -> dict:
    """``raw_find(first_idx, last_idx)`` fetches the documents of the API's first page by their idx range."""
    body = _get(client, url, {**extra, "cursor": -1, "page_size": PAGE_SIZE})
    page_one = body["results"]
    first_idx, last_idx = page_one[0]["idx"], page_one[-1]["idx"]
    deep_cursor = _cursor_before_page(client, url, DEEP_PAGE, extra)
    medians = interleaved_medians_ms(
        {
            "first": lambda: _get(client, url, {**extra, "cursor": -1, "page_size": PAGE_SIZE}),
            "deep": lambda: _get(client, url, {**extra, "cursor": deep_cursor, "page_size": PAGE_SIZE}),
            "raw": lambda: raw_find(first_idx, last_idx),
        },
        repeat=REPEAT,
    )
    first, deep, raw = medians["first"], medians["deep"], medians["raw"]
    numbered = interleaved_medians_ms(
        {
            "first": lambda: _get(client, url, {**extra, "page": 1, "page_size": PAGE_SIZE}),
            "deep": lambda: _get(client, url, {**extra, "page": DEEP_PAGE, "page_size": PAGE_SIZE}),
        },
        repeat=REPEAT,
    )
    queries = _commands_of(lambda: _get(client, url, {**extra, "cursor": -1, "page_size": PAGE_SIZE}))
    return {
        "api_ms": round(first, 2),
        "raw_find_ms": round(raw, 2),
        "overhead_ratio": round(first / raw, 3),
        "deep_page_ms": round(deep, 2),
        "deep_page_ratio": round(deep / first, 3),
        "page_number_deep_ms": round(numbered["deep"], 2),
        "page_number_ratio": round(numbered["deep"] / numbered["first"], 3),
        "queries_per_request": queries,
    }


def _task(dataset, users: dict):
    from labeling.models import LabelProject, LabelTask
    from labeling.workflow import Role

    project = LabelProject.create_project(
        name="bench api", owner=users["owner"], datasets=[dataset], managers=[users["manager"]], categories=["cat"]
    )
    project.init_project(batch_size=SIZE, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["leader"], Role.LABEL_LEADER)
    task.refresh_from_db()
    return project, task


def run() -> dict:
    if SIZE < DEEP_PAGE * PAGE_SIZE:
        raise SystemExit(f"BENCH_IMAGES must be at least {DEEP_PAGE * PAGE_SIZE} to reach page {DEEP_PAGE}")
    from accounts.models import User
    from datasets.images import Image
    from labeling.task_images import LabelTaskImage

    users = {
        kind: User.objects.create_user(f"bench_{kind}", "bench-password-1", is_staff=kind == "owner")
        for kind in ("owner", "manager", "leader")
    }
    _other_tokens(OTHER_TOKENS)
    dataset = raw_dataset("bench_api", SIZE, _boxes)
    print(f"dataset of {SIZE} images written", flush=True)
    images = Image(dataset.pk).get_collection()
    dataset_figures = _measure(
        _client(users["owner"]),
        f"/api/v1/datasets/{dataset.pk}/images",
        lambda first, last: list(images.find({"idx": {"$gte": first, "$lte": last}}).sort("idx", 1)),
        {},
    )
    print(f"dataset images: {dataset_figures}", flush=True)

    project, task = _task(dataset, users)
    print(f"project with one {SIZE}-image task initialised", flush=True)
    task_images = LabelTaskImage(dataset.pk).get_collection()
    # The cheapest query for the page's documents: the task index's own fields (task_id, idx range).
    task_figures = _measure(
        _client(users["leader"]),
        f"/api/v1/label-projects/{project.pk}/tasks/{task.pk}/images",
        lambda first, last: list(task_images.find({"task_id": task.pk, "idx": {"$gte": first, "$lte": last}})),
        {"status": "labeling"},
    )
    print(f"task images: {task_figures}", flush=True)
    return {
        "images": SIZE,
        "page_size": PAGE_SIZE,
        "deep_page": DEEP_PAGE,
        "other_tokens": OTHER_TOKENS,
        **dataset_figures,
        **{f"task_{name}": value for name, value in task_figures.items()},
    }


def main() -> None:
    run_and_print(run)


if __name__ == "__main__":
    main()
