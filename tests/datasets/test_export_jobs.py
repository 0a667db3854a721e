"""Exports of chosen label sets, the job API (import / export / FN-FP triggers and status), commands."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from datasets.exporters.coco import export_coco
from datasets.images import Image
from datasets.importers.coco import CocoImporter, PredictionFile
from datasets.importers.errors import ExportError, ImportFormatError
from datasets.importers.runner import run_import
from datasets.models import DataSet, Label
from tests.datasets.importing_helpers import coco_gt, coco_results, write_json


@pytest.fixture
def imported(db, tmp_path) -> DataSet:
    gt = coco_gt(3)
    dataset = DataSet.get_importing_dataset("pets", id_="pets")
    run_import(
        dataset,
        CocoImporter(
            str(write_json(tmp_path / "gt.json", gt)),
            predictions=[PredictionFile("det", str(write_json(tmp_path / "det.json", coco_results(gt))))],
        ),
    )
    Image("pets").find_one({"id": 10}).add_annotation("cat", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    return DataSet.objects.get(pk="pets")


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    # These tests check the inline path; the Celery path has its own test.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


@pytest.fixture(autouse=True)
def data_roots(settings, tmp_path):
    # The job API reads and writes only under the data roots: here, the test's directory.
    settings.DDS_DATA_ROOTS = [tmp_path]


def test_export_chosen_label_sets(imported, tmp_path):
    export_coco("pets", tmp_path / "user.json", labels=["mine"])
    data = json.loads((tmp_path / "user.json").read_text())
    assert len(data["annotations"]) == 1
    assert data["annotations"][0]["image_id"] == 10
    assert {c["name"] for c in data["categories"]} == {"cat", "dog", "person"}
    export_coco("pets", tmp_path / "gt-out.json")
    person = next(c for c in json.loads((tmp_path / "gt-out.json").read_text())["categories"] if c["name"] == "person")
    assert person["keypoints"] == ["nose", "left_eye", "right_eye"]
    assert person["skeleton"] == [[1, 2], [1, 3]]
    with pytest.raises(ExportError, match="no label set named nope") as refused:
        export_coco("pets", tmp_path / "x.json", labels=["nope"])
    assert not isinstance(refused.value, ImportFormatError)  # an export's failure, not an import's
    assert not (tmp_path / "x.json").exists()


def test_export_command_records_the_job(imported, tmp_path):
    call_command("export_coco", "pets", str(tmp_path / "det-out.json"), "--results", "det", stdout=io.StringIO())
    results = json.loads((tmp_path / "det-out.json").read_text())
    assert results
    assert {"image_id", "category_id", "bbox", "score"} <= set(results[0])
    entry = DataSet.objects.get(pk="pets").detail_status["export"]
    assert entry["state"] == "ready"
    assert entry["annotations"] == len(results)
    call_command("export_yolo", "pets", str(tmp_path / "yolo"), stdout=io.StringIO())
    assert (tmp_path / "yolo" / "classes.txt").exists()
    boxes = {len(line.split()) for path in (tmp_path / "yolo" / "labels").iterdir() for line in path.open()}
    assert boxes == {5}
    call_command("export_yolo", "pets", str(tmp_path / "seg"), "--segments", stdout=io.StringIO())
    polygons = {len(line.split()) for path in (tmp_path / "seg" / "labels").iterdir() for line in path.open()}
    assert polygons
    assert all(count >= 7 and count % 2 for count in polygons)
    call_command("export_tsv", "pets", str(tmp_path / "tsv" / "pets.tsv"), stdout=io.StringIO())
    assert (tmp_path / "tsv" / "pets.det.pred").exists()
    with pytest.raises(CommandError, match="not found"):
        call_command("export_coco", "missing", str(tmp_path / "m.json"))
    call_command("calculate_fnfp", "pets", "--no-coco-metrics", verbosity=0, stdout=io.StringIO())
    assert Label.objects.get(name="det", dataset_id="pets").compare_precisions


def test_job_api(imported, tmp_path, client_staff, client_user):
    gt = write_json(tmp_path / "gt2.json", coco_gt(2))
    assert (
        client_user.post(
            "/api/v1/datasets/pets/jobs/import", {"format": "coco", "ground_truth": str(gt)}, format="json"
        ).status_code
        == 403
    )
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/import", {"format": "coco", "ground_truth": str(gt)}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["num_images"] == 2
    assert response.json()["carried_images"] == 1
    bad = client_staff.post(
        "/api/v1/datasets/pets/jobs/import",
        {"format": "coco", "ground_truth": str(tmp_path / "none.json")},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == 400002
    assert "file not found" in bad.json()["message"]
    response = client_staff.post("/api/v1/datasets/pets/jobs/fnfp", {"with_coco_metrics": False}, format="json")
    assert response.status_code == 200
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/export", {"format": "coco", "output": str(tmp_path / "e.json")}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["images"] == 2
    broken = coco_gt(2)
    broken["annotations"][0]["category_id"] = 42
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/import",
        {"format": "coco", "ground_truth": str(write_json(tmp_path / "bad.json", broken))},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"]["record"] == "annotations[0]"
    status = client_staff.get("/api/v1/datasets/pets/jobs").json()
    assert status["import"]["state"] == "failed"
    assert "unknown category_id" in status["import"]["reason"]
    status = client_user.get("/api/v1/datasets/pets/jobs").json()
    assert status["import"]["state"] == "failed"
    assert status["export"]["state"] == "ready"
    assert status["fnfp"]["state"] == "ready"
    assert status["FNFPCalculator"] == "ready"
    assert client_user.get("/api/v1/datasets/missing/jobs").json()["code"] == 404050
    assert APIClient().get("/api/v1/datasets/pets/jobs").status_code in (401, 403)


def test_admin_action_runs_fnfp(imported, admin_client):
    response = admin_client.post(
        "/admin/datasets/dataset/", {"action": "run_fnfp_selected", "_selected_action": ["pets"]}, follow=True
    )
    assert response.status_code == 200
    assert DataSet.objects.get(pk="pets").detail_status["fnfp"]["state"] == "ready"


@pytest.mark.parametrize(
    ("kind", "in_the_way"),
    [("yolo", "out/yolo"), ("coco", "out/e.json"), ("tsv", "out/e.tsv")],
)
def test_export_to_an_unwritable_output_is_a_400_not_a_500(imported, tmp_path, client_staff, kind, in_the_way):
    # "out" is a file, so nothing can be written under it.
    (tmp_path / "out").write_text("not a directory")
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/export", {"format": kind, "output": str(tmp_path / in_the_way)}, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == 400002
    assert body["detail"]["field"] == "output"
    assert "cannot write" in body["message"]
    assert (tmp_path / "out").read_text() == "not a directory"
    assert DataSet.objects.get(pk="pets").detail_status["export"]["state"] == "failed"


def test_export_overwriting_an_existing_directory_is_a_400(imported, tmp_path, client_staff):
    (tmp_path / "taken.json").mkdir()
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/export",
        {"format": "coco", "output": str(tmp_path / "taken.json"), "overwrite": True},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "output"
    assert (tmp_path / "taken.json").is_dir()
    assert list(tmp_path.glob(".taken.json.*")) == []


@pytest.mark.parametrize(
    "predictions",
    [{"det": 1}, {"det": ""}, [1, None], [{"name": "det", "file": 7}], [{"name": "det"}], 5, "det.json"],
)
def test_import_job_with_malformed_predictions_is_a_400(imported, tmp_path, client_staff, predictions):
    gt = write_json(tmp_path / "gt2.json", coco_gt(2))
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/import",
        {"format": "coco", "ground_truth": str(gt), "predictions": predictions},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == 400002
    assert response.json()["detail"]["field"] == "predictions"
    assert Image("pets").count_num({}) == 3  # nothing was imported
