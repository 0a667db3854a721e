"""YOLO and plain image-directory import: lazy sizes, predictions, round trip, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image as PILImage

from datasets.exporters.yolo import export_yolo
from datasets.images import Image
from datasets.importers.errors import ImportFormatError
from datasets.importers.imagedir import ImageDirImporter
from datasets.importers.runner import run_import
from datasets.importers.yolo import PredictionDir, YoloImporter
from datasets.models import DataSet
from tests.datasets.importing_helpers import objects_by_key


def _yolo_tree(tmp_path: Path) -> Path:
    images, labels, preds = tmp_path / "images", tmp_path / "labels", tmp_path / "preds"
    for directory in (images / "sub", labels / "sub", preds):
        directory.mkdir(parents=True)
    PILImage.new("RGB", (200, 100)).save(images / "one.jpg")
    PILImage.new("RGB", (64, 48)).save(images / "sub" / "two.png")
    (images / "notes.txt").write_text("not an image")
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (labels / "one.txt").write_text("0 0.5 0.5 0.2 0.4\n1 0.25 0.25 0.1 0.1\n")
    (labels / "sub" / "two.txt").write_text("1 0.1 0.1 0.3 0.3 0.5 0.3\n")  # a polygon
    (preds / "one.txt").write_text("0 0.5 0.5 0.2 0.4 0.75\n")
    return tmp_path


def _importer(root: Path, labels: Path | None = None, preds: Path | None = None) -> YoloImporter:
    predictions = [PredictionDir("det", str(preds))] if preds else []
    return YoloImporter(
        str(root / "images"),
        str(root / "classes.txt"),
        labels_dir=str(labels or root / "labels"),
        predictions=predictions,
    )


def test_yolo_import(db, tmp_path):
    root = _yolo_tree(tmp_path)
    result = run_import(DataSet.get_importing_dataset("y", id_="y1"), _importer(root, preds=root / "preds"))
    assert result.num_images == 2
    one = Image("y1").find_one({"id": 0})
    assert (one.width, one.height) == (200, 100)
    assert one.objects[0].category_name == "cat"
    assert one.objects[0].bounding_box == pytest.approx({"xmin": 0.4, "ymin": 0.3, "xmax": 0.6, "ymax": 0.7})
    assert one.objects[-1].label_name == "det"
    assert one.objects[-1].conf == 0.75
    two = Image("y1").find_one({"id": 1})
    assert two.objects[0].segmentation
    assert two.objects[0].bounding_box["xmax"] == pytest.approx(0.5)
    assert set(DataSet.objects.get(pk="y1").object_types) == {"Classification", "Detection", "Segmentation"}


def _export_and_reimport(root: Path, tmp_path: Path, *, segments: bool = False) -> dict:
    """Export dataset y1 (GT to ``out``, predictions "det" to ``out-det``) and import that as y2."""
    result = export_yolo("y1", tmp_path / "out", segments=segments)
    export_yolo("y1", tmp_path / "out-det", prediction="det", segments=segments)
    copy = YoloImporter(
        str(root / "images"),
        str(tmp_path / "out" / "classes.txt"),
        labels_dir=str(tmp_path / "out" / "labels"),
        predictions=[PredictionDir("det", str(tmp_path / "out-det" / "labels"))],
    )
    run_import(DataSet.get_importing_dataset("y2", id_="y2"), copy)
    return result


def test_yolo_round_trip(db, tmp_path):
    root = _yolo_tree(tmp_path)
    (root / "labels" / "sub" / "two.txt").write_text("1 0.5 0.5 0.5 0.5\n")  # detection labels: boxes only
    run_import(DataSet.get_importing_dataset("y", id_="y1"), _importer(root, preds=root / "preds"))
    _export_and_reimport(root, tmp_path)
    assert (tmp_path / "out" / "classes.txt").read_text() == "cat\ndog\n"
    assert objects_by_key("y2") == objects_by_key("y1")


def test_yolo_segments_round_trip(db, tmp_path):
    root = _yolo_tree(tmp_path)
    (root / "labels" / "one.txt").write_text("0 0.1 0.1 0.4 0.1 0.4 0.5 0.1 0.5\n1 0.5 0.5 0.9 0.5 0.7 0.9\n")
    (root / "preds" / "one.txt").write_text("0 0.1 0.1 0.4 0.1 0.4 0.5 0.75\n")  # a polygon and a confidence
    run_import(DataSet.get_importing_dataset("y", id_="y1"), _importer(root, preds=root / "preds"))
    prediction = Image("y1").find_one({"id": 0}).objects[-1]
    assert prediction.conf == 0.75
    assert prediction.segmentation.count(",") == 5
    assert _export_and_reimport(root, tmp_path, segments=True) == {"images": 2, "lines": 3, "renamed_label_files": 0}
    assert objects_by_key("y2") == objects_by_key("y1")


def test_yolo_segments_write_boxes_as_polygons_and_one_line_per_part(db, tmp_path):
    dataset = DataSet.create_dataset("parts", id_="parts")
    image = dataset.batch_add_image("http://img/a.jpg", width=100, height=50, id_=1)
    image.batch_add_annotation("cat", bbox=(10, 10, 20, 10))
    image.batch_add_annotation(
        "dog", bbox=(0, 0, 60, 40), segmentation=[[0, 0, 20, 0, 20, 20], [40, 20, 60, 20, 60, 40]]
    )
    dataset.finish_batch_add_image()
    export_yolo("parts", tmp_path / "seg", segments=True)
    lines = (tmp_path / "seg" / "labels" / "a.txt").read_text().splitlines()
    assert [[float(v) for v in line.split()] for line in lines] == [
        [0, 0.1, 0.2, 0.3, 0.2, 0.3, 0.4, 0.1, 0.4],
        [1, 0.0, 0.0, 0.2, 0.0, 0.2, 0.4],
        [1, 0.4, 0.4, 0.6, 0.4, 0.6, 0.8],
    ]
    export_yolo("parts", tmp_path / "det")
    assert len((tmp_path / "det" / "labels" / "a.txt").read_text().splitlines()) == 2


def test_yolo_bad_input(db, tmp_path):
    root = _yolo_tree(tmp_path)
    (root / "labels" / "one.txt").write_text("0 0.5 0.5 0.2 0.4\n7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ImportFormatError, match="class index out of range for 2 classes") as excinfo:
        run_import(DataSet.get_importing_dataset("y", id_="y1"), _importer(root))
    assert excinfo.value.detail["record"] == "line 2"
    assert excinfo.value.detail["file"].endswith("one.txt")
    (root / "labels" / "one.txt").write_text("0 1.5 0.5 0.2 0.4\n")
    with pytest.raises(ImportFormatError, match=r"\[0, 1\]"):
        run_import(DataSet.objects.get(pk="y1"), _importer(root))
    result = run_import(DataSet.objects.get(pk="y1"), _importer(root), skip_invalid=True)
    assert result.skipped == 1
    assert result.num_images == 2
    # A confidence after a polygon only makes sense for predictions: an odd count is an error in GT.
    (root / "labels" / "one.txt").write_text("0 0.1 0.1 0.4 0.1 0.4 0.5 0.75\n")
    with pytest.raises(ImportFormatError, match="expected 5, 6 or 1 \\+ 2k") as excinfo:
        run_import(DataSet.objects.get(pk="y1"), _importer(root))
    assert excinfo.value.detail["field"] == "values"
    with pytest.raises(ImportFormatError, match="label directory not found"):
        _importer(root, labels=root / "missing")


def test_image_directory_import_and_command(db, tmp_path):
    root = _yolo_tree(tmp_path)
    (root / "images" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImportFormatError, match="not a readable image"):
        run_import(DataSet.get_importing_dataset("d", id_="d1"), ImageDirImporter(str(root / "images")))
    result = run_import(DataSet.objects.get(pk="d1"), ImageDirImporter(str(root / "images")), skip_invalid=True)
    assert result.num_images == 2
    assert result.skipped == 1
    assert {(i.width, i.height) for i in Image("d1").find_many({})} == {(200, 100), (64, 48)}
    (root / "images" / "broken.png").unlink()
    call_command("import_images", str(root / "images"), "--dataset-id", "d2", verbosity=0)
    assert DataSet.objects.get(pk="d2").num_images == 2
    assert DataSet.objects.get(pk="d2").type == "simple"


def test_import_manifest_command_json(db, tmp_path):
    root = _yolo_tree(tmp_path)
    manifest = root / "set.json"
    manifest.write_text(
        '{"format": "yolo", "name": "boxes", "images": "images", "classes": "classes.txt", "labels": "labels",'
        ' "predictions": [{"name": "det", "file": "preds"}]}'
    )
    call_command("import_manifest", str(manifest), "--dataset-id", "m1", verbosity=0)
    dataset = DataSet.objects.get(pk="m1")
    assert dataset.name == "boxes"
    assert dataset.num_images == 2
    assert dataset.files["Pred/det"].endswith("preds")
    manifest.write_text('{"format": "xml"}')
    with pytest.raises(CommandError, match="unknown format 'xml'"):
        call_command("import_manifest", str(manifest), verbosity=0)
