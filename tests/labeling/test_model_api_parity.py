"""Scripts written against DDS's model API see what DDS showed them: fresh role flags, the task's project."""

from __future__ import annotations

from labeling.models import LabelTask, TaskRole
from labeling.workflow import Role, TaskStatus
from tests.labeling.conftest import BOX, make_project
from tests.labeling.helpers import assert_counters_equal_recount, images_of


def first_task(project) -> LabelTask:
    return LabelTask.objects.filter(project_id=project.pk).order_by("idx").first()


def flags(task: LabelTask) -> dict[str, tuple[bool, bool]]:
    return {
        role.role: (role.label_completed, role.review_completed)
        for role in TaskRole.objects.filter(task_id=task.pk, is_active=True)
    }


def test_fresh_roles_store_both_flags_false_until_the_first_progress_update(users, small_datasets):
    # DDS creates every role with label_completed = review_completed = False, also when review_times is 0.
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=0)
    task = first_task(project)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.init_workers(users["labeler"][:1], Role.LABELER)
    assert flags(task) == {Role.LABEL_LEADER: (False, False), Role.LABELER: (False, False)}

    image = images_of(task)[0]
    image.set_label(task, users["labeler"][0], BOX)
    # The first progress update computes every active role's flags (review_times 0: review is complete).
    assert flags(task) == {Role.LABEL_LEADER: (False, True), Role.LABELER: (False, True)}
    assert_counters_equal_recount(task)


def test_task_project_reflects_the_counters_moved_by_set_leader(users, small_datasets):
    project = make_project(users, small_datasets[:1], batch_size=5, label_times=1, review_times=0)
    task = first_task(project)
    cached = task.project
    assert (cached.task_num_waiting, cached.task_num_working) == (2, 0)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    assert task.status == TaskStatus.WORKING
    assert task.project is cached  # the object a script holds is updated in place, as DDS's
    assert (cached.task_num_waiting, cached.task_num_working) == (1, 1)


def test_task_project_reflects_task_qa_and_project_status(users, small_datasets):
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=0)
    task = first_task(project)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.init_workers(users["labeler"][:1], Role.LABELER)
    for image in images_of(task):
        image.set_label(task, users["labeler"][0], BOX)
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    assert (task.project.task_num_working, task.project.task_num_reviewing) == (0, 1)
    task.accept_task()
    assert (task.project.task_num_reviewing, task.project.task_num_accepted) == (0, 1)
    assert task.project.status == "reviewing"  # every task accepted: the project moved on
