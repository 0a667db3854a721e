"""Image writes of the datasets store that other apps call (the labeling export writes through them)."""

from __future__ import annotations

from datasets import store
from datasets.images import Image
from datasets.models import DataSet


def _objects(dataset_id: str, image_id: int) -> list[tuple[str, str]]:
    return [(o.label_id, o.category_name) for o in Image(dataset_id).find_one({"id": image_id}).objects]


def test_label_set_objects_replace_replaces_one_label_sets_objects(db):
    dataset = DataSet.create_dataset("d", id_="d1")
    image = dataset.add_image("http://img/1.jpg", id=1)
    image.add_annotation("cat", label="gt")
    gt = _objects("d1", 1)[0][0]
    revision = Image("d1").get_collection().find_one({"_id": 1})[store.REVISION]
    new = [{"label_id": "exp", "category_name": name, "label_name": "exp", "label_type": "GT"} for name in ("a", "b")]
    store.label_set_objects_replace("d1", [(1, "exp", new)])
    store.label_set_objects_replace("d1", [(1, "exp", new)])  # a re-run replaces, never adds twice
    assert _objects("d1", 1) == [(gt, "cat"), ("exp", "a"), ("exp", "b")]
    assert Image("d1").get_collection().find_one({"_id": 1})[store.REVISION] != revision
    store.label_set_objects_replace("d1", [(1, "exp", [])])
    assert _objects("d1", 1) == [(gt, "cat")]


def test_dataset_set_detail_sets_one_entry_and_fields(db):
    DataSet.create_dataset("d", id_="d1")
    DataSet.objects.filter(pk="d1").update(detail_status={"import": {"state": "ready"}})
    store.dataset_set_detail("d1", "FNFPCalculator", "processing", status="processing")
    stored = DataSet.objects.get(pk="d1")
    assert stored.detail_status == {"import": {"state": "ready"}, "FNFPCalculator": "processing"}
    assert stored.status == "processing"


def test_images_by_ids_and_by_idx(db):
    dataset = DataSet.create_dataset("d", id_="d1")
    for image_id in (30, 10, 20):
        dataset.add_image(f"http://img/{image_id}.jpg", id=image_id)
    assert sorted(store.images_by_ids("d1", [10, 30, 99], {"url": 1})) == [10, 30]
    assert [doc["_id"] for doc in store.images_by_idx("d1", {"_id": 1})] == [30, 10, 20]
