"""Assertions shared by the labeling tests."""

from __future__ import annotations

from collections import Counter

from django.db import connections

from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.task_images import LabelTaskImage
from labeling.workflow import Role, TaskStatus

# What the counter checks below expect is derived here from the stored documents and the rules of reference §6.4,
# written out again rather than taken from the production code that maintains the counters.
ROLE_COUNTER_OF_STATUS = {
    "labeling": "label_num_waiting",
    "reviewing": "review_num_waiting",
    "rejected": "review_num_rejected",
    "accepted": "review_num_accepted",
}
ROLE_COUNTERS = tuple(ROLE_COUNTER_OF_STATUS.values())
TASK_STATUSES = ("waiting", "working", "reviewing", "rejected", "accepted")


def images_of(task: LabelTask) -> list:
    return list(LabelTaskImage(task.dataset_id).find_many({"task_id": task.pk}, sort=[("idx", 1)]))


def stored_task_images(task: LabelTask):
    """The raw PyMongo collection of the task's images."""
    return connections["default"].database[f"label_task_images@dataset_{task.dataset_id}"]


def status_counts_of_stored_images(task: LabelTask) -> dict[str, Counter]:
    """Per ``role_status`` key, how many of the task's stored image documents are in each status (plain PyMongo)."""
    counts: dict[str, Counter] = {}
    for document in stored_task_images(task).find({"task_id": task.pk}, {"role_status": 1}):
        for key, status in document.get("role_status", {}).items():
            counts.setdefault(key, Counter())[status] += 1
    return counts


def _status_key(role: TaskRole) -> str:
    """Leaders are keyed by their role name in ``role_status``, workers by role and user id."""
    return role.role if role.role in ("label_leader", "review_leader") else f"{role.role}_{role.user_id}"


def _expected_flags(counters: dict[str, int], *, review_times: int, num_total: int) -> dict[str, bool]:
    """A role has labelled when no image waits for labeling or was rejected, and has reviewed when every image is
    accepted (or the project needs no review)."""
    return {
        "label_completed": counters["label_num_waiting"] == 0 and counters["review_num_rejected"] == 0,
        "review_completed": review_times == 0 or counters["review_num_accepted"] == num_total,
    }


def _untouched(role: TaskRole, num_total: int) -> bool:
    """A role as its initialisation left it: every image waiting for labeling, both flags still False."""
    initial = {
        "label_num_waiting": num_total,
        "review_num_waiting": 0,
        "review_num_rejected": 0,
        "review_num_accepted": 0,
    }
    counters = {field: getattr(role, field) for field in ROLE_COUNTERS}
    return counters == initial and not role.label_completed and not role.review_completed


def assert_counters_equal_recount(task: LabelTask) -> None:
    """Every active role's stored counters and flags equal a count over the task's stored images made here."""
    task.refresh_from_db()
    assert task.num_total == stored_task_images(task).count_documents({"task_id": task.pk})
    review_times = task.project.review_times or 0
    counts = status_counts_of_stored_images(task)
    roles = list(TaskRole.objects.filter(task_id=task.pk, is_active=True))
    expected_by_role = []
    for role in roles:
        by_status = counts.get(_status_key(role), Counter())
        expected = {field: by_status[status] for status, field in ROLE_COUNTER_OF_STATUS.items()}
        expected.update(_expected_flags(expected, review_times=review_times, num_total=task.num_total))
        expected_by_role.append(expected)
        actual = {name: getattr(role, name) for name in expected}
        if _untouched(role, task.num_total):
            # As DDS, a role keeps both flags False until the first progress update.
            expected = {**expected, "label_completed": False, "review_completed": False}
        assert actual == expected, (role.role, role.user_name, actual, expected)
    if task.status == TaskStatus.WORKING:
        # A task whose every role is done has moved on to reviewing.
        assert not (expected_by_role and all(e["label_completed"] and e["review_completed"] for e in expected_by_role))


def assert_project_counters_equal_recount(project: LabelProject) -> None:
    """The project's task counters equal a count of its tasks by status."""
    project.refresh_from_db()
    statuses = Counter(LabelTask.objects.filter(project_id=project.pk).values_list("status", flat=True))
    assert set(statuses) <= set(TASK_STATUSES), statuses
    for status in TASK_STATUSES:
        assert getattr(project, f"task_num_{status}") == statuses[status], status
    assert project.task_num_total == sum(statuses.values())


def assert_no_work_of_users_without_a_role(task: LabelTask) -> None:
    """Every status key, label and review on the task's images belongs to an active role of the task."""
    roles = list(TaskRole.objects.filter(task_id=task.pk, is_active=True))
    keys = {_status_key(role) for role in roles} | {"label_leader", "review_leader"}
    labelers = {role.user_id for role in roles if role.role == Role.LABELER}
    reviewers = {role.user_id for role in roles if role.role == Role.REVIEWER}
    for image in images_of(task):
        assert set(image.role_status) <= keys, (image.id, set(image.role_status) - keys)
        assert set(image.labels) <= labelers, (image.id, set(image.labels) - labelers)
        assert set(image.reviews) <= reviewers, (image.id, set(image.reviews) - reviewers)
        for user_id, items in image.labels.items():
            assert all(item.user_id == user_id for item in items)
        for user_id, items in image.reviews.items():
            assert all(item.user_id == user_id for item in items)
