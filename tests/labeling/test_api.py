"""The labeling REST API: the whole permission matrix (reference §7.13, bug 4 closed) and the main flows."""

from __future__ import annotations

import pytest

from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.workflow import Role
from tests.factories import StaffedTaskFactory
from tests.labeling.conftest import BOX, client_for, make_project
from tests.labeling.helpers import images_of

BASE = "/api/v1/label-projects"


@pytest.fixture
def world(users, small_datasets):
    """Task A fully staffed (label 1, review 1) with one image labeled; task B with leaders only."""
    project = make_project(users, small_datasets, batch_size=0, label_times=1, review_times=1)
    task_a = StaffedTaskFactory.for_users(users, project, label_times=1, review_times=1)
    task_b = LabelTask.objects.get(project_id=project.pk, idx=1)
    task_b.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task_b.set_leader(users["review_leader"][0], Role.REVIEW_LEADER)
    images_of(task_a)[0].set_label(task_a, users["labeler"][0], BOX)
    roles = {
        "owner": users["staff"][0],
        "manager": users["manager"][0],
        "label_leader": users["label_leader"][0],
        "review_leader": users["review_leader"][0],
        "labeler": users["labeler"][0],
        "reviewer": users["reviewer"][0],
        "other": users["others"][0],
        "other_staff": users["staff"][1],
    }
    return project, task_a, task_b, roles, users


def _request(client, method, url, body=None):
    return getattr(client, method)(url, body or {}, format="json")


def _matrix(world):
    project, task_a, task_b, _, users = world
    image = images_of(task_a)[0]
    label_id = image.labels[users["labeler"][0].pk][0].id
    p, ta, tb = (
        f"{BASE}/{project.pk}",
        f"{BASE}/{project.pk}/tasks/{task_a.pk}",
        f"{BASE}/{project.pk}/tasks/{task_b.pk}",
    )
    return {
        # action: (method, url, body, roles allowed, 403 code)
        "view_project": (
            "get",
            p,
            None,
            {"owner", "manager", "label_leader", "review_leader", "labeler", "reviewer"},
            403054,
        ),
        "edit_project": ("patch", p, {"description": "x"}, {"owner"}, 403055),
        "delete_project": ("delete", p, None, {"owner"}, 403055),
        "init_project": (
            "post",
            f"{p}/init",
            {"batch_size": 0, "label_times": 1, "review_times": 1},
            {"manager"},
            403056,
        ),
        "qa_project": ("post", f"{p}/qa", {"action": "accept"}, {"owner"}, 403057),
        "export_project": ("post", f"{p}/export", {"label_name": "x"}, {"owner"}, 403058),
        "assign_leaders": (
            "post",
            f"{p}/leaders",
            {"task_ids": [task_b.pk], "label_leader_id": users["label_leader"][1].pk},
            {"manager"},
            403059,
        ),
        "list_tasks": (
            "get",
            f"{p}/tasks",
            None,
            {"owner", "manager", "label_leader", "review_leader", "labeler", "reviewer"},
            403054,
        ),
        "init_labelers": ("post", f"{tb}/workers", {"labeler_ids": [users["labeler"][1].pk]}, {"label_leader"}, 403060),
        "init_reviewers": (
            "post",
            f"{tb}/workers",
            {"reviewer_ids": [users["reviewer"][1].pk]},
            {"review_leader"},
            403060,
        ),
        "replace_labeler": (
            "post",
            f"{ta}/replace",
            {"old_worker_id": users["labeler"][0].pk, "new_worker_id": users["labeler"][2].pk, "role": "labeler"},
            {"label_leader"},
            403060,
        ),
        "replace_reviewer": (
            "post",
            f"{ta}/replace",
            {"old_worker_id": users["reviewer"][0].pk, "new_worker_id": users["reviewer"][2].pk, "role": "reviewer"},
            {"review_leader"},
            403060,
        ),
        "restart_task": ("post", f"{ta}/restart", None, {"label_leader"}, 403061),
        "qa_task": ("post", f"{ta}/qa", {"action": "accept"}, {"manager"}, 403062),
        "label_image": ("post", f"{ta}/images/{image.id}/label", {"annotations": BOX}, {"labeler"}, 403063),
        "review_image": (
            "post",
            f"{ta}/images/{image.id}/review",
            {"label_id": label_id, "action": "accept"},
            {"reviewer"},
            403064,
        ),
        "view_task_images": (
            "get",
            f"{ta}/images?status=reviewing",
            None,
            {"owner", "manager", "label_leader", "review_leader", "labeler", "reviewer"},
            403051,
        ),
        "task_roles": (
            "get",
            f"{ta}/roles",
            None,
            {"owner", "manager", "label_leader", "review_leader", "labeler", "reviewer"},
            403051,
        ),
        "task_config": (
            "get",
            f"{ta}/config",
            None,
            {"owner", "manager", "label_leader", "review_leader", "labeler", "reviewer"},
            403051,
        ),
    }


ACTIONS = [
    "delete_project",
    "view_project",
    "edit_project",
    "init_project",
    "qa_project",
    "export_project",
    "assign_leaders",
    "list_tasks",
    "init_labelers",
    "init_reviewers",
    "replace_labeler",
    "replace_reviewer",
    "restart_task",
    "qa_task",
    "label_image",
    "review_image",
    "view_task_images",
    "task_roles",
    "task_config",
]


def _snapshot(project):
    tasks = list(LabelTask.objects.filter(project_id=project.pk).values_list("id", "status"))
    roles = sorted(TaskRole.objects.filter(project_id=project.pk).values_list("id", "is_active"))
    images = [
        (i.id, i.version, i.role_status) for t in LabelTask.objects.filter(project_id=project.pk) for i in images_of(t)
    ]
    stored = LabelProject.objects.get(pk=project.pk)
    return tasks, roles, images, stored.description, stored.status


@pytest.mark.parametrize("action", ACTIONS)
def test_permission_matrix(world, action):
    project, _, _, roles, _ = world
    method, url, body, allowed, code = _matrix(world)[action]
    before = _snapshot(project)
    for name, user in roles.items():
        if name in allowed:
            continue
        response = _request(client_for(user), method, url, body)
        assert response.status_code == 403, (action, name, response.json())
        assert response.json()["code"] == code, (action, name)
        assert _snapshot(project) == before, (action, name)
    for name in sorted(allowed):
        response = _request(client_for(roles[name]), method, url, body)
        assert response.status_code != 403, (action, name, response.json())
        assert response.status_code < 500


def test_anonymous_and_banned_users_are_refused(world):
    project, _, _, roles, _ = world
    from rest_framework.test import APIClient

    assert APIClient().get(f"{BASE}/{project.pk}").status_code == 401
    banned = roles["owner"]
    banned.status = "inactive"
    banned.save()
    assert client_for(banned).get(f"{BASE}/{project.pk}").status_code in (401, 403)


def test_create_project_api(world, small_datasets):
    _, _, _, roles, users = world
    from tests.labeling.conftest import make_dataset

    fresh = make_dataset("fresh", 3)
    body = {
        "name": "n",
        "dataset_ids": [fresh.pk],
        "manager_ids": [users["manager"][0].pk],
        "categories": "Cat, dog,cat",
    }
    response = client_for(roles["owner"]).post(BASE, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["categories"] == "cat,dog"
    assert response.json()["task_num_total"] == 0
    denied = client_for(roles["other"]).post(BASE, body, format="json")
    assert (denied.status_code, denied.json()["code"]) == (403, 403053)
    occupied = client_for(roles["owner"]).post(BASE, body, format="json")
    assert (occupied.status_code, occupied.json()["code"]) == (400, 400207)
    for bad, code in [
        ({**body, "dataset_ids": ["nope"]}, 400202),
        ({**body, "manager_ids": ["nope"]}, 400200),
        ({**body, "manager_ids": []}, 400204),
        ({**body, "categories": 5}, 400002),
        ({"name": "n"}, 400002),
    ]:
        response = client_for(roles["owner"]).post(BASE, bad, format="json")
        assert (response.status_code, response.json()["code"]) == (code // 1000, code)


def test_project_list_hides_progress_from_workers(world):
    project, _, _, roles, _ = world
    owner = client_for(roles["owner"]).get(BASE).json()
    assert [p["id"] for p in owner["results"]] == [project.pk]
    assert owner["results"][0]["task_num_total"] == 2
    labeler = client_for(roles["labeler"]).get(BASE).json()
    assert labeler["results"][0]["task_num_total"] is None
    assert client_for(roles["other"]).get(BASE).json()["results"] == []


def test_unknown_ids_and_foreign_tasks(world, users, small_datasets):
    project, task_a, _, roles, _ = world
    owner = client_for(roles["owner"])
    assert owner.get(f"{BASE}/{'0' * 32}").json()["code"] == 404150
    assert owner.get(f"{BASE}/{project.pk}/tasks/{'0' * 32}").json()["code"] == 404152
    labeler = client_for(roles["labeler"])
    response = labeler.post(
        f"{BASE}/{project.pk}/tasks/{task_a.pk}/images/{task_a.pk}_999/label", {"annotations": BOX}, format="json"
    )
    assert response.json()["code"] == 404153
    # A manager of another project cannot staff this project's tasks through his own project (bug 4).
    from tests.labeling.conftest import make_dataset

    other = LabelProject.create_project(
        name="other",
        owner=users["staff"][1],
        datasets=[make_dataset("o", 2)],
        managers=[users["manager"][3]],
        categories=["x"],
    )
    body = {"task_ids": [task_a.pk], "label_leader_id": users["label_leader"][3].pk}
    response = client_for(users["manager"][3]).post(f"{BASE}/{other.pk}/leaders", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, 400203)
    assert (
        TaskRole.objects.get(task_id=task_a.pk, role="label_leader", is_active=True).user_id
        == users["label_leader"][0].pk
    )


def test_leaders_must_be_active_and_partial_failures(world, users):
    project, _, task_b, roles, _ = world
    manager = client_for(roles["manager"])
    banned = users["label_leader"][2]
    banned.status = "inactive"
    banned.save()
    body = {"task_ids": [task_b.pk], "label_leader_id": banned.pk}
    assert manager.post(f"{BASE}/{project.pk}/leaders", body, format="json").json()["code"] == 400201
    body = {"task_ids": [task_b.pk], "review_leader_id": users["review_leader"][0].pk}
    response = manager.post(f"{BASE}/{project.pk}/leaders", body, format="json").json()
    assert response["code"] == 200001
    assert response["detail"]["failed"]["review_leader"][0]["error"]["code"] == 400217
    assert (
        manager.post(f"{BASE}/{project.pk}/leaders", {"task_ids": [task_b.pk]}, format="json").json()["code"] == 400214
    )


def test_role_id_views_are_limited_bug4(world, users):
    project, task_a, task_b, roles, _ = world
    url = f"{BASE}/{project.pk}/tasks/{task_a.pk}/images"
    reviewer_role = TaskRole.objects.get(task_id=task_a.pk, role="reviewer")
    labeler_role = TaskRole.objects.get(task_id=task_a.pk, role="labeler")
    foreign_role = TaskRole.objects.get(task_id=task_b.pk, role="label_leader")
    labeler = client_for(roles["labeler"])
    response = labeler.get(f"{url}?status=reviewing&role_id={reviewer_role.pk}").json()
    assert response["code"] == 403052
    assert labeler.get(f"{url}?status=reviewing&role_id={foreign_role.pk}").json()["code"] == 404151
    leader = client_for(roles["label_leader"])
    as_labeler = leader.get(f"{url}?status=reviewing&role_id={labeler_role.pk}").json()
    assert as_labeler["count"] == 1
    assert [label["user_id"] for label in as_labeler["results"][0]["labels"]] == [users["labeler"][0].pk]
    # The owner's default view filters on the label leader's statuses.
    owner = client_for(roles["owner"]).get(f"{url}?status=labeling&page_size=3").json()
    assert owner["count"] == 9
    assert [i["idx"] for i in owner["results"]] == [1, 2, 3]
    after = client_for(roles["owner"]).get(f"{url}?status=labeling&page_size=3&cursor={owner['next_cursor']}").json()
    assert [i["idx"] for i in after["results"]] == [4, 5, 6]


def test_label_review_flow_over_api(world, users):
    project, task_a, _, roles, _ = world
    url = f"{BASE}/{project.pk}/tasks/{task_a.pk}/images"
    labeler, reviewer = client_for(roles["labeler"]), client_for(roles["reviewer"])
    for image in images_of(task_a):
        response = labeler.post(f"{url}/{image.id}/label", {"annotations": BOX}, format="json")
        assert response.status_code == 200, response.json()
    bad = labeler.post(f"{url}/{image.id}/label", {"annotations": [{"category_name": "zebra"}]}, format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, 400228)
    listing = reviewer.get(f"{url}?status=reviewing&page_size=100").json()
    assert listing["count"] == 10
    for item in listing["results"]:
        label_id = item["labels"][0]["id"]
        response = reviewer.post(
            f"{url}/{item['id']}/review", {"label_id": label_id, "action": "accept"}, format="json"
        )
        assert response.status_code == 200, response.json()
    task = client_for(roles["manager"]).get(f"{BASE}/{project.pk}/tasks/{task_a.pk}").json()
    assert task["status"] == "reviewing"
    assert task["labelers"][0]["review_num_accepted"] == 10
    response = client_for(roles["manager"]).post(
        f"{BASE}/{project.pk}/tasks/{task_a.pk}/qa", {"action": "maybe"}, format="json"
    )
    assert response.json()["code"] == 400002
    response = client_for(roles["manager"]).post(
        f"{BASE}/{project.pk}/tasks/{task_a.pk}/qa", {"action": "accept"}, format="json"
    )
    assert response.json()["status"] == "accepted"


def test_task_list_visibility(world, users):
    project, task_a, task_b, roles, _ = world
    owner = client_for(roles["owner"]).get(f"{BASE}/{project.pk}/tasks").json()["results"]
    assert [t["id"] for t in owner] == [task_a.pk, task_b.pk]
    assert len(owner[0]["labelers"]) == 1
    labeler = client_for(roles["labeler"]).get(f"{BASE}/{project.pk}/tasks").json()["results"]
    assert [t["id"] for t in labeler] == [task_a.pk]
    assert labeler[0]["label_leader"]["user_id"] == users["label_leader"][0].pk
    assert labeler[0]["reviewers"] == []


def test_openapi_schema_lists_labeling_endpoints(world):
    _, _, _, roles, _ = world
    response = client_for(roles["owner"]).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"] if response["content-type"].startswith("application/json") else {}
    text = response.content.decode()
    assert "/api/v1/label-projects/{project_pk}/tasks/{task_pk}/images/{id}/review" in (paths or text)


def test_project_edit_and_init_api(world, users, small_datasets):
    project, _, _, roles, _ = world
    owner = client_for(roles["owner"])
    response = owner.patch(f"{BASE}/{project.pk}", {"description": "only this"}, format="json")
    assert (response.status_code, response.json()["description"]) == (200, "only this")  # bug 13
    response = owner.patch(f"{BASE}/{project.pk}", {"manager_ids": []}, format="json")
    assert response.json()["code"] == 400208
    response = owner.patch(f"{BASE}/{project.pk}", {"manager_ids": [users["manager"][2].pk]}, format="json")
    assert [m["id"] for m in response.json()["managers"]] == [users["manager"][2].pk]
    from tests.labeling.conftest import make_dataset

    fresh = LabelProject.create_project(
        name="fresh",
        owner=roles["owner"],
        datasets=[make_dataset("f", 5)],
        managers=[roles["manager"]],
        categories=["a"],
    )
    manager = client_for(roles["manager"])
    for body in ({"batch_size": -1, "label_times": 1, "review_times": 0}, {"batch_size": 2}):
        response = manager.post(f"{BASE}/{fresh.pk}/init", body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, 400002)
    response = manager.post(
        f"{BASE}/{fresh.pk}/init", {"batch_size": 2, "label_times": 1, "review_times": 0}, format="json"
    )
    assert response.json()["status"] == "working"
    assert response.json()["task_num_total"] == 3
    response = manager.post(
        f"{BASE}/{fresh.pk}/init", {"batch_size": 2, "label_times": 1, "review_times": 0}, format="json"
    )
    assert response.json()["code"] == 400209


def test_numbers_too_large_for_mongodb_are_a_400_not_a_500(world):
    # Larger than int64: the driver used to fail with OverflowError (a 500).
    project, task_a, _, roles, _ = world
    from tests.labeling.conftest import make_dataset

    fresh = LabelProject.create_project(
        name="fresh",
        owner=roles["owner"],
        datasets=[make_dataset("f", 3)],
        managers=[roles["manager"]],
        categories=["a"],
    )
    manager = client_for(roles["manager"])
    huge = 2**70
    for body in (
        {"batch_size": huge, "label_times": 1, "review_times": 0},
        {"batch_size": 1, "label_times": huge, "review_times": huge},
    ):
        response = manager.post(f"{BASE}/{fresh.pk}/init", body, format="json")
        assert (response.status_code, response.json()["code"]) == (400, 400002), response.content
    fresh.refresh_from_db()
    assert fresh.status == "waiting"
    assert fresh.batch_size is None
    images = f"{BASE}/{project.pk}/tasks/{task_a.pk}/images"
    labeler = client_for(roles["labeler"])
    for query in ({"page": huge}, {"cursor": huge}, {"page": 10**9 + 1}):
        response = labeler.get(images, query)
        assert (response.status_code, response.json()["code"]) == (400, 400002), query
    assert labeler.get(images, {"page": 10**9}).json()["results"] == []


def test_model_api_refuses_an_init_config_beyond_int64(users, small_datasets):
    from labeling.errors import LabelProjectError

    project = make_project(users, small_datasets[:1])
    with pytest.raises(LabelProjectError, match="must be <="):
        project.init_project(batch_size=2**63, label_times=1, review_times=0)
    project.refresh_from_db()
    assert project.status == "waiting"
    assert not LabelTask.objects.filter(project_id=project.pk).exists()
