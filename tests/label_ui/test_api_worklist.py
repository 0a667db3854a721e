"""The API the labeling page needs beyond the workflow's: the next image waiting for me, and the
guarded submit (``base_label_id``) that refuses to overwrite a label changed elsewhere."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.task_images import LabelTaskImage
from tests.label_ui.staging import staffed_task

BOX = {"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staffed(db, data_root):
    return staffed_task("wl", images=5, labelers=2)


def _base(staffed) -> str:
    return f"/api/v1/label-projects/{staffed.project.pk}/tasks/{staffed.task.pk}"


def _next(client, staffed, role, after=None):
    query = f"?role={role}" + ("" if after is None else f"&after={after}")
    return client.get(f"{_base(staffed)}/next{query}")


def _label(client, staffed, image_id, annotations=(BOX,), **extra):
    body = {"annotations": list(annotations), **extra}
    return client.post(f"{_base(staffed)}/images/{image_id}/label", body, format="json")


def _ids(staffed) -> list[str]:
    docs = LabelTaskImage(staffed.task.dataset_id).find_many({"task_id": staffed.task.pk}, sort=[("idx", 1)])
    return [doc.id for doc in docs]


def test_next_walks_the_images_waiting_for_the_labeler_and_wraps(staffed):
    labeler = client_for(staffed.users["labeler0"])
    first = _next(labeler, staffed, "labeler").json()
    assert first["image"]["idx"] == 0
    assert first["waiting"] == {"rejected": 0, "labeling": 5}
    assert _next(labeler, staffed, "labeler", after=2).json()["image"]["idx"] == 3
    assert _next(labeler, staffed, "labeler", after=4).json()["image"]["idx"] == 0  # wraps around
    ids = _ids(staffed)
    assert _label(labeler, staffed, ids[0]).status_code == 200
    answer = _next(labeler, staffed, "labeler").json()
    assert answer["image"]["idx"] == 1
    assert answer["waiting"] == {"rejected": 0, "labeling": 4}


def test_rejected_images_come_back_first_with_the_verdict(staffed):
    ids = _ids(staffed)
    labelers = [client_for(staffed.users[f"labeler{n}"]) for n in range(2)]
    for client in labelers:
        for image_id in ids[1:]:  # the first image stays to label
            assert _label(client, staffed, image_id).status_code == 200
    reviewer = client_for(staffed.users["reviewer0"])
    answer = _next(reviewer, staffed, "reviewer").json()
    assert answer["waiting"] == {"reviewing": 4}
    image = answer["image"]
    assert len(image["labels"]) == 2  # a reviewer sees every labeler's label
    mine = next(label for label in image["labels"] if label["user_id"] == staffed.users["labeler0"].pk)
    rejected = reviewer.post(
        f"{_base(staffed)}/images/{ids[3]}/review",
        {"label_id": _label_of(reviewer, staffed, ids[3], "labeler0"), "action": "reject"},
        format="json",
    )
    assert rejected.status_code == 200, rejected.json()
    answer = _next(labelers[0], staffed, "labeler").json()
    assert answer["waiting"] == {"rejected": 1, "labeling": 1}
    assert answer["image"]["id"] == ids[3]  # before the earlier image still to label
    assert [review["action"] for review in answer["image"]["reviews"]] == ["reject"]
    assert all(label["user_id"] == staffed.users["labeler0"].pk for label in answer["image"]["labels"])
    assert mine["annotations"][0]["category_name"] == "cat"
    # The other labeler, not rejected, has only the first image waiting.
    other = _next(labelers[1], staffed, "labeler").json()
    assert other["image"]["idx"] == 0
    assert other["waiting"] == {"rejected": 0, "labeling": 1}


def _label_of(client, staffed, image_id, labeler_name) -> str:
    image = client.get(f"{_base(staffed)}/images/{image_id}").json()
    user_id = staffed.users[labeler_name].pk
    return next(label["id"] for label in image["labels"] if label["user_id"] == user_id)


def test_next_needs_the_role_asked_for(staffed):
    assert _next(client_for(staffed.users["reviewer0"]), staffed, "labeler").json()["code"] == 403063
    assert _next(client_for(staffed.users["labeler0"]), staffed, "reviewer").json()["code"] == 403064
    assert _next(client_for(staffed.users["manager"]), staffed, "labeler").status_code == 403
    assert _next(client_for(staffed.users["labeler0"]), staffed, "leader").json()["code"] == 400002
    assert APIClient().get(f"{_base(staffed)}/next?role=labeler").status_code == 401
    other = f"/api/v1/label-projects/{staffed.project.pk}/tasks/nosuchtask/next?role=labeler"
    assert client_for(staffed.users["labeler0"]).get(other).json()["code"] == 404152


def test_guarded_submit_refuses_a_label_changed_elsewhere(staffed):
    image_id = _ids(staffed)[0]
    tab_a = client_for(staffed.users["labeler0"])
    tab_b = client_for(staffed.users["labeler0"])
    first = _label(tab_a, staffed, image_id, base_label_id="")
    assert first.status_code == 200
    # Tab B started before the first submit ("" = no label yet): refused, nothing written.
    stale = _label(tab_b, staffed, image_id, annotations=[{**BOX, "category_name": "dog"}], base_label_id="")
    assert stale.status_code == 409
    assert stale.json()["code"] == 409000
    assert stale.json()["detail"]["current_label_id"] == first.json()["id"]
    stored = LabelTaskImage(staffed.task.dataset_id).find_one({"_id": image_id})
    (label,) = stored.labels[staffed.users["labeler0"].pk]
    assert label.id == first.json()["id"]
    assert label.annotations[0]["category_name"] == "cat"
    # Starting from the current label, the same edit goes through.
    fresh = _label(tab_b, staffed, image_id, annotations=[{**BOX, "category_name": "dog"}], base_label_id=label.id)
    assert fresh.status_code == 200
    # Without the guard the API behaves as DDS's: the last write wins.
    assert _label(tab_a, staffed, image_id).status_code == 200


def test_guard_ignores_other_labelers_of_the_same_image(staffed):
    image_id = _ids(staffed)[0]
    one, two = (client_for(staffed.users[f"labeler{n}"]) for n in range(2))
    assert _label(one, staffed, image_id, base_label_id="").status_code == 200
    assert _label(two, staffed, image_id, base_label_id="").status_code == 200
    stored = LabelTaskImage(staffed.task.dataset_id).find_one({"_id": image_id})
    assert set(stored.labels) == {staffed.users["labeler0"].pk, staffed.users["labeler1"].pk}
