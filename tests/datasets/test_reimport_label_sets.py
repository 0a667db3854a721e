"""A re-import replaces the data the label sets' analyses describe: their figures go, and sets it
no longer holds objects of go too (User sets stay: they are the users' own work)."""

from __future__ import annotations

from django.core.management import call_command

from datasets.fnfp import calculate_fnfp
from datasets.images import Image
from datasets.models import Label
from tests.datasets.coco_generator import generate_coco


def _import(folder, coco, dataset_id: str) -> None:
    gt, predictions = coco.write(folder)
    args = [str(gt), "--dataset-id", dataset_id]
    for name, path in predictions.items():
        args += ["--prediction", f"{name}={path}"]
    call_command("import_coco", *args, verbosity=0)


def _labels(dataset_id: str) -> dict[str, Label]:
    return {label.name: label for label in Label.objects.filter(dataset_id=dataset_id)}


def test_reimport_clears_analyses_and_drops_emptied_prediction_sets(db, tmp_path):
    _import(tmp_path / "one", generate_coco(num_images=6, prediction_sets=("detA", "detB")), "ds")
    Image("ds").find_one({}).add_annotation("zebra", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    calculate_fnfp("ds")
    before = _labels("ds")
    assert before["detA"].compare_precisions
    assert before["detA"].coco_metrics is not None

    _import(tmp_path / "two", generate_coco(num_images=6, seed=8, prediction_sets=("detA",)), "ds")
    after = _labels("ds")
    assert set(after) == {"GroundTruth", "detA", "mine"}
    assert after["detA"].compare_precisions == []
    assert after["detA"].coco_metrics is None
    assert after["mine"].type == "User"
