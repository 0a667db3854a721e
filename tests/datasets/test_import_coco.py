"""COCO import: fields, round trip, re-import, crash safety (exception and SIGKILL), bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from datasets import services
from datasets.exporters.coco import export_coco
from datasets.images import Image, image_collection_name
from datasets.importers import runner
from datasets.importers.coco import CocoImporter, PredictionFile
from datasets.importers.errors import ImportFormatError
from datasets.importers.runner import import_status, run_import
from datasets.importers.spool import Spool, remove_orphaned_spools
from datasets.models import Category, DataSet, Label
from datasets.store import staging_collection_names
from datasets.tasks import run_import_spec
from dds_site import mongo
from tests.datasets.importing_helpers import (
    client_uri,
    coco_gt,
    coco_results,
    import_killed_after_swap_journal,
    objects_by_key,
    wait_until_disconnected,
    write_json,
)

ROOT = Path(__file__).resolve().parents[2]


def _dataset_id(tmp_path: Path) -> str:
    """An id of the test's own (its temporary directory is unique in the run)."""
    return f"ds-{tmp_path.name}"


def _stagings(dataset_id: str) -> list[str]:
    return staging_collection_names(dataset_id)


def _import(tmp_path: Path, gt: dict, *, results: list | None = None, dataset_id: str | None = None, **kwargs):
    dataset_id = dataset_id or _dataset_id(tmp_path)
    gt_path = write_json(tmp_path / "gt.json", gt)
    predictions = []
    if results is not None:
        predictions.append(PredictionFile("det", str(write_json(tmp_path / "det.json", results))))
    dataset = DataSet.objects.filter(pk=dataset_id).first() or DataSet.get_importing_dataset("coco", id_=dataset_id)
    result = run_import(dataset, CocoImporter(str(gt_path), predictions=predictions), **kwargs)
    return DataSet.objects.get(pk=dataset.id), result


def test_coco_import_maps_every_annotation_kind(db, tmp_path):
    gt = coco_gt(4)
    dataset, result = _import(tmp_path, gt, results=coco_results(gt))
    assert result.num_images == 4
    assert dataset.num_images == 4
    assert dataset.status == "ready"
    assert set(dataset.object_types) == {"Classification", "Detection", "Segmentation", "Mask", "KeyPoints"}
    assert dataset.cover_url == "http://images.example/img1.png"
    assert {c.name for c in Category.objects.filter(dataset_id=dataset.id)} == {"cat", "dog", "person"}
    assert {(lb.name, lb.type) for lb in Label.objects.filter(dataset_id=dataset.id)} == {
        ("GroundTruth", "GT"),
        ("det", "Pred"),
    }
    image = Image(dataset.id).find_one({"id": 10})
    assert image.width == 100
    assert image.idx == 0
    assert json.loads(image.metadata)["license"] == 3
    gt_objects = [o for o in image.objects if o.label_type == "GT"]
    box = next(o for o in gt_objects if o.segmentation)
    assert box.bounding_box == pytest.approx({"xmin": 0.1, "ymin": 0.125, "xmax": 0.4, "ymax": 0.375})
    assert box.segmentation == "10,10,40,10,40,30,10,30"
    crowd = next(o for o in gt_objects if o.is_group)
    assert crowd.mask["size"] == [80, 100]
    assert crowd.bounding_box  # uncompressed RLE -> compressed + box
    person = next(o for o in gt_objects if o.points)
    assert person.point_names == ["nose", "left_eye", "right_eye"]
    assert person.lines == [0, 1, 0, 2]
    assert person.points[:6] == [5.0, 5.0, 0.0, 1.0, 2, 1.0]
    preds = [o for o in image.objects if o.label_type == "Pred"]
    assert {p.conf for p in preds} == {0.9, 0.3}
    assert dataset.detail_status["import"]["state"] == "ready"


def test_coco_captions_file(db, tmp_path):
    gt = {
        "images": [{"id": 1, "width": 10, "height": 10, "coco_url": "http://x/1.jpg"}],
        "annotations": [{"id": 5, "image_id": 1, "caption": "a cat on a mat"}],
    }
    dataset, _ = _import(tmp_path, gt)
    (obj,) = Image(dataset.id).find_one({"id": 1}).objects
    assert obj.caption == "a cat on a mat"
    assert obj.category_name == ""


def test_coco_round_trip(db, tmp_path):
    gt = coco_gt(5)
    dataset, _ = _import(tmp_path, gt, results=coco_results(gt))
    export_coco(dataset.id, tmp_path / "out" / "gt.json")
    export_coco(dataset.id, tmp_path / "out" / "det.json", results="det")
    exported = json.loads((tmp_path / "out" / "gt.json").read_text())
    assert len(exported["images"]) == 5
    assert isinstance(json.loads((tmp_path / "out" / "det.json").read_text()), list)
    again = DataSet.get_importing_dataset("again", id_="ds2")
    run_import(
        again,
        CocoImporter(
            str(tmp_path / "out" / "gt.json"), predictions=[PredictionFile("det", str(tmp_path / "out" / "det.json"))]
        ),
    )
    assert objects_by_key("ds2") == objects_by_key(dataset.id)


def test_reimport_keeps_user_annotations_and_flags_by_coco_id(db, tmp_path):
    gt = coco_gt(4)
    dataset, _ = _import(tmp_path, gt)
    image = Image(dataset.id).find_one({"id": 30})
    image.add_annotation("cat", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    services.image_flags_set(dataset=DataSet.objects.get(pk=dataset.id), flag_groups=[{"flag": 1, "ids": [30]}])
    # The new file lists the images in another order and drops image 40.
    gt["images"] = [img for img in reversed(gt["images"]) if img["id"] != 40]
    gt["annotations"] = [ann for ann in gt["annotations"] if ann["image_id"] != 40]
    dataset, result = _import(tmp_path, gt)
    assert result.carried_images == 1
    assert result.num_images == 3
    image = Image(dataset.id).find_one({"id": 30})
    assert image.flag == 1
    assert image.flag_ts > 0
    assert [(o.label_name, o.label_type) for o in image.objects if o.label_type == "User"] == [("mine", "User")]
    assert "User" in {lb.type for lb in Label.objects.filter(dataset_id=dataset.id)}


def test_user_work_done_during_a_reimport_is_kept(db, tmp_path, monkeypatch):
    dataset, _ = _import(tmp_path, coco_gt(4))
    Image(dataset.id).find_one({"id": 10}).add_annotation("cat", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    calls = {"n": 0}

    def put_while_someone_works(batch):
        calls["n"] += 1
        if calls["n"] == 1:  # the import is under way: a user labels image 20, removes work on image 10
            Image(dataset.id).find_one({"id": 20}).add_annotation(
                "dog", label="mine", label_type="User", caption="late", bbox=(2, 2, 5, 5)
            )
            image = Image(dataset.id).find_one({"id": 10})
            kept = [o.model_dump() for o in image.objects if o.label_type != "User"]
            Image(dataset.id).update_one({"id": 10}, {"objects": kept})

    monkeypatch.setattr(runner, "before_batch_write", [put_while_someone_works])
    _, result = _import(tmp_path, coco_gt(4), batch_size=2)
    assert result.carried_images == 1
    assert result.late_user_edits == 2
    late = [o for o in Image(dataset.id).find_one({"id": 20}).objects if o.label_type == "User"]
    assert [o.caption for o in late] == ["late"]
    assert not [o for o in Image(dataset.id).find_one({"id": 10}).objects if o.label_type == "User"]


def test_user_work_done_in_the_last_moments_before_the_swap_is_kept(db, tmp_path, monkeypatch):
    """Edits while the staging indexes are built and while the last look for edits runs."""
    dataset, _ = _import(tmp_path, coco_gt(4))
    looking = {"started": False}

    def build_indexes_while_someone_works(name):
        if name in _stagings(dataset.id):
            Image(dataset.id).find_one({"id": 20}).add_annotation("dog", label="mine", label_type="User")
            looking["started"] = True

    def look_while_someone_works(dataset_id):
        if looking["started"]:
            looking["started"] = False
            services.image_flags_set(dataset=DataSet.objects.get(pk=dataset.id), flag_groups=[{"flag": 2, "ids": [30]}])

    monkeypatch.setattr(runner, "before_index", [build_indexes_while_someone_works])
    monkeypatch.setattr(runner, "before_late_edit_look", [look_while_someone_works])
    _, result = _import(tmp_path, coco_gt(4))
    assert result.late_user_edits == 2
    assert [o.label_name for o in Image(dataset.id).find_one({"id": 20}).objects if o.label_type == "User"] == ["mine"]
    assert Image(dataset.id).find_one({"id": 30}).flag == 2
    # The lookup index the late edits needed is not left on the images.
    indexes = mongo.get_collection(image_collection_name(dataset.id)).index_information()
    assert "source_key_for_late_edits" not in indexes


def _snapshot(dataset_id: str) -> tuple:
    images = sorted(Image(dataset_id).find_many({}, to_dict=True), key=lambda d: d["id"])
    row = DataSet.objects.get(pk=dataset_id)
    return images, row.num_images, row.status, row.object_types, row.cover_url


def _fail_second_write(monkeypatch) -> None:
    """Make the import's second batch write raise ``RuntimeError("disk on fire")``."""
    calls = {"n": 0}

    def failing_put(batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner, "before_batch_write", [failing_put])


def test_exception_mid_import_leaves_previous_dataset_intact(db, tmp_path, monkeypatch):
    dataset, _ = _import(tmp_path, coco_gt(4))
    Image(dataset.id).find_one({"id": 20}).add_annotation("dog", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    before = _snapshot(dataset.id)
    labels_before = sorted(Label.objects.filter(dataset_id=dataset.id).values_list("name", flat=True))
    _fail_second_write(monkeypatch)
    gt = coco_gt(6)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _import(tmp_path, gt, results=coco_results(gt), batch_size=2)
    assert _snapshot(dataset.id) == before
    assert sorted(Label.objects.filter(dataset_id=dataset.id).values_list("name", flat=True)) == labels_before
    entry = DataSet.objects.get(pk=dataset.id).detail_status["import"]
    assert entry["state"] == "failed"
    assert entry["reason"] == "RuntimeError"  # its text is not stored
    assert not _stagings(dataset.id)


def _big_gt(num_images: int) -> dict:
    images = [{"id": i, "width": 640, "height": 480, "coco_url": f"http://x/{i}.jpg"} for i in range(1, num_images + 1)]
    annotations = [
        {
            "id": i * 10 + k,
            "image_id": i,
            "category_id": 1 + k % 2,
            "bbox": [k, k, 50, 40],
            "iscrowd": 0,
            "segmentation": [[k, k, k + 50, k, k + 50, k + 40, k, k + 40]] * 4,
        }
        for i in range(1, num_images + 1)
        for k in range(10)
    ]
    return {"images": images, "annotations": annotations, "categories": coco_gt(1)["categories"]}


def _written_by_import(dataset_id: str) -> str | None:
    """The collection the running import writes: its staging collection, or the live one (direct)."""
    entry = DataSet.objects.get(pk=dataset_id).detail_status.get("import") or {}
    if entry.get("state") != "running":
        return None
    return image_collection_name(dataset_id) if entry.get("mode") == runner.DIRECT else entry.get("staging")


def _kill_import_midway(dataset_id: str, tmp_path: Path):
    """Run ``manage.py import_coco`` of 6,000 images into the dataset in a subprocess, SIGKILL it
    once the collection it writes holds at least 500 images, and return that collection.

    Returns only once the server has dropped the killed process's connections, so no write of it
    can land later. The process keeps its temporary files in ``tmp_path / "tmp"``."""
    big = write_json(tmp_path / "big.json", _big_gt(6000))
    (tmp_path / "tmp").mkdir()
    app_name = f"killed-import-{tmp_path.name}"
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path / "tmp"),
        "MONGODB_URI": client_uri(app_name),
        "MONGODB_NAME": connections["default"].settings_dict["NAME"],
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_coco", str(big), "--dataset-id", dataset_id, "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    collection = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            name = _written_by_import(dataset_id)
            collection = mongo.get_collection(name) if name else None
            if collection is not None and collection.estimated_document_count() >= 500:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert collection is not None
        assert collection.estimated_document_count() >= 500
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stderr.close()
    wait_until_disconnected(app_name)
    return collection


@pytest.mark.slow  # a subprocess imports 6,000 images until it is killed
def test_killed_import_process_leaves_previous_dataset_intact(db, tmp_path):
    dataset, _ = _import(tmp_path, coco_gt(3))
    Image(dataset.id).find_one({"id": 10}).add_annotation("cat", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    before = _snapshot(dataset.id)
    staging = _kill_import_midway(dataset.id, tmp_path)
    assert staging.name in _stagings(dataset.id)
    assert _snapshot(dataset.id) == before
    assert DataSet.objects.get(pk=dataset.id).detail_status["import"]["state"] == "running"
    # The dead attempt is closed (failed) the next time anyone looks, and its staging dropped.
    assert import_status(dataset.id)["state"] == "failed"
    assert not _stagings(dataset.id)
    assert _snapshot(dataset.id) == before
    # Its spool directory outlived it; the next spool opened removes it.
    leftovers = tmp_path / "tmp"
    assert list(leftovers.glob("dds-spool-*"))
    assert remove_orphaned_spools(str(leftovers)) >= 1
    assert not list(leftovers.glob("dds-spool-*"))


def test_interrupted_swap_is_rolled_forward(db, tmp_path, monkeypatch):
    dataset, _ = _import(tmp_path, coco_gt(2))
    gt = coco_gt(3)
    gt["categories"].append({"id": 9, "name": "bird"})
    gt["annotations"].append({"id": 99, "image_id": 30, "category_id": 9, "bbox": [1, 1, 2, 2]})
    gt_path = write_json(tmp_path / "gt3.json", gt)

    import_killed_after_swap_journal(
        monkeypatch, lambda: run_import(DataSet.objects.get(pk=dataset.id), CocoImporter(str(gt_path)))
    )
    entry = DataSet.objects.get(pk=dataset.id).detail_status["import"]
    assert entry["state"] == "swapping"
    assert DataSet.objects.get(pk=dataset.id).num_images == 2
    assert _stagings(dataset.id) == [entry["staging"]]
    assert not Category.objects.filter(dataset_id=dataset.id, name="bird").exists()
    mongo.get_collection("datasets").update_one({"_id": dataset.id}, {"$set": {"detail_status.import.pid": 2**22 + 7}})
    assert import_status(dataset.id)["state"] == "ready"
    rolled = DataSet.objects.get(pk=dataset.id)
    assert rolled.num_images == 3
    assert Image(dataset.id).count_num({}) == 3
    assert Category.objects.filter(dataset_id=dataset.id, name="bird").exists()
    assert "pending" not in rolled.detail_status["import"]


# --- the direct mode: a dataset with no images yet is written straight into its live collection ---


def _new_dataset_state(dataset_id: str) -> tuple:
    """Everything a new dataset shows; its image collection must be empty and indexed."""
    collection = mongo.get_collection(image_collection_name(dataset_id))
    if collection.name in mongo.get_database().list_collection_names():
        keys = {key for spec in collection.index_information().values() for key, _direction in spec["key"]}
        assert {"idx", "objects.category_id"} <= keys
    row = DataSet.objects.get(pk=dataset_id)
    return (
        mongo.get_collection(image_collection_name(dataset_id)).count_documents({}),
        row.num_images,
        row.object_types,
        row.cover_url,
        sorted(Label.objects.filter(dataset_id=dataset_id).values_list("name", flat=True)),
    )


def test_first_import_writes_the_live_collection_directly(db, tmp_path, monkeypatch):
    renames = []
    monkeypatch.setattr(runner, "before_rename", [lambda source, target: renames.append(source)])
    dataset, result = _import(tmp_path, coco_gt(3))
    assert renames == []
    assert result.num_images == 3
    assert dataset.status == "ready"
    assert dataset.num_images == 3
    assert Image(dataset.id).count_num({}) == 3
    assert dataset.detail_status["import"]["mode"] == runner.DIRECT
    assert not _stagings(dataset.id)
    indexes = {
        key for spec in Image(dataset.id).get_collection().index_information().values() for key, _ in spec["key"]
    }
    assert {"idx", "objects.category_id"} <= indexes
    # A re-import of a dataset with images goes through the staging collection again.
    monkeypatch.undo()
    dataset, _ = _import(tmp_path, coco_gt(4))
    assert "mode" not in dataset.detail_status["import"]
    assert Image(dataset.id).count_num({}) == 4


def test_a_direct_import_inserts_into_an_unindexed_collection_and_indexes_it_once_at_the_end(db, tmp_path, monkeypatch):
    """Unindexed inserts and one index build after are faster than indexed inserts."""
    seen: list[set] = []

    def indexes_while_writing(batch):
        live = mongo.get_collection(image_collection_name(_dataset_id(tmp_path)))
        seen.append({name for name in live.index_information()})

    monkeypatch.setattr(runner, "before_batch_write", [indexes_while_writing])
    dataset, _ = _import(tmp_path, coco_gt(4), batch_size=2)
    assert dataset.detail_status["import"]["mode"] == runner.DIRECT
    assert seen
    assert all(names <= {"_id_"} for names in seen)
    live = mongo.get_collection(image_collection_name(dataset.id))
    assert {key for spec in live.index_information().values() for key, _ in spec["key"]} >= {"idx", "rev"}


def test_exception_mid_direct_import_restores_the_empty_dataset(db, tmp_path, monkeypatch):
    dataset = DataSet.get_importing_dataset("coco", id_=_dataset_id(tmp_path))
    before = _new_dataset_state(dataset.id)
    _fail_second_write(monkeypatch)
    gt = coco_gt(6)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _import(tmp_path, gt, results=coco_results(gt), batch_size=2)
    row = DataSet.objects.get(pk=dataset.id)
    entry = row.detail_status["import"]
    assert entry["state"] == "failed"
    assert entry["mode"] == runner.DIRECT
    assert entry["reason"] == "RuntimeError"
    assert _new_dataset_state(dataset.id) == before
    assert row.status == "failed"
    assert Image(dataset.id).count_num({}) == 0
    monkeypatch.undo()
    dataset, result = _import(tmp_path, gt, results=coco_results(gt))
    assert result.num_images == 6
    assert dataset.status == "ready"
    assert Image(dataset.id).count_num({}) == 6


@pytest.mark.slow  # a subprocess imports 6,000 images until it is killed
def test_killed_direct_import_process_restores_the_empty_dataset(db, tmp_path):
    dataset = DataSet.get_importing_dataset("coco", id_=_dataset_id(tmp_path))
    before = _new_dataset_state(dataset.id)
    live = _kill_import_midway(dataset.id, tmp_path)
    assert live.name == image_collection_name(dataset.id)
    row = DataSet.objects.get(pk=dataset.id)
    assert row.status == "importing"
    assert row.detail_status["import"]["state"] == "running"
    assert row.detail_status["import"]["mode"] == runner.DIRECT
    # The dead attempt is closed the next time anyone looks, and its half-written images dropped.
    assert import_status(dataset.id)["state"] == "failed"
    assert DataSet.objects.get(pk=dataset.id).status == "failed"
    assert live.estimated_document_count() == 0
    assert _new_dataset_state(dataset.id) == before


def test_interrupted_direct_swap_is_rolled_forward(db, tmp_path, monkeypatch):
    dataset = DataSet.get_importing_dataset("coco", id_=_dataset_id(tmp_path))
    gt = coco_gt(3)
    # A copy: another test appends "bird" to the helper's shared category list.
    gt["categories"] = [*(c for c in gt["categories"] if c["id"] != 9), {"id": 9, "name": "bird"}]
    gt["annotations"].append({"id": 99, "image_id": 30, "category_id": 9, "bbox": [1, 1, 2, 2]})
    gt_path = write_json(tmp_path / "gt3.json", gt)

    import_killed_after_swap_journal(
        monkeypatch, lambda: run_import(DataSet.objects.get(pk=dataset.id), CocoImporter(str(gt_path)))
    )
    row = DataSet.objects.get(pk=dataset.id)
    entry = row.detail_status["import"]
    assert entry["state"] == "swapping"
    assert entry["mode"] == runner.DIRECT
    assert not row.num_images
    assert not Category.objects.filter(dataset_id=dataset.id, name="bird").exists()
    mongo.get_collection("datasets").update_one({"_id": dataset.id}, {"$set": {"detail_status.import.pid": 2**22 + 7}})
    assert import_status(dataset.id)["state"] == "ready"
    rolled = DataSet.objects.get(pk=dataset.id)
    assert rolled.status == "ready"
    assert rolled.num_images == 3
    assert Image(dataset.id).count_num({}) == 3
    assert Category.objects.filter(dataset_id=dataset.id, name="bird").exists()
    assert "pending" not in rolled.detail_status["import"]


BAD_INPUTS = {
    "malformed_json": (lambda gt: '{"images": [', "malformed JSON", None),
    "wrong_type": (lambda gt: {**gt, "images": [{**gt["images"][0], "width": "wide"}]}, "expected an integer", "width"),
    "unknown_category": (
        lambda gt: {**gt, "annotations": [{**gt["annotations"][0], "category_id": 99}]},
        "unknown category_id",
        "category_id",
    ),
    "box_outside": (
        lambda gt: {**gt, "annotations": [{**gt["annotations"][0], "bbox": [120, 10, 30, 20]}]},
        "outside",
        "bbox",
    ),
    "odd_polygon": (
        lambda gt: {**gt, "annotations": [{**gt["annotations"][0], "segmentation": [[1, 2, 3, 4, 5, 6, 7]]}]},
        "even number",
        "segmentation",
    ),
    "duplicate_image": (lambda gt: {**gt, "images": [gt["images"][0], gt["images"][0]]}, "duplicate image id", "id"),
    "unknown_image": (
        lambda gt: {**gt, "annotations": [{**gt["annotations"][0], "image_id": 777}]},
        "image_id is not an image",
        "image_id",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_whole_import_and_names_file_record_field(db, tmp_path, case):
    dataset, _ = _import(tmp_path, coco_gt(2))
    before = _snapshot(dataset.id)
    make, message, field = BAD_INPUTS[case]
    bad = make(coco_gt(2))
    path = tmp_path / "bad.json"
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    with pytest.raises(ImportFormatError) as excinfo:
        run_import(DataSet.objects.get(pk=dataset.id), CocoImporter(str(path)))
    error = excinfo.value
    assert message in str(error)
    assert error.detail["file"] == str(path)
    if field:
        assert error.detail["field"] == field
        assert error.detail["record"]
    assert error.code == 400002
    assert _snapshot(dataset.id) == before
    assert DataSet.objects.get(pk=dataset.id).detail_status["import"]["state"] == "failed"


def test_missing_image_file_and_results_for_another_dataset(db, tmp_path):
    images = tmp_path / "images"
    gt = coco_gt(2, with_files=images)
    gt["images"][1]["file_name"] = "nope.png"
    path = write_json(tmp_path / "gt.json", gt)
    dataset = DataSet.get_importing_dataset("files", id_="files")
    with pytest.raises(ImportFormatError, match="not found under the image root") as excinfo:
        run_import(dataset, CocoImporter(str(path), image_root=str(images)))
    assert excinfo.value.detail["record"] == "images[1]"
    assert excinfo.value.detail["field"] == "file_name"
    assert DataSet.objects.get(pk="files").status == "failed"
    other = coco_results({"annotations": [{"image_id": 5000, "category_id": 1, "bbox": [1, 1, 2, 2]}]})
    with pytest.raises(ImportFormatError, match=r"image_id is not an image of gt\.json") as excinfo:
        _import(tmp_path, coco_gt(2), results=other, dataset_id="files")
    assert excinfo.value.detail["file"].endswith("det.json")
    assert excinfo.value.detail["record"] == "results[0]"


def test_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(ImportFormatError, match="file not found"):
        run_import(DataSet.get_importing_dataset("x", id_="x"), CocoImporter(str(tmp_path / "none.json")))


def test_skip_invalid_skips_bad_records_and_counts_them(db, tmp_path):
    gt = coco_gt(3)
    gt["annotations"][0]["category_id"] = 99
    gt["annotations"][2]["bbox"] = [130, 0, 30, 10]  # wholly outside: an overhang is clipped
    gt["images"].append(dict(gt["images"][0]))
    dataset, result = _import(tmp_path, gt, skip_invalid=True)
    assert result.skipped == 3
    assert result.num_images == 3
    assert len(result.skipped_examples) == 3
    assert DataSet.objects.get(pk=dataset.id).detail_status["import"]["skipped"] == 3


def test_import_coco_command_with_yaml_manifest(db, tmp_path):
    gt = coco_gt(2, with_files=tmp_path / "imgs")
    write_json(tmp_path / "gt.json", gt)
    write_json(tmp_path / "det.json", coco_results(gt))
    manifest = tmp_path / "set.yaml"
    manifest.write_text(
        "format: coco\nname: pets\nground_truth: gt.json\nimage_root: imgs\n"
        "predictions:\n  - name: det\n    file: det.json\n"
    )
    call_command("import_coco", "--manifest", str(manifest), "--dataset-id", "cmd", verbosity=0)
    dataset = DataSet.objects.get(pk="cmd")
    assert dataset.name == "pets"
    assert dataset.num_images == 2
    assert dataset.type == "coco2017"
    assert Image("cmd").find_one({"id": 10}).url.startswith("/files/local_files/")
    outcome = run_import_spec(
        {
            "format": "coco",
            "ground_truth": str(tmp_path / "gt.json"),
            "dataset_id": "cmd",
            "image_root": str(tmp_path / "imgs"),
        },
        confined=False,  # as the commands: paths outside the data roots
    )
    assert outcome["num_images"] == 2


def test_missing_file_creates_no_dataset(db, tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        call_command("import_coco", str(tmp_path / "nope.json"), verbosity=0)
    assert not DataSet.objects.exists()


def test_opening_a_spool_removes_only_the_spools_of_dead_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = tmp_path / f"dds-spool-{finished.stdout.strip()}-abc"
    alive = tmp_path / f"dds-spool-{os.getppid()}-def"
    unrelated = tmp_path / "dds-spool-notapid"
    for path in (dead, alive, unrelated):
        path.mkdir()
    with Spool():
        assert len(list(tmp_path.glob(f"dds-spool-{os.getpid()}-*"))) == 1
    assert not dead.exists()
    assert alive.exists()
    assert unrelated.exists()
    assert not list(tmp_path.glob(f"dds-spool-{os.getpid()}-*"))
