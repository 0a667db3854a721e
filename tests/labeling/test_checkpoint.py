"""The status checkpoint: every project and task status change is checked against the status machines,
applied by a conditional update, and recorded in the history with its actor (``labeling.checkpoint``)."""

from __future__ import annotations

import threading

import pytest

from dds_site.errors import InvalidTransition, WorkflowConflict
from labeling import checkpoint
from labeling.errors import LabelProjectError, LabelTaskError
from labeling.models import LabelProject, LabelTask, WorkflowEvent
from labeling.transactions import run_atomic
from labeling.workflow import (
    PROJECT_MOVES,
    PROJECT_TRANSITIONS,
    TASK_MOVES,
    TASK_TRANSITIONS,
    ProjectAction,
    ProjectStatus,
    TaskAction,
    TaskStatus,
)
from tests.factories import DatasetFactory, LabelProjectFactory, UserFactory
from tests.labeling.conftest import BOX, client_for
from tests.labeling.helpers import images_of

BASE = "/api/v1/label-projects"


def _events(**filters) -> list[tuple]:
    found = WorkflowEvent.objects.filter(**filters).order_by("created_ts", "id")
    return [(e.action, e.from_status, e.to_status, e.actor_name) for e in found]


@pytest.mark.parametrize(("moves", "machine"), [(TASK_MOVES, TASK_TRANSITIONS), (PROJECT_MOVES, PROJECT_TRANSITIONS)])
def test_every_action_is_an_edge_of_its_status_machine(moves, machine):
    for action, move in moves.items():
        for source in move.sources:
            assert move.target in machine[source], (action, source)


@pytest.fixture
def team(db):
    names = ("owner", "manager", "leader", "labeler", "other")
    people = {name: UserFactory(name=f"ck_{name}") for name in names}
    people["owner"].is_staff = True
    people["owner"].save()
    return people


@pytest.fixture
def project(team):
    return LabelProjectFactory(
        owner=team["owner"], managers=[team["manager"]], datasets=[DatasetFactory(name="ck", num_images=3)]
    )


def test_an_illegal_project_move_is_refused_with_dds_code_and_writes_nothing(project, team):
    with pytest.raises(LabelProjectError) as caught:
        checkpoint.move_project(project=project, action=ProjectAction.ACCEPT, actor=team["owner"])
    assert caught.value.code == 400212
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING
    assert not WorkflowEvent.objects.filter(project_id=project.pk).exists()


def test_an_internal_move_outside_its_machine_raises_invalid_transition(project, team):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    task = LabelTask.objects.get(project_id=project.pk)
    before = WorkflowEvent.objects.count()
    with pytest.raises(InvalidTransition) as caught:
        checkpoint.move_task(task=task, action=TaskAction.REOPEN, actor=team["owner"])
    assert caught.value.code == 400000
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WAITING
    assert WorkflowEvent.objects.count() == before


def test_a_move_from_a_status_the_object_has_left_writes_nothing(project, team):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    task = LabelTask.objects.get(project_id=project.pk)
    stale = LabelTask.objects.get(pk=task.pk)
    assert checkpoint.move_task(task=task, action=TaskAction.START, actor=team["manager"])
    assert not checkpoint.move_task(task=stale, action=TaskAction.START, actor=team["manager"])
    assert _events(task_id=task.pk) == [("start", "waiting", "working", "ck_manager")]


def test_the_change_and_its_history_entry_share_the_transaction(project, team):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    task = LabelTask.objects.get(project_id=project.pk)

    def start_then_fail():
        checkpoint.move_task(task=task, action=TaskAction.START, actor=team["manager"])
        raise RuntimeError("later step of the same transaction")

    with pytest.raises(RuntimeError):
        run_atomic(start_then_fail)
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WAITING
    assert _events(task_id=task.pk) == []


def test_the_api_refuses_an_illegal_transition_with_the_existing_code(project, team):
    response = client_for(team["owner"]).post(f"{BASE}/{project.pk}/qa", {"action": "accept"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400212
    assert response.json()["message"] == "label project must be in status of reviewing."
    assert not WorkflowEvent.objects.filter(project_id=project.pk).exists()


def _post(user, url, body=None):
    response = client_for(user).post(url, body or {}, format="json")
    assert response.status_code < 300, (url, response.json())
    return response


def _label_all(task, labeler):
    for image in images_of(task):
        _post(labeler, f"{BASE}/{task.project_id}/tasks/{task.pk}/images/{image.id}/label", {"annotations": BOX})


def test_each_workflow_action_is_recorded_with_its_actor(project, team):
    p = f"{BASE}/{project.pk}"
    _post(team["manager"], f"{p}/init", {"batch_size": 0, "label_times": 1, "review_times": 0})
    task = LabelTask.objects.get(project_id=project.pk)
    t = f"{p}/tasks/{task.pk}"
    _post(team["manager"], f"{p}/leaders", {"task_ids": [task.pk], "label_leader_id": team["leader"].pk})
    _post(team["leader"], f"{t}/workers", {"labeler_ids": [team["labeler"].pk]})
    _label_all(task, team["labeler"])
    _post(team["manager"], f"{t}/qa", {"action": "reject"})
    _post(team["leader"], f"{t}/restart")
    _label_all(task, team["labeler"])
    _post(team["manager"], f"{t}/qa", {"action": "accept"})
    _post(team["owner"], f"{p}/qa", {"action": "reject"})
    _post(team["owner"], f"{p}/reopen")
    _post(team["manager"], f"{t}/qa", {"action": "force_accept"})
    _post(team["owner"], f"{p}/qa", {"action": "accept"})
    _post(team["owner"], f"{p}/export", {"label_name": "checked"})

    assert _events(project_id=project.pk, task_id=None) == [
        ("init", "waiting", "initializing", "ck_manager"),
        ("init_done", "initializing", "working", "ck_manager"),
        ("complete", "working", "reviewing", "ck_manager"),
        ("reject", "reviewing", "rejected", "ck_owner"),
        ("reopen", "rejected", "working", "ck_owner"),
        ("complete", "working", "reviewing", "ck_manager"),
        ("accept", "reviewing", "accepted", "ck_owner"),
        ("export", "accepted", "exported", "ck_owner"),
    ]
    assert _events(task_id=task.pk) == [
        ("start", "waiting", "working", "ck_manager"),
        ("complete", "working", "reviewing", "ck_labeler"),
        ("reject", "reviewing", "rejected", "ck_manager"),
        ("restart", "rejected", "working", "ck_leader"),
        ("complete", "working", "reviewing", "ck_labeler"),
        ("accept", "reviewing", "accepted", "ck_manager"),
        ("reopen", "accepted", "rejected", "ck_owner"),
        ("force_accept", "rejected", "accepted", "ck_manager"),
    ]
    actors = set(WorkflowEvent.objects.filter(project_id=project.pk).values_list("actor_id", flat=True))
    assert actors == {team[name].pk for name in ("owner", "manager", "leader", "labeler")}


def test_the_model_api_records_changes_without_a_user(project):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    event = WorkflowEvent.objects.filter(project_id=project.pk).order_by("created_ts", "id").first()
    assert (event.action, event.actor_id, event.actor_name) == ("init", None, "")


def test_deleting_a_project_deletes_its_history(project, team):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    assert WorkflowEvent.objects.filter(project_id=project.pk).exists()
    response = client_for(team["owner"]).delete(f"{BASE}/{project.pk}")
    assert response.status_code == 204
    assert not WorkflowEvent.objects.filter(project_id=project.pk).exists()


def _in_threads(jobs) -> list:
    results: list = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def run(number, job):
        start.wait()
        try:
            results[number] = job()
        except Exception as exc:  # noqa: BLE001 - the outcome of each contender is what is checked
            results[number] = exc

    threads = [threading.Thread(target=run, args=(n, job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_of_concurrent_moves_of_one_task_exactly_one_wins(project, team):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    task_id = LabelTask.objects.get(project_id=project.pk).pk
    # Every contender read the task while it was waiting; all of them try to start it at once.
    copies = [LabelTask.objects.get(pk=task_id) for _ in range(4)]

    def start(task):
        return lambda: checkpoint.move_task(task=task, action=TaskAction.START, actor=team["manager"])

    results = _in_threads([start(task) for task in copies])
    assert sorted(map(repr, results)) == sorted(["True"] + ["False"] * 3)
    assert _events(task_id=task_id) == [("start", "waiting", "working", "ck_manager")]


def test_of_concurrent_qa_verdicts_exactly_one_wins(project, team):
    project.init_project(batch_size=0, label_times=1, review_times=0)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(team["leader"], "label_leader")
    task.init_workers([team["labeler"]], "labeler")
    _label_all(task, team["labeler"])
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.REVIEWING
    from labeling import services

    def verdict(action):
        def job():
            return services.task_qa(task=LabelTask.objects.get(pk=task.pk), action=action, actor=team["manager"])

        return job

    results = _in_threads([verdict("accept"), verdict("reject"), verdict("accept"), verdict("reject")])
    winners = [r for r in results if isinstance(r, LabelTask)]
    losers = [r for r in results if not isinstance(r, LabelTask)]
    assert len(winners) == 1
    assert all(isinstance(r, (LabelTaskError, WorkflowConflict)) for r in losers), losers
    assert all(r.code in (400224, 400225, 409000) for r in losers)
    qa = [e for e in _events(task_id=task.pk) if e[0] in ("accept", "reject")]
    assert len(qa) == 1
    assert LabelTask.objects.get(pk=task.pk).status == qa[0][2]
    stored = LabelProject.objects.get(pk=project.pk)
    assert stored.task_num_reviewing == 0
    assert stored.task_num_accepted + stored.task_num_rejected == 1
