"""What ``adopt_dds_database`` repairs in a database DDS wrote (run in this process on the test database)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connections
from pymongo.errors import DuplicateKeyError

from accounts.models import User
from labeling import role_slots
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.task_images import LabelTaskImage
from labeling.workflow import Role, TaskStatus
from tests.dds_shaped import PROJECT_ID, write_dds_database
from tests.labeling.helpers import assert_counters_equal_recount, assert_project_counters_equal_recount


@pytest.fixture
def dds(db):
    return write_dds_database(connections["default"].database)


def adopt() -> None:
    call_command("adopt_dds_database", verbosity=0)


def project_counters() -> tuple[int, ...]:
    project = LabelProject.objects.get(pk=PROJECT_ID)
    return (
        project.task_num_total,
        project.task_num_waiting,
        project.task_num_working,
        project.task_num_reviewing,
        project.task_num_rejected,
        project.task_num_accepted,
    )


def test_adopt_recounts_datasets_tasks_roles_and_projects(dds):
    database = connections["default"].database
    adopt()
    datasets = {doc["_id"]: doc for doc in database.datasets.find()}
    assert datasets[dds.datasets["big"]]["num_images"] == 12
    assert datasets[dds.datasets["small"]]["num_images"] == 4
    assert datasets[dds.datasets["small"]]["cover_url"] == f"/files/{dds.datasets['small']}/0.jpg"
    assert [task.num_total for task in LabelTask.objects.order_by("idx")] == [6, 6, 4]
    for role in TaskRole.objects.filter(task_id=dds.tasks[0]):
        assert (role.label_num_waiting, role.review_num_waiting) == (4, 2), role.role
        assert (role.label_completed, role.review_completed) == (False, False)
    assert project_counters() == (3, 2, 1, 0, 0, 0)


def test_after_adopt_transitions_and_reviews_keep_every_counter_exact(dds):
    adopt()
    users = {user.name: user for user in User.objects.all()}
    waiting = LabelTask.objects.get(pk=dds.tasks[1])
    waiting.set_leader(users["dds_leader"], Role.LABEL_LEADER)
    waiting.set_leader(users["dds_manager"], Role.REVIEW_LEADER)
    assert waiting.status == TaskStatus.WORKING
    assert project_counters() == (3, 1, 2, 0, 0, 0)
    assert waiting.project.task_num_working == 2

    working = LabelTask.objects.get(pk=dds.tasks[0])
    image = LabelTaskImage(working.dataset_id).find_one({"id": f"{working.pk}_0"})
    label_id = image.labels[users["dds_labeler"].pk][0].id
    image.set_review(working, users["dds_reviewer"], label_id, "accept")
    assert_counters_equal_recount(working)
    assert_project_counters_equal_recount(LabelProject.objects.get(pk=PROJECT_ID))


def test_adopt_gives_active_roles_their_slots_and_the_index_guards_them(dds):
    adopt()
    slots = {role.role: role.slot for role in TaskRole.objects.filter(task_id=dds.tasks[0])}
    task = dds.tasks[0]
    assert slots == {
        Role.LABEL_LEADER: f"{task}:label_leader",
        Role.REVIEW_LEADER: f"{task}:review_leader",
        Role.LABELER: f"{task}:labeler:0",
        Role.REVIEWER: f"{task}:reviewer:0",
    }
    with pytest.raises(DuplicateKeyError):
        TaskRole.get_collection().insert_one({"task_id": task, "role": "labeler", "slot": f"{task}:labeler:0"})


def test_adopt_creates_the_slot_index_a_migration_builds(dds):
    roles = TaskRole.get_collection()
    roles.drop_index(role_slots.SLOT_INDEX)
    try:
        adopt()
        index = roles.index_information()[role_slots.SLOT_INDEX]
    finally:
        role_slots.create_slot_index(roles)
    assert index["unique"]
    assert index["partialFilterExpression"] == {"slot": {"$type": "string"}}


def test_a_second_adopt_changes_nothing(dds):
    database = connections["default"].database
    adopt()

    def snapshot() -> dict:
        names = sorted(name for name in database.list_collection_names() if not name.startswith("system."))
        return {name: sorted(database[name].find(), key=lambda doc: str(doc["_id"])) for name in names}

    before = snapshot()
    adopt()
    assert snapshot() == before


def test_dds_users_and_datasets_have_no_invented_creation_time(dds, staff_client):
    adopt()
    users = staff_client.get("/api/v1/users", {"page_size": 100}).json()["results"]
    by_name = {user["name"]: user for user in users}
    assert "created_ts" not in by_name["dds_owner"]
    assert by_name["staffer"]["created_ts"] > 0
    dataset = staff_client.get(f"/api/v1/datasets/{dds.datasets['big']}").json()
    assert "created_ts" not in dataset
    listed = staff_client.get("/api/v1/datasets").json()["results"]
    assert all("created_ts" not in item for item in listed)
