"""The dataset REST API: auth, permissions, DDS error codes, pagination and keyset paging, flags."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from datasets.images import Image
from datasets.models import DataSet, DatasetStatus

pytestmark = pytest.mark.usefixtures("db")


def test_dataset_list_requires_authentication():
    response = APIClient().get("/api/v1/datasets")
    assert response.status_code == 401
    assert response.json()["code"] == 401000


def test_dataset_list_paginates(client_user):
    for number in range(5):
        DataSet.create_dataset(f"set {number}")
    response = client_user.get("/api/v1/datasets", {"page": 2, "page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert [row["name"] for row in body["results"]] == ["set 2", "set 3"]
    assert "description_func" not in body["results"][0]


def test_dataset_list_shows_evaluated_description(client_user, settings):
    settings.DDS_DESCRIPTION_FUNCS = {"shout": "tests.datasets.helpers.shout_description"}
    DataSet.create_dataset("quiet", description_func="shout")
    DataSet.create_dataset("plain", path="/data/plain.json")
    rows = {row["name"]: row for row in client_user.get("/api/v1/datasets").json()["results"]}
    assert rows["quiet"]["description"] == "QUIET"
    assert rows["plain"]["description"] == "/data/plain.json"


def test_dataset_retrieve_has_sorted_label_list(client_user, dataset):
    image = dataset.add_image("http://img/1.jpg", width=10, height=10)
    image.add_annotation("cat", label="model-a", label_type="Pred")
    image.add_annotation("cat", label="mine", label_type="User")
    image.add_annotation("dog")
    body = client_user.get(f"/api/v1/datasets/{dataset.pk}").json()
    assert [label["type"] for label in body["label_list"]] == ["GT", "User", "Pred"]
    assert body["label_list"][0]["source"] == "GT"
    assert sorted(category["name"] for category in body["category_list"]) == ["cat", "dog"]
    assert body["object_types"] == ["Classification"]


def test_dataset_retrieve_unknown_is_404050(client_user):
    response = client_user.get("/api/v1/datasets/nope")
    assert response.status_code == 404
    assert response.json()["code"] == 404050


def test_dataset_create_requires_staff(client_user):
    response = client_user.post("/api/v1/datasets", {"name": "mine"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == 403000
    assert DataSet.objects.count() == 0


def test_dataset_create_update_delete_as_staff(client_staff):
    response = client_staff.post("/api/v1/datasets", {"name": "new", "description": "d"}, format="json")
    assert response.status_code == 201
    dataset_id = response.json()["id"]
    assert DataSet.objects.get(pk=dataset_id).status == DatasetStatus.READY

    response = client_staff.patch(f"/api/v1/datasets/{dataset_id}", {"name": "renamed"}, format="json")
    assert response.status_code == 200
    stored = DataSet.objects.get(pk=dataset_id)
    assert (stored.name, stored.description) == ("renamed", "d")

    assert client_staff.delete(f"/api/v1/datasets/{dataset_id}").status_code == 204
    assert not DataSet.objects.filter(pk=dataset_id).exists()


def test_dataset_create_validates_input(client_staff):
    response = client_staff.post("/api/v1/datasets", {"name": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400002


def test_dataset_delete_refused_while_project_active(client_staff, dataset):
    from dds_site import mongo

    mongo.get_collection("label_projects").insert_one(
        {"_id": "p1", "name": "Project One", "status": "working", "datasets": [{"id": dataset.pk, "name": "cats"}]}
    )
    response = client_staff.delete(f"/api/v1/datasets/{dataset.pk}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400207
    assert "Project One" in body["message"]
    assert DataSet.objects.filter(pk=dataset.pk).exists()


def test_images_unknown_dataset_is_404050(client_user):
    response = client_user.get("/api/v1/datasets/missing/images")
    assert (response.status_code, response.json()["code"]) == (404, 404050)


@pytest.mark.parametrize("status", ["waiting", "importing", "processing", "failed"])
def test_images_of_unreadable_dataset_are_404051(client_user, dataset, status):
    DataSet.objects.filter(pk=dataset.pk).update(status=status)
    response = client_user.get(f"/api/v1/datasets/{dataset.pk}/images")
    assert (response.status_code, response.json()["code"]) == (404, 404051)


def test_images_page_and_filters(client_user, dataset_with_images):
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images"
    body = client_user.get(url, {"page": 2, "page_size": 10}).json()
    assert body["count"] == 30
    assert [image["idx"] for image in body["results"]] == list(range(10, 20))
    assert body["next_cursor"] == 19
    assert body["next"] == f"http://testserver{url}?page=3&page_size=10"
    assert body["previous"] == f"http://testserver{url}?page_size=10"
    first = body["results"][0]
    assert first["objects"][0]["source"] == "GT"
    assert first["metadata"] == {}
    assert first["desc"] == "{}"

    cat_id = next(
        c["id"]
        for c in client_user.get(f"/api/v1/datasets/{dataset_with_images.pk}/categories").json()["results"]
        if c["name"] == "cat"
    )
    body = client_user.get(url, {"category_id": cat_id, "page_size": 100}).json()
    assert body["count"] == 15
    assert all(image["idx"] % 2 == 0 for image in body["results"])


def test_images_keyset_paging_walks_everything(client_user, dataset_with_images):
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images"
    seen, cursor = [], -1
    while cursor is not None:
        body = client_user.get(url, {"cursor": cursor, "page_size": 7}).json()
        seen.extend(image["idx"] for image in body["results"])
        cursor = body["next_cursor"]
    assert seen == list(range(30))


def test_images_keyset_pages_link_the_next_one_and_do_not_count(client_user, dataset_with_images):
    """On keyset pages ``next`` carries the cursor (a numbered page's ``page`` is dropped), ``previous`` and
    ``count`` are null: counting grows with the dataset, a keyset page must not."""
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images"
    body = client_user.get(url, {"cursor": -1, "page": 3, "page_size": 7}).json()
    assert (body["count"], body["previous"], body["next_cursor"]) == (None, None, 6)
    assert body["next"] == f"http://testserver{url}?cursor=6&page_size=7"
    seen = [image["idx"] for image in body["results"]]
    while body["next"] is not None:
        body = client_user.get(body["next"]).json()
        seen.extend(image["idx"] for image in body["results"])
    assert seen == list(range(30))
    assert (body["next_cursor"], body["count"]) == (None, None)


def test_images_keyset_paging_with_sparse_filter(client_user, dataset_with_images):
    Image(dataset_with_images.pk).update_one({"id": 25}, {"flag": 1})
    Image(dataset_with_images.pk).update_one({"id": 2}, {"flag": 1})
    body = client_user.get(
        f"/api/v1/datasets/{dataset_with_images.pk}/images", {"cursor": -1, "page_size": 1, "flag": 1}
    ).json()
    assert [image["id"] for image in body["results"]] == [2]
    body = client_user.get(
        f"/api/v1/datasets/{dataset_with_images.pk}/images", {"cursor": body["next_cursor"], "page_size": 1, "flag": 1}
    ).json()
    assert [image["id"] for image in body["results"]] == [25]
    assert body["next_cursor"] is None


def test_images_bad_query_is_400002(client_user, dataset_with_images):
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images"
    for params in (
        {"page": 0},
        {"page_size": 100000},
        {"cursor": "x"},
        {"cursor": 2**80},
        {"page": 10**12},
        {"flag": 7},
    ):
        response = client_user.get(url, params)
        assert (response.status_code, response.json()["code"]) == (400, 400002), params


def test_image_retrieve(client_user, dataset_with_images):
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images"
    assert client_user.get(f"{url}/3").json()["url"] == "http://img/3.jpg"
    for missing in ("999", "abc", str(2**80)):
        response = client_user.get(f"{url}/{missing}")
        assert (response.status_code, response.json()["code"]) == (404, 404053)


def test_image_flags_set(client_staff, dataset_with_images):
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images/flags"
    response = client_staff.post(
        url, {"flag_groups": [{"flag": 1, "ids": [1, 2]}, {"flag": 2, "ids": [3]}]}, format="json"
    )
    assert response.status_code == 200
    flags = {image.id: image.flag for image in Image(dataset_with_images.pk).find_many({"id": {"$in": [1, 2, 3, 4]}})}
    assert flags == {1: 1, 2: 1, 3: 2, 4: 0}
    assert (
        DataSet.objects.get(pk=dataset_with_images.pk).flag_export_link
        == f"/files/dataset_flags/{dataset_with_images.pk}.tsv"
    )


@pytest.mark.parametrize(
    ("flag_groups", "code"),
    [
        ("nope", 400100),
        (["nope"], 400100),
        ([{"ids": [1]}], 400101),
        ([{"flag": 5, "ids": [1]}], 400102),
        ([{"flag": 1}], 400103),
        ([{"flag": 1, "ids": "1"}], 400104),
        ([{"flag": 1, "ids": ["x"]}], 400104),
        ([{"flag": 1, "ids": [2**80]}], 400104),
        ([{"flag": 1, "ids": [1]}, {"flag": 9, "ids": [2]}], 400102),
    ],
)
def test_image_flags_errors_change_nothing(client_staff, dataset_with_images, flag_groups, code):
    url = f"/api/v1/datasets/{dataset_with_images.pk}/images/flags"
    response = client_staff.post(url, {"flag_groups": flag_groups}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert Image(dataset_with_images.pk).count_num({"flag": {"$ne": 0}}) == 0


def test_image_flags_require_staff(client_user, dataset_with_images):
    response = client_user.post(
        f"/api/v1/datasets/{dataset_with_images.pk}/images/flags",
        {"flag_groups": [{"flag": 1, "ids": [1]}]},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, 403000)


def test_categories_and_labels_lists(client_user, dataset_with_images):
    base = f"/api/v1/datasets/{dataset_with_images.pk}"
    assert [c["name"] for c in client_user.get(f"{base}/categories").json()["results"]] == ["cat", "dog"]
    assert [label["name"] for label in client_user.get(f"{base}/labels").json()["results"]] == ["GroundTruth"]
    response = client_user.get("/api/v1/datasets/none/labels")
    assert (response.status_code, response.json()["code"]) == (404, 404050)


def test_openapi_schema_documents_dataset_endpoints(client_user):
    response = client_user.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/datasets",
        "/api/v1/datasets/{id}",
        "/api/v1/datasets/{dataset_id}/images",
        "/api/v1/datasets/{dataset_id}/images/flags",
        "/api/v1/datasets/{dataset_id}/labels",
    ):
        assert path in paths
    parameters = {p["name"] for p in paths["/api/v1/datasets/{dataset_id}/images"]["get"]["parameters"]}
    assert {"cursor", "page", "page_size", "category_id", "flag", "label_id"} <= parameters


def test_keyset_page_uses_one_bounded_idx_range_when_dense(dataset_with_images, monkeypatch):
    from datasets import selectors

    model = Image(dataset_with_images.pk)
    seen_filters = []
    original = model.find_many.__func__

    def recording_find_many(cls, filters, *args, **kwargs):
        seen_filters.append(filters)
        return original(cls, filters, *args, **kwargs)

    monkeypatch.setattr(model, "find_many", classmethod(recording_find_many))
    filters = selectors.image_filters()
    page, next_cursor = selectors.image_keyset_page(dataset_with_images, filters, cursor=19, page_size=5)
    assert [image["idx"] for image in page] == [20, 21, 22, 23, 24]
    assert next_cursor == 24
    assert seen_filters == [{"idx": {"$gt": 19, "$lte": 25}}]  # the page and the probe for a next one
