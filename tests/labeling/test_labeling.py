"""Reference §11.6 (labeling with review, per-step statuses and counters), QA, restart, reopen (bugs 11, 17, 19)."""

from __future__ import annotations

import pytest

from dds_site.errors import InvalidArgument
from labeling.errors import (
    AcceptNotReviewing,
    AnnotationInvalid,
    AnnotationMissingFields,
    CantLabelImage,
    CantReviewImage,
    ForceAcceptNotRejected,
    LabelAlreadyAccepted,
    LabelProjectError,
    LabelTaskError,
    LabelTaskNotWorking,
    ProjectNotAccepted,
    ProjectNotRejected,
    ProjectNotReviewing,
    ProjectQAActionInvalid,
    RestartNotRejected,
    ReviewAlreadyDone,
    ReviewLabelingUnfinished,
    ReviewLabelNotFound,
    TaskQAActionInvalid,
)
from labeling.models import LabelProject, LabelTask
from labeling.workflow import ImageStatus, ProjectStatus, Role, TaskStatus
from tests.factories import StaffedTaskFactory
from tests.labeling.conftest import BOX, make_project
from tests.labeling.helpers import assert_counters_equal_recount, assert_project_counters_equal_recount, images_of

A, R = "accept", "reject"


def staffed_project(users, datasets):
    project = make_project(users, datasets, batch_size=0, label_times=2, review_times=2)
    tasks = [
        StaffedTaskFactory.for_users(users, project, label_times=2, review_times=2, idx=task.idx)
        for task in LabelTask.objects.filter(project_id=project.pk).order_by("idx")
    ]
    return project, tasks, users


@pytest.fixture
def run(users, datasets):
    """Project 1 of §11.5: 2 datasets x 100 images, batch 0, label_times 2, review_times 2, fully staffed."""
    return staffed_project(users, datasets[0:2])


@pytest.fixture
def small(users, small_datasets):
    """The same staffing on 2 datasets x 10 images, for the longer cycles."""
    return staffed_project(users, small_datasets)


def counters(project) -> tuple:
    project.refresh_from_db()
    return (
        project.task_num_total,
        project.task_num_waiting,
        project.task_num_working,
        project.task_num_reviewing,
        project.task_num_rejected,
        project.task_num_accepted,
    )


def statuses(image, users) -> dict[str, str]:
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    rs = image.role_status
    return {
        "LL": rs.get("label_leader"),
        "RL": rs.get("review_leader"),
        "L1": rs.get(f"labeler_{l1.pk}"),
        "L2": rs.get(f"labeler_{l2.pk}"),
        "R1": rs.get(f"reviewer_{r1.pk}"),
        "R2": rs.get(f"reviewer_{r2.pk}"),
    }


def label_and_accept_all(task, users):
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    for image in images_of(task):
        image.set_label(task, l1, BOX)
        image.set_label(task, l2, BOX)
    for image in images_of(task):
        for reviewer in (r1, r2):
            for labeler in (l1, l2):
                image.set_review(task, reviewer, image.labels[labeler.pk][0].id, A)


# Task 2 review matrix of §11.6, in the order (R1 on L1), (R2 on L1), (R1 on L2), (R2 on L2), and the expected
# statuses: accepted roles, rejected roles (everything else of the six is not asserted, as the reference).
MATRIX = [
    (range(5, 15), (A, A, A, A), {"LL", "RL", "L1", "L2", "R1", "R2"}, set()),
    (range(15, 25), (A, A, A, R), {"L1", "R1"}, {"LL", "RL", "L2", "R2"}),
    (range(25, 35), (A, A, R, R), {"L1"}, {"LL", "RL", "L2", "R1", "R2"}),
    (range(35, 45), (A, R, A, A), {"L2", "R1"}, {"LL", "RL", "L1", "R2"}),
    (range(45, 55), (A, R, A, R), {"R1"}, {"LL", "RL", "L1", "L2", "R2"}),
    (range(55, 65), (A, R, R, R), set(), {"LL", "RL", "L1", "L2", "R1", "R2"}),
    (range(65, 75), (R, R, A, A), {"L2"}, {"LL", "RL", "L1", "R1", "R2"}),
    (range(75, 85), (R, R, A, R), set(), {"LL", "RL", "L1", "L2", "R1", "R2"}),
    (range(85, 95), (R, R, R, R), set(), {"LL", "RL", "L1", "L2", "R1", "R2"}),
]


@pytest.mark.slow
def test_label_project_with_review(run):
    project, (task1, task2), users = run
    # 1. initial progress
    assert counters(project) == (2, 0, 2, 0, 0, 0)
    assert [(t.num_total, t.status) for t in (task1, task2)] == [(100, "working")] * 2
    # 2. task 1 happy path
    _check_task1_happy_path(project, task1, users)
    # 3. task 2 partial labeling
    _label_task2_partially(task2, users)
    assert counters(project) == (2, 0, 1, 1, 0, 0)
    # 4. the review matrix
    _review_by_matrix(task2, users)
    # 5. expected statuses
    assert counters(project) == (2, 0, 1, 1, 0, 0)
    _check_matrix_statuses(task2, users)
    assert_counters_equal_recount(task2)
    assert_project_counters_equal_recount(project)


def _check_task1_happy_path(project, task1, users) -> None:
    label_and_accept_all(task1, users)
    assert counters(project) == (2, 0, 1, 1, 0, 0)
    task1.refresh_from_db()
    assert task1.status == TaskStatus.REVIEWING
    for image in images_of(task1):
        assert set(statuses(image, users).values()) == {ImageStatus.ACCEPTED}
    assert_counters_equal_recount(task1)


def _label_task2_partially(task2, users) -> None:
    """L1 labels images 0-94, L2 images 5-99: only 5-94 are ready for review, by either reviewer of either label."""
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    images = images_of(task2)
    for image in images[0:95]:
        image.set_label(task2, l1, BOX)
    for image in images[5:100]:
        image.set_label(task2, l2, BOX)
    images = images_of(task2)
    for image in images[0:5] + images[95:100]:
        labeler = l1 if image.idx < 5 else l2
        for reviewer in (r1, r2):
            with pytest.raises(LabelTaskError) as caught:
                image.ensure_status_for_reviewing(task2, reviewer, image.labels[labeler.pk][0].id)
            assert caught.value.code == ReviewLabelingUnfinished.code
    for image in images[5:95]:
        for reviewer in (r1, r2):
            for labeler in (l1, l2):
                assert image.ensure_status_for_reviewing(task2, reviewer, image.labels[labeler.pk][0].id)


def _review_by_matrix(task2, users) -> None:
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    pairs = [(r1, l1), (r2, l1), (r1, l2), (r2, l2)]
    images = images_of(task2)
    for rows, actions, _, _ in MATRIX:
        for k in rows:
            image = images[k]
            for (reviewer, labeler), action in zip(pairs, actions, strict=True):
                image.set_review(task2, reviewer, image.labels[labeler.pk][0].id, action)


def _check_matrix_statuses(task2, users) -> None:
    images = images_of(task2)
    for image in images[0:5]:
        assert statuses(image, users) == {
            "LL": "labeling",
            "RL": "labeling",
            "L1": "reviewing",
            "L2": "labeling",
            "R1": "labeling",
            "R2": "labeling",
        }
    for image in images[95:100]:
        assert statuses(image, users) == {
            "LL": "labeling",
            "RL": "labeling",
            "L1": "labeling",
            "L2": "reviewing",
            "R1": "labeling",
            "R2": "labeling",
        }
    for rows, _, accepted, rejected in MATRIX:
        for k in rows:
            found = statuses(images[k], users)
            assert {key for key, value in found.items() if value == "accepted"} == accepted, k
            assert {key for key, value in found.items() if value == "rejected"} == rejected, k


def test_review_prechecks(small):
    _, (task, _), users = small
    l1, l2 = users["labeler"][:2]
    r1 = users["reviewer"][0]
    image = images_of(task)[0]
    image.set_label(task, l1, BOX)
    image.set_label(task, l2, BOX)
    image = images_of(task)[0]
    with pytest.raises(LabelTaskError) as caught:
        image.set_review(task, r1, "no-such-label", A)
    assert caught.value.code == ReviewLabelNotFound.code
    image.set_review(task, r1, image.labels[l1.pk][0].id, A)
    with pytest.raises(LabelTaskError) as caught:
        image.set_review(task, r1, image.labels[l1.pk][0].id, R)
    assert caught.value.code == ReviewAlreadyDone.code
    with pytest.raises(InvalidArgument):
        image.set_review(task, r1, image.labels[l2.pk][0].id, "maybe")
    with pytest.raises(LabelTaskError) as caught:
        image.set_review(task, l1, image.labels[l2.pk][0].id, A)
    assert caught.value.code == CantReviewImage.code
    with pytest.raises(LabelTaskError) as caught:
        image.set_label(task, r1, BOX)
    assert caught.value.code == CantLabelImage.code
    assert_counters_equal_recount(task)


def test_accepted_label_cannot_be_overwritten_bug11(small):
    _, (task, _), users = small
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    image = images_of(task)[0]
    image.set_label(task, l1, BOX)
    image.set_label(task, l2, BOX)
    image = images_of(task)[0]
    for reviewer in (r1, r2):
        image.set_review(task, reviewer, image.labels[l1.pk][0].id, A)
    with pytest.raises(LabelTaskError) as caught:
        image.ensure_status_for_labeling(task, l1)
    assert caught.value.code == LabelAlreadyAccepted.code
    with pytest.raises(LabelTaskError):
        image.set_label(task, l1, BOX)
    # L2 is not accepted yet and may relabel; the reviews of his old label are dropped.
    image.set_review(task, r1, image.labels[l2.pk][0].id, R)
    image.set_label(task, l2, BOX)
    image = images_of(task)[0]
    assert all(r.label_id != image.labels[l2.pk][0].id for r in image.reviews[r1.pk])
    assert statuses(image, users)["L2"] == "reviewing"
    assert_counters_equal_recount(task)


def test_labeling_requires_working_task(users, datasets):
    project = make_project(users, datasets[0:1], batch_size=0, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.init_workers(users["labeler"][:1], Role.LABELER)
    image = images_of(task)[0]
    with pytest.raises(LabelTaskError) as caught:
        image.set_label(task, users["labeler"][0], BOX)
    assert caught.value.code == LabelTaskNotWorking.code
    assert images_of(task)[0].labels == {}


@pytest.mark.parametrize(
    "annotations",
    [
        [{"category_name": "nope"}],
        [{"bounding_box": {}}],
        [{"category_name": "cat", "bounding_box": {"xmin": 10, "ymin": 10, "xmax": 20, "ymax": 20}}],
        [{"category_name": "cat", "bounding_box": {"xmin": 0.5, "ymin": 0.1, "xmax": 0.2, "ymax": 0.5}}],
        [{"category_name": "cat", "points": [0.1, 0.2, 0.0, 1.0, 2]}],
        [{"category_name": "cat", "segmentation": "0.1,0.2,0.3"}],
        [{"category_name": "cat", "mask": {"counts": 3}}],
        "not a list",
        [42],
    ],
)
def test_malformed_annotations_are_rejected_bug12(small, annotations):
    _, (task, _), users = small
    image = images_of(task)[0]
    with pytest.raises(LabelTaskError) as caught:
        image.set_label(task, users["labeler"][0], annotations)
    assert caught.value.code in (AnnotationInvalid.code, AnnotationMissingFields.code)
    assert caught.value.http_status == 400
    assert images_of(task)[0].labels == {}


def test_empty_bounding_box_means_no_box_bug12(small):
    _, (task, _), users = small
    image = images_of(task)[0]
    label = image.set_label(
        task,
        users["labeler"][0],
        [{"category_name": "Cat", "bounding_box": {}}, {"category_name": "dog", "points": [0.1, 0.2, 0, 1, 2, 1]}],
    )
    assert label["annotations"][0]["bounding_box"] == {}
    assert label["annotations"][0]["category_name"] == "cat"
    assert label["annotations"][1]["points"] == [0.1, 0.2, 0.0, 1.0, 2.0, 1.0]


def test_task_qa_restart_relabel_accept(small):
    project, (task, task2), users = small
    label_and_accept_all(task, users)
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    with pytest.raises(LabelTaskError) as caught:
        task2.accept_task()
    assert caught.value.code == AcceptNotReviewing.code
    with pytest.raises(LabelTaskError) as caught:
        task.restart_task()
    assert caught.value.code == RestartNotRejected.code
    with pytest.raises(LabelTaskError) as caught:
        task.accept_rejected_task()
    assert caught.value.code == ForceAcceptNotRejected.code
    with pytest.raises(LabelTaskError) as caught:
        task.qa_task("maybe")
    assert caught.value.code == TaskQAActionInvalid.code
    task.reject_task()
    assert task.status == TaskStatus.REJECTED
    assert counters(project) == (2, 0, 1, 0, 1, 0)
    task.restart_task()
    assert task.status == TaskStatus.WORKING
    # Restart refreshes the project counters at once (bug 19).
    assert counters(project) == (2, 0, 2, 0, 0, 0)
    for image in images_of(task):
        assert set(statuses(image, users).values()) == {ImageStatus.REJECTED}
    assert_counters_equal_recount(task)
    label_and_accept_all(task, users)
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    task.accept_task()
    assert counters(project) == (2, 0, 1, 0, 0, 1)
    assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)


def test_force_accept_and_project_qa_reopen_bug17(small):
    project, tasks, users = small
    with pytest.raises(LabelProjectError) as caught:
        project.accept_project()
    assert caught.value.code == ProjectNotReviewing.code
    for task in tasks:
        label_and_accept_all(task, users)
        task.refresh_from_db()
    tasks[0].accept_task()
    tasks[1].reject_task()
    tasks[1].accept_rejected_task()
    assert tasks[1].force_accepted
    project.refresh_from_db()
    assert project.status == ProjectStatus.REVIEWING
    assert counters(project) == (2, 0, 0, 0, 0, 2)
    with pytest.raises(LabelProjectError) as caught:
        project.qa_project("maybe")
    assert caught.value.code == ProjectQAActionInvalid.code
    project.reject_project()
    assert project.status == ProjectStatus.REJECTED
    with pytest.raises(LabelProjectError) as caught:
        project.export_project("x")
    assert caught.value.code == ProjectNotAccepted.code
    project.reopen_project(task_ids=[tasks[1].pk])
    assert project.status == ProjectStatus.WORKING
    assert counters(project) == (2, 0, 0, 0, 1, 1)
    tasks[1].restart_task()
    label_and_accept_all(tasks[1], users)
    tasks[1].refresh_from_db()
    tasks[1].accept_task()
    project.refresh_from_db()
    assert project.status == ProjectStatus.REVIEWING
    project.accept_project()
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.ACCEPTED
    with pytest.raises(LabelProjectError) as caught:
        project.reopen_project()
    assert caught.value.code == ProjectNotRejected.code


def test_review_times_zero_task_completes_on_labels(users, datasets):
    project = make_project(users, datasets[0:1], batch_size=40, label_times=2, review_times=0)
    task = StaffedTaskFactory.for_users(users, project, label_times=2, review_times=0, idx=2)
    assert task.status == TaskStatus.WORKING
    for image in images_of(task):
        image.set_label(task, users["labeler"][0], BOX)
        image.set_label(task, users["labeler"][1], BOX)
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    assert_counters_equal_recount(task)
    assert counters(project) == (3, 2, 0, 1, 0, 0)
