"""The labeling pages' Django views: login, "my tasks", the image page and the task page."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from labeling.workflow import Role
from tests.label_ui.staging import make_user, password, staffed_task


@pytest.fixture
def staffed(db, data_root):
    return staffed_task("pg", images=3)


def browser_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _label_url(staffed, task=None) -> str:
    return f"/label/{staffed.project.pk}/{(task or staffed.task).pk}/"


def test_pages_need_a_login(staffed):
    for url in ("/label/", _label_url(staffed), _label_url(staffed) + "overview/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/label/login/?next=")


def test_a_labeler_signs_in_with_the_form_and_lands_on_his_tasks(staffed):
    client = Client(enforce_csrf_checks=True)
    form = client.get("/label/login/")
    token = form.cookies["csrftoken"].value
    name = staffed.users["labeler0"].name
    wrong = client.post("/label/login/", {"username": name, "password": "nope", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 200
    assert b"Please enter a correct" in wrong.content
    response = client.post(
        "/label/login/",
        {"username": name, "password": password(name), "next": "/label/", "csrfmiddlewaretoken": token},
    )
    assert (response.status_code, response["Location"]) == (302, "/label/")
    assert client.get("/label/").status_code == 200


def test_my_tasks_lists_my_roles_with_counters_and_the_next_image(staffed):
    page = browser_for(staffed.users["labeler0"]).get("/label/")
    rows = page.context["rows"]
    assert [(row.task.pk, [item.role.role for item in row.roles]) for row in rows] == [(staffed.task.pk, ["labeler"])]
    (item,) = rows[0].roles
    assert (item.waiting, item.next_idx) == (3, 0)
    assert f'href="{_label_url(staffed)}?role=labeler"' in page.content.decode()


def test_my_tasks_of_a_reviewer_with_nothing_to_review_yet(staffed):
    page = browser_for(staffed.users["reviewer0"]).get("/label/")
    (row,) = page.context["rows"]
    (item,) = row.roles
    assert (item.role.role, item.waiting, item.next_idx) == ("reviewer", 0, None)
    assert "nothing waiting" in page.content.decode()


def test_my_tasks_of_managers_leaders_and_outsiders(staffed, data_root):
    other = staffed_task("pg2", images=1)  # a second project the users of the first have no role in
    manager_rows = browser_for(staffed.users["manager"]).get("/label/").context["rows"]
    assert [(row.task.pk, row.leads, row.roles) for row in manager_rows] == [(staffed.task.pk, True, [])]
    leader_rows = browser_for(staffed.users["label_leader"]).get("/label/").context["rows"]
    assert [[item.role.role for item in row.roles] for row in leader_rows] == [[Role.LABEL_LEADER]]
    assert leader_rows[0].leads
    assert browser_for(staffed.users["outsider"]).get("/label/").context["rows"] == []
    assert other.task.pk not in {row.task.pk for row in manager_rows}


def test_the_image_page_carries_what_the_script_needs(staffed):
    user = staffed.users["labeler0"]
    page = browser_for(user).get(_label_url(staffed) + "?role=labeler")
    assert page.status_code == 200
    config = page.context["config"]
    assert config["role"] == "labeler"
    assert config["me"] == {"id": user.pk, "name": user.name}
    assert (config["projectId"], config["taskId"], config["datasetId"]) == (
        staffed.project.pk,
        staffed.task.pk,
        staffed.task.dataset_id,
    )
    html = page.content.decode()
    assert json.dumps(config["csrfToken"]) in html
    assert "label_ui/page.mjs" in html
    assert browser_for(user).get(_label_url(staffed) + "?role=owner").context["config"]["role"] is None


def test_unknown_tasks_are_404_and_tasks_of_others_403(staffed, data_root):
    other = staffed_task("pg3", images=1)
    labeler = browser_for(staffed.users["labeler0"])
    assert labeler.get(f"/label/{staffed.project.pk}/nosuchtask/").status_code == 404
    assert labeler.get(f"/label/nosuchproject/{staffed.task.pk}/").status_code == 404
    # A task of another project under this project's id is not found either.
    assert labeler.get(f"/label/{staffed.project.pk}/{other.task.pk}/").status_code == 404
    assert labeler.get(_label_url(other)).status_code == 403
    assert browser_for(staffed.users["outsider"]).get(_label_url(staffed)).status_code == 403


def test_the_task_page_is_for_owners_managers_and_leaders(staffed):
    url = _label_url(staffed) + "overview/"
    for name in ("owner", "manager", "label_leader", "review_leader"):
        page = browser_for(staffed.users[name]).get(url)
        assert page.status_code == 200, name
        assert "label_ui/overview.mjs" in page.content.decode()
    for name in ("labeler0", "reviewer0", "outsider"):
        assert browser_for(staffed.users[name]).get(url).status_code == 403, name


def test_a_replaced_labeler_loses_the_task(staffed):
    old = staffed.users["labeler0"]
    staffed.task.replace_worker(old, make_user("pg_new_labeler"), Role.LABELER)
    client = browser_for(old)
    assert client.get("/label/").context["rows"] == []
    assert client.get(_label_url(staffed)).status_code == 403


def test_the_page_s_csrf_token_is_what_the_session_api_needs_to_write(staffed):
    client = browser_for(staffed.users["labeler0"])
    config = client.get(_label_url(staffed)).context["config"]
    base = f"/api/v1/label-projects/{staffed.project.pk}/tasks/{staffed.task.pk}"
    image_id = client.get(f"{base}/next?role=labeler").json()["image"]["id"]
    body = {"annotations": [{"category_name": "cat"}], "base_label_id": ""}
    url = f"{base}/images/{image_id}/label"
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    accepted = client.post(url, body, content_type="application/json", headers={"X-CSRFToken": config["csrfToken"]})
    assert accepted.status_code == 200, accepted.json()
