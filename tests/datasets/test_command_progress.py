"""The progress bars of the import and FN/FP commands count the real work, to 100%, printed once."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from datasets.models import DataSet
from tests.datasets.importing_helpers import coco_gt, write_json


def _bar_lines(err: str, desc: str) -> list[str]:
    """The states of the bar ``desc`` as drawn (tqdm redraws with carriage returns)."""
    return [line.strip() for line in re.split(r"[\r\n]", err) if line.startswith(f"{desc}:")]


def test_import_bar_counts_skipped_files_and_ends_at_100_percent_once(db, tmp_path, capsys):
    for number in range(3):
        PILImage.new("RGB", (10, 8)).save(tmp_path / f"{number}.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    call_command("import_images", str(tmp_path), "--skip-invalid", stdout=None)
    lines = _bar_lines(capsys.readouterr().err, "images")
    assert "0img" not in lines[0]
    assert "100%" in lines[-1]
    assert "4/4" in lines[-1]
    assert sum("4/4" in line for line in lines) == 1


@pytest.mark.parametrize("num_images", [3])
def test_fnfp_bar_counts_each_image_read_and_written(db, tmp_path, capsys, num_images):
    gt = coco_gt(num_images)
    predictions = [dict(annotation, score=0.9) for annotation in gt["annotations"] if not annotation["iscrowd"]]
    gt_path = write_json(tmp_path / "gt.json", gt)
    pred_path = write_json(tmp_path / "det.json", predictions)
    call_command("import_coco", str(gt_path), "--prediction", f"det={pred_path}", "--dataset-id", "pets")
    capsys.readouterr()
    call_command("calculate_fnfp", "pets", "--no-coco-metrics")
    lines = _bar_lines(capsys.readouterr().err, "fn/fp")
    steps = 2 * DataSet.objects.get(pk="pets").num_images
    assert f"{steps}/{steps}" in lines[-1]
    assert "100%" in lines[-1]
    assert sum(f"{steps}/{steps}" in line for line in lines) == 1


@pytest.mark.parametrize("scattered", [False, True], ids=["ascending", "scattered"])
def test_coco_bar_counts_images_not_skipped_annotations(db, tmp_path, capsys, scattered):
    gt = coco_gt(4)
    gt["annotations"][0]["category_id"] = 999  # a skipped annotation: its image is still imported
    gt["annotations"][1]["bbox"] = "wide"
    gt["images"][2]["width"] = -5  # a skipped image
    if scattered:
        gt["annotations"].reverse()
    call_command("import_coco", str(write_json(tmp_path / "gt.json", gt)), "--skip-invalid", stdout=None)
    lines = _bar_lines(capsys.readouterr().err, "images")
    assert "4/4" in lines[-1]
    assert "100%" in lines[-1]
    assert not any(re.search(r"\b[5-9]/4\b", line) for line in lines)
