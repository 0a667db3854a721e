"""End to end: create a dataset, batch-add 1,000 annotated images, read back, page, cascade-delete."""

from __future__ import annotations

import random

import pytest

from datasets.images import Image, image_collection_name
from datasets.models import Category, DataSet, Label
from dds_site import mongo

pytestmark = pytest.mark.usefixtures("db")

NUM_IMAGES = 1000


def test_dataset_lifecycle_with_1000_images():
    rng = random.Random(7)
    dataset = DataSet.create_dataset("e2e", type="simple")
    expected = {}
    for number in range(NUM_IMAGES):
        image = dataset.batch_add_image(f"http://img/{number}.jpg", width=200, height=100, id_=number * 3)
        x, y = rng.randint(0, 150), rng.randint(0, 50)
        image.batch_add_annotation(f"cat{number % 7}", bbox=(x, y, 20, 10), segmentation=[[x, y, x + 5, y, x, y + 5]])
        if number % 10 == 0:
            image.batch_add_annotation(
                "person", label="model", label_type="Pred", conf=0.4, keypoints=[x, y, 2, 0.9] * 17
            )
        expected[number * 3] = (x, y, 2 if number % 10 == 0 else 1)
    dataset.finish_batch_add_image()

    fresh = DataSet.objects.get(pk=dataset.pk)
    assert fresh.num_images == NUM_IMAGES
    assert sorted(fresh.object_types) == ["Classification", "Detection", "KeyPoints", "Segmentation"]
    assert Category.objects.filter(dataset_id=dataset.pk).count() == 8
    assert {label.type for label in Label.objects.filter(dataset_id=dataset.pk)} == {"GT", "Pred"}

    model = Image(dataset.pk)
    sample = model.find_one({"id": 30})
    x, y, count = expected[30]
    assert len(sample.objects) == count
    assert sample.objects[0].bounding_box == {
        "xmin": x / 200,
        "ymin": y / 100,
        "xmax": (x + 20) / 200,
        "ymax": (y + 10) / 100,
    }
    assert sample.objects[0].segmentation == f"{x},{y},{x + 5},{y},{x},{y + 5}"
    assert len(sample.objects[1].points) == 17 * 6

    seen = []
    for page in range(NUM_IMAGES // 250):
        batch = list(model.find_many({}, includes=["idx"], sort=[("idx", 1)], skip=page * 250, size=250, to_dict=True))
        seen.extend(doc["idx"] for doc in batch)
    assert seen == list(range(NUM_IMAGES))
    assert model.count_num({"objects.label_type": "Pred"}) == NUM_IMAGES // 10

    DataSet.cascade_delete(fresh)
    assert not DataSet.objects.filter(pk=dataset.pk).exists()
    assert Label.objects.count() == 0
    assert Category.objects.count() == 0
    assert image_collection_name(dataset.pk) not in mongo.get_database().list_collection_names()
