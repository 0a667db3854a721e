"""COCO files listed by ascending image id are joined straight from the file (no spool): the same
documents, errors and warnings as the spooled path, the first images written while the file is
still read, and a failure late in the file still leaves the dataset as it was."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from datasets.images import Image
from datasets.importers import runner
from datasets.importers.coco import CocoImporter, PredictionFile
from datasets.importers.errors import ImportFormatError
from datasets.importers.records import CLIPPED_BOXES
from datasets.importers.runner import run_import
from datasets.models import DataSet
from datasets.store import REVISION
from tests.datasets.importing_helpers import coco_gt, coco_results, objects_by_key, write_json


def _ascending(gt: dict) -> dict:
    """``gt`` with its images and annotations listed by ascending image id (stable)."""
    gt = copy.deepcopy(gt)
    gt["images"].sort(key=lambda image: image["id"])
    gt["annotations"].sort(key=lambda ann: ann["image_id"])
    return gt


def _scattered(gt: dict) -> dict:
    """The same content with the annotations in descending image id, which forces the spool."""
    gt = copy.deepcopy(gt)
    gt["annotations"].sort(key=lambda ann: -ann["image_id"])
    return gt


def _with_overhang(gt: dict) -> dict:
    """A box overhanging its 100x80 image by 10 px: clipped, counted as a warning (so is its prediction)."""
    gt["annotations"][0]["bbox"] = [80.0, 10.0, 30.0, 20.0]
    return gt


def _write(directory: Path, name: str, data) -> Path:
    """``data`` as JSON in ``directory/name``: both variants of a test keep the same file names (errors name them)."""
    directory.mkdir(exist_ok=True)
    return write_json(directory / name, data)


def _import(path: Path, dataset_id: str, *, results: Path | None = None, **kwargs):
    predictions = [PredictionFile("det", str(results))] if results else []
    dataset = DataSet.objects.filter(pk=dataset_id).first() or DataSet.get_importing_dataset("coco", id_=dataset_id)
    return run_import(dataset, CocoImporter(str(path), predictions=predictions), **kwargs)


def _documents(dataset_id: str) -> list[dict]:
    """The dataset's image documents in idx order, without what differs per write (revision, dataset id)."""
    documents = Image(dataset_id).get_collection().find({}, {REVISION: 0, "dataset_id": 0}).sort("idx", 1)
    per_dataset = ("label_id", "category_id")
    return [
        {**document, "objects": [{k: v for k, v in obj.items() if k not in per_dataset} for obj in document["objects"]]}
        for document in documents
    ]


def _batch_spy(monkeypatch) -> list[int]:
    """Sizes of the batches the import hands to its writer, in order."""
    sizes: list[int] = []
    monkeypatch.setattr(runner, "before_batch_write", [lambda batch: sizes.append(len(batch))])
    return sizes


def test_ascending_and_scattered_files_give_the_same_documents_and_warnings(db, tmp_path):
    gt = _with_overhang(coco_gt(5))
    results = sorted(coco_results(gt), key=lambda result: result["image_id"])
    scattered_results = sorted(results, key=lambda result: -result["image_id"])
    ascending = _import(
        _write(tmp_path / "asc", "gt.json", _ascending(gt)),
        "ascending",
        results=_write(tmp_path / "asc", "det.json", results),
    )
    scattered = _import(
        _write(tmp_path / "scat", "gt.json", _scattered(gt)),
        "scattered",
        results=_write(tmp_path / "scat", "det.json", scattered_results),
    )
    assert ascending.num_images == scattered.num_images == 5
    assert ascending.warnings == scattered.warnings == {CLIPPED_BOXES: 2}  # the box and its prediction
    assert _documents("ascending") == _documents("scattered")
    assert objects_by_key("ascending") == objects_by_key("scattered")


def test_ascending_file_is_written_while_it_is_read_and_a_late_bad_record_rolls_back(db, tmp_path, monkeypatch):
    gt = _ascending(coco_gt(12))
    gt["annotations"][-1]["category_id"] = 99  # the very last record of the file is bad
    path = write_json(tmp_path / "gt.json", gt)
    sizes = _batch_spy(monkeypatch)
    with pytest.raises(ImportFormatError, match="unknown category_id") as excinfo:
        _import(path, "late", batch_size=2)
    assert excinfo.value.detail["record"] == f"annotations[{len(gt['annotations']) - 1}]"
    assert excinfo.value.detail["field"] == "category_id"
    # Batches went out before the parser reached the end of the file ...
    assert sizes
    assert sum(sizes) < 12
    # ... and the failed import left the new dataset without images.
    assert DataSet.objects.get(pk="late").status == "failed"
    assert Image("late").get_collection().count_documents({}) == 0


def test_a_late_bad_record_of_a_streamed_reimport_keeps_the_previous_images(db, tmp_path):
    _import(write_json(tmp_path / "first.json", _ascending(coco_gt(6))), "again")
    before = objects_by_key("again")
    gt = _ascending(coco_gt(6))
    gt["annotations"][-1]["bbox"] = [1.0, 1.0, "wide", 5.0]
    with pytest.raises(ImportFormatError, match="expected a number") as excinfo:
        _import(write_json(tmp_path / "second.json", gt), "again", batch_size=2)
    assert excinfo.value.detail["field"] == "bbox"
    assert objects_by_key("again") == before
    assert DataSet.objects.get(pk="again").num_images == 6


def test_bad_records_of_an_ascending_file_are_skipped_as_in_a_scattered_one(db, tmp_path):
    gt = coco_gt(4)
    gt["annotations"].append({"id": 900, "image_id": 25, "category_id": 1, "bbox": [1, 1, 2, 2]})  # no such image
    gt["annotations"][1]["bbox"] = [1, 1, True, 2]
    gt["images"].append(dict(gt["images"][1], file_name="copy.png"))  # a second image with id 20
    ascending = _import(_write(tmp_path / "asc", "gt.json", _ascending(gt)), "asc", skip_invalid=True)
    spooled = _import(_write(tmp_path / "scat", "gt.json", _scattered(gt)), "scat", skip_invalid=True)
    assert ascending.num_images == spooled.num_images == 4
    assert ascending.skipped == spooled.skipped == 3
    problems = {(example["field"], example["reason"]) for example in ascending.skipped_examples}
    assert problems == {(example["field"], example["reason"]) for example in spooled.skipped_examples}
    assert {field for field, _reason in problems} == {"id", "image_id", "bbox"}
    # The first of the two images with id 20 is the one kept, in both.
    assert Image("asc").get_collection().find_one({"_id": 20})["url"].endswith("img2.png")
    assert _documents("asc") == _documents("scat")


def test_a_duplicate_image_id_of_an_ascending_file_names_the_record(db, tmp_path):
    gt = _ascending(coco_gt(3))
    gt["images"].insert(2, dict(gt["images"][1]))
    with pytest.raises(ImportFormatError, match="duplicate image id") as excinfo:
        _import(write_json(tmp_path / "gt.json", gt), "dup")
    assert excinfo.value.detail["record"] == "images[2]"
    assert excinfo.value.detail["field"] == "id"


def test_the_import_bar_of_an_ascending_file_ends_at_100_percent_once(db, tmp_path, capsys):
    path = write_json(tmp_path / "gt.json", _ascending(coco_gt(7)))
    call_command("import_coco", str(path), "--dataset-id", "bar")
    lines = [line.strip() for line in re.split(r"[\r\n]", capsys.readouterr().err) if line.startswith("images:")]
    assert "100%" in lines[-1]
    assert sum("7/7" in line for line in lines) == 1


@pytest.mark.parametrize("layout", [_ascending, _scattered])
@pytest.mark.parametrize(("key", "bad"), [("info", ["not", "an", "object"]), ("licenses", {"not": "a list"})])
def test_a_bad_info_or_licenses_read_after_the_images_still_fails_the_whole_import(db, tmp_path, layout, key, bad):
    # info and licenses are read once every image was handed on: batches went out, nothing is kept.
    _import(write_json(tmp_path / "first.json", coco_gt(3)), "described")
    before = objects_by_key("described")
    gt = {key: bad, **layout(coco_gt(8))}
    with pytest.raises(ImportFormatError) as excinfo:
        _import(write_json(tmp_path / "gt.json", gt), "described", batch_size=2)
    assert excinfo.value.code == 400002
    assert excinfo.value.detail["field"] == key
    assert objects_by_key("described") == before
    assert DataSet.objects.get(pk="described").num_images == 3
    assert DataSet.objects.get(pk="described").detail_status["import"]["state"] == "failed"


def test_info_and_licenses_anywhere_in_the_file_are_kept_as_the_source_info(db, tmp_path):
    gt = _ascending(coco_gt(3))
    gt = {"images": gt.pop("images"), "info": {"year": 2024}, **gt, "licenses": [{"id": 3, "name": "CC"}]}
    _import(write_json(tmp_path / "gt.json", gt), "source")
    assert DataSet.objects.get(pk="source").source_info == {
        "format": "coco",
        "info": {"year": 2024},
        "licenses": [{"id": 3, "name": "CC"}],
    }


def test_info_written_with_escapes_or_only_nested_is_read_as_the_file_says(db, tmp_path):
    # The header keys a file never spells out are not scanned for: an escaped name still counts,
    # a nested "info" is not the file's.
    gt = _ascending(coco_gt(2))
    text = json.dumps({**gt, "licenses": [{"id": 3}]})
    path = tmp_path / "raw.json"
    path.write_text(text[:-1] + ', "\\u0069nfo": {"year": 2024}}')
    _import(path, "raw")
    gt["images"][0]["info"] = {"nested": True}
    _import(write_json(tmp_path / "nested.json", gt), "nested")
    assert DataSet.objects.get(pk="raw").source_info == {
        "format": "coco",
        "info": {"year": 2024},
        "licenses": [{"id": 3}],
    }
    assert DataSet.objects.get(pk="nested").source_info == {"format": "coco"}


def _members(gt: dict, *order: str) -> str:
    """``gt`` as JSON text with its members in ``order`` (a name twice writes that member twice)."""
    return "{" + ", ".join(f"{json.dumps(name)}: {json.dumps(gt[name])}" for name in order) + "}"


@pytest.mark.parametrize(
    "order",
    [
        ("images", "annotations", "categories"),
        ("annotations", "categories", "images"),  # the images last: found by the scan of the whole file
        ("categories", "images", "annotations"),
    ],
)
def test_ascending_images_anywhere_in_the_file_give_the_same_documents(db, tmp_path, order):
    gt = _ascending(coco_gt(5))
    write_json(tmp_path / "reference.json", gt)
    _import(tmp_path / "reference.json", "reference")
    path = tmp_path / "gt.json"
    path.write_text(_members(gt, *order))
    _import(path, "ordered")
    assert _documents("ordered") == _documents("reference")


def test_images_listed_in_two_arrays_are_all_imported(db, tmp_path):
    # The first array alone is ascending; the second one lists lower ids, so the file must be spooled.
    gt = _ascending(coco_gt(4))
    first, second = dict(gt, images=gt["images"][2:]), dict(gt, images=gt["images"][:2])
    text = _members(first, "images", "annotations", "categories")[:-1] + ', "images": ' + json.dumps(second["images"])
    path = tmp_path / "gt.json"
    path.write_text(text + "}")
    result = _import(path, "twice")
    assert result.num_images == 4
    assert sorted(len(document["objects"]) for document in _documents("twice")) == sorted(
        len([ann for ann in gt["annotations"] if ann["image_id"] == image["id"]]) for image in gt["images"]
    )
