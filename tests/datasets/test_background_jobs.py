"""Jobs started by a request run in a server thread without Celery: the request answers 202 at once,
the progress is polled at ``datasets/<id>/jobs``, and the outcome is recorded as for any job."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from datasets import job_worker
from datasets.importers import runner
from datasets.models import DataSet
from tests.datasets.importing_helpers import coco_gt, coco_results

UPLOADS = "/api/v1/uploads"
_WAIT_S = 30


@pytest.fixture(autouse=True)
def background(settings, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    settings.DDS_JOBS_INLINE = False
    yield
    assert job_worker.wait_all(_WAIT_S)


@pytest.fixture
def roots(settings, tmp_path):
    root = tmp_path / "roots"
    root.mkdir()
    settings.DDS_DATA_ROOTS = [root]
    return root


def _zip_of(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _upload(client: APIClient, name: str, data: bytes) -> str:
    file = io.BytesIO(data)
    file.name = name
    response = client.post(UPLOADS, {"file": file}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _wait_for(client: APIClient, dataset_id: str, kind: str) -> dict:
    """Poll the jobs endpoint until the ``kind`` job left its live states; its entry."""
    deadline = time.monotonic() + _WAIT_S
    while time.monotonic() < deadline:
        entry = client.get(f"/api/v1/datasets/{dataset_id}/jobs").json()[kind]
        if entry and entry["state"] not in ("running", "swapping"):
            return entry
        time.sleep(0.05)
    raise AssertionError(f"the {kind} job of {dataset_id} did not end within {_WAIT_S} s")


def _coco_zip(tmp_path: Path, num_images: int) -> bytes:
    source = tmp_path / "source"
    (source / "gt.json").parent.mkdir(parents=True)
    (source / "gt.json").write_text(json.dumps(coco_gt(num_images, with_files=source / "images")))
    return _zip_of(source)


def test_upload_import_runs_in_the_background_to_the_end(roots, tmp_path, client_staff, client_user):
    upload_id = _upload(client_staff, "pets.zip", _coco_zip(tmp_path, 5))
    response = client_staff.post(
        f"{UPLOADS}/{upload_id}/import",
        {"format": "coco", "options": {"ground_truth": "gt.json", "image_root": "images"}},
        format="json",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["queued"], body["job"], body["upload_id"]) == (True, "import", upload_id)
    entry = _wait_for(client_user, body["dataset_id"], "import")
    assert (entry["state"], entry["phase"], entry["progress"], entry["total"]) == ("ready", "done", 5, 5)
    images = client_user.get(f"/api/v1/datasets/{body['dataset_id']}/images").json()
    assert images["count"] == 5
    served = client_user.get(images["results"][0]["file_url"])
    assert served.status_code == 200


def test_the_request_returns_while_the_import_runs(roots, tmp_path, client_staff, monkeypatch):
    release = threading.Event()
    writing = threading.Event()

    def hold(batch: list[dict]) -> None:
        writing.set()
        assert release.wait(_WAIT_S)

    monkeypatch.setattr(runner, "before_batch_write", [hold])
    upload_id = _upload(client_staff, "pets.json", json.dumps(coco_gt(3)).encode())
    response = client_staff.post(f"{UPLOADS}/{upload_id}/import", {"format": "coco"}, format="json")
    assert response.status_code == 202
    dataset_id = response.json()["dataset_id"]
    assert writing.wait(_WAIT_S)
    during = client_staff.get(f"/api/v1/datasets/{dataset_id}/jobs").json()["import"]
    assert (during["state"], during["phase"], during["stale"]) == ("running", "reading", False)
    again = client_staff.post(f"{UPLOADS}/{upload_id}/import", {"format": "coco"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, 409000)
    release.set()
    assert _wait_for(client_staff, dataset_id, "import")["state"] == "ready"
    assert DataSet.objects.get(pk=dataset_id).num_images == 3


def test_a_failing_background_import_is_recorded_and_writes_nothing(roots, client_staff):
    gt = coco_gt(2)
    gt["annotations"][0]["category_id"] = 99  # no such category
    upload_id = _upload(client_staff, "broken.json", json.dumps(gt).encode())
    response = client_staff.post(f"{UPLOADS}/{upload_id}/import", {"format": "coco"}, format="json")
    assert response.status_code == 202
    dataset_id = response.json()["dataset_id"]
    entry = _wait_for(client_staff, dataset_id, "import")
    assert entry["state"] == "failed"
    assert "category" in entry["reason"]
    dataset = DataSet.objects.get(pk=dataset_id)
    assert (dataset.status, dataset.num_images) == ("failed", 0)


def test_job_endpoints_run_exports_and_fnfp_in_the_background(roots, tmp_path, client_staff):
    gt = coco_gt(3)
    (roots / "gt.json").write_text(json.dumps(gt))
    (roots / "det.json").write_text(json.dumps(coco_results(gt)))
    DataSet.get_importing_dataset("pets", id_="pets")
    imported = client_staff.post(
        "/api/v1/datasets/pets/jobs/import",
        {"format": "coco", "ground_truth": "gt.json", "predictions": [{"name": "det", "file": "det.json"}]},
        format="json",
    )
    assert imported.status_code == 202, imported.json()
    assert _wait_for(client_staff, "pets", "import")["state"] == "ready"
    fnfp = client_staff.post("/api/v1/datasets/pets/jobs/fnfp", {"with_coco_metrics": False}, format="json")
    assert fnfp.status_code == 202
    entry = _wait_for(client_staff, "pets", "fnfp")
    assert (entry["state"], entry["progress"], entry["total"]) == ("ready", 6, 6)
    exported = client_staff.post("/api/v1/datasets/pets/jobs/export", {"format": "coco", "output": "out.json"})
    assert exported.status_code == 202
    assert _wait_for(client_staff, "pets", "export")["state"] == "ready"
    assert json.loads((roots / "out.json").read_text())["images"]


def test_a_background_export_to_a_path_outside_the_roots_is_refused_at_once(roots, client_staff, tmp_path):
    DataSet.get_importing_dataset("pets", id_="pets")
    response = client_staff.post(
        "/api/v1/datasets/pets/jobs/export", {"format": "coco", "output": str(tmp_path / "out.json")}
    )
    assert (response.status_code, response.json()["code"]) == (403, 403100)
    assert not job_worker.running()
