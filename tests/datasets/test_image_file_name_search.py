"""``GET /api/v1/datasets/<id>/images?file_name=<prefix>``: images whose file name starts with the
prefix, in any case, every character literally, with the other filters and both paging modes."""

from __future__ import annotations

import unicodedata

import pytest

from datasets.documents import category_id_for
from datasets.images import Image
from datasets.names import prefix_range

# (id, uri, category of its one annotation)
IMAGES = [
    (1, "http://host/train/Cat_001.JPG?sig=abc", "cat"),
    (2, "http://host/train/cat_002.png", "dog"),
    (3, "http://host/Cat/dog_003.jpg", "cat"),  # "Cat" is a directory: not the file name
    (4, "file:///data/imgs/x.*[(y.jpg", "cat"),
    (5, "http://host/x.a.jpg", "cat"),
    (6, "http://host/" + unicodedata.normalize("NFD", "Café_006.jpg"), "cat"),
    (7, "http://host/cat_007.jpg", "cat"),
    (8, "http://host/cat_008.jpg", "cat"),
    (9, "http://host/CAT_009.jpg", "dog"),
    (10, "http://host/cat_010.jpg", "cat"),
]


@pytest.fixture
def images(dataset):
    for image_id, uri, category in IMAGES:
        dataset.add_image(uri, id=image_id, width=10, height=10).add_annotation(category, bbox=(1, 1, 2, 2))
    return dataset


def _url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/images"


def _get(client, dataset, **params) -> dict:
    response = client.get(_url(dataset), params)
    assert response.status_code == 200, response.json()
    return response.json()


def _ids(client, dataset, **params) -> list[int]:
    return [image["id"] for image in _get(client, dataset, page_size=500, **params)["results"]]


def test_prefix_matches_the_file_name_in_any_case(images, client_user):
    assert _ids(client_user, images, file_name="cat_") == [1, 2, 7, 8, 9, 10]
    assert _ids(client_user, images, file_name="CAT_00") == [1, 2, 7, 8, 9]
    assert _ids(client_user, images, file_name="cat_001.jpg") == [1]
    assert _ids(client_user, images, file_name="dog") == [3]  # the name, not a directory of the URL


def test_special_characters_match_literally(images, client_user):
    assert _ids(client_user, images, file_name="x.*[(") == [4]
    assert _ids(client_user, images, file_name="x.") == [4, 5]
    assert _ids(client_user, images, file_name=".*") == []  # no pattern: ".*" is two characters
    for text in ("[", "(", "\\", "$where", '{"$gt": ""}', "^cat", "cat|dog"):
        assert _ids(client_user, images, file_name=text) == []


def test_unicode_forms_match_each_other(images, client_user):
    assert _ids(client_user, images, file_name="café") == [6]
    assert _ids(client_user, images, file_name=unicodedata.normalize("NFD", "CAFÉ")) == [6]


def test_no_match_is_an_empty_page(images, client_user):
    body = _get(client_user, images, file_name="zebra")
    assert (body["count"], body["results"], body["next_cursor"]) == (0, [], None)


def test_combines_with_the_category_filter_on_numbered_pages(images, client_user):
    body = _get(client_user, images, file_name="cat_", category_name="cat", page_size=2, page=2)
    assert body["count"] == 4  # 1, 7, 8, 10
    assert [image["id"] for image in body["results"]] == [8, 10]
    by_id = _ids(client_user, images, file_name="Cat_", category_id=category_id_for(images.pk, "dog"))
    assert by_id == [2, 9]


def test_combines_with_the_category_filter_on_keyset_pages(images, client_user):
    seen, cursor = [], -1
    while cursor is not None:
        body = _get(client_user, images, file_name="cat_", category_name="cat", page_size=2, cursor=cursor)
        seen.extend(image["id"] for image in body["results"])
        cursor = body["next_cursor"]
    assert seen == [1, 7, 8, 10]


def test_combines_with_flag(images, client_staff):
    response = client_staff.post(
        f"/api/v1/datasets/{images.pk}/images/flags", {"flag_groups": [{"flag": 1, "ids": [2, 7]}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert _ids(client_staff, images, file_name="cat_", flag=1) == [2, 7]


@pytest.mark.parametrize("value", ["   ", "x" * 256], ids=["blank", "too-long"])
def test_invalid_values_are_400002_on_the_field(images, client_user, value):
    response = client_user.get(_url(images), {"file_name": value})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400002
    assert "file_name" in body["detail"]


def test_longest_prefix_is_accepted_and_an_empty_one_filters_nothing(images, client_user):
    assert _ids(client_user, images, file_name="c" * 255) == []
    assert len(_ids(client_user, images, file_name="")) == len(IMAGES)  # as every filter of the list


def test_the_query_runs_on_the_name_key_index(images):
    collection = Image(images.pk).get_collection()
    assert "name_key_1" in collection.index_information()
    plan = collection.find({"name_key": prefix_range("cat_")}).explain()["queryPlanner"]["winningPlan"]
    assert plan["inputStage"]["stage"] == "IXSCAN"
    assert plan["inputStage"]["indexName"] == "name_key_1"
