"""The dataset import form of the admin: upload, start the import job, show its progress."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from datasets import job_worker
from datasets.importers import runner
from datasets.models import DataSet
from tests.datasets.importing_helpers import coco_gt

IMPORT = "/admin/datasets/dataset/import/"


@pytest.fixture
def roots(settings, tmp_path):
    root = tmp_path / "roots"
    root.mkdir()
    settings.DDS_DATA_ROOTS = [root]
    return root


@pytest.fixture
def curator(make_user) -> Client:
    client = Client()
    client.force_login(make_user("curator", is_staff=True, is_superuser=True))
    return client


def _coco_file(num_images: int = 3, name: str = "pets.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, json.dumps(coco_gt(num_images)).encode(), content_type="application/json")


def _uploads(root) -> list:
    base = root / "uploads"
    return list(base.iterdir()) if base.exists() else []


def test_changelist_links_the_import_form(roots, curator):
    page = curator.get("/admin/datasets/dataset/").content.decode()
    assert f'href="{IMPORT}"' in page


def test_import_form_renders_its_fields(roots, curator):
    response = curator.get(IMPORT)
    assert response.status_code == 200
    page = response.content.decode()
    for field in ("format", "file", "images", "name", "annotation_file", "skip_invalid"):
        assert f'name="{field}"' in page
    assert 'enctype="multipart/form-data"' in page


def test_non_staff_cannot_open_the_import_form(roots, make_user):
    client = Client()
    client.force_login(make_user("plain"))
    response = client.get(IMPORT)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_importing_a_coco_file_creates_the_dataset_and_shows_its_progress(roots, curator):
    response = curator.post(IMPORT, {"format": "coco", "file": _coco_file(3), "name": "My pets"})
    assert response.status_code == 302
    dataset = DataSet.objects.get(name="My pets")
    assert response["Location"] == f"/admin/datasets/dataset/{dataset.pk}/change/"
    assert (dataset.num_images, dataset.status) == (3, "ready")
    page = curator.get(response["Location"]).content.decode()
    assert 'class="dds-import"' in page
    assert 'aria-valuenow="100"' in page
    assert "ready · done · 3 / 3 images" in page
    assert f'href="/admin/datasets/dataset/{dataset.pk}/import/"' in page


def test_a_refused_zip_is_a_form_error_and_leaves_nothing(roots, curator):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.json", "{}")
    file = SimpleUploadedFile("set.zip", buffer.getvalue(), content_type="application/zip")
    response = curator.post(IMPORT, {"format": "coco", "file": file, "annotation_file": "escape.json"})
    assert response.status_code == 200
    assert "(400121)" in response.content.decode()
    assert not DataSet.objects.exists()
    assert _uploads(roots) == []


def test_an_oversized_file_is_refused_with_413000(roots, curator, settings):
    settings.DDS_MAX_UPLOAD_BYTES = 10
    response = curator.post(IMPORT, {"format": "coco", "file": _coco_file(1)})
    assert "(413000)" in response.content.decode()
    assert not DataSet.objects.exists()


def test_an_import_that_cannot_start_removes_its_uploads(roots, curator):
    response = curator.post(IMPORT, {"format": "yolo", "file": _coco_file(1)})
    assert "needs a zip upload" in response.content.decode()
    assert _uploads(roots) == []


def test_reimport_into_an_existing_dataset(roots, curator):
    curator.post(IMPORT, {"format": "coco", "file": _coco_file(2), "name": "pets"})
    dataset = DataSet.objects.get(name="pets")
    response = curator.post(f"/admin/datasets/dataset/{dataset.pk}/import/", {"format": "coco", "file": _coco_file(4)})
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.num_images == 4
    assert DataSet.objects.count() == 1


def test_the_page_polls_the_jobs_endpoint_while_the_import_runs(roots, curator, settings, monkeypatch):
    settings.DDS_JOBS_INLINE = False
    writing, release = threading.Event(), threading.Event()

    def hold_the_first_batch(batch):
        writing.set()  # the job is recorded as running by now
        release.wait(30)

    monkeypatch.setattr(runner, "before_batch_write", [hold_the_first_batch])
    try:
        response = curator.post(IMPORT, {"format": "coco", "file": _coco_file(2), "name": "slow"})
        assert writing.wait(30)
        assert response["Location"].endswith("/change/?import_started_after=")  # a new dataset: no entry before
        page = curator.get(response["Location"]).content.decode()
    finally:
        release.set()
        assert job_worker.wait_all(30)
    dataset = DataSet.objects.get(name="slow")
    assert f'data-jobs-url="/api/v1/datasets/{dataset.pk}/jobs"' in page
    assert "dds-import-live" in page
    assert "import_progress.js" in page
    assert "Import started" in page


def test_an_import_not_yet_claimed_by_its_worker_is_shown_starting_and_polled(roots, curator):
    curator.post(IMPORT, {"format": "coco", "file": _coco_file(2), "name": "pets"})
    dataset = DataSet.objects.get(name="pets")
    previous = dataset.detail_status["import"]["attempt"]
    change = f"/admin/datasets/dataset/{dataset.pk}/change/"
    # A re-import was just started: the dataset's job entry is still the previous import's.
    page = curator.get(change, {"import_started_after": previous}).content.decode()
    assert "dds-import-live" in page
    assert f'data-previous-attempt="{previous}"' in page
    assert "starting" in page
    assert "import_progress.js" in page
    # Once its worker claimed it (another attempt), the page shows that entry.
    for other in ("0" * 32, "not-an-attempt", "<b>"):
        page = curator.get(change, {"import_started_after": other}).content.decode()
        assert "dds-import-live" not in page
        assert "data-previous-attempt" not in page


def test_a_finished_import_is_not_polled(roots, curator):
    curator.post(IMPORT, {"format": "coco", "file": _coco_file(2), "name": "pets"})
    dataset = DataSet.objects.get(name="pets")
    page = curator.get(f"/admin/datasets/dataset/{dataset.pk}/change/").content.decode()
    assert 'class="dds-import"' in page
    assert "dds-import-live" not in page
    assert "import_progress.js" not in page
