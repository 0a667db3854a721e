"""Project task counters never go negative, even when the stored ones are stale (DDS left them so, bug 19)."""

from __future__ import annotations

from labeling.models import LabelProject
from labeling.workflow import TaskStatus
from tests.labeling.conftest import BOX, staffed_task
from tests.labeling.helpers import assert_project_counters_equal_recount, images_of


def test_a_transition_on_stale_project_counters_recounts_instead_of_going_negative(users, small_datasets):
    task = staffed_task(users, small_datasets[:1], label_times=1, review_times=0, batch_size=5)
    project = task.project
    # What DDS leaves behind: the task works, but the project still counts it as waiting.
    LabelProject.objects.filter(pk=project.pk).update(task_num_waiting=2, task_num_working=0)

    for image in images_of(task):
        image.set_label(task, users["labeler"][0], BOX)

    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    project.refresh_from_db()
    assert (project.task_num_waiting, project.task_num_working, project.task_num_reviewing) == (1, 0, 1)
    assert_project_counters_equal_recount(project)
