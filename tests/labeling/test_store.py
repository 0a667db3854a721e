"""The labeling store: its collections run every call in the open transaction's session, and own their indexes."""

from __future__ import annotations

import pytest

from dds_site import mongo
from labeling import store
from labeling.transactions import run_atomic

DATASET = "store_test"


@pytest.fixture
def images(db):
    raw = mongo.get_collection(store.task_images_collection_name(DATASET))
    raw.insert_one({"_id": "img", "task_id": "t", "idx": 0, "n": 0})
    yield store.task_images(DATASET)
    raw.drop()


def test_a_write_inside_a_transaction_joins_it(images):
    def step():
        images.update_one({"_id": "img"}, {"$set": {"n": 1}})  # bound before the transaction opened
        store.task_images(DATASET).update_many({"task_id": "t"}, {"$inc": {"n": 10}})
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        run_atomic(step)
    assert images.find_one({"_id": "img"})["n"] == 0


def test_a_nested_step_joins_the_outer_transaction(images):
    def outer():
        run_atomic(lambda: images.update_one({"_id": "img"}, {"$set": {"n": 2}}))
        raise RuntimeError("the outer step fails after the inner one")

    with pytest.raises(RuntimeError):
        run_atomic(outer)
    assert images.find_one({"_id": "img"})["n"] == 0
    run_atomic(lambda: images.update_one({"_id": "img"}, {"$set": {"n": 3}}))
    assert images.find_one({"_id": "img"})["n"] == 3  # and a transaction that succeeds commits


def test_task_image_collections_get_their_indexes(images):
    names = {index["name"] for index in mongo.get_collection(images.name).list_indexes()}
    assert {"task_id_idx", "image_id"} <= names
