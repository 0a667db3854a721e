"""The one builder per stored document kind (``datasets.documents``), checked against the models.

Each builder's output must validate against its model, hold exactly the model's fields in the
model's order (so every writer stores the same bytes), and be what the writers really store.
"""

from __future__ import annotations

import hashlib

import pytest

from accounts.models import user_id_for
from datasets.documents import (
    SOURCE_KEY,
    category_document,
    category_id_for,
    image_document,
    image_document_of,
    insert_only,
    label_document,
    label_id_for,
    object_document,
)
from datasets.images import REVISION, Image, ImageModel
from datasets.importers.documents import image_record_document, object_record_document
from datasets.importers.records import AnnotationRecord, ImageRecord
from datasets.models import Category, Label
from datasets.objects import Object
from datasets.services import category_get_or_create, label_get_or_create

OBJECT_FIELDS = list(Object.model_fields)
IMAGE_FIELDS = ["_id", *(name for name in ImageModel.model_fields if name != "id")]
RLE = {"size": [4, 6], "counts": "0b1"}
QUADS = [1, 2, 2, 0.5, 3, 4, 1, 0.25]
SIX_PER_POINT = [1.0, 2.0, 0.0, 1.0, 2, 0.5, 3.0, 4.0, 0.0, 1.0, 1, 0.25]


def _object(**fields) -> dict:
    base = {"label_name": "GroundTruth", "label_type": "GT", "label_id": "l", "category_name": "cat"}
    return object_document(**base, category_id="c", **fields)


def _check_object(document: dict) -> Object:
    assert list(document) == OBJECT_FIELDS
    obj = Object.model_validate(document)
    assert obj.model_dump() == document
    return obj


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"bounding_box": {"xmin": 0.1, "ymin": 0.2, "xmax": 0.5, "ymax": 0.6}, "conf": 0.25},
        {"segmentation": "1,1,5,1,5,5/7,7,9,7,9,9"},
        {"mask": RLE},
        {"points": SIX_PER_POINT, "lines": [0, 1], "point_colors": [1, 2, 3, 4, 5, 6], "point_names": ["a", "b"]},
        {"caption": "a cat on a mat", "is_group": None, "confirm_type": 2, "conf": 1},
        {"alpha": "/files/local_files/b/1/-1_-1/image_png/a.png"},
    ],
    ids=["defaults", "box-conf", "polygons", "rle", "keypoints", "caption-group-confirm", "alpha"],
)
def test_object_document_validates_against_object(fields):
    obj = _check_object(_object(**fields))
    for key, value in fields.items():
        assert getattr(obj, key) == value


def test_object_document_empty_values_are_the_models_defaults():
    document = _object(bounding_box=None, segmentation=None, alpha=None, caption=None, mask="", points=None)
    assert document == Object(label_name="GroundTruth", label_type="GT", label_id="l", category_id="c",
                              category_name="cat").model_dump()  # fmt: skip


def test_every_image_writer_stores_the_built_shape(dataset):
    """``add_image``, an annotation's upsert and the batch buffer store the builder's fields."""
    collection = Image(dataset.pk).get_collection()
    dataset.add_image("http://img/1.jpg", id=1)
    Image(dataset.pk)(id=2, idx=5, url="u", dataset_id=dataset.pk).add_annotation("cat")  # upserts the image
    dataset.batch_add_image("http://img/3.jpg", id_=3)
    dataset.finish_batch_add_image()
    for image_id in (1, 3):
        assert list(collection.find_one({"_id": image_id})) == [*IMAGE_FIELDS, REVISION]
    # an upsert's new fields are ordered by the server; the fields are the same
    assert sorted(collection.find_one({"_id": 2})) == sorted([*IMAGE_FIELDS, REVISION])
    assert [list(obj) for obj in collection.find_one({"_id": 2})["objects"]] == [OBJECT_FIELDS]


def test_image_document_validates_against_image_model():
    objects = [_object(bounding_box={"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}), _object(mask=RLE)]
    document = image_document(image_id=5, idx=2, url="u", dataset_id="d", type=None, objects=objects)
    assert document.pop(REVISION) is not None
    assert list(document) == IMAGE_FIELDS
    image = ImageModel.from_dict(document)
    assert (image.width, image.height, image.url_full_res, image.metadata) == (None, None, "", "{}")
    stored = image.model_dump()
    stored["_id"] = stored.pop("id")
    assert stored == document


def test_image_document_of_a_model_is_its_dump(dataset):
    image = Image(dataset.pk)(id=3, idx=1, url="u", dataset_id=dataset.pk, width=8, height=6, num_fp={"l": {"90": 1}})
    image.objects.append(_check_object(_object(points=SIX_PER_POINT, caption="c")))
    document = image_document_of(image)
    assert document.pop(REVISION) is not None
    expected = image.model_dump()
    expected["_id"] = expected.pop("id")
    assert document == expected
    assert list(document) == IMAGE_FIELDS


def test_ids_are_dds_md5_ids():
    expected = hashlib.md5(b"ds1_GroundTruth").hexdigest()
    assert label_id_for("ds1", "GroundTruth") == expected
    assert category_id_for("ds1", "GroundTruth") == expected
    assert user_id_for("  Alice ") == hashlib.md5(b"alice").hexdigest()


def test_label_and_category_documents_are_what_get_or_create_stores(dataset):
    label = label_document(dataset.pk, "det", "Pred")
    category = category_document(dataset.pk, "dog")
    assert label_get_or_create(dataset_id=dataset.pk, name="det", label_type="Pred") == label["_id"]
    assert category_get_or_create(dataset_id=dataset.pk, name="dog") == category["_id"]
    assert Label.get_collection().find_one({"_id": label["_id"]}) == label
    assert Category.get_collection().find_one({"_id": category["_id"]}) == category
    stored = Label.from_dict(label)
    stored.full_clean()
    assert (stored.name, stored.type, stored.compare_precisions, stored.clone_from_label) == ("det", "Pred", [], "")
    Category.from_dict(category).full_clean()


def test_insert_only_splits_the_id_from_the_fields():
    document = category_document("d", "cat")
    assert insert_only(document) == ({"_id": document["_id"]}, {"$setOnInsert": {"name": "cat", "dataset_id": "d"}})
    assert "_id" in document  # the builder's output is not changed


def _record(**annotation) -> ImageRecord:
    ann = AnnotationRecord(category="cat", **annotation)
    return ImageRecord(key="k1", url="http://img/1.jpg", width=10, height=20, metadata={"é": 1}, annotations=[ann])


@pytest.mark.parametrize(
    "annotation",
    [
        {"bbox": (1, 2, 3, 4), "conf": 0.5, "label": "det", "label_type": "Pred"},
        {"polygons": [[1, 1, 5, 1, 5, 5], [7, 7, 9, 7, 9, 9]]},
        {"mask": RLE, "is_group": True},
        {"keypoints": QUADS, "keypoint_names": ["a", "b"], "keypoint_skeleton": [0, 1]},
        {"caption": "a cat"},
    ],
    ids=["box", "polygons", "rle", "keypoints", "caption"],
)
def test_import_documents_validate_against_the_models(annotation):
    record = _record(**annotation)
    obj = _check_object(object_record_document(record.annotations[0], record, "ds1"))
    assert obj.category_id == category_id_for("ds1", "cat")
    document = image_record_document(record, image_id=7, idx=0, dataset_id="ds1", dataset_type="coco2017")
    assert document.pop(REVISION) is not None
    assert document.pop(SOURCE_KEY) == "k1"
    assert list(document) == IMAGE_FIELDS
    assert document["metadata"] == '{"é": 1}'  # imports keep non-ASCII metadata as is
    assert ImageModel.from_dict(document).objects == [obj]


def test_import_and_seed_api_store_the_same_object(dataset):
    """One annotation through the importer and through ``add_annotation`` gives one stored object."""
    annotation = {
        "bbox": (1, 2, 3, 4),
        "polygons": [[1, 1, 5, 1, 5, 5]],
        "keypoints": QUADS,
        "keypoint_names": ["a", "b"],
        "keypoint_skeleton": [0, 1],
        "keypoint_colors": [1, 2, 3, 4, 5, 6],
        "caption": "c",
        "conf": 0.5,
    }
    record = _record(**annotation)
    imported = object_record_document(record.annotations[0], record, dataset.pk)
    image = dataset.add_image("http://img/1.jpg", width=10, height=20)
    image.add_annotation(
        "cat", bbox=annotation["bbox"], segmentation=annotation["polygons"], keypoints=QUADS,
        keypoint_names=["a", "b"], keypoint_skeleton=[0, 1], keypoint_colors=[1, 2, 3, 4, 5, 6], caption="c", conf=0.5,
    )  # fmt: skip
    stored = Image(dataset.pk).get_collection().find_one({"_id": image.id})["objects"]
    assert stored == [imported]
