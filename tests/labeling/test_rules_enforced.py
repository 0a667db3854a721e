"""The services enforce the labeling rules for every caller: an actor is always stated, and one without the role
is refused by the service itself, so the API, the admin and any other caller get the same answer."""

from __future__ import annotations

import inspect

import pytest

from labeling import export, services
from labeling.errors import (
    CantAssignLeader,
    CantAssignWorker,
    CantCreateProject,
    CantEditProject,
    CantExportProject,
    CantInitProject,
    CantQAProject,
    CantQATask,
    CantRestartTask,
)
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.workflow import ProjectStatus, Role, TaskStatus
from tests.labeling.conftest import make_project

VERBS = [
    services.project_edit,
    services.project_init,
    services.project_delete,
    services.project_qa,
    services.project_reopen,
    services.task_roles_init,
    services.task_set_leader,
    services.task_init_workers,
    services.task_replace_role,
    services.task_restart,
    services.task_qa,
    services.project_create_by_ids,
    services.project_edit_by_ids,
    services.project_set_leaders,
    services.task_staff_workers,
    services.task_replace_worker_by_ids,
    export.project_export,
]


@pytest.mark.parametrize("verb", VERBS, ids=lambda verb: verb.__name__)
def test_every_verb_of_an_acting_user_takes_an_actor_without_default(verb):
    parameter = inspect.signature(verb).parameters["actor"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty


@pytest.fixture
def task(users, small_datasets) -> LabelTask:
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=0)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.init_workers(users["labeler"][:1], Role.LABELER)
    task.refresh_from_db()
    return task


def test_a_project_verb_refuses_a_member_without_the_role(users, small_datasets):
    project = make_project(users, small_datasets[:1])
    owner, manager = users["staff"][0], users["manager"][0]
    with pytest.raises(CantInitProject):
        services.project_init(project=project, batch_size=0, label_times=1, review_times=0, actor=owner)
    with pytest.raises(CantEditProject):
        services.project_edit(project=project, description="mine now", actor=manager)
    with pytest.raises(CantEditProject):
        services.project_delete(project=project, actor=manager)
    with pytest.raises(CantQAProject):
        services.project_qa(project=project, action="accept", actor=manager)
    with pytest.raises(CantExportProject):
        export.project_export(project=project, label_set_name="x", actor=manager)
    with pytest.raises(CantCreateProject):
        services.project_create_by_ids(
            actor=manager, name="p", dataset_ids=["0" * 32], manager_ids=["0" * 32], categories=["cat"]
        )
    project.refresh_from_db()
    assert (project.status, project.description) == (ProjectStatus.WAITING, "")
    assert LabelProject.objects.filter(pk=project.pk).exists()
    # The manager initialises it; the operator (the model API, the commands) is never refused.
    services.project_init(project=project, batch_size=0, label_times=1, review_times=0, actor=manager)
    services.project_edit(project=project, description="by the operator", actor=None)
    project.refresh_from_db()
    assert (project.status, project.description) == (ProjectStatus.WORKING, "by the operator")


def test_a_task_verb_refuses_a_member_without_the_role(users, task):
    labeler, leader, manager = users["labeler"][0], users["label_leader"][0], users["manager"][0]
    with pytest.raises(CantQATask):
        services.task_qa(task=task, action="accept", actor=leader)
    with pytest.raises(CantRestartTask):
        services.task_restart(task=task, actor=manager)
    with pytest.raises(CantAssignLeader):
        services.task_set_leader(task=task, user=users["label_leader"][1], role=Role.LABEL_LEADER, actor=leader)
    with pytest.raises(CantAssignWorker):
        services.task_replace_role(
            task=task, old_user=labeler, new_user=users["labeler"][1], role=Role.LABELER, actor=manager
        )
    with pytest.raises(CantAssignWorker):
        services.task_roles_init(task=task, users=[users["reviewer"][0]], role=Role.REVIEWER, actor=labeler)
    task.refresh_from_db()
    assert task.status == TaskStatus.WORKING
    holders = TaskRole.objects.filter(task_id=task.pk, is_active=True).values_list("user_id", "role")
    assert set(holders) == {(leader.pk, Role.LABEL_LEADER), (labeler.pk, Role.LABELER)}
    # The task's leader replaces the labeler: the same verb, with the actor who has the role.
    services.task_replace_role(
        task=task, old_user=labeler, new_user=users["labeler"][1], role=Role.LABELER, actor=leader
    )
    assert TaskRole.objects.get(task_id=task.pk, role=Role.LABELER, is_active=True).user_id == users["labeler"][1].pk


def test_a_banned_manager_loses_his_rights_at_once(users, small_datasets):
    project = make_project(users, small_datasets[:1])
    manager = users["manager"][0]
    manager.ban_user()
    with pytest.raises(CantInitProject):
        services.project_init(project=project, batch_size=0, label_times=1, review_times=0, actor=manager)
