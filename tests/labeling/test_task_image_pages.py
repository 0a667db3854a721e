"""Task image pages (GET .../tasks/<id>/images): the same images and totals as a plain status query, on every page
and for every viewer, read with queries the task index serves whole (no count over the task's images)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pymongo.collection
import pytest

from tests.factories import StaffedTaskFactory
from tests.labeling.conftest import BOX, client_for, make_dataset, make_project
from tests.labeling.helpers import images_of, stored_task_images
from tests.mongo_commands import recording_connection

BASE = "/api/v1/label-projects"
STATUSES = ("labeling", "reviewing", "rejected", "accepted")


@pytest.fixture
def worked_task(users):
    """A 60-image task (1 labeler, 1 reviewer): 24 labeled, of which 6 rejected and 9 accepted."""
    project = make_project(users, [make_dataset("pages", 60)], batch_size=0, label_times=1, review_times=1)
    task = StaffedTaskFactory.for_users(users, project, label_times=1, review_times=1)
    labeler, reviewer = users["labeler"][0], users["reviewer"][0]
    images = images_of(task)
    # every third image first, so each status is spread over the whole idx range
    labeled = [(image, image.set_label(task, labeler, BOX)["id"]) for image in (images[::3] + images[1::3])[:24]]
    for n, (image, label_id) in enumerate(labeled[:15]):
        image.set_review(task, reviewer, label_id, "reject" if n < 6 else "accept")
    return project, task


def _expected(task, key: str, status: str) -> list[int]:
    """The task's images in ``status`` for ``key``, by idx (plain PyMongo over the stored documents)."""
    return [doc["idx"] for doc in stored_task_images(task).find({"task_id": task.pk, f"role_status.{key}": status})]


def _query(link: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(link).query))


def _walk(client, url: str, first: dict) -> tuple[list[int], set[int]]:
    """All pages from ``first`` on, following each page's ``next`` link: the idx of every image listed, and the
    counts the pages reported. The last page is the one without ``next`` (nor ``next_cursor``)."""
    seen: list[int] = []
    counts: set[int] = set()
    response = client.get(url, first)
    while True:
        body = response.json()
        counts.add(body["count"])
        seen.extend(image["idx"] for image in body["results"])
        if body["next"] is None:
            assert body["next_cursor"] is None
            return seen, counts
        assert body["next_cursor"] == body["results"][-1]["idx"]
        response = client.get(body["next"])


@pytest.mark.parametrize("viewer", ["staff", "labeler", "reviewer"])
def test_cursor_pages_list_exactly_the_images_in_the_status(worked_task, users, viewer):
    project, task = worked_task
    user = users[viewer][0]
    key = {"staff": "label_leader", "labeler": f"labeler_{user.pk}", "reviewer": f"reviewer_{user.pk}"}[viewer]
    url = f"{BASE}/{project.pk}/tasks/{task.pk}/images"
    client = client_for(user)
    for status in STATUSES:
        expected = sorted(_expected(task, key, status))
        for page_size in (7, 60):
            for first in ({"cursor": -1}, {"page": 1}):
                seen, counts = _walk(client, url, {"status": status, "page_size": page_size, **first})
                assert (seen, counts) == (expected, {len(expected)}), (status, page_size, first)


def test_numbered_pages_report_the_same_total(worked_task, users):
    project, task = worked_task
    client = client_for(users["staff"][0])
    body = client.get(
        f"{BASE}/{project.pk}/tasks/{task.pk}/images", {"status": "labeling", "page": 3, "page_size": 10}
    ).json()
    expected = sorted(_expected(task, "label_leader", "labeling"))
    assert (body["count"], [i["idx"] for i in body["results"]]) == (len(expected), expected[20:30])
    assert _query(body["next"]) == {"status": "labeling", "page": "4", "page_size": "10"}
    assert _query(body["previous"]) == {"status": "labeling", "page": "2", "page_size": "10"}


@pytest.fixture
def task_image_reads(worked_task, monkeypatch) -> list[tuple[str, dict]]:
    """Every find and count sent to the task images' collection during the test: (kind, filter)."""
    _, task = worked_task
    name = stored_task_images(task).name
    reads: list[tuple[str, dict]] = []
    find, count = pymongo.collection.Collection.find, pymongo.collection.Collection.count_documents

    def recording_find(self, filter=None, *args, **kwargs):
        if self.name == name:
            reads.append(("find", filter))
        return find(self, filter, *args, **kwargs)

    def recording_count(self, filter, *args, **kwargs):
        if self.name == name:
            reads.append(("count", filter))
        return count(self, filter, *args, **kwargs)

    monkeypatch.setattr(pymongo.collection.Collection, "find", recording_find)
    monkeypatch.setattr(pymongo.collection.Collection, "count_documents", recording_count)
    return reads


def _only_index_reads(reads: list[tuple[str, dict]], *, bounded: bool) -> None:
    """Finds of task_id and an idx range only; ``bounded``: every range has an upper bound (a walk that finds
    nothing in its windows ends with the open rest of the task)."""
    assert reads
    for kind, filter in reads:
        assert kind == "find"
        assert set(filter) == {"task_id", "idx"}
        if bounded:
            assert set(filter["idx"]) == {"$gt", "$lte"}
        else:
            assert "$gt" in filter["idx"]


def test_cursor_page_reads_the_task_index_only(worked_task, users, task_image_reads):
    """No count over the task's images, and every read is task_id plus a bounded idx range (the index's fields)."""
    project, task = worked_task
    body = (
        client_for(users["staff"][0])
        .get(f"{BASE}/{project.pk}/tasks/{task.pk}/images", {"status": "labeling", "page_size": 10, "cursor": 5})
        .json()
    )
    assert len(body["results"]) == 10
    _only_index_reads(task_image_reads, bounded=True)


def test_next_image_reads_the_task_index_only(worked_task, users, task_image_reads):
    """The labeling page's next-image call: waiting counts and the image with the same bounded reads."""
    project, task = worked_task
    labeler = users["labeler"][0]
    key = f"labeler_{labeler.pk}"
    labeling = sorted(_expected(task, key, "labeling"))
    rejected = sorted(_expected(task, key, "rejected"))
    task_image_reads.clear()  # the expected lists above are read with a status filter
    url = f"{BASE}/{project.pk}/tasks/{task.pk}/next"
    body = client_for(labeler).get(url, {"role": "labeler", "after": rejected[2]}).json()
    assert body["waiting"] == {"rejected": len(rejected), "labeling": len(labeling)}
    assert body["image"]["idx"] == rejected[3]
    wrapped = client_for(labeler).get(url, {"role": "labeler", "after": rejected[-1]}).json()
    assert wrapped["image"]["idx"] == rejected[0]
    _only_index_reads(task_image_reads, bounded=False)


@pytest.mark.parametrize("viewer", ["staff", "labeler", "reviewer"])
def test_a_page_reads_the_task_and_its_roles_once(worked_task, users, viewer):
    """The task is read once (with its project's id, not the project first); the task's active roles once, for the
    caller's role and the page's counter; the project's roles once, for an owner's or manager's view."""
    project, task = worked_task
    client = client_for(users[viewer][0])
    with recording_connection() as recorder, recorder.recording() as commands:
        response = client.get(f"{BASE}/{project.pk}/tasks/{task.pk}/images", {"status": "labeling", "cursor": -1})
    assert response.status_code == 200
    reads = Counter(command.collection for command in commands)
    assert (reads["label_projects"], reads["label_tasks"]) == (0, 1)
    assert (reads["label_project_roles"], reads["label_task_roles"]) == (1, 1)


def test_a_task_of_another_project_or_an_unknown_project_is_not_found(worked_task, users):
    _project, task = worked_task
    other = make_project(users, [make_dataset("other", 1)], batch_size=0, label_times=1, review_times=1)
    client = client_for(users["staff"][0])
    for project_id, code in ((other.pk, 404152), ("f" * 32, 404150)):
        response = client.get(f"{BASE}/{project_id}/tasks/{task.pk}/images", {"status": "labeling"})
        assert (response.status_code, response.json()["code"]) == (404, code)
