"""No lost updates (bug 21): concurrent labelers and reviewers, and random action sequences, keep counters exact."""

from __future__ import annotations

import contextlib
import threading

import pytest
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeling.errors import LabelTaskError
from labeling.models import LabelTask
from labeling.workflow import ImageStatus, Role, TaskStatus
from tests.labeling.conftest import BOX, make_dataset, make_project, staffed_task
from tests.labeling.helpers import assert_counters_equal_recount, assert_project_counters_equal_recount, images_of


def _run_threads(jobs):
    errors = []

    def wrap(job):
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - collected and asserted in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_concurrent_labelers_and_reviewers_on_the_same_images(users, db):
    dataset = make_dataset("concurrent", 8)
    task = staffed_task(users, [dataset], label_times=2, review_times=2)
    project = task.project
    labelers, reviewers = users["labeler"][:2], users["reviewer"][:2]
    ids = [image.id for image in images_of(task)]

    def labeling(labeler):
        def job():
            for image_id in ids:
                for _ in range(2):  # relabel: both labelers write the same image at the same time
                    images_of_task = {i.id: i for i in images_of(task)}
                    images_of_task[image_id].set_label(task, labeler, BOX)

        return job

    _run_threads([labeling(labeler) for labeler in labelers])
    for image in images_of(task):
        assert set(image.labels) == {u.pk for u in labelers}
        assert set(image.role_status.values()) == {ImageStatus.REVIEWING}
    assert_counters_equal_recount(task)

    def reviewing(reviewer):
        def job():
            for image in images_of(task):
                for labeler in labelers:
                    image.set_review(task, reviewer, image.labels[labeler.pk][0].id, "accept")

        return job

    _run_threads([reviewing(reviewer) for reviewer in reviewers])
    for image in images_of(task):
        assert set(image.role_status.values()) == {ImageStatus.ACCEPTED}
        assert all(len(image.reviews[r.pk]) == 2 for r in reviewers)
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)


def test_concurrent_mixed_actions_keep_counters_exact(users, db):
    dataset = make_dataset("mixed", 6)
    task = staffed_task(users, [dataset], label_times=2, review_times=1)
    project = task.project
    labelers, reviewer = users["labeler"][:2], users["reviewer"][0]
    for image in images_of(task):
        for labeler in labelers:
            image.set_label(task, labeler, BOX)

    def review_all():
        for image in images_of(task):
            for labeler in labelers:
                with contextlib.suppress(LabelTaskError):  # the label was replaced meanwhile
                    image.set_review(task, reviewer, image.labels[labeler.pk][0].id, "reject")

    def relabel(labeler):
        def job():
            for image in images_of(task):
                with contextlib.suppress(LabelTaskError):
                    image.set_label(task, labeler, BOX)

        return job

    _run_threads([review_all, relabel(labelers[0]), relabel(labelers[1])])
    assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["label", "review_accept", "review_reject", "reject_task", "restart", "force_accept", "replace_labeler"]
        ),
        st.integers(0, 1),  # which labeler
        st.integers(0, 2),  # which image
    ),
    min_size=5,
    max_size=30,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_random_action_sequences_keep_counters_exact(users, db, actions):
    dataset = make_dataset("random", 3)
    task = staffed_task(users, [dataset], label_times=2, review_times=1)
    project = task.project
    labelers, reviewer = users["labeler"][:2], users["reviewer"][0]
    spares = list(users["labeler"][2:4])
    for name, who, which in actions:
        image = images_of(task)[which]
        try:
            if name == "replace_labeler":
                newcomer = spares.pop(0)
                task.replace_worker(labelers[who], newcomer, Role.LABELER)
                spares.append(labelers[who])
                labelers[who] = newcomer
            elif name == "label":
                image.set_label(task, labelers[who], BOX)
            elif name.startswith("review"):
                labels = image.labels.get(labelers[who].pk)
                if labels:
                    image.set_review(task, reviewer, labels[0].id, name.removeprefix("review_"))
            elif name == "reject_task":
                task.reject_task()
            elif name == "restart":
                task.restart_task()
            else:
                task.accept_rejected_task()
        except LabelTaskError:
            pass  # an invalid action in this state: rejected without changes
        task.refresh_from_db()
        assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)
    LabelTask.objects.filter(project_id=project.pk).delete()
    project.delete()
    dataset.delete()


@pytest.mark.parametrize("status", ["accepted", "reviewing"])
def test_invalid_actions_change_nothing(users, small_datasets, status):
    task = staffed_task(users, small_datasets[:1], label_times=1, review_times=1)
    project = task.project
    LabelTask.objects.filter(pk=task.pk).update(status=status)
    project.update_subtask_counter()
    before = [(i.id, i.version) for i in images_of(task)]
    with pytest.raises(LabelTaskError):
        images_of(task)[0].set_label(task, users["labeler"][0], BOX)
    with pytest.raises(LabelTaskError):
        task.restart_task()
    assert [(i.id, i.version) for i in images_of(task)] == before


def test_concurrent_role_initialisation_lets_one_win(users, small_datasets):
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=0)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    outcomes = []

    def init(labeler):
        def job():
            try:
                task_copy = LabelTask.objects.get(pk=task.pk)
                task_copy.init_workers([labeler], Role.LABELER)
                outcomes.append("ok")
            except LabelTaskError as exc:
                outcomes.append(exc.code)

        return job

    _run_threads([init(users["labeler"][n]) for n in range(3)])
    assert sorted(outcomes, key=str) == sorted(["ok", 400240, 400240], key=str)
    from labeling.models import TaskRole

    assert TaskRole.objects.filter(task_id=task.pk, role="labeler", is_active=True).count() == 1
    assert_counters_equal_recount(task)
