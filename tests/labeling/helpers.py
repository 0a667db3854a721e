"""Assertions shared by the labeling tests."""

from __future__ import annotations

from collections import Counter

from labeling import progress, workflow
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.task_images import LabelTaskImage
from labeling.workflow import LEADERS, Role, role_key


def images_of(task: LabelTask) -> list:
    return list(LabelTaskImage(task.dataset_id).find_many({"task_id": task.pk}, sort=[("idx", 1)]))


def _untouched(role: TaskRole, num_total: int) -> bool:
    """A role as its initialisation left it: every image waiting for labeling, both flags still False."""
    initial = {
        "label_num_waiting": num_total,
        "review_num_waiting": 0,
        "review_num_rejected": 0,
        "review_num_accepted": 0,
    }
    counters = {field: getattr(role, field) for field in workflow.COUNTER_FIELDS}
    return counters == initial and not role.label_completed and not role.review_completed


def assert_counters_equal_recount(task: LabelTask) -> None:
    """Every active role's stored counters and flags equal a fresh count over the task's images."""
    task.refresh_from_db()
    project = task.project
    counts = progress.count_statuses(task=task)
    roles = list(TaskRole.objects.filter(task_id=task.pk, is_active=True))
    for role in roles:
        by_status = counts.get(workflow.role_key(role.role, role.user_id), Counter())
        expected = {field: by_status.get(status, 0) for status, field in workflow.COUNTER_FIELD.items()}
        expected.update(
            workflow.completion_flags(expected, review_times=project.review_times or 0, num_total=task.num_total)
        )
        actual = {name: getattr(role, name) for name in expected}
        if _untouched(role, task.num_total):
            # As DDS, a role keeps both flags False until the first progress update.
            expected.update(label_completed=False, review_completed=False)
        assert actual == expected, (role.role, role.user_name, actual, expected)
    if task.status == workflow.TaskStatus.WORKING:
        flags = [
            workflow.completion_flags(
                {f: getattr(r, f) for f in workflow.COUNTER_FIELDS},
                review_times=project.review_times or 0,
                num_total=task.num_total,
            )
            for r in roles
        ]
        assert not (roles and all(f["label_completed"] and f["review_completed"] for f in flags))


def assert_project_counters_equal_recount(project: LabelProject) -> None:
    project.refresh_from_db()
    statuses = Counter(LabelTask.objects.filter(project_id=project.pk).values_list("status", flat=True))
    for status, field in workflow.TASK_COUNTER_FIELD.items():
        assert getattr(project, field) == statuses.get(status, 0), field
    assert project.task_num_total == sum(statuses.values())


def assert_no_work_of_users_without_a_role(task: LabelTask) -> None:
    """Every status key, label and review on the task's images belongs to an active role of the task."""
    roles = list(TaskRole.objects.filter(task_id=task.pk, is_active=True))
    keys = {role_key(role.role, role.user_id) for role in roles} | set(LEADERS)
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
