"""The batch API's image buffer encodes a few images at a time and inserts them in large batches."""

from __future__ import annotations

import weakref

from datasets import services
from datasets.images import Image
from datasets.models import DataSet


def _insert_spy(monkeypatch) -> list[int]:
    sizes: list[int] = []
    monkeypatch.setattr(services, "before_images_insert", [lambda documents: sizes.append(len(documents))])
    return sizes


def test_the_objects_of_flushed_images_are_freed_long_before_their_insert(dataset, monkeypatch):
    inserts = _insert_spy(monkeypatch)
    first = dataset.batch_add_image("http://img/0.jpg", width=64, height=48)
    first.batch_add_annotation("cat", bbox=(1, 1, 5, 5))
    annotation = weakref.ref(first.objects[0])
    del first
    total = 2 * DataSet._batch_size + 1
    for number in range(1, total):
        dataset.batch_add_image(f"http://img/{number}.jpg", width=64, height=48)
    assert annotation() is None  # encoded and let go of, though not inserted yet
    assert inserts == []
    dataset.finish_batch_add_image()
    assert inserts == [total]  # one insert
    (stored,) = Image(dataset.pk).find_one({"id": 0}).objects
    assert stored.category_name == "cat"
    assert stored.bounding_box == {"xmin": 1 / 64, "ymin": 1 / 48, "xmax": 6 / 64, "ymax": 6 / 48}
    assert DataSet.objects.get(pk=dataset.pk).num_images == total


def test_full_batches_are_inserted_on_the_writer_while_images_are_added(dataset, monkeypatch):
    inserts = _insert_spy(monkeypatch)
    total = 2 * services.INSERT_SIZE + 3
    for number in range(total):
        image = dataset.batch_add_image(f"http://img/{number}.jpg")
        image.batch_add_annotation("cat")
    dataset.finish_batch_add_image()
    assert sum(inserts) == total
    assert inserts[:2] == [services.INSERT_SIZE, services.INSERT_SIZE]
    assert Image(dataset.pk).count_num({}) == total
    assert sorted(doc["idx"] for doc in Image(dataset.pk).find_many({}, to_dict=True)) == list(range(total))


def test_an_image_annotated_again_before_its_first_version_was_inserted_keeps_both(dataset, monkeypatch):
    inserts = _insert_spy(monkeypatch)
    first = dataset.batch_add_image("http://img/a.jpg", width=10, height=10)
    first.batch_add_annotation("cat")
    for number in range(DataSet._batch_size + 1):  # the first image is flushed, encoded, not inserted
        dataset.batch_add_image(f"http://img/{number}.jpg")
    first.batch_add_annotation("dog", bbox=(1, 1, 2, 2))  # queued again
    for number in range(DataSet._batch_size + 1, 2 * DataSet._batch_size + 2):
        dataset.batch_add_image(f"http://img/{number}.jpg")
    dataset.finish_batch_add_image()
    assert len(inserts) >= 2  # its first version went out before the second one was encoded
    stored = Image(dataset.pk).find_one({"id": 0})
    assert [obj.category_name for obj in stored.objects] == ["cat", "dog"]
    assert stored.idx == 0
    assert DataSet.objects.get(pk=dataset.pk).num_images == 2 * DataSet._batch_size + 3
