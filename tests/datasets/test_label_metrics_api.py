"""``GET /api/v1/datasets/<id>/labels/<label_id>/metrics``: the per-category metrics and confusion
matrix of a prediction set, documented, readable by any authenticated user, with DDS's 404 codes."""

from __future__ import annotations

from datasets.fnfp import calculate_fnfp
from datasets.models import Category, DataSet
from datasets.services import category_id_for, label_id_for
from tests.test_api_output_schema import Documented


def _dataset(name: str = "metrics") -> DataSet:
    """One image: cat GT hit (.9), dog GT predicted as cat (.8), a false cat (.7), a missed bird."""
    dataset = DataSet.create_dataset(name)
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", bbox=(0, 0, 10, 10))
    image.batch_add_annotation("dog", bbox=(20, 20, 10, 10))
    image.batch_add_annotation("bird", bbox=(50, 50, 10, 10))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(0, 0, 10, 10))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.8, bbox=(20, 20, 10, 11))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.7, bbox=(80, 0, 5, 5))
    dataset.finish_batch_add_image()
    return dataset


def _url(dataset_id: str, label_id: str) -> str:
    return f"/api/v1/datasets/{dataset_id}/labels/{label_id}/metrics"


def test_metrics_of_a_prediction_set(db, client_user):
    dataset = _dataset()
    calculate_fnfp(dataset.id)
    det = label_id_for(dataset.id, "det")
    response = client_user.get(_url(dataset.id, det))
    body = Documented(client_user).check("datasets_labels_metrics", response)
    assert body["label_id"] == det
    assert body["label_name"] == "det"
    per_category = {entry["category_name"]: entry for entry in body["category_metrics"]["categories"]}
    assert [entry["category_name"] for entry in body["category_metrics"]["categories"]] == ["bird", "cat", "dog"]
    assert per_category["cat"]["ap50"] == 1.0  # the one cat GT box is found first
    assert per_category["cat"]["num_gt"] == 1
    assert per_category["cat"]["num_pred"] == 3
    assert per_category["dog"]["ap"] == 0.0
    assert per_category["cat"]["pr_curve"] == [1.0] * 101
    assert per_category["dog"]["pr_curve"] == []
    matrix = body["confusion_matrix"]
    assert [c["name"] for c in matrix["categories"]] == ["bird", "cat", "dog"]
    assert matrix["background"] == 3
    assert matrix["precision_level"] == 0.5
    assert matrix["conf_threshold"] == 0.8  # ranked TP, FP, FP: precision 1, 1/2, 1/3 reaches .5 down to .8
    cells = {(c["predicted"], c["actual"]): c["count"] for c in matrix["cells"]}
    assert cells == {(1, 1): 1, (1, 2): 1, (3, 0): 1}


def test_names_are_the_categories_current_ones(db, client_user):
    dataset = _dataset()
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    Category.objects.filter(pk=category_id_for(dataset.id, "dog")).update(name="hound")
    body = client_user.get(_url(dataset.id, label_id_for(dataset.id, "det"))).json()
    assert "hound" in [entry["category_name"] for entry in body["category_metrics"]["categories"]]
    assert "hound" in [c["name"] for c in body["confusion_matrix"]["categories"]]


def test_not_computed_unknown_label_and_unknown_dataset(db, client_user):
    dataset = _dataset()
    det = label_id_for(dataset.id, "det")
    response = client_user.get(_url(dataset.id, det))
    assert response.status_code == 404
    assert response.json()["code"] == 404054
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    gt = label_id_for(dataset.id, "GroundTruth")
    assert client_user.get(_url(dataset.id, gt)).json()["code"] == 404054  # not a prediction set
    response = client_user.get(_url(dataset.id, "nope"))
    assert response.status_code == 404
    assert response.json()["code"] == 404055
    other = _dataset("other")
    assert client_user.get(_url(other.id, det)).json()["code"] == 404055  # a label of another dataset
    assert client_user.get(_url("missing", det)).json()["code"] == 404050


def test_anonymous_users_are_refused(db, api_client):
    dataset = _dataset()
    calculate_fnfp(dataset.id, with_coco_metrics=False)
    response = api_client.get(_url(dataset.id, label_id_for(dataset.id, "det")))
    assert response.status_code == 401
    assert response.json()["code"] == 401000
