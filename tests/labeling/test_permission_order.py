"""Staffing endpoints check the caller's permission before the user ids of the body.

User ids are md5 of the lower-cased name, so answering "user not found" to anyone would let them
enumerate user names; a caller without the permission gets the same 403 whether the ids exist or not.
"""

from __future__ import annotations

import pytest

from labeling.errors import CantAssignWorker, LabelUserNotFound
from labeling.models import LabelTask
from labeling.workflow import Role
from tests.labeling.conftest import client_for, make_project

BASE = "/api/v1/label-projects"
UNKNOWN = "0" * 32


@pytest.fixture
def task(users, small_datasets):
    project = make_project(users, small_datasets[:1], batch_size=0, label_times=1, review_times=1)
    task = LabelTask.objects.get(project_id=project.pk)
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.set_leader(users["review_leader"][0], Role.REVIEW_LEADER)
    task.refresh_from_db()
    return task


def _post(user, task, action, body):
    return client_for(user).post(f"{BASE}/{task.project_id}/tasks/{task.pk}/{action}", body, format="json")


@pytest.mark.parametrize("caller", ["others", "review_leader", "manager", "labeler"])
def test_workers_refuses_before_telling_which_user_ids_exist(users, task, caller):
    known = _post(users[caller][0], task, "workers", {"labeler_ids": [users["labeler"][1].pk]})
    unknown = _post(users[caller][0], task, "workers", {"labeler_ids": [UNKNOWN]})
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()
    assert unknown.json()["code"] == CantAssignWorker.code


@pytest.mark.parametrize("caller", ["others", "review_leader", "manager", "labeler"])
def test_replace_refuses_before_telling_which_user_ids_exist(users, task, caller):
    task.init_workers(users["labeler"][:1], Role.LABELER)
    known = {"old_worker_id": users["labeler"][0].pk, "new_worker_id": users["labeler"][1].pk, "role": "labeler"}
    unknown = {"old_worker_id": UNKNOWN, "new_worker_id": UNKNOWN, "role": "labeler"}
    responses = [_post(users[caller][0], task, "replace", body) for body in (known, unknown)]
    assert [r.status_code for r in responses] == [403, 403]
    assert responses[0].json() == responses[1].json()
    assert responses[1].json()["code"] == CantAssignWorker.code


def test_the_leader_still_learns_that_a_user_id_is_unknown(users, task):
    leader = users["label_leader"][0]
    response = _post(leader, task, "workers", {"labeler_ids": [UNKNOWN]})
    assert (response.status_code, response.json()["code"]) == (400, LabelUserNotFound.code)
    task.init_workers(users["labeler"][:1], Role.LABELER)
    body = {"old_worker_id": users["labeler"][0].pk, "new_worker_id": UNKNOWN, "role": "labeler"}
    response = _post(leader, task, "replace", body)
    assert (response.status_code, response.json()["code"]) == (400, LabelUserNotFound.code)
