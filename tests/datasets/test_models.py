"""The DDS seed API of DataSet, ImageModel, Object, Label and Category, error paths included."""

from __future__ import annotations

import threading

import pytest

from datasets.constants import COCO_KEYPOINT_NAMES
from datasets.errors import DatasetNotFound, InvalidDatasetArgument, LabelTypeMismatch
from datasets.images import Image, ImageModel
from datasets.models import Category, DataSet, DatasetStatus, Label
from datasets.objects import Object
from datasets.services import category_id_for, label_id_for
from dds_site.errors import DDSError, ErrCode

pytestmark = pytest.mark.usefixtures("db")


def test_create_dataset_new_is_ready_with_uuid_id():
    dataset = DataSet.create_dataset("cats", type="simple", path="/data/cats", files={"GroundTruth": "/a.json"})
    stored = DataSet.objects.get(pk=dataset.pk)
    assert len(stored.pk) == 32
    assert (stored.name, stored.status, stored.type, stored.files) == (
        "cats",
        "ready",
        "simple",
        {"GroundTruth": "/a.json"},
    )
    assert stored.created_ts > 0


def test_create_dataset_with_existing_id_updates_it():
    first = DataSet.create_dataset("a", id_="fixed", path="/p1")
    first.add_image("http://img/1.jpg")
    again = DataSet.create_dataset("b", id_="fixed", type="tsv")
    stored = DataSet.objects.get(pk="fixed")
    assert again.pk == "fixed"
    assert (stored.name, stored.type, stored.path, stored.num_images) == ("b", "tsv", "/p1", 1)
    assert DataSet.objects.count() == 1


def test_create_dataset_rejects_blank_name():
    with pytest.raises(InvalidDatasetArgument):
        DataSet.create_dataset("  ")
    assert DataSet.objects.count() == 0


def test_get_importing_dataset_starts_waiting_and_keeps_existing_status():
    dataset = DataSet.get_importing_dataset("coco", id_="imp", type="coco2017")
    assert DataSet.objects.get(pk="imp").status == DatasetStatus.WAITING
    DataSet.objects.filter(pk="imp").update(status="ready")
    again = DataSet.get_importing_dataset("coco", id_="imp")
    assert again.status == "ready"
    assert again.type == "coco2017"
    assert dataset.pk == again.pk


def test_image_factory_is_cached_per_dataset():
    model = Image("d1")
    assert Image("d1") is model
    assert Image("d2") is not model
    assert issubclass(model, ImageModel)
    assert model.belong_dataset == "d1"
    assert model.get_cls_id() == "ImageModel.d1"
    assert model.get_collection().name == "images@dataset_d1"


def test_image_collection_has_indexes(dataset):
    keys = {next(iter(index["key"]))[0] for index in Image(dataset.pk).get_collection().index_information().values()}
    assert {"idx", "objects.category_id"} <= keys


def test_label_and_category_collections_index_dataset_id():
    for model in (Label, Category):
        keys = [index["key"] for index in model.get_collection().index_information().values()]
        assert [("dataset_id", 1)] in keys


def test_image_from_dict_defaults_idx_to_id_and_post_init_converts_file_uris():
    model = Image("x")
    image = model.from_dict({"_id": 7, "url": "file:///data/a.png", "dataset_id": "x"})
    assert (image.id, image.idx) == (7, 7)
    assert image.url.startswith("/files/local_files/")
    assert image.url.endswith("/data/a.png")


def test_image_dataset_property(dataset):
    image = dataset.add_image("http://img/1.jpg")
    fresh = Image(dataset.pk).find_one({"id": image.id})
    assert fresh.dataset.pk == dataset.pk


def test_format_helpers():
    assert ImageModel.format_bbox(100, 50, (10, 5, 20, 10)) == {"xmin": 0.1, "ymin": 0.1, "xmax": 0.3, "ymax": 0.3}
    assert ImageModel.format_bbox(100, 50, None) == {}
    assert ImageModel.format_segmentation([[1, 2, 3, 4], [5, 6, 7, 8]]) == "1,2,3,4/5,6,7,8"
    assert ImageModel.format_segmentation(None) == ""
    points, colors, lines, names = ImageModel.format_keypoints([1, 2, 2, 0.5])
    assert points == [1.0, 2.0, 0.0, 1.0, 2, 0.5]
    assert names == COCO_KEYPOINT_NAMES
    assert len(colors) == 51
    assert len(lines) == 38
    assert ImageModel.format_keypoints([1, 2, 2, 1], [1, 2, 3], [0, 0], ["a"])[1:] == ([1, 2, 3], [0, 0], ["a"])
    assert ImageModel.format_keypoints(None) == ([], [], [], [])


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (ImageModel.format_bbox, (None, None, (1, 2, 3, 4))),
        (ImageModel.format_bbox, (10, 10, (1, 2, 3))),
        (ImageModel.format_bbox, (10, 10, (1, "x", 3, 4))),
        (ImageModel.format_keypoints, ([1, 2, 3],)),
        (ImageModel.format_keypoints, ([1, 2, "v", 1],)),
        (ImageModel.format_segmentation, ([[1, "a"]],)),
        (ImageModel.format_segmentation, ("1,2",)),
    ],
)
def test_format_helpers_reject_bad_input(call, args):
    with pytest.raises(InvalidDatasetArgument) as info:
        call(*args)
    assert info.value.code == ErrCode.PARAMETER_INVALID
    assert isinstance(info.value, ValueError)  # DDS raised ValueError; callers may still catch that


def test_object_defaults_and_alpha_post_init():
    obj = Object(label_name="GroundTruth", label_type="GT", alpha="file:///m/a.png")
    assert obj.alpha.startswith("/files/local_files/")
    assert (obj.conf, obj.is_group, obj.bounding_box, obj.points, obj.mask, obj.matched_det_idx) == (
        1.0,
        False,
        {},
        [],
        {},
        None,
    )
    assert Object.get_collection() is None
    assert Object.from_dict(obj.to_dict()) == obj
    other = Object(label_name="a", label_type="GT")
    other.points.append(1)
    assert Object(label_name="b", label_type="GT").points == []


def test_add_image_assigns_id_idx_and_cover(dataset):
    first = dataset.add_image("http://img/a.jpg", thumb_uri="http://img/a_t.jpg", width=4, height=3, metadata={"k": 1})
    second = dataset.add_image("http://img/b.jpg", id=100)
    assert (first.id, first.idx, second.id, second.idx) == (0, 0, 100, 1)
    stored = Image(dataset.pk).find_one({"id": 0})
    assert (stored.url, stored.url_full_res, stored.metadata) == ("http://img/a_t.jpg", "http://img/a.jpg", '{"k": 1}')
    fresh = DataSet.objects.get(pk=dataset.pk)
    assert fresh.num_images == 2
    assert fresh.cover_url == "http://img/a_t.jpg"


def test_add_image_again_keeps_idx_and_only_user_objects(dataset):
    image = dataset.add_image("http://img/a.jpg", width=10, height=10, id=5)
    image.add_annotation("cat", bbox=(1, 1, 2, 2))
    image.add_annotation("cat", label="mine", label_type="User")
    dataset.add_image("http://img/other.jpg")
    again = dataset.add_image("http://img/a2.jpg", width=20, height=20, id=5)
    assert again.idx == 0
    assert [obj.label_type for obj in again.objects] == ["User"]
    assert again.url == "http://img/a2.jpg"
    assert DataSet.objects.get(pk=dataset.pk).num_images == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metadata": {"bad": object()}},
        {"flag": 3},
        {"width": "wide"},
        {"uri": ""},
        {"id": "seven"},
        {"id": 2**70},
    ],
)
def test_add_image_rejects_bad_input_and_writes_nothing(dataset, kwargs):
    arguments = {"uri": "http://img/a.jpg", **kwargs}
    with pytest.raises(DDSError) as info:
        dataset.add_image(**arguments)
    assert info.value.code in (400002, 400102)
    assert Image(dataset.pk).count_num({}) == 0


def test_add_annotation_creates_label_category_and_object_types(dataset):
    image = dataset.add_image("http://img/a.jpg", width=100, height=100)
    image.add_annotation("cat", bbox=(0, 0, 10, 10), segmentation=[[1, 2, 3, 4]], keypoints=[1, 1, 2, 1.0], conf=0.5)
    image.add_annotation("dog", label="model", label_type="Pred", alpha_uri="http://m/a.png", caption="hi")
    stored = Image(dataset.pk).find_one({"id": image.id})
    assert [obj.category_name for obj in stored.objects] == ["cat", "dog"]
    assert stored.objects[0].label_id == label_id_for(dataset.pk, "GroundTruth")
    assert stored.objects[0].category_id == category_id_for(dataset.pk, "cat")
    assert stored.objects[1].caption == "hi"
    labels = {label.name: label.type for label in Label.objects.filter(dataset_id=dataset.pk)}
    assert labels == {"GroundTruth": "GT", "model": "Pred"}
    assert Category.objects.filter(dataset_id=dataset.pk).count() == 2
    assert sorted(DataSet.objects.get(pk=dataset.pk).object_types) == [
        "Classification",
        "Detection",
        "KeyPoints",
        "Matting",
        "Segmentation",
    ]


def test_add_annotation_label_type_mismatch_names_the_label_and_writes_nothing(dataset):
    image = dataset.add_image("http://img/a.jpg", width=10, height=10)
    image.add_annotation("cat", label="model", label_type="Pred")
    with pytest.raises(LabelTypeMismatch) as info:
        image.add_annotation("newcat", label="model", label_type="GT")
    assert info.value.code == 400002
    assert "model" in info.value.message
    assert len(Image(dataset.pk).find_one({"id": image.id}).objects) == 1
    assert not Category.objects.filter(name="newcat").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bbox": (1, 2, 3, 4)},  # the image has no width/height
        {"keypoints": [1, 2, 3]},
        {"keypoints": [1, 2, "x", 4]},
        {"label_type": "Truth"},
        {"conf": "high"},
    ],
)
def test_add_annotation_bad_input_writes_nothing(dataset, kwargs):
    image = dataset.add_image("http://img/a.jpg")
    with pytest.raises(InvalidDatasetArgument):
        image.add_annotation("cat", **kwargs)
    assert Image(dataset.pk).find_one({"id": image.id}).objects == []
    assert Label.objects.count() == 0
    assert Category.objects.count() == 0


def test_add_annotation_to_image_of_deleted_dataset():
    image = Image("gone")(id=1, idx=1, url="u", dataset_id="gone")
    with pytest.raises(DatasetNotFound):
        image.add_annotation("cat")


def test_batch_add_image_and_annotations(dataset):
    for number in range(450):
        image = dataset.batch_add_image(f"http://img/{number}.jpg", width=10, height=10)
        image.batch_add_annotation("cat" if number < 300 else "dog", bbox=(1, 1, 2, 2) if number == 0 else None)
        if number == 449:
            image.batch_add_annotation("dog", label="pred", label_type="Pred", keypoints=[1, 1, 2, 1])
    dataset.finish_batch_add_image()
    fresh = DataSet.objects.get(pk=dataset.pk)
    assert fresh.num_images == 450
    assert fresh.cover_url == "http://img/0.jpg"
    # the union over all batches, not the last batch only (DDS bug 22)
    assert sorted(fresh.object_types) == ["Classification", "Detection", "KeyPoints"]
    ids = [image["id"] for image in Image(dataset.pk).find_many({}, includes=["idx"], sort=[("idx", 1)], to_dict=True)]
    assert ids == list(range(450))
    assert {label.name for label in Label.objects.filter(dataset_id=dataset.pk)} == {"GroundTruth", "pred"}
    assert {category.name for category in Category.objects.filter(dataset_id=dataset.pk)} == {"cat", "dog"}


def test_batch_object_types_union_includes_existing_types(dataset):
    image = dataset.add_image("http://img/a.jpg")
    image.add_annotation("cat", segmentation=[[1, 2, 3, 4]])
    other = dataset.batch_add_image("http://img/b.jpg", width=10, height=10)
    other.batch_add_annotation("cat", bbox=(1, 1, 1, 1))
    dataset.finish_batch_add_image()
    assert sorted(DataSet.objects.get(pk=dataset.pk).object_types) == ["Classification", "Detection", "Segmentation"]


def test_batch_reimport_keeps_idx_and_updates_fields(dataset):
    for number in range(3):
        dataset.batch_add_image(f"http://img/{number}.jpg", id_=10 + number)
    dataset.finish_batch_add_image()
    dataset.batch_add_image("http://img/new-11.jpg", id_=11)
    dataset.batch_add_image("http://img/13.jpg", id_=13)
    dataset.finish_batch_add_image()
    images = {doc["id"]: doc for doc in Image(dataset.pk).find_many({}, to_dict=True)}
    assert images[11]["idx"] == 1
    assert images[11]["url"] == "http://img/new-11.jpg"
    assert images[13]["idx"] > images[12]["idx"]
    assert DataSet.objects.get(pk=dataset.pk).num_images == 4


def test_batch_save_image_flushes_early(dataset):
    image = dataset.batch_add_image("http://img/a.jpg", width=10, height=10)
    image.batch_add_annotation("cat", bbox=(1, 1, 1, 1))
    assert Image(dataset.pk).count_num({}) == 0
    dataset.batch_save_image()
    assert Image(dataset.pk).count_num({}) == 1
    assert Category.objects.filter(dataset_id=dataset.pk).count() == 1


def test_batch_add_annotation_label_type_conflict_is_caught_before_writing(dataset):
    image = dataset.add_image("http://img/a.jpg")
    image.add_annotation("cat", label="model", label_type="Pred")
    queued = dataset.batch_add_image("http://img/b.jpg")
    with pytest.raises(LabelTypeMismatch, match="model"):
        queued.batch_add_annotation("cat", label="model", label_type="GT")
    queued.batch_add_annotation("cat", label="model", label_type="Pred")
    first = dataset.batch_add_image("http://img/c.jpg")
    first.batch_add_annotation("cat", label="fresh", label_type="User")
    with pytest.raises(LabelTypeMismatch):
        first.batch_add_annotation("cat", label="fresh", label_type="GT")
    dataset.finish_batch_add_image()
    assert Image(dataset.pk).find_one({"url": "http://img/b.jpg"}).objects[0].label_type == "Pred"
    assert Label.objects.get(name="fresh").type == "User"


@pytest.mark.parametrize(
    "kwargs", [{"metadata": {"x": {1, 2}}}, {"flag": 4}, {"id_": "seven"}, {"width": -1}, {"flag_ts": "now"}]
)
def test_batch_add_image_bad_input_queues_nothing(dataset, kwargs):
    with pytest.raises(DDSError):
        dataset.batch_add_image("http://img/a.jpg", **kwargs)
    dataset.finish_batch_add_image()
    assert Image(dataset.pk).count_num({}) == 0


def test_batch_add_image_from_several_threads(dataset):
    errors = []

    def worker(offset: int) -> None:
        try:
            for number in range(offset, offset + 250):
                image = dataset.batch_add_image(f"http://img/{number}.jpg", width=10, height=10, id_=number)
                image.batch_add_annotation(f"c{number % 5}", bbox=(1, 1, 1, 1))
        except Exception as exc:  # noqa: BLE001 - any failure in a thread is reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in (0, 1000, 2000, 3000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    dataset.finish_batch_add_image()
    assert errors == []
    assert Image(dataset.pk).count_num({}) == 1000
    idxs = sorted(doc["idx"] for doc in Image(dataset.pk).find_many({}, to_dict=True))
    assert idxs == list(range(1000))
    assert Category.objects.filter(dataset_id=dataset.pk).count() == 5
    assert {len(doc["objects"]) for doc in Image(dataset.pk).find_many({}, to_dict=True)} == {1}


def test_image_document_matches_model_dump(dataset):
    from datasets.documents import image_document_of
    from datasets.images import REVISION

    image = dataset.batch_add_image("http://img/a.jpg", width=10, height=10, id_=3, metadata={"a": 1})
    image.batch_add_annotation("cat", bbox=(1, 1, 2, 2), keypoints=[1, 1, 1, 1])
    expected = image.model_dump()
    expected["_id"] = expected.pop("id")
    document = image_document_of(image)
    assert document.pop(REVISION) is not None  # every stored image carries a revision
    assert document == expected
    dataset.finish_batch_add_image()


def test_eval_description(dataset, settings, caplog):
    settings.DDS_DESCRIPTION_FUNCS = {
        "shout": "tests.datasets.helpers.shout_description",
        "broken": "tests.datasets.helpers.broken_description",
    }
    dataset.description_func = "shout"
    assert dataset.eval_description() == "CATS"
    dataset.description_func = "broken"
    assert dataset.eval_description() == "some cats"
    # a dotted path stored in the database is never imported (DDS bug §12.1 item 3)
    dataset.description_func = "tests.datasets.helpers.shout_description"
    assert dataset.eval_description() == "some cats"
    dataset.description, dataset.path = None, "/data/cats"
    assert dataset.eval_description() == "/data/cats"


def test_add_cover(dataset):
    dataset.add_cover()
    assert dataset.cover_url is None
    dataset.batch_add_image("http://img/b.jpg")
    dataset.batch_add_image("http://img/c.jpg")
    dataset.batch_save_image()
    dataset.add_cover()
    assert DataSet.objects.get(pk=dataset.pk).cover_url == "http://img/b.jpg"
    Image(dataset.pk).update_one({"id": 0}, {"url": "http://img/changed.jpg"})
    dataset.add_cover()
    assert dataset.cover_url == "http://img/b.jpg"
    dataset.add_cover(force_update=True)
    assert dataset.cover_url == "http://img/changed.jpg"


def test_label_and_category_models():
    dataset = DataSet.create_dataset("x")
    Label(name="GroundTruth", id="l1", type="GT", dataset_id=dataset.pk).save()
    Category(name="cat", id="c1", dataset_id=dataset.pk).save()
    assert Label.find_one({"id": "l1"}).to_dict() == {
        "id": "l1",
        "name": "GroundTruth",
        "type": "GT",
        "dataset_id": dataset.pk,
        "compare_precisions": [],
        "coco_metrics": None,
        "category_metrics": None,
        "confusion_matrix": None,
        "clone_from_label": "",
    }
    assert Category.find_one({"dataset_id": dataset.pk}).name == "cat"
    assert Label.get_collection().name == "labels"
    assert Category.get_collection().name == "categories"


def test_batch_insert_error_of_a_background_flush_is_raised_by_finish(dataset, monkeypatch):
    from datasets import services

    def failing_insert(documents):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "before_images_insert", [failing_insert])
    for number in range(DataSet._batch_size):  # a full buffer flushes on the writer thread
        dataset.batch_add_image(f"http://img/{number}.jpg")
    with pytest.raises(RuntimeError, match="disk full"):
        dataset.finish_batch_add_image()


def test_batch_inside_transaction_writes_in_the_transaction(dataset):
    from django_mongodb_backend import transaction

    with transaction.atomic():
        dataset.batch_add_image("http://img/a.jpg")
        dataset.finish_batch_add_image()
    assert Image(dataset.pk).count_num({}) == 1


def test_add_image_from_several_threads_gets_distinct_ids(dataset):
    errors, added = [], []

    def worker(number: int) -> None:
        for offset in range(5):
            try:
                added.append(DataSet.objects.get(pk=dataset.pk).add_image(f"http://img/{number}-{offset}.jpg").id)
            except Exception as exc:  # noqa: BLE001 - any failure in a thread is reported by the assert below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Under contention an add may give up with a 409 conflict; every add that succeeded is a distinct image.
    assert all(getattr(exc, "code", None) == 409000 for exc in errors), errors
    assert len(added) + len(errors) == 15
    assert len(set(added)) == len(added)
    assert sorted(image.id for image in Image(dataset.pk).find_many({})) == sorted(added)


def test_create_dataset_with_an_id_created_concurrently_updates_it(monkeypatch):
    original_save = DataSet.save

    def racing_save(self, *args, **kwargs):
        if not DataSet.objects.filter(pk=self.pk).exists():  # another process wins the race
            DataSet.get_collection().insert_one(DataSet(id=self.pk, name="theirs")._to_document())
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(DataSet, "save", racing_save)
    dataset = DataSet.create_dataset("mine", id_="race")
    assert dataset.pk == "race"
    assert DataSet.objects.get(pk="race").name == "mine"
    assert DataSet.objects.count() == 1


def test_batch_annotations_of_the_image_that_fills_the_buffer_are_kept(dataset, monkeypatch):
    # DDS flushed the 200th image inside batch_add_image, before it could be annotated
    from datasets.services import ImageBatch

    requeued = []
    original_requeue = ImageBatch.requeue
    monkeypatch.setattr(
        ImageBatch, "requeue", lambda self, image: (requeued.append(image.id), original_requeue(self, image))
    )
    for number in range(2 * DataSet._batch_size + 1):
        image = dataset.batch_add_image(f"http://img/{number}.jpg")
        image.batch_add_annotation("cat")
        image.batch_add_annotation("dog")
    dataset.finish_batch_add_image()
    counts = {doc["id"]: len(doc["objects"]) for doc in Image(dataset.pk).find_many({}, to_dict=True)}
    assert len(counts) == 2 * DataSet._batch_size + 1
    assert set(counts.values()) == {2}
    assert requeued == []  # the image being annotated was still queued: written once


def test_batch_annotation_after_the_image_was_written_updates_it(dataset):
    first = dataset.batch_add_image("http://img/a.jpg", width=10, height=10)
    first.batch_add_annotation("cat")
    dataset.batch_save_image()
    first.batch_add_annotation("dog", bbox=(1, 1, 2, 2))
    dataset.batch_add_image("http://img/b.jpg")
    dataset.finish_batch_add_image()
    stored = Image(dataset.pk).find_one({"id": 0})
    assert [obj.category_name for obj in stored.objects] == ["cat", "dog"]
    assert stored.idx == 0
    assert Image(dataset.pk).find_one({"id": 1}).idx == 1
    assert DataSet.objects.get(pk=dataset.pk).num_images == 2


def test_dataset_with_an_image_buffer_can_be_pickled(dataset):
    import pickle

    dataset.batch_add_image("http://img/a.jpg")
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy.pk == dataset.pk
    assert "_image_batch" not in copy.__dict__
    dataset.finish_batch_add_image()
