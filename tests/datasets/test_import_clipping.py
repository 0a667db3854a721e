"""Boxes overhanging their image: clipped with a counted warning (pycocotools accepts them), refused
with ``strict``; every stored box lies inside its image, so a labeler can submit it back unchanged."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image as PILImage

from datasets.images import Image
from datasets.models import DataSet
from labeling.annotations import validate_annotations
from tests.datasets.coco_generator import generate_coco

OVERHANG_PX = 3


def _command(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(*args, verbosity=0, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _coco_args(tmp_path, dataset_id: str) -> list[str]:
    gt, predictions = generate_coco(num_images=5, overhang=OVERHANG_PX).write(tmp_path)
    args = ["import_coco", str(gt), "--dataset-id", dataset_id]
    for name, path in predictions.items():
        args += ["--prediction", f"{name}={path}"]
    return args


def _boxes(dataset_id: str) -> list[dict]:
    return [obj.bounding_box for image in Image(dataset_id).find_many({}) for obj in image.objects if obj.bounding_box]


def test_overhanging_boxes_are_clipped_and_counted(db, tmp_path):
    outcome = _command(*_coco_args(tmp_path, "ds"))
    assert outcome["num_images"] == 5
    assert outcome["warnings"] == {"clipped_boxes": 5}  # one per image in the second prediction set
    assert DataSet.objects.get(pk="ds").detail_status["import"]["warnings"] == {"clipped_boxes": 5}
    boxes = _boxes("ds")
    assert all(0.0 <= box[key] <= 1.0 for box in boxes for key in box)
    assert sum(1 for box in boxes if box["xmax"] == 1.0) >= 5


def test_strict_refuses_overhanging_boxes_and_creates_no_dataset(db, tmp_path):
    with pytest.raises(CommandError, match="outside the"):
        _command(*_coco_args(tmp_path, "strict"), "--strict")
    assert not DataSet.objects.filter(pk="strict").exists()


def test_strict_in_the_import_job_api(db, tmp_path, client_staff, settings):
    settings.DDS_DATA_ROOTS = [tmp_path]
    gt, predictions = generate_coco(num_images=3, overhang=OVERHANG_PX).write(tmp_path)
    body = {
        "format": "coco",
        "ground_truth": str(gt),
        "predictions": [{"name": name, "file": str(path)} for name, path in predictions.items()],
    }
    DataSet.get_importing_dataset("api", id_="api")
    refused = client_staff.post("/api/v1/datasets/api/jobs/import", {**body, "strict": True}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == 400002
    assert refused.json()["detail"]["field"] == "bbox"
    accepted = client_staff.post("/api/v1/datasets/api/jobs/import", body, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["warnings"] == {"clipped_boxes": 3}


def test_a_box_wholly_outside_its_image_is_refused(db, tmp_path):
    coco = generate_coco(num_images=2, prediction_sets=())
    coco.gt["annotations"][0]["bbox"] = [500, 1, 10, 10]
    gt, _ = coco.write(tmp_path)
    with pytest.raises(CommandError, match="outside the"):
        _command("import_coco", str(gt), "--dataset-id", "out")
    assert not DataSet.objects.filter(pk="out").exists()  # the failed import removed the dataset it created


def test_a_failed_reimport_keeps_the_dataset_it_did_not_create(db, tmp_path):
    good, _ = generate_coco(num_images=2, prediction_sets=()).write(tmp_path / "good")
    _command("import_coco", str(good), "--dataset-id", "kept")
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [')
    for _attempt in range(2):
        with pytest.raises(CommandError, match="malformed JSON"):
            _command("import_coco", str(broken), "--dataset-id", "kept")
        with pytest.raises(CommandError, match="malformed JSON"):
            _command("import_coco", str(broken))
    assert list(DataSet.objects.values_list("pk", "num_images")) == [("kept", 2)]


def test_yolo_rounding_overflow_is_stored_inside_and_validates_when_submitted_back(db, tmp_path):
    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    PILImage.new("RGB", (640, 480)).save(images / "one.jpg")
    (tmp_path / "classes.txt").write_text("cat\n")
    # xmax = 0.9011 + 0.2 / 2 = 1.0011: within YOLO's rounding tolerance
    (labels / "one.txt").write_text("0 0.9011 0.5 0.2 0.2\n")
    outcome = _command(
        "import_yolo",
        str(images),
        "--classes",
        str(tmp_path / "classes.txt"),
        "--labels",
        str(labels),
        "--dataset-id",
        "y",
    )
    assert outcome["warnings"] == {}  # rounding, not an overhang worth a warning
    (box,) = _boxes("y")
    assert box["xmax"] == 1.0
    validate_annotations([{"category_name": "cat", "bounding_box": box}], ["cat"])
