"""Replacing workers while they label and review: no write lands in the name of a user without an active role.

A label or review checks the writer's role and then writes with a compare-and-set; a replacement
between the two (or between two attempts) must turn the write into the writer's "can't label/review"
error, never into a label, review or status key of a user who no longer holds the role.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from functools import partial

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import User
from labeling import services
from labeling.errors import CantLabelImage, CantReviewImage, LabelTaskError
from labeling.models import LabelTask, TaskRole
from labeling.workflow import WAIT_FOR_LABELING, Role, TaskStatus, role_key
from tests.labeling.conftest import BOX, make_dataset, staffed_task
from tests.labeling.helpers import (
    assert_counters_equal_recount,
    assert_no_work_of_users_without_a_role,
    assert_project_counters_equal_recount,
    images_of,
)

BASE = "/api/v1/label-projects"
REPLACE_ATTEMPTS = 20


@pytest.fixture
def write_hook():
    """Install a function run right before each label/review write; removed after the test."""
    installed = []

    def install(hook):
        services.before_image_write.append(hook)
        installed.append(hook)

    yield install
    for hook in installed:
        services.before_image_write.remove(hook)


@pytest.mark.parametrize(("role", "code"), [(Role.LABELER, CantLabelImage.code), (Role.REVIEWER, CantReviewImage.code)])
def test_a_replacement_between_the_role_check_and_the_write_refuses_the_write(users, db, write_hook, role, code):
    dataset = make_dataset("in_flight", 3)
    task = staffed_task(users, [dataset], label_times=1, review_times=1)
    labeler, reviewer = users["labeler"][0], users["reviewer"][0]
    image = images_of(task)[0]
    image.set_label(task, labeler, BOX)
    image = images_of(task)[0]
    old_user, new_user = (labeler, users["labeler"][2]) if role == Role.LABELER else (reviewer, users["reviewer"][2])
    replaced = []

    def replace_once(_task, image_id):
        if not replaced:
            replaced.append(image_id)
            services.task_replace_role(
                task=LabelTask.objects.get(pk=task.pk), old_user=old_user, new_user=new_user, role=role, actor=None
            )

    write_hook(replace_once)
    if role == Role.LABELER:
        write = partial(image.set_label, task, labeler, BOX)
    else:
        write = partial(image.set_review, task, reviewer, image.labels[labeler.pk][0].id, "reject")
    with pytest.raises(LabelTaskError) as caught:
        write()
    assert replaced == [image.id]
    assert caught.value.code == code
    assert_no_work_of_users_without_a_role(task)
    after = images_of(task)[0]
    assert after.role_status[role_key(role, new_user.pk)] == image.role_status[role_key(role, old_user.pk)]
    assert_counters_equal_recount(task)


def finish_task(task: LabelTask) -> None:
    """The task's active workers relabel what waits for them and accept every label: the task must move on."""
    for _ in range(4):
        task.refresh_from_db()
        if task.status != TaskStatus.WORKING:
            break
        roles = list(TaskRole.objects.filter(task_id=task.pk, is_active=True, role__in=[Role.LABELER, Role.REVIEWER]))
        workers = {role.user_id: User.objects.get(pk=role.user_id) for role in roles}
        for image in images_of(task):
            for role in roles:
                if (
                    role.role == Role.LABELER
                    and image.role_status[role_key(role.role, role.user_id)] in WAIT_FOR_LABELING
                ):
                    image.set_label(task, workers[role.user_id], BOX)
        for image in images_of(task):
            for role in roles:
                reviewed = {review.label_id for review in image.reviews.get(role.user_id, [])}
                for items in image.labels.values() if role.role == Role.REVIEWER else []:
                    if items[0].id not in reviewed:
                        image.set_review(task, workers[role.user_id], items[0].id, "accept")
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING, [image.role_status for image in images_of(task)]


def _client(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


class _Race:
    """What the racing threads share: the task's URL and images, every answer, the 409s of replacements, failures."""

    def __init__(self, task: LabelTask, url: str) -> None:
        self.task = task
        self.url = url
        self.image_ids = [image.id for image in images_of(task)]
        self.stop = threading.Event()
        self.statuses: list[int] = []
        self.conflicts: list = []
        self.failures: list[BaseException] = []

    def record(self, response) -> None:
        self.statuses.append(response.status_code)
        if response.status_code >= 500:
            self.failures.append(AssertionError(response.content[:500]))

    def act(self, user, seed: int, reviewers: list) -> None:
        """Label (or, for a reviewer, review a random label of) random images until told to stop."""
        client, rng = _client(user), random.Random(seed)
        while not self.stop.is_set():
            image_id = rng.choice(self.image_ids)
            if user in reviewers:
                image = images_of(self.task)[self.image_ids.index(image_id)]
                labels = [item for items in image.labels.values() for item in items]
                if not labels:
                    continue
                body = {"label_id": rng.choice(labels).id, "action": rng.choice(["accept", "accept", "reject"])}
                self.record(client.post(f"{self.url}/images/{image_id}/review", body, format="json"))
            else:
                self.record(client.post(f"{self.url}/images/{image_id}/label", {"annotations": BOX}, format="json"))

    def replace(self, chain, role, leader) -> None:
        """The leader replaces each worker of ``chain`` by the next one."""
        client = _client(leader)
        for old, new in itertools.pairwise(chain):
            time.sleep(0.4)
            body = {"old_worker_id": old.pk, "new_worker_id": new.pk, "role": role}
            for _ in range(REPLACE_ATTEMPTS):  # a busy task may answer 409: retry, as a client would
                response = client.post(f"{self.url}/replace", body, format="json")
                self.record(response)
                if response.status_code != 409:
                    break
                self.conflicts.append(response)
            assert response.status_code == 200, response.content

    def run(self, job, *args) -> None:
        try:
            job(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.failures.append(exc)
        finally:
            connections.close_all()


@pytest.mark.slow
def test_labels_and_reviews_racing_replacements_leave_no_ghosts(users, db):
    """Threads label, review and replace at once through the API: no ghost work, no 500, exact counters."""
    dataset = make_dataset("races", 12)
    task = staffed_task(users, [dataset], label_times=2, review_times=1)
    project = task.project
    race = _Race(task, f"{BASE}/{project.pk}/tasks/{task.pk}")
    labeler_chain = [users["labeler"][0], users["labeler"][2], users["labeler"][3], users["others"][0]]
    reviewer_chain = [users["reviewer"][0], users["reviewer"][1], users["reviewer"][2], users["others"][1]]
    workers = [users["labeler"][1], *labeler_chain, *reviewer_chain]

    actors = [
        threading.Thread(target=race.run, args=(race.act, user, n, reviewer_chain)) for n, user in enumerate(workers)
    ]
    replacers = [
        threading.Thread(target=race.run, args=(race.replace, labeler_chain, Role.LABELER, users["label_leader"][0])),
        threading.Thread(
            target=race.run, args=(race.replace, reviewer_chain, Role.REVIEWER, users["review_leader"][0])
        ),
    ]
    for thread in actors + replacers:
        thread.start()
    for thread in replacers:
        thread.join()
    time.sleep(0.3)
    race.stop.set()
    for thread in actors:
        thread.join()
    assert not race.failures, race.failures[:3]
    print(f"{len(race.statuses)} requests, replacements answered 409 {len(race.conflicts)} times")
    assert 200 in race.statuses
    task.refresh_from_db()
    assert_no_work_of_users_without_a_role(task)
    assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)
    finish_task(task)
    assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)


def test_a_counter_write_that_loses_a_race_is_a_409_not_a_500(users, db):
    """A duplicate key from the counter update after the image write (as the embedded server reports a role
    replaced at that moment) answers 409 with the DDS envelope; the label itself has landed."""
    dataset = make_dataset("lost_race", 3)
    task = staffed_task(users, [dataset], label_times=1, review_times=1)
    project = task.project
    labeler = users["labeler"][0]
    roles = TaskRole.get_collection()
    # A decoy role document and a unique index that the labeler's next counter update will collide with.
    roles.insert_one({"_id": "decoy", "task_id": "decoy", "review_num_waiting": 1})
    roles.create_index(
        "review_num_waiting",
        name="decoy_unique",
        unique=True,
        partialFilterExpression={"review_num_waiting": {"$gte": 1}},
    )
    try:
        image_id = images_of(task)[0].id
        response = _client(labeler).post(
            f"{BASE}/{project.pk}/tasks/{task.pk}/images/{image_id}/label", {"annotations": BOX}, format="json"
        )
    finally:
        roles.drop_index("decoy_unique")
        roles.delete_one({"_id": "decoy"})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == 409000
    assert labeler.pk in images_of(task)[0].labels
