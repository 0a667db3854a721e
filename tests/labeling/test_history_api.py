"""GET .../label-projects/<id>/history and .../tasks/<id>/history: paged, newest first, for who may view."""

from __future__ import annotations

import pytest
from django.test import Client

from labeling.models import LabelTask
from labeling.workflow import Role
from tests.factories import DatasetFactory, LabelProjectFactory, SuperuserFactory, UserFactory
from tests.labeling.conftest import client_for

BASE = "/api/v1/label-projects"


@pytest.fixture
def world(db):
    people = {name: UserFactory(name=f"hist_{name}") for name in ("manager", "leader_a", "leader_b", "other")}
    owner = people["owner"] = UserFactory(name="hist_owner", is_staff=True)
    project = LabelProjectFactory(
        owner=owner,
        managers=[people["manager"]],
        datasets=[DatasetFactory(name=f"hist_{n}", num_images=2) for n in range(2)],
    )
    project.init_project(batch_size=0, label_times=1, review_times=0)
    task_a, task_b = LabelTask.objects.filter(project_id=project.pk).order_by("idx")
    task_a.set_leader(people["leader_a"], Role.LABEL_LEADER)
    task_b.set_leader(people["leader_b"], Role.LABEL_LEADER)
    return project, task_a, task_b, people


def test_project_history_is_paged_newest_first(world):
    project, _, _, people = world
    response = client_for(people["owner"]).get(f"{BASE}/{project.pk}/history?page_size=1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["next"]
    (entry,) = body["results"]
    assert entry["action"] == "init_done"
    assert (entry["from_status"], entry["to_status"]) == ("initializing", "working")
    assert (entry["project_id"], entry["task_id"], entry["actor_id"]) == (project.pk, None, None)
    second = client_for(people["owner"]).get(f"{BASE}/{project.pk}/history?page_size=1&page=2").json()
    assert [e["action"] for e in second["results"]] == ["init"]


def test_task_history_lists_only_that_task(world):
    project, task_a, _, people = world
    response = client_for(people["leader_a"]).get(f"{BASE}/{project.pk}/tasks/{task_a.pk}/history")
    assert response.status_code == 200
    assert [(e["task_id"], e["action"]) for e in response.json()["results"]] == [(task_a.pk, "start")]


@pytest.mark.parametrize("who", ["manager", "leader_a", "leader_b"])
def test_members_read_the_project_history(world, who):
    project, _, _, people = world
    assert client_for(people[who]).get(f"{BASE}/{project.pk}/history").status_code == 200


def test_a_non_member_is_refused_the_project_history(world):
    project, _, _, people = world
    response = client_for(people["other"]).get(f"{BASE}/{project.pk}/history")
    assert response.status_code == 403
    assert response.json()["code"] == 403054


@pytest.mark.parametrize("who", ["other", "leader_b"])
def test_who_cannot_view_a_task_is_refused_its_history(world, who):
    project, task_a, _, people = world
    response = client_for(people[who]).get(f"{BASE}/{project.pk}/tasks/{task_a.pk}/history")
    assert response.status_code == 403
    assert response.json()["code"] == 403051


def test_history_of_an_unknown_project_is_404_and_anonymous_is_401(world):
    project, _, _, people = world
    assert client_for(people["owner"]).get(f"{BASE}/{'0' * 32}/history").status_code == 404
    assert client_for(None).get(f"{BASE}/{project.pk}/history").status_code == 401


def test_bad_page_size_is_400002(world):
    project, _, _, people = world
    response = client_for(people["owner"]).get(f"{BASE}/{project.pk}/history?page_size=0")
    assert response.status_code == 400
    assert response.json()["code"] == 400002


def _history_section(html: str) -> str:
    start = html.index('id="history"')
    return html[start : html.index("</div>", start)]


def test_admin_project_and_task_pages_show_their_history(world):
    project, task_a, _, _ = world
    client = Client()
    client.force_login(SuperuserFactory(name="hist_admin"))
    project_page = client.get(f"/admin/labeling/labelproject/{project.pk}/change/")
    project_history = _history_section(project_page.content.decode())
    assert "init done" in project_history
    assert "start" not in project_history  # the tasks' changes are on the task pages
    task_page = client.get(f"/admin/labeling/labeltask/{task_a.pk}/change/")
    task_history = _history_section(task_page.content.decode())
    assert "start" in task_history
    assert "waiting" in task_history
    assert "working" in task_history
