"""One user is never labeler and reviewer of the same task, unless ``DDS_ALLOW_SELF_REVIEW`` says so."""

from __future__ import annotations

import pytest

from labeling.errors import LabelTaskError, SelfReview
from labeling.models import LabelTask, TaskRole
from labeling.workflow import ImageStatus, Role
from tests.labeling.conftest import BOX, client_for, make_project
from tests.labeling.helpers import images_of


@pytest.fixture
def task(users, small_datasets) -> LabelTask:
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.set_leader(users["review_leader"][0], Role.REVIEW_LEADER)
    return task


def _refused(call) -> None:
    with pytest.raises(LabelTaskError) as caught:
        call()
    assert caught.value.code == SelfReview.code
    assert caught.value.status_code == 400


def test_a_labeler_cannot_become_reviewer_of_the_same_task(task, users):
    labeler = users["labeler"][0]
    task.init_workers([labeler], Role.LABELER)
    _refused(lambda: task.init_workers([labeler], Role.REVIEWER))
    assert not TaskRole.objects.filter(task_id=task.pk, role=Role.REVIEWER).exists()
    key = f"reviewer_{labeler.pk}"
    assert not any(key in image.role_status for image in images_of(task))


def test_a_reviewer_cannot_become_labeler_of_the_same_task(task, users):
    reviewer = users["reviewer"][0]
    task.init_workers([reviewer], Role.REVIEWER)
    _refused(lambda: task.init_workers([reviewer], Role.LABELER))
    assert not TaskRole.objects.filter(task_id=task.pk, role=Role.LABELER).exists()


def test_replacement_cannot_make_a_user_review_his_own_labels(task, users):
    labeler, reviewer = users["labeler"][0], users["reviewer"][0]
    task.init_workers([labeler], Role.LABELER)
    task.init_workers([reviewer], Role.REVIEWER)
    _refused(lambda: task.replace_worker(reviewer, labeler, Role.REVIEWER))
    _refused(lambda: task.replace_worker(labeler, reviewer, Role.LABELER))
    active = TaskRole.objects.filter(task_id=task.pk, is_active=True)
    assert {(r.role, r.user_id) for r in active if r.role in (Role.LABELER, Role.REVIEWER)} == {
        (Role.LABELER, labeler.pk),
        (Role.REVIEWER, reviewer.pk),
    }


def test_the_api_answers_the_typed_error(task, users):
    labeler = users["labeler"][0]
    client = client_for(users["label_leader"][0])
    base = f"/api/v1/label-projects/{task.project_id}/tasks/{task.pk}"
    assert client.post(f"{base}/workers", {"labeler_ids": [labeler.pk]}, format="json").status_code == 200
    response = client_for(users["review_leader"][0]).post(
        f"{base}/workers", {"reviewer_ids": [labeler.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == SelfReview.code


def test_the_setting_allows_a_one_person_team(task, users, settings):
    settings.DDS_ALLOW_SELF_REVIEW = True
    solo = users["labeler"][0]
    task.init_workers([solo], Role.LABELER)
    task.init_workers([solo], Role.REVIEWER)
    image = images_of(task)[0]
    label = image.set_label(task, solo, BOX)
    image.set_review(task, solo, label["id"], "accept")
    stored = images_of(task)[0]
    assert stored.role_status[f"labeler_{solo.pk}"] == ImageStatus.ACCEPTED


def test_one_request_naming_a_user_in_both_roles_writes_nothing(users, small_datasets):
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    leader, both = users["label_leader"][0], users["labeler"][0]
    task.set_leader(leader, Role.LABEL_LEADER)
    task.set_leader(leader, Role.REVIEW_LEADER)
    response = client_for(leader).post(
        f"/api/v1/label-projects/{project.pk}/tasks/{task.pk}/workers",
        {"labeler_ids": [both.pk], "reviewer_ids": [both.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == SelfReview.code
    assert not TaskRole.objects.filter(task_id=task.pk, role__in=[Role.LABELER, Role.REVIEWER]).exists()


def test_a_user_holding_both_roles_from_before_cannot_review_his_own_label(task, users, settings):
    # Roles given while the rule was off (or adopted from DDS, which allowed them): reviewing one's own label
    # is still refused once the rule is on; another labeler's label may be reviewed.
    settings.DDS_ALLOW_SELF_REVIEW = True
    solo, other = users["labeler"][:2]
    task.init_workers([solo], Role.LABELER)
    task.init_workers([solo], Role.REVIEWER)
    image = images_of(task)[0]
    own = image.set_label(task, solo, BOX)
    settings.DDS_ALLOW_SELF_REVIEW = False
    _refused(lambda: image.set_review(task, solo, own["id"], "accept"))
    stored = images_of(task)[0]
    assert stored.reviews.get(solo.pk, []) == []
    assert stored.role_status[f"labeler_{solo.pk}"] != ImageStatus.ACCEPTED
    task.replace_worker(solo, other, Role.LABELER)
    relabeled = images_of(task)[0]
    theirs = relabeled.labels[other.pk][0]
    assert relabeled.set_review(task, solo, theirs.id, "accept")["label_id"] == theirs.id
