"""Image files and thumbnails: served only from the data roots, with validators, ranges and caching."""

from __future__ import annotations

import base64
import io
import logging
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image as PILImage
from rest_framework.test import APIClient

from datasets.models import DataSet
from dds_site.files import resolve_data_path
from tests.factories import password_of


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "outside").mkdir()
    return resolve_data_path(".")


def _jpeg(path: Path, size=(40, 20), color=(200, 30, 30), orientation: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = PILImage.new("RGB", size, color)
    exif = PILImage.Exif()
    if orientation:
        exif[0x0112] = orientation
    picture.save(path, format="JPEG", exif=exif.tobytes())
    return path


def _dataset(*paths_or_urls: str | Path) -> DataSet:
    dataset = DataSet.create_dataset("pics", id_="pics")
    for number, item in enumerate(paths_or_urls):
        uri = item if isinstance(item, str) else f"file://{item}"
        dataset.add_image(uri, width=40, height=20, id=number)
    dataset.status = "done"
    dataset.save()
    return dataset


def _file(client: APIClient, image_id: int = 0, **headers):
    return client.get(f"/api/v1/datasets/pics/images/{image_id}/file", headers=headers)


def _thumb(client: APIClient, image_id: int = 0, size: int | str = 256):
    return client.get(f"/api/v1/datasets/pics/images/{image_id}/thumbnail?size={size}")


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_serves_the_file_with_validators_and_private_cache(root, client_user):
    path = _jpeg(root / "a.jpg")
    _dataset(path)
    response = _file(client_user)
    assert response.status_code == 200
    assert _body(response) == path.read_bytes()
    assert response["Content-Type"] == "image/jpeg"
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"]
    assert response["Cache-Control"].startswith("private, max-age=")


def test_anonymous_is_401(root, db):
    _dataset(_jpeg(root / "a.jpg"))
    response = _file(APIClient())
    assert response.status_code == 401
    assert response.json()["code"] == 401000
    assert _thumb(APIClient()).status_code == 401


def test_token_and_session_both_authenticate(root, user):
    from accounts import services as account_services

    _dataset(_jpeg(root / "a.jpg"))
    token = account_services.token_issue(user).value
    assert _file(APIClient(), Authorization=f"Token {token}").status_code == 200
    assert _file(APIClient(), Authorization="Token not-a-token").status_code == 401
    browser = APIClient()
    assert browser.login(username=user.name, password=password_of(user.name))
    assert _thumb(browser).status_code == 200


def test_head_gives_headers_without_a_body(root, client_user):
    path = _jpeg(root / "a.jpg")
    _dataset(path)
    response = client_user.head("/api/v1/datasets/pics/images/0/file")
    assert response.status_code == 200
    assert _body(response) == b""
    assert response["Content-Length"] == str(path.stat().st_size)
    assert response["ETag"]


def test_an_image_accept_header_is_not_refused(root, client_user):
    _dataset(_jpeg(root / "a.jpg"))
    assert _file(client_user, Accept="image/jpeg").status_code == 200
    assert client_user.get("/api/v1/datasets/pics/images/0/file", HTTP_ACCEPT="image/webp").status_code == 200


def test_etag_and_last_modified_give_304(root, client_user):
    _dataset(_jpeg(root / "a.jpg"))
    first = _file(client_user)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert _file(client_user, **{"If-None-Match": etag}).status_code == 304
    assert _file(client_user, **{"If-None-Match": '"other"'}).status_code == 200
    assert _file(client_user, **{"If-Modified-Since": modified}).status_code == 304
    # a changed file has another validator
    _jpeg(root / "a.jpg", size=(41, 20))
    assert _file(client_user, **{"If-None-Match": etag}).status_code == 200


def test_range_gives_206_with_the_right_bytes(root, client_user):
    path = _jpeg(root / "a.jpg")
    data = path.read_bytes()
    _dataset(path)
    response = _file(client_user, Range="bytes=10-29")
    assert response.status_code == 206
    assert _body(response) == data[10:30]
    assert response["Content-Range"] == f"bytes 10-29/{len(data)}"
    assert response["Content-Length"] == "20"
    suffix = _file(client_user, Range="bytes=-5")
    assert suffix.status_code == 206
    assert _body(suffix) == data[-5:]
    open_end = _file(client_user, Range=f"bytes={len(data) - 3}-")
    assert _body(open_end) == data[-3:]
    assert open_end["Content-Range"] == f"bytes {len(data) - 3}-{len(data) - 1}/{len(data)}"
    # If-Range with an old validator: the whole file
    stale = _file(client_user, Range="bytes=0-9", **{"If-Range": '"old"'})
    assert stale.status_code == 200
    assert _body(stale) == data


def test_unsatisfiable_range_is_416(root, client_user):
    path = _jpeg(root / "a.jpg")
    _dataset(path)
    size = path.stat().st_size
    response = _file(client_user, Range=f"bytes={size}-{size + 10}")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"
    assert _file(client_user, Range=f"bytes={size}-").status_code == 416
    assert _file(client_user, Range="bytes=-0").status_code == 416
    # a malformed or multi-range header is ignored: the whole file
    assert _file(client_user, Range="bytes=0-1,5-6").status_code == 200
    assert _file(client_user, Range="pages=1-2").status_code == 200
    assert _file(client_user, Range="bytes=5-2").status_code == 200
    assert _file(client_user, Range="bytes=\u0663-\u0665").status_code == 200  # digits must be ASCII


def test_file_outside_the_roots_is_refused(root, tmp_path, client_user):
    outside = _jpeg(tmp_path / "outside" / "secret.jpg")
    _dataset(outside)
    response = _file(client_user)
    assert response.status_code == 403
    assert response.json()["code"] == 403100
    assert b"\xff\xd8" not in response.content
    assert _thumb(client_user).json()["code"] == 403100
    assert not (tmp_path / "thumbs" / "pics").exists() or not any((tmp_path / "thumbs" / "pics").iterdir())


def test_symlink_out_of_the_roots_is_refused(root, tmp_path, client_user):
    outside = _jpeg(tmp_path / "outside" / "secret.jpg")
    link = root / "link.jpg"
    os.symlink(outside, link)
    _dataset(link)
    response = _file(client_user)
    assert response.status_code == 403
    assert response.json()["code"] == 403100
    assert _thumb(client_user).status_code == 403


def test_missing_file_is_404061_and_remote_is_redirected(root, client_user):
    _dataset(root / "gone.jpg", "https://example.com/cat.jpg")
    response = _file(client_user, 0)
    assert response.status_code == 404
    assert response.json()["code"] == 404061
    remote = _file(client_user, 1)
    assert remote.status_code == 302
    assert remote["Location"] == "https://example.com/cat.jpg"
    assert _thumb(client_user, 1)["Location"] == "https://example.com/cat.jpg"
    assert _file(client_user, 7).json()["code"] == 404053


def _inline_tsv(path: Path, picture: bytes) -> str:
    """A one-line TSV holding ``picture`` in base64; the byte-range URL of it."""
    from datasets.importers.tsv import range_url

    encoded = base64.b64encode(picture)
    head = b"img0\t{}\t"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + encoded + b"\n")
    return range_url(str(path), len(head), len(head) + len(encoded), "image/jpeg")


def test_inline_tsv_image_is_decoded_and_served(root, tmp_path, client_user):
    picture = _jpeg(tmp_path / "src.jpg", size=(300, 100)).read_bytes()
    _dataset(_inline_tsv(root / "set.tsv", picture), _inline_tsv(tmp_path / "outside" / "set.tsv", picture))
    response = _file(client_user, 0)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert _body(response) == picture
    part = _file(client_user, 0, Range="bytes=2-5")
    assert part.status_code == 206
    assert _body(part) == picture[2:6]
    assert _file(client_user, 0, **{"If-None-Match": response["ETag"]}).status_code == 304
    with PILImage.open(io.BytesIO(_body(_thumb(client_user, 0, size=128)))) as thumb:
        assert thumb.size == (128, 43)
    assert _file(client_user, 1).json()["code"] == 403100


def test_inline_image_that_is_not_base64_is_404_and_a_placeholder(root, client_user):
    from datasets.importers.tsv import range_url

    head, junk = b"img0\t{}\t", b"!!!! not base64 at all !!!!"
    (root / "set.tsv").write_bytes(head + junk + b"\n")
    _dataset(range_url(str(root / "set.tsv"), len(head), len(head) + len(junk), "image/jpeg"))
    assert _file(client_user).json()["code"] == 404061
    with PILImage.open(io.BytesIO(_body(_thumb(client_user)))) as thumb:
        assert thumb.size == (256, 256)


def test_a_non_image_file_is_not_served_as_html(root, client_user):
    page = root / "page.html"
    page.write_text("<script>alert(1)</script>")
    _dataset(page)
    response = _file(client_user)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_thumbnail_follows_exif_rotation(root, client_user):
    # stored 40x20 landscape, EXIF orientation 6 (rotate 90°): shown 20x40 portrait
    _dataset(_jpeg(root / "rotated.jpg", size=(400, 200), orientation=6))
    response = _thumb(client_user, size=128)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with PILImage.open(io.BytesIO(_body(response))) as picture:
        assert picture.size == (64, 128)


def test_thumbnail_size_must_be_allowed(root, client_user):
    _dataset(_jpeg(root / "a.jpg"))
    for size in (100, "abc", -256, "²", "0256"):
        response = _thumb(client_user, size=size)
        assert response.status_code == 400
        assert response.json()["code"] == 400002


def test_corrupt_file_gives_a_placeholder_and_a_warning(root, client_user, caplog):
    bad = root / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    _dataset(bad, root / "missing.jpg")
    with caplog.at_level(logging.WARNING, logger="datasets.image_files"):
        response = _thumb(client_user, 0)
        missing = _thumb(client_user, 1)
    assert response.status_code == 200
    assert missing.status_code == 200
    with PILImage.open(io.BytesIO(_body(response))) as picture:
        assert picture.size == (256, 256)
    assert "no-cache" in response["Cache-Control"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("image 0" in message for message in messages)
    assert any("image 1" in message for message in messages)


def test_thumbnail_is_cached_and_remade_when_the_source_changes(root, tmp_path, client_user):
    path = _jpeg(root / "a.jpg", size=(400, 200))
    _dataset(path)
    first = _thumb(client_user)
    assert first.status_code == 200
    (made,) = list((tmp_path / "thumbs" / "pics").glob("0-256-*.jpg"))
    mtime = made.stat().st_mtime_ns
    os.utime(made, ns=(mtime - 10**9, mtime - 10**9))  # so a rewrite would be visible
    second = _thumb(client_user)
    assert second.status_code == 200
    assert _body(second) == _body(first)
    assert made.stat().st_mtime_ns == mtime - 10**9
    assert _thumb(client_user).status_code == 200
    assert (
        client_user.get(
            "/api/v1/datasets/pics/images/0/thumbnail?size=256", headers={"If-None-Match": second["ETag"]}
        ).status_code
        == 304
    )
    # a changed source: a new thumbnail, and the old one is removed
    _jpeg(path, size=(200, 400))
    with PILImage.open(io.BytesIO(_body(_thumb(client_user)))) as picture:
        assert picture.size == (128, 256)
    (remade,) = list((tmp_path / "thumbs" / "pics").glob("0-256-*.jpg"))
    assert remade != made
    assert not made.exists()


def test_image_api_gives_the_served_urls(root, client_user):
    path = _jpeg(root / "a.jpg")
    _dataset(path)
    listed = client_user.get("/api/v1/datasets/pics/images").json()["results"][0]
    detail = client_user.get("/api/v1/datasets/pics/images/0").json()
    for image in (listed, detail):
        assert image["file_url"] == "/api/v1/datasets/pics/images/0/file"
        assert image["thumbnail_url"] == "/api/v1/datasets/pics/images/0/thumbnail?size=256"
        assert image["url"].startswith("/files/local_files/")  # DDS's stored value is kept
    assert client_user.get(detail["file_url"]).status_code == 200
    assert client_user.get(detail["thumbnail_url"]).status_code == 200


def test_make_thumbnails_command(root, tmp_path, capsys):
    bad = root / "bad.jpg"
    bad.write_bytes(b"garbage")
    _dataset(_jpeg(root / "a.jpg"), _jpeg(root / "b.jpg"), bad, "http://example.com/c.jpg")
    call_command("make_thumbnails", "pics", "--size", "128")
    out = capsys.readouterr().out
    assert "made 2, cached 0, failed 1, skipped 1" in out
    assert len(list((tmp_path / "thumbs" / "pics").glob("*-128-*.jpg"))) == 2
    call_command("make_thumbnails", "pics", "--size", "128")
    assert "made 0, cached 2, failed 1, skipped 1" in capsys.readouterr().out


def test_make_thumbnails_command_errors(root, db):
    from django.core.management.base import CommandError

    _dataset(_jpeg(root / "a.jpg"))
    with pytest.raises(CommandError, match="size"):
        call_command("make_thumbnails", "pics", "--size", "100")
    with pytest.raises(CommandError, match="not found"):
        call_command("make_thumbnails", "nope")
