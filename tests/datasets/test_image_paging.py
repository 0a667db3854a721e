"""Image paging follows the data, never the stored ``num_images`` (which DDS's ``add_image`` left stale)."""

from __future__ import annotations

import pytest

from datasets.images import Image
from datasets.models import DataSet


@pytest.fixture
def stale_dataset(db) -> DataSet:
    """12 images while the dataset document says 2, as DDS's add_image left it."""
    dataset = DataSet.create_dataset("stale")
    Image(dataset.pk).get_collection().insert_many(
        [{"_id": n, "idx": n, "url": f"http://img/{n}.jpg", "dataset_id": dataset.pk} for n in range(12)]
    )
    DataSet.objects.filter(pk=dataset.pk).update(num_images=2)
    return dataset


def walk(client, url: str, first: dict) -> list[int]:
    """Every image id a client sees following ``next_cursor`` from a first request."""
    body = client.get(url, first).json()
    seen = [image["id"] for image in body["results"]]
    while body["next_cursor"] is not None:
        body = client.get(url, {"cursor": body["next_cursor"], "page_size": first["page_size"]}).json()
        seen.extend(image["id"] for image in body["results"])
    return seen


def test_numbered_pages_count_and_continue_from_the_collection(client_user, stale_dataset):
    url = f"/api/v1/datasets/{stale_dataset.pk}/images"
    body = client_user.get(url, {"page": 1, "page_size": 5}).json()
    assert body["count"] == 12
    assert body["next_cursor"] == 4
    assert walk(client_user, url, {"page": 1, "page_size": 5}) == list(range(12))
    last = client_user.get(url, {"page": 3, "page_size": 5}).json()
    assert [image["id"] for image in last["results"]] == [10, 11]
    assert last["next_cursor"] is None


def test_a_stored_count_larger_than_the_data_ends_the_pages_with_the_data(client_user, stale_dataset):
    DataSet.objects.filter(pk=stale_dataset.pk).update(num_images=40)
    url = f"/api/v1/datasets/{stale_dataset.pk}/images"
    body = client_user.get(url, {"page": 3, "page_size": 5}).json()
    assert body["count"] == 12
    assert body["next_cursor"] is None


def test_a_page_past_the_end_links_back_to_the_last_page(client_user, stale_dataset):
    url = f"/api/v1/datasets/{stale_dataset.pk}/images"
    body = client_user.get(url, {"page": 9, "page_size": 5}).json()
    assert (body["count"], body["results"], body["next"], body["next_cursor"]) == (12, [], None, None)
    assert body["previous"] == f"http://testserver{url}?page=3&page_size=5"


def test_an_exact_last_page_has_no_next_cursor(client_user, stale_dataset):
    url = f"/api/v1/datasets/{stale_dataset.pk}/images"
    assert client_user.get(url, {"page": 2, "page_size": 6}).json()["next_cursor"] is None
    assert client_user.get(url, {"cursor": 5, "page_size": 6}).json()["next_cursor"] is None


def test_cursor_pages_never_split_images_sharing_an_idx(client_user, db):
    # DDS gave an image the stored count as idx, so after a stale count several images share one.
    dataset = DataSet.create_dataset("shared idx")
    idxs = [0, 1, 2, 2, 2, 3, 4]
    Image(dataset.pk).get_collection().insert_many(
        [
            {"_id": 10 + n, "idx": idx, "url": f"http://img/{n}.jpg", "dataset_id": dataset.pk}
            for n, idx in enumerate(idxs)
        ]
    )
    url = f"/api/v1/datasets/{dataset.pk}/images"
    for first in ({"cursor": -1, "page_size": 3}, {"page": 1, "page_size": 3}, {"cursor": -1, "page_size": 2}):
        assert walk(client_user, url, first) == [10 + n for n in range(len(idxs))], first
