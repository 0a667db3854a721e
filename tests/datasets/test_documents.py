"""DDS's BaseModel document API on an ORM model (DataSet, Label) and on ImageModel."""

from __future__ import annotations

import threading

import pytest

from datasets.images import Image
from datasets.models import DataSet, Label

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def images(dataset):
    model = Image(dataset.pk)
    for number in range(10):
        model(id=number, idx=9 - number, url=f"u{number}", dataset_id=dataset.pk, flag=number % 3).save()
    return model


def test_image_find_many_filters_includes_sort_skip_size(images):
    found = list(images.find_many({"flag": 1}, sort=[("idx", 1)]))
    assert [image.id for image in found] == [7, 4, 1]
    page = list(images.find_many({}, includes={"url": 1}, sort=[("idx", -1)], skip=2, size=3, to_dict=True))
    assert page == [{"id": 2, "url": "u2"}, {"id": 3, "url": "u3"}, {"id": 4, "url": "u4"}]
    assert [d["id"] for d in images.find_many({"id": {"$in": [1, 2]}}, sort=[("id", 1)], to_dict=True)] == [1, 2]


def test_image_find_one_count_num(images):
    assert images.find_one({"id": 3}).url == "u3"
    assert images.find_one({"id": 99}) is None
    assert images.count_num({}) == 10
    assert images.count_num({"flag": 0}) == 4


def test_image_update_one_and_many_with_unset(images):
    images.update_one({"id": 1}, set_data={"flag": 2}, unset_data={"url_full_res": ""})
    raw = images.get_collection().find_one({"_id": 1})
    assert raw["flag"] == 2
    assert "url_full_res" not in raw
    images.update_many({"flag": 0}, set_data={"width": 5})
    assert images.count_num({"width": 5}) == 4
    assert images.update_one({"id": 1}) is None


def test_image_batch_update_and_finish(images):
    for number in range(5):
        images.batch_update({"id": number}, set_data={"height": 7}, batch_size=3)
    assert images.count_num({"height": 7}) == 3
    images.finish_batch_update()
    assert images.count_num({"height": 7}) == 5


def test_image_batch_save_with_set_on_insert(dataset, images):
    existing = images.find_one({"id": 0})
    existing.url = "changed"
    existing.batch_save(batch_size=10, set_on_insert={"idx": 100})
    images(id=50, idx=-1, url="new", dataset_id=dataset.pk).batch_save(batch_size=10, set_on_insert={"idx": 50})
    assert images.find_one({"id": 50}) is None
    images.finish_batch_save()
    assert (images.find_one({"id": 0}).url, images.find_one({"id": 0}).idx) == ("changed", 9)
    assert images.find_one({"id": 50}).idx == 50


def test_batch_queues_from_several_threads(images):
    def worker(start: int) -> None:
        for number in range(start, start + 50):
            images.batch_update({"id": number % 10}, set_data={f"t_{number}": number}, batch_size=7)

    threads = [threading.Thread(target=worker, args=(start,)) for start in (0, 50, 100, 150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    images.finish_batch_update()
    documents = list(images.get_collection().find({}))
    assert sum(len([key for key in doc if key.startswith("t_")]) for doc in documents) == 200


def test_image_aggregate(images):
    result = list(images.aggregate([{"$group": {"_id": "$flag", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]))
    assert result == [{"_id": 0, "n": 4}, {"_id": 1, "n": 3}, {"_id": 2, "n": 3}]


def test_image_save_refresh_delete_delete_many(dataset, images):
    image = images.find_one({"id": 2})
    images.get_collection().update_one({"_id": 2}, {"$set": {"flag_ts": 123}})
    image.width = 11
    image.save(refresh=True)
    assert image.width == 11
    image.delete()
    assert images.find_one({"id": 2}) is None
    images.delete_many({"flag": 0})
    assert images.count_num({}) == 5


def test_image_from_dict_to_dict_round_trip(dataset):
    model = Image(dataset.pk)
    data = {
        "id": 4,
        "idx": 1,
        "url": "u",
        "dataset_id": dataset.pk,
        "objects": [{"label_name": "g", "label_type": "GT"}],
    }
    image = model.from_dict(dict(data))
    assert image.to_dict(include=["id", "idx", "url"]) == {"id": 4, "idx": 1, "url": "u"}
    assert "objects" not in image.to_dict(exclude=["objects"])
    assert model.convert_id_for_mongo({"id": 1}) == {"_id": 1}
    assert model.convert_id_for_python({"_id": 1}) == {"id": 1}


def test_orm_model_document_api(dataset):
    other = DataSet.create_dataset("dogs")
    assert {d.name for d in DataSet.find_many({})} == {"cats", "dogs"}
    assert [d["name"] for d in DataSet.find_many({"id": other.pk}, to_dict=True)] == ["dogs"]
    page = list(DataSet.find_many({}, includes={"name": 1}, sort=[("name", -1)], skip=1, size=1, to_dict=True))
    assert page == [{"id": dataset.pk, "name": "cats"}]
    assert [d.name for d in DataSet.find_many({"name": {"$in": ["dogs"]}}, sort=[("name", 1)])] == ["dogs"]
    assert DataSet.find_one({"name": "cats"}).pk == dataset.pk
    assert DataSet.count_num({}) == 2
    DataSet.update_one({"id": other.pk}, set_data={"num_images": 5}, unset_data={"group_name": ""})
    assert DataSet.objects.get(pk=other.pk).num_images == 5
    DataSet.update_many({}, set_data={"group_id": "g"})
    assert DataSet.objects.filter(group_id="g").count() == 2
    for number, dataset_id in enumerate([dataset.pk, other.pk]):
        DataSet.batch_update({"id": dataset_id}, set_data={"num_images": number + 10})
    DataSet.finish_batch_update()
    assert DataSet.objects.get(pk=dataset.pk).num_images == 10
    result = list(DataSet.aggregate([{"$group": {"_id": None, "total": {"$sum": "$num_images"}}}]))
    assert result[0]["total"] == 21
    assert DataSet.get_cls_id() == "DataSet"
    assert DataSet.get_collection().name == "datasets"


def test_orm_batch_save_save_refresh_delete(dataset):
    label = Label(name="x", id="lx", type="GT", dataset_id=dataset.pk)
    label.batch_save(batch_size=5, set_on_insert={"compare_precisions": [1]})
    assert Label.find_one({"id": "lx"}) is None
    Label.finish_batch_save()
    stored = Label.find_one({"id": "lx"})
    assert stored.compare_precisions == [1]
    assert DataSet.from_dict(dataset.to_dict()).to_dict() == dataset.to_dict()
    stored.name = "y"
    stored.save(refresh=True)  # DDS semantics: every field is written, then re-read
    assert Label.find_one({"id": "lx"}).to_dict() == stored.to_dict()
    assert stored.name == "y"
    stored.delete()
    assert Label.count_num({}) == 0
    Label(name="a", id="la", type="GT", dataset_id=dataset.pk).save()
    Label.delete_many({"dataset_id": dataset.pk})
    assert Label.count_num({}) == 0
