"""Error codes no other test reaches, and messages that say what was expected (reference §5.2)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from labeling.models import LabelTask, TaskRole
from labeling.workflow import ProjectStatus, Role, TaskStatus
from tests.labeling.conftest import BOX, client_for, make_project
from tests.labeling.helpers import images_of

BASE = "/api/v1/label-projects"


def _task(users, datasets, *, label_times: int = 1, review_times: int = 1) -> LabelTask:
    """The first task of a project over ``datasets`` (one task per dataset), with both leaders."""
    project = make_project(users, datasets, batch_size=0, label_times=label_times, review_times=review_times)
    task = LabelTask.objects.filter(project_id=project.pk).order_by("idx").first()
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.set_leader(users["review_leader"][0], Role.REVIEW_LEADER)
    task.refresh_from_db()
    return task


def _post(user, task, path, body):
    return client_for(user).post(f"{BASE}/{task.project_id}/tasks/{task.pk}/{path}", body, format="json")


def test_workers_without_labelers_and_reviewers_is_400215(users, small_datasets):
    task = _task(users, small_datasets[:1])
    response = _post(users["label_leader"][0], task, "workers", {"labeler_ids": [], "reviewer_ids": []})
    assert (response.status_code, response.json()["code"]) == (400, 400215)
    assert response.json()["message"] == "labeler_ids and reviewer_ids can not be empty at the same time."


def test_reviewing_in_a_task_that_is_no_longer_working_is_400231(users, small_datasets):
    task = _task(users, small_datasets[:1])
    labeler, reviewer = users["labeler"][0], users["reviewer"][0]
    task.init_workers([labeler], Role.LABELER)
    task.init_workers([reviewer], Role.REVIEWER)
    for image in images_of(task):
        image.set_label(task, labeler, BOX)
    for image in images_of(task):
        image.set_review(task, reviewer, image.labels[labeler.pk][0].id, "accept")
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING  # waiting for the manager's QA
    image = images_of(task)[0]
    body = {"label_id": image.labels[labeler.pk][0].id, "action": "reject"}
    response = _post(reviewer, task, f"images/{image.id}/review", body)
    assert (response.status_code, response.json()["code"]) == (400, 400231)
    assert response.json()["message"] == "review image require task status be working."


def test_resuming_an_initialisation_that_is_not_interrupted_is_400243(users, small_datasets):
    project = make_project(users, small_datasets[:1])
    with pytest.raises(CommandError, match=r"\[400243\] label project must be in status of initializing"):
        call_command("init_project", project.pk, "--resume")
    project.refresh_from_db()
    assert project.status == ProjectStatus.WAITING
    assert not LabelTask.objects.filter(project_id=project.pk).exists()


def test_workers_of_one_role_are_kept_when_the_other_role_fails_200002(users, small_datasets):
    """DDS's partial success: each role is set on its own; the failed one is reported with its error (200002)."""
    task = _task(users, small_datasets[:1], label_times=1, review_times=1)
    labeler = users["labeler"][0]
    reviewers = users["reviewer"][:2]  # the project wants one
    leader = users["label_leader"][0]
    # The review leader staffs reviewers; here the label leader also leads reviews, so one call does both.
    task.set_leader(leader, Role.REVIEW_LEADER)
    body = {"labeler_ids": [labeler.pk], "reviewer_ids": [user.pk for user in reviewers]}
    response = _post(leader, task, "workers", body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["code"] == 200002
    assert payload["message"] == "Batch assign workers partially success."
    failed = payload["detail"]["failed"]
    assert list(failed) == ["reviewers"]
    assert failed["reviewers"]["error"]["code"] == 400239
    assert failed["reviewers"]["reviewer_ids"] == [user.pk for user in reviewers]
    assert [role.user_id for role in TaskRole.objects.filter(task_id=task.pk, role=Role.LABELER)] == [labeler.pk]
    assert not TaskRole.objects.filter(task_id=task.pk, role=Role.REVIEWER).exists()


def test_a_wrong_number_of_labelers_says_how_many_were_expected(users, small_datasets):
    task = _task(users, small_datasets[:1], label_times=2, review_times=1)
    response = _post(users["label_leader"][0], task, "workers", {"labeler_ids": [users["labeler"][0].pk]})
    body = response.json()
    assert (response.status_code, body["code"]) == (400, 400238)
    assert body["message"] == "num of task labeler mismatches config: 2 expected, 1 given."
    assert body["detail"] == {"expected": 2, "given": 1}


def test_the_same_labeler_twice_is_not_two_labelers(users, small_datasets):
    task = _task(users, small_datasets[:1], label_times=2, review_times=1)
    labeler = users["labeler"][0]
    response = _post(users["label_leader"][0], task, "workers", {"labeler_ids": [labeler.pk, labeler.pk]})
    body = response.json()
    assert (response.status_code, body["code"]) == (400, 400238)
    assert "2 expected, 1 given" in body["message"]


def test_a_labeler_asking_for_another_task_is_told_it_is_not_his(users, small_datasets):
    project = make_project(users, small_datasets, batch_size=0, label_times=1, review_times=0)
    mine, other = LabelTask.objects.filter(project_id=project.pk).order_by("idx")
    labeler = users["labeler"][0]
    mine.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    mine.init_workers([labeler], Role.LABELER)
    client = client_for(labeler)
    assert client.get(f"{BASE}/{project.pk}").status_code == 200  # he may view the project
    for path in ("", "/config", "/roles", "/images"):
        response = client.get(f"{BASE}/{project.pk}/tasks/{other.pk}{path}")
        assert (response.status_code, response.json()["code"]) == (403, 403051), path
        assert response.json()["message"] == "User can't view this label task: it is not one of theirs."
