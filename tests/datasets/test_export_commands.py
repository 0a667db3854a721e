"""The export commands hand every option of their format to the export: label sets, prediction sets, overwrite."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from datasets.images import Image
from tests.datasets.test_export_jobs import imported  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


def _run(*args) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_export_coco_label_option_chooses_the_sets(imported, tmp_path):  # noqa: F811
    _run("export_coco", "pets", str(tmp_path / "mine.json"), "--label", "mine")
    data = json.loads((tmp_path / "mine.json").read_text())
    assert [ann["image_id"] for ann in data["annotations"]] == [10]


def test_export_tsv_writes_only_the_chosen_prediction_sidecars(imported, tmp_path):  # noqa: F811
    Image("pets").find_one({"id": 10}).add_annotation("cat", label="other", label_type="Pred", bbox=(1, 1, 5, 5))
    _run("export_tsv", "pets", str(tmp_path / "pets.tsv"), "--prediction", "det")
    assert (tmp_path / "pets.det.pred").exists()
    assert not (tmp_path / "pets.other.pred").exists()


def test_export_yolo_prediction_option_writes_confidences(imported, tmp_path):  # noqa: F811
    _run("export_yolo", "pets", str(tmp_path / "det"), "--prediction", "det")
    fields = {len(line.split()) for path in (tmp_path / "det" / "labels").iterdir() for line in path.open()}
    assert fields == {6}  # class, box, confidence


def test_export_commands_overwrite_only_when_asked(imported, tmp_path):  # noqa: F811
    target = tmp_path / "gt.json"
    target.write_text("keep")
    with pytest.raises(CommandError):
        _run("export_coco", "pets", str(target))
    assert target.read_text() == "keep"
    _run("export_coco", "pets", str(target), "--overwrite")
    assert json.loads(target.read_text())["annotations"]
