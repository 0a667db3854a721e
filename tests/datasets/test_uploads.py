"""Uploads over HTTP: multipart, resumable chunks, safe zips, ownership, and importing an upload."""

from __future__ import annotations

import io
import json
import stat
import zipfile

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from datasets import uploads
from datasets.models import DataSet
from tests.datasets.importing_helpers import coco_gt
from tests.factories import StaffFactory, api_client_for

UPLOADS = "/api/v1/uploads"


@pytest.fixture
def roots(settings, tmp_path):
    root = tmp_path / "roots"
    root.mkdir()
    settings.DDS_DATA_ROOTS = [root]
    return root


@pytest.fixture
def other_staff(db) -> APIClient:
    return api_client_for(StaffFactory(name="other"))


def _multipart(client: APIClient, name: str, data: bytes):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(UPLOADS, {"file": upload}, format="multipart")


def _declare(client: APIClient, filename: str, size: int) -> str:
    response = client.post(UPLOADS, {"filename": filename, "size": size}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _chunk(client: APIClient, upload_id: str, data: bytes, **headers):
    return client.generic(
        "PATCH", f"{UPLOADS}/{upload_id}", data, content_type="application/offset+octet-stream", headers=headers
    )


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _upload_dirs(root) -> list[str]:
    base = root / "uploads"
    return sorted(path.name for path in base.iterdir()) if base.exists() else []


def test_multipart_upload_is_stored_under_the_roots_with_a_safe_name(roots, client_staff):
    response = _multipart(client_staff, "../../evil/gt.json", b'{"images": []}')
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["filename"], body["size"], body["offset"], body["state"]) == ("gt.json", 14, 14, "ready")
    stored = roots / "uploads" / body["id"] / "data" / "gt.json"
    assert stored.read_bytes() == b'{"images": []}'


def test_chunked_upload_resumes_from_the_received_offset(roots, client_staff):
    data = bytes(range(256)) * 40
    upload_id = _declare(client_staff, "big.tsv", len(data))
    first = _chunk(client_staff, upload_id, data[:4000], **{"Upload-Offset": "0"})
    assert first.status_code == 200, first.json()
    assert first["Upload-Offset"] == "4000"
    head = client_staff.head(f"{UPLOADS}/{upload_id}")
    assert head["Upload-Offset"] == "4000"
    second = _chunk(
        client_staff, upload_id, data[4000:], **{"Content-Range": f"bytes 4000-{len(data) - 1}/{len(data)}"}
    )
    assert second.json()["offset"] == len(data)
    finished = client_staff.post(f"{UPLOADS}/{upload_id}/finish")
    assert finished.json()["state"] == "ready"
    assert (roots / "uploads" / upload_id / "data" / "big.tsv").read_bytes() == data


def test_a_chunk_at_the_wrong_offset_is_409_and_writes_nothing(roots, client_staff):
    upload_id = _declare(client_staff, "a.json", 10)
    _chunk(client_staff, upload_id, b"12345", **{"Upload-Offset": "0"})
    response = _chunk(client_staff, upload_id, b"678", **{"Upload-Offset": "3"})
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["detail"]["offset"]) == (409110, 5)
    assert client_staff.get(f"{UPLOADS}/{upload_id}").json()["offset"] == 5


@pytest.mark.parametrize(
    "headers",
    [{}, {"Upload-Offset": "-1"}, {"Upload-Offset": "x"}, {"Content-Range": "bytes 0-9/10"}],
    ids=["no-offset", "negative", "not-a-number", "range-longer-than-body"],
)
def test_a_chunk_without_a_valid_offset_is_400120(roots, client_staff, headers):
    upload_id = _declare(client_staff, "a.json", 10)
    response = _chunk(client_staff, upload_id, b"123", **headers)
    assert (response.status_code, response.json()["code"]) == (400, 400120)


def test_a_chunk_past_the_declared_size_is_refused(roots, client_staff):
    upload_id = _declare(client_staff, "a.json", 4)
    response = _chunk(client_staff, upload_id, b"12345", **{"Upload-Offset": "0"})
    assert (response.status_code, response.json()["code"]) == (400, 400120)
    assert client_staff.get(f"{UPLOADS}/{upload_id}").json()["offset"] == 0


def test_finish_before_every_byte_arrived_is_409111(roots, client_staff):
    upload_id = _declare(client_staff, "a.json", 4)
    _chunk(client_staff, upload_id, b"12", **{"Upload-Offset": "0"})
    response = client_staff.post(f"{UPLOADS}/{upload_id}/finish")
    assert (response.status_code, response.json()["code"]) == (409, 409111)


def test_a_finished_upload_takes_no_more_chunks(roots, client_staff):
    body = _multipart(client_staff, "a.json", b"{}").json()
    response = _chunk(client_staff, body["id"], b"x", **{"Upload-Offset": "2"})
    assert (response.status_code, response.json()["code"]) == (409, 409112)


def test_an_upload_larger_than_the_limit_is_413000(roots, client_staff, settings):
    settings.DDS_MAX_UPLOAD_BYTES = 100
    declared = client_staff.post(UPLOADS, {"filename": "a.json", "size": 101}, format="json")
    assert (declared.status_code, declared.json()["code"]) == (413, 413000)
    settings.DDS_MAX_UPLOAD_BYTES = 10
    posted = _multipart(client_staff, "a.json", b"x" * 11)
    assert (posted.status_code, posted.json()["code"]) == (413, 413000)
    assert _upload_dirs(roots) == []


def test_non_staff_may_not_upload(roots, client_user):
    response = client_user.post(UPLOADS, {"filename": "a.json", "size": 1}, format="json")
    assert response.status_code == 403


def test_another_users_upload_is_not_found(roots, client_staff, other_staff):
    upload_id = _declare(client_staff, "a.json", 3)
    assert other_staff.get(f"{UPLOADS}/{upload_id}").json()["code"] == 404070
    chunk = _chunk(other_staff, upload_id, b"abc", **{"Upload-Offset": "0"})
    assert (chunk.status_code, chunk.json()["code"]) == (404, 404070)
    assert other_staff.delete(f"{UPLOADS}/{upload_id}").status_code == 404
    assert client_staff.get(f"{UPLOADS}/{upload_id}").status_code == 200


@pytest.mark.parametrize("upload_id", ["nope", "..", "0" * 32])
def test_unknown_upload_ids_are_404070(roots, client_staff, upload_id):
    response = client_staff.get(f"{UPLOADS}/{upload_id}")
    assert (response.status_code, response.json()["code"]) == (404, 404070)


def test_delete_removes_the_upload(roots, client_staff):
    upload_id = _declare(client_staff, "a.json", 3)
    assert client_staff.delete(f"{UPLOADS}/{upload_id}").status_code == 204
    assert _upload_dirs(roots) == []


def test_a_zip_is_unpacked_on_finish(roots, client_staff):
    body = _multipart(client_staff, "pics.zip", _zip({"a/1.txt": b"one", "2.txt": b"two"})).json()
    assert (body["unpacked_files"], body["unpacked_bytes"]) == (2, 6)
    files = roots / "uploads" / body["id"] / "files"
    assert (files / "a" / "1.txt").read_bytes() == b"one"


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "..\\evil.txt"])
def test_zip_slip_is_refused_and_leaves_nothing(roots, client_staff, name):
    response = _multipart(client_staff, "bad.zip", _zip({"ok.txt": b"1", name: b"2"}))
    assert (response.status_code, response.json()["code"]) == (400, 400121)
    assert _upload_dirs(roots) == []
    assert not (roots / "evil.txt").exists()


def test_a_symlink_in_a_zip_is_refused(roots, client_staff):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    response = _multipart(client_staff, "bad.zip", buffer.getvalue())
    assert (response.status_code, response.json()["code"]) == (400, 400121)


def test_a_zip_bomb_is_refused_by_its_unpacked_bytes(roots, client_staff, settings):
    settings.DDS_MAX_UNPACKED_BYTES = 1_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", b"\0" * 5_000_000)
    assert len(buffer.getvalue()) < 20_000
    response = _multipart(client_staff, "bomb.zip", buffer.getvalue())
    assert (response.status_code, response.json()["code"]) == (413, 413110)
    assert _upload_dirs(roots) == []


def test_a_zip_bomb_is_refused_by_its_file_count(roots, client_staff, settings):
    settings.DDS_MAX_UNPACKED_FILES = 3
    response = _multipart(client_staff, "many.zip", _zip({f"{n}.txt": b"" for n in range(4)}))
    assert (response.status_code, response.json()["code"]) == (413, 413110)


def test_a_corrupt_zip_is_400122(roots, client_staff):
    response = _multipart(client_staff, "broken.zip", b"PK\x03\x04 not really a zip")
    assert (response.status_code, response.json()["code"]) == (400, 400122)
    assert _upload_dirs(roots) == []


def test_abandoned_uploads_are_purged_on_the_next_upload_and_by_the_command(roots, client_staff, settings):
    stale = _declare(client_staff, "a.json", 10)
    finished = _multipart(client_staff, "b.json", b"{}").json()["id"]
    settings.DDS_UPLOAD_EXPIRE_S = 0
    fresh = _declare(client_staff, "c.json", 10)
    assert _upload_dirs(roots) == sorted([finished, fresh])
    assert stale not in _upload_dirs(roots)
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert json.loads(out.getvalue()) == {"purged": [fresh]}
    assert _upload_dirs(roots) == [finished]


def test_import_an_uploaded_coco_file_inline(roots, client_staff):
    body = _multipart(client_staff, "pets.json", json.dumps(coco_gt(3)).encode()).json()
    response = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "coco"}, format="json")
    assert response.status_code == 200, response.json()
    dataset = DataSet.objects.get(pk=response.json()["dataset_id"])
    assert (dataset.name, dataset.num_images, dataset.status) == ("pets", 3, "ready")


def test_import_of_an_unknown_format_is_400002(roots, client_staff):
    body = _multipart(client_staff, "pets.json", b"{}").json()
    response = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "voc"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, 400002)
    assert DataSet.objects.count() == 0


def test_import_of_an_unfinished_upload_is_409111(roots, client_staff):
    upload_id = _declare(client_staff, "pets.json", 10)
    response = client_staff.post(f"{UPLOADS}/{upload_id}/import", {"format": "coco"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, 409111)


def test_import_naming_a_file_not_in_the_zip_is_400123(roots, client_staff):
    body = _multipart(client_staff, "set.zip", _zip({"gt.json": b"{}"})).json()
    response = client_staff.post(
        f"{UPLOADS}/{body['id']}/import",
        {"format": "coco", "options": {"ground_truth": "../../nope.json"}},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, 400123)
    assert DataSet.objects.count() == 0


def test_import_needs_a_zip_for_yolo(roots, client_staff):
    body = _multipart(client_staff, "pets.json", b"{}").json()
    response = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "yolo"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, 400002)


def test_import_of_another_users_upload_is_404070(roots, client_staff, other_staff):
    body = _multipart(client_staff, "pets.json", json.dumps(coco_gt(1)).encode()).json()
    response = other_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "coco"}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, 404070)


def test_import_into_an_unknown_dataset_is_404050(roots, client_staff):
    body = _multipart(client_staff, "pets.json", json.dumps(coco_gt(1)).encode()).json()
    response = client_staff.post(
        f"{UPLOADS}/{body['id']}/import", {"format": "coco", "dataset_id": "nope"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (404, 404050)


def test_uploads_root_follows_the_settings(roots):
    assert uploads.uploads_root() == (roots / "uploads").resolve()


def test_a_multipart_file_past_the_limit_is_dropped_before_it_is_stored(roots, settings):
    from datasets.upload_handlers import BoundedUploadHandler, OversizedFile

    settings.DDS_MAX_UPLOAD_BYTES = 10
    handler = BoundedUploadHandler()
    handler.new_file("file", "big.json", "application/json", None)
    assert handler.receive_data_chunk(b"x" * 8, 0) == b"x" * 8
    assert handler.receive_data_chunk(b"x" * 8, 8) is None
    assert handler.receive_data_chunk(b"x" * 8, 16) is None
    dropped = handler.file_complete(24)
    assert isinstance(dropped, OversizedFile)
    assert (dropped.name, dropped.size, dropped.read()) == ("big.json", 24, b"")


def test_a_session_upload_past_the_limit_is_413000(roots, staff, settings):
    settings.DDS_MAX_UPLOAD_BYTES = 1000
    client = APIClient()
    client.force_login(staff)
    response = _multipart(client, "big.json", b"x" * 5000)
    assert (response.status_code, response.json()["code"]) == (413, 413000)
    assert _upload_dirs(roots) == []


def test_chunks_may_be_sent_with_put_and_content_range(roots, client_staff):
    upload_id = _declare(client_staff, "a.tsv", 6)
    response = client_staff.put(
        f"{UPLOADS}/{upload_id}",
        b"abcdef",
        content_type="application/octet-stream",
        headers={"Content-Range": "bytes 0-5/6"},
    )
    assert (response.status_code, response.json()["offset"]) == (200, 6)
    assert client_staff.post(f"{UPLOADS}/{upload_id}/finish").json()["state"] == "ready"


@pytest.mark.parametrize("options", [{"ground_truth": 5}, {"ground_truth": ["gt.json"]}, {"image_root": {"a": 1}}])
def test_import_options_that_are_not_file_names_are_400002(roots, client_staff, options):
    body = _multipart(client_staff, "set.zip", _zip({"gt.json": b"{}"})).json()
    response = client_staff.post(
        f"{UPLOADS}/{body['id']}/import",
        {"format": "coco", "options": {"ground_truth": "gt.json", **options}},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (400, 400002)


def test_a_multipart_post_without_a_file_is_400002(roots, client_staff):
    response = client_staff.post(UPLOADS, {"other": "x"}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, 400002)


def _png(size: tuple[int, int]) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_import_an_uploaded_yolo_zip_with_the_default_layout(roots, client_staff):
    entries = {
        "images/one.png": _png((200, 100)),
        "images/two.png": _png((64, 48)),
        "classes.txt": b"cat\ndog\n",
        "labels/one.txt": b"0 0.5 0.5 0.2 0.4\n",
        "labels/two.txt": b"1 0.25 0.25 0.1 0.1\n",
    }
    body = _multipart(client_staff, "street.zip", _zip(entries)).json()
    response = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "yolo", "name": "street"}, format="json")
    assert response.status_code == 200, response.json()
    dataset = DataSet.objects.get(pk=response.json()["dataset_id"])
    assert (dataset.name, dataset.num_images) == ("street", 2)
    assert sorted(dataset.categories.values_list("name", flat=True)) == ["cat", "dog"]


def test_import_an_uploaded_zip_of_images(roots, client_staff):
    body = _multipart(client_staff, "pics.zip", _zip({"a.png": _png((8, 8)), "b/c.png": _png((4, 4))})).json()
    response = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "images"}, format="json")
    assert response.status_code == 200, response.json()
    assert DataSet.objects.get(pk=response.json()["dataset_id"]).num_images == 2


def test_strict_import_of_an_upload_refuses_an_overhanging_box(roots, client_staff):
    gt = coco_gt(3)
    gt["annotations"][0]["bbox"] = [80.0, 10.0, 23.0, 20.0]  # 3 px past the 100 px wide image
    body = _multipart(client_staff, "pets.json", json.dumps(gt).encode()).json()
    refused = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "coco", "strict": True}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, 400002)
    assert refused.json()["detail"]["field"] == "bbox"
    failed = DataSet.objects.get(name="pets")  # kept so a background job's failure can be read
    assert (failed.status, failed.num_images, failed.detail_status["import"]["error"]["field"]) == ("failed", 0, "bbox")
    clipped = client_staff.post(f"{UPLOADS}/{body['id']}/import", {"format": "coco"}, format="json")
    assert clipped.status_code == 200, clipped.json()
    assert clipped.json()["warnings"] == {"clipped_boxes": 1}
