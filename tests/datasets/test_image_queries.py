"""Image-list filters mean what they say: a category and a label set match one and the same object,
and a category can be named instead of given by id."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from datasets.documents import category_id_for, label_id_for
from tests.datasets.coco_generator import CocoSet, generate_coco

URL = "/api/v1/datasets/ds/images"


@pytest.fixture
def imported(db, tmp_path) -> CocoSet:
    coco = generate_coco(num_images=12, prediction_sets=("detA",))
    gt, predictions = coco.write(tmp_path)
    call_command(
        "import_coco", str(gt), "--prediction", f"detA={predictions['detA']}", "--dataset-id", "ds", verbosity=0
    )
    return coco


def _ids(client, **params) -> set[int]:
    response = client.get(URL, {**params, "page_size": 500})
    assert response.status_code == 200, response.json()
    return {image["id"] for image in response.json()["results"]}


def _expected(coco: CocoSet, category: int, predictions: bool) -> set[int]:
    rows = coco.predictions["detA"] if predictions else coco.gt["annotations"]
    return {row["image_id"] for row in rows if row.get("category_id") == category}


def test_category_and_label_match_the_same_object(imported, client_user):
    zebra = next(c["id"] for c in imported.gt["categories"] if c["name"] == "zebra")
    detected = _expected(imported, zebra, predictions=True)
    any_zebra = _expected(imported, zebra, predictions=False) | detected
    assert detected < any_zebra  # the data has images where only the ground truth holds a zebra
    got = _ids(client_user, category_id=category_id_for("ds", "zebra"), label_id=label_id_for("ds", "detA"))
    assert got == detected


def test_category_name_filters_like_its_id(imported, client_user):
    by_name = _ids(client_user, category_name="zebra", label_id=label_id_for("ds", "detA"))
    by_id = _ids(client_user, category_id=category_id_for("ds", "zebra"), label_id=label_id_for("ds", "detA"))
    assert by_name == by_id
    assert by_name
    assert _ids(client_user, category_name="unicorn") == set()


def test_category_name_and_id_together_are_refused(imported, client_user):
    response = client_user.get(URL, {"category_name": "zebra", "category_id": category_id_for("ds", "zebra")})
    assert response.status_code == 400
    assert response.json()["code"] // 1000 == 400
