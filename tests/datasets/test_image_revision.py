"""Every write of an image's objects renews its revision; the FN/FP analysis relies on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from datasets.fnfp import calculate_fnfp, gt_result_key
from datasets.images import REVISION, Image
from datasets.importers.coco import CocoImporter, PredictionFile
from datasets.importers.runner import run_import
from datasets.models import DataSet
from datasets.services import label_id_for
from tests.datasets.importing_helpers import coco_gt, coco_results, write_json


def _dataset() -> DataSet:
    """One 100x100 image: a GT cat and a matching prediction."""
    dataset = DataSet.create_dataset("revisions")
    image = dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    image.batch_add_annotation("cat", bbox=(0, 0, 50, 50))
    image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(1, 0, 50, 50))
    dataset.finish_batch_add_image()
    return dataset


def _revision(dataset: DataSet):
    return Image(dataset.id).get_collection().find_one({"_id": 1}, {REVISION: 1}).get(REVISION)


def _add_annotation(dataset: DataSet) -> None:
    Image(dataset.id).find_one({"id": 1}).add_annotation("cat", label="late", label_type="User", bbox=(5, 5, 9, 9))


def _save(dataset: DataSet) -> None:
    image = Image(dataset.id).find_one({"id": 1})
    image.objects[0].category_name = "dog"
    image.save()


def _batch_save(dataset: DataSet) -> None:
    image = Image(dataset.id).find_one({"id": 1})
    image.objects = image.objects[:1]
    image.batch_save()
    type(image).finish_batch_save()


def _update_one(dataset: DataSet) -> None:
    Image(dataset.id).update_one({"id": 1}, {"objects": []})


def _update_many(dataset: DataSet) -> None:
    Image(dataset.id).update_many({}, {"objects": []})


def _batch_update(dataset: DataSet) -> None:
    model = Image(dataset.id)
    model.batch_update({"id": 1}, {"objects": []})
    model.finish_batch_update()


def _add_image_again(dataset: DataSet) -> None:
    dataset.add_image("http://img/1.jpg", width=100, height=100, id=1)


def _batch_add_image_again(dataset: DataSet) -> None:
    dataset.batch_add_image("http://img/1.jpg", width=100, height=100, id_=1)
    dataset.finish_batch_add_image()


WRITERS: list[Callable[[DataSet], None]] = [
    _add_annotation,
    _save,
    _batch_save,
    _update_one,
    _update_many,
    _batch_update,
    _add_image_again,
    _batch_add_image_again,
]


def test_new_images_get_a_revision(db):
    assert _revision(_dataset()) is not None


@pytest.mark.parametrize("write", WRITERS, ids=lambda write: write.__name__.strip("_"))
def test_each_image_writer_renews_the_revision(db, write):
    dataset = _dataset()
    before = _revision(dataset)
    write(dataset)
    assert _revision(dataset) not in (None, before)


@pytest.mark.parametrize("write", WRITERS, ids=lambda write: write.__name__.strip("_"))
def test_fnfp_redoes_an_image_written_while_it_runs(db, monkeypatch, write):
    from datasets.fnfp import job

    dataset = _dataset()

    def collect_then_someone_writes(dataset_id):
        write(dataset)

    monkeypatch.setattr(job, "after_collect", [collect_then_someone_writes])
    result = calculate_fnfp(dataset.id, with_coco_metrics=False)
    assert result.retried_images == 1
    stored = Image(dataset.id).get_collection().find_one({"_id": 1})
    # The concurrent write survived: the results were computed on top of it.
    written = Image(dataset.id).from_dict(stored)
    if write is _add_annotation:
        assert [o.label_name for o in written.objects if o.label_type == "User"] == ["late"]
    if write is _save:
        assert written.objects[0].category_name == "dog"
    if write in (_update_one, _update_many, _batch_update):
        assert written.objects == []


def test_fnfp_writes_images_that_have_no_revision_yet(db):
    """Documents written by DDS have no ``rev``; the guard still matches them."""
    dataset = _dataset()
    Image(dataset.id).get_collection().update_one({"_id": 1}, {"$unset": {REVISION: ""}})
    result = calculate_fnfp(dataset.id, with_coco_metrics=False)
    assert result.retried_images == 0
    image = Image(dataset.id).find_one({"id": 1})
    assert image.objects[0].compare_result[gt_result_key(label_id_for(dataset.id, "det"), "90")] == "OK"
    assert _revision(dataset) is not None


def test_fnfp_redoes_images_a_reimport_swapped_in_while_it_runs(db, monkeypatch, tmp_path):
    from datasets.fnfp import job

    gt = coco_gt(2)
    results = coco_results(gt)
    gt_path, pred_path = write_json(tmp_path / "gt.json", gt), write_json(tmp_path / "det.json", results)
    dataset = DataSet.get_importing_dataset("reimported")
    run_import(dataset, CocoImporter(str(gt_path), predictions=[PredictionFile("det", str(pred_path))]))
    # The re-import drops the near-miss predictions: its images differ from those the run read.
    moved_path = write_json(tmp_path / "det2.json", [r for r in results if r["score"] > 0.5])

    def collect_then_reimport(dataset_id):
        importer = CocoImporter(str(gt_path), predictions=[PredictionFile("det", str(moved_path))])
        run_import(DataSet.objects.get(pk=dataset.id), importer)

    monkeypatch.setattr(job, "after_collect", [collect_then_reimport])
    result = calculate_fnfp(dataset.id, with_coco_metrics=False)
    assert result.retried_images == 2
    for image in Image(dataset.id).find_many({}):
        preds = [o for o in image.objects if o.label_type == "Pred"]
        assert preds
        assert all(o.conf == 0.9 for o in preds)
        assert all(o.compare_result for o in preds)


def test_fnfp_redoes_only_the_images_written_meanwhile(db, monkeypatch):
    from datasets.fnfp import job

    dataset = DataSet.create_dataset("three")
    for image_id in (1, 2, 3):
        image = dataset.batch_add_image(f"http://img/{image_id}.jpg", width=100, height=100, id_=image_id)
        image.batch_add_annotation("cat", bbox=(0, 0, 50, 50))
        image.batch_add_annotation("cat", label="det", label_type="Pred", conf=0.9, bbox=(1, 0, 50, 50))
    dataset.finish_batch_add_image()

    def collect_then_someone_writes(dataset_id):
        _add_annotation(dataset)  # image 1

    monkeypatch.setattr(job, "after_collect", [collect_then_someone_writes])
    result = calculate_fnfp(dataset.id, with_coco_metrics=False)
    assert result.retried_images == 1
    key = gt_result_key(label_id_for(dataset.id, "det"), "90")
    for image in Image(dataset.id).find_many({}):
        assert image.objects[0].compare_result[key] == "OK"
    assert [o.label_name for o in Image(dataset.id).find_one({"id": 1}).objects] == ["GroundTruth", "det", "late"]
