"""Downloading a finished export (``datasets/<id>/jobs/export/download``) and DDS's flags file."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from datasets import jobs
from datasets.importers.coco import CocoImporter
from datasets.importers.runner import run_import
from datasets.models import DataSet
from tests.datasets.importing_helpers import coco_gt, write_json

DOWNLOAD = "/api/v1/datasets/pets/jobs/export/download"
FLAGS = "/files/dataset_flags/pets.tsv"


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


@pytest.fixture
def roots(settings, tmp_path):
    root = tmp_path / "roots"
    root.mkdir()
    settings.DDS_DATA_ROOTS = [root]
    return root


@pytest.fixture
def pets(db, roots, tmp_path) -> DataSet:
    dataset = DataSet.get_importing_dataset("pets", id_="pets")
    run_import(dataset, CocoImporter(str(write_json(tmp_path / "gt.json", coco_gt(3)))))
    return DataSet.objects.get(pk="pets")


def _export(client: APIClient, **spec) -> None:
    response = client.post("/api/v1/datasets/pets/jobs/export", spec, format="json")
    assert response.status_code == 200, response.json()


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_download_a_coco_export(pets, roots, client_staff):
    before = client_staff.get(DOWNLOAD)
    assert before.status_code == 404
    assert before.json()["code"] == 404060
    _export(client_staff, format="coco", output="out/pets.json")
    response = client_staff.get(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="pets.json"'
    body = _body(response)
    assert body == (roots / "out" / "pets.json").read_bytes()
    assert len(json.loads(body)["images"]) == 3


def test_download_a_tsv_export(pets, roots, client_staff):
    _export(client_staff, format="tsv", output="pets.tsv")
    response = client_staff.get(DOWNLOAD)
    assert response["Content-Type"] == "text/tab-separated-values"
    assert response["Content-Disposition"] == 'attachment; filename="pets.tsv"'
    assert _body(response) == (roots / "pets.tsv").read_bytes()


def test_a_yolo_export_comes_as_a_zip_of_its_directory(pets, roots, client_staff):
    _export(client_staff, format="yolo", output="yolo-out", segments=True)
    response = client_staff.get(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="yolo-out.zip"'
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert archive.testzip() is None
    on_disk = {
        "yolo-out/" + path.relative_to(roots / "yolo-out").as_posix(): path.read_bytes()
        for path in (roots / "yolo-out").rglob("*")
        if path.is_file()
    }
    assert "yolo-out/classes.txt" in on_disk
    assert len(on_disk) >= 4
    assert {name: archive.read(name) for name in archive.namelist()} == on_disk


def test_a_link_out_of_the_roots_is_left_out_of_the_zip(pets, roots, tmp_path, client_staff):
    _export(client_staff, format="yolo", output="yolo-out")
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    (roots / "yolo-out" / "labels" / "leak.txt").symlink_to(secret)
    names = zipfile.ZipFile(io.BytesIO(_body(client_staff.get(DOWNLOAD)))).namelist()
    assert "yolo-out/classes.txt" in names
    assert not any("leak" in name for name in names)


def test_an_export_written_outside_the_roots_is_refused(pets, tmp_path, client_staff):
    outside = tmp_path / "outside.json"
    call_command("export_coco", "pets", str(outside), stdout=io.StringIO())
    assert DataSet.objects.get(pk="pets").detail_status["export"]["state"] == "ready"
    response = client_staff.get(DOWNLOAD)
    assert response.status_code == 403
    assert response.json()["code"] == 403100


def test_running_failed_and_removed_exports(pets, roots, client_staff):
    record = jobs.job_start("pets", "export", format="coco", output=str(roots / "late.json"))
    response = client_staff.get(DOWNLOAD)
    assert response.status_code == 409
    assert response.json()["code"] == 409101
    record.fail("disk full")
    response = client_staff.get(DOWNLOAD)
    assert response.status_code == 404
    assert response.json()["code"] == 404060
    _export(client_staff, format="coco", output="gone.json")
    (roots / "gone.json").unlink()
    response = client_staff.get(DOWNLOAD)
    assert response.status_code == 404
    assert response.json()["code"] == 404060
    missing = client_staff.get("/api/v1/datasets/nope/jobs/export/download")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404050


def test_who_may_download_an_export(pets, client_staff, client_user):
    _export(client_staff, format="coco", output="pets.json")
    anonymous = APIClient().get(DOWNLOAD)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == 401000
    user = client_user.get(DOWNLOAD)
    assert user.status_code == 403
    assert user.json()["code"] == 403000
    assert client_staff.get(DOWNLOAD).status_code == 200


def test_the_flags_file_dds_links(pets, client_staff, client_user):
    pets.group_name = "zoo"
    pets.save()
    response = client_staff.post(
        "/api/v1/datasets/pets/images/flags", {"flag_groups": [{"flag": 1, "ids": [20]}]}, format="json"
    )
    assert response.json()["flag_export_link"] == FLAGS
    response = client_user.get(FLAGS)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="zoo.pets.flag.tsv"'
    lines = _body(response).decode().splitlines()
    assert len(lines) == 3
    names, records = zip(*(line.split("\t") for line in lines), strict=True)
    assert set(names) == {"pets"}
    records = [json.loads(record) for record in records]
    assert [record["id"] for record in records] == [10, 20, 30]
    assert [record["flag"] for record in records] == [0, 1, 0]
    assert records[0]["time"] == 0
    assert records[1]["time"] > 0
    assert list(records[1]) == ["time", "id", "flag"]
    assert lines[1] == f'pets\t{{"time": {records[1]["time"]}, "id": 20, "flag": 1}}'


def test_who_may_fetch_the_flags_file(pets, client_user):
    anonymous = APIClient().get(FLAGS)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == 401000
    assert client_user.get(FLAGS).status_code == 200
    missing = client_user.get("/files/dataset_flags/nope.tsv")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404050
