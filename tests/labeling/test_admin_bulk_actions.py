"""The changelist actions of label projects and tasks: each runs the workflow service per selected object after
the same check as the API; a refusal or a workflow error is a message naming the object, nothing changes."""

from __future__ import annotations

import pytest

from accounts.staff_group import staff_group_join
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.workflow import ProjectStatus, TaskStatus
from tests.labeling.conftest import make_dataset
from tests.labeling.test_admin_project import (
    LIST_URL,
    client_of,
    label_and_review,
    make_cats,
    make_people,
    messages_of,
    reviewing_project,
    staff_task,
)

TASKS_URL = "/admin/labeling/labeltask/"


@pytest.fixture
def people(db):
    people = make_people()
    people["leader"].is_staff = True
    people["leader"].save(update_fields=["is_staff"])
    staff_group_join(people["leader"])
    return people


def _act(client, url: str, action: str, *objects) -> list[str]:
    response = client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True)
    assert response.status_code == 200
    return messages_of(response)


def test_project_qa_actions_run_for_the_owner_and_refuse_a_manager(people):
    project = reviewing_project(people, make_dataset("tiny", 1))

    refused = _act(client_of(people["manager"]), LIST_URL, "accept_projects", project)
    assert any(text.startswith(f"{project}: [403") for text in refused), refused
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.REVIEWING

    done = _act(client_of(people["owner"]), LIST_URL, "reject_projects", project)
    assert "Rejected 1 object(s)." in done
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.REJECTED

    done = _act(client_of(people["owner"]), LIST_URL, "reopen_projects", project)
    assert "Reopened 1 object(s)." in done
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WORKING


def test_task_actions_reject_restart_and_report_workflow_errors(people):
    project = make_cats(people, make_dataset("tiny", 1), init={"batch_size": 0, "label_times": 1, "review_times": 1})
    task = LabelTask.objects.get(project_id=project.pk)
    staff_task(task, people)
    label_and_review(task, people)
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.REVIEWING
    manager, leader = client_of(people["manager"]), client_of(people["leader"])

    assert "Rejected 1 object(s)." in _act(manager, TASKS_URL, "reject_tasks", task)
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.REJECTED

    assert "Restarted 1 object(s)." in _act(leader, TASKS_URL, "restart_tasks", task)
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING

    errors = _act(manager, TASKS_URL, "force_accept_tasks", task)
    assert any("400226" in text for text in errors), errors  # only a rejected task can be force-accepted
    assert not any("object(s)" in text for text in errors)
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING


def test_recount_actions_rebuild_counters(people):
    dataset = make_dataset("pets", 2)
    project = reviewing_project(people, dataset)
    task = LabelTask.objects.get(project_id=project.pk)
    TaskRole.objects.filter(task_id=task.pk).update(label_num_waiting=99)
    LabelProject.objects.filter(pk=project.pk).update(task_num_accepted=0)

    assert "Recounted 1 object(s)." in _act(client_of(people["manager"]), TASKS_URL, "recount_tasks", task)
    assert not TaskRole.objects.filter(task_id=task.pk, label_num_waiting=99).exists()
    assert "Recounted 1 object(s)." in _act(client_of(people["manager"]), LIST_URL, "recount_projects", project)
    assert LabelProject.objects.get(pk=project.pk).task_num_accepted == 1
