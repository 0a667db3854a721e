"""The job API touches only files under the data roots; file names and URLs in data are never paths
to follow out of them; parser errors and job status never show file content or server details."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from PIL import Image as PILImage
from rest_framework.test import APIClient

from datasets.exporters.yolo import export_yolo
from datasets.importers.coco import CocoImporter
from datasets.importers.errors import ImportFormatError
from datasets.importers.manifest import load_manifest
from datasets.importers.runner import run_import
from datasets.models import DataSet
from dds_site.files import PathOutsideDataRoots, UnsafeFileName, resolve_data_path, safe_join, safe_relative_name
from tests.datasets.importing_helpers import coco_gt, write_json

SECRET = "TOPSECRET4711"


@pytest.fixture(autouse=True)
def inline_jobs(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


@pytest.fixture
def root(settings, tmp_path) -> Path:
    """The only data root; ``tmp_path / "outside"`` is a sibling directory outside it."""
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    (tmp_path / "outside").mkdir()
    return resolve_data_path(".")


@pytest.fixture
def outside(root, tmp_path) -> Path:
    return tmp_path / "outside"


@pytest.fixture
def staff_api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def user_api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _import(client: APIClient, dataset_id: str, **spec):
    return client.post(f"/api/v1/datasets/{dataset_id}/jobs/import", spec, format="json")


def _export(client: APIClient, dataset_id: str, **spec):
    return client.post(f"/api/v1/datasets/{dataset_id}/jobs/export", spec, format="json")


def _assert_refused(response, given: str) -> None:
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == 403100
    assert body["detail"]["path"] == given


# --- the resolver ---------------------------------------------------------------------------------------------------


def test_resolve_data_path_keeps_paths_under_the_roots(root, outside):
    (outside / "secret.txt").write_text(SECRET)
    (root / "link").symlink_to(outside)
    assert resolve_data_path("a/b.json") == root / "a" / "b.json"  # relative: to the first root
    assert resolve_data_path(str(root / "x" / ".." / "y.json")) == root / "y.json"
    for path in ("../outside/secret.txt", f"{root}/../outside/secret.txt", "link/secret.txt", "/etc/passwd"):
        with pytest.raises(PathOutsideDataRoots):
            resolve_data_path(path)
    with pytest.raises(PathOutsideDataRoots):  # missing or not, outside is outside: nothing to learn
        resolve_data_path(str(outside / "missing.txt"))


def test_data_roots_come_from_the_setting_and_are_created(settings, tmp_path):
    settings.DDS_DATA_ROOTS = [tmp_path / "first", tmp_path / "second"]
    assert resolve_data_path(str(tmp_path / "second" / "x.json")) == tmp_path / "second" / "x.json"
    assert resolve_data_path("x.json") == tmp_path / "first" / "x.json"
    assert (tmp_path / "first").is_dir()
    assert (tmp_path / "second").is_dir()
    settings.DDS_DATA_ROOTS = []
    with pytest.raises(PathOutsideDataRoots):
        resolve_data_path("x.json")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "a.jpg"),
        ("train/a.jpg", "train/a.jpg"),
        ("../../x.jpg", "x.jpg"),
        ("/etc/cron.d/x.jpg", "etc/cron.d/x.jpg"),
        ("..\\..\\win.jpg", "win.jpg"),
        ("a/./b/../c.jpg", "a/b/c.jpg"),
        ("nul\x00byte.jpg", "nulbyte.jpg"),
        ("..", None),
        ("/", None),
    ],
)
def test_safe_relative_name(name, expected):
    result = safe_relative_name(name)
    assert (str(result) if result is not None else None) == expected


def test_safe_join_does_not_follow_a_symlink_out(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "labels").symlink_to(tmp_path / "elsewhere")
    assert safe_join(tmp_path / "out", "../../a.txt", fallback="x") == tmp_path / "out" / "a.txt"
    with pytest.raises(UnsafeFileName):
        safe_join(tmp_path / "out", "labels/a.txt", fallback="x")


# --- finding 1: the job API reads only under the data roots --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "spec"),
    [
        ("ground_truth", {"format": "coco"}),
        ("path", {"format": "tsv"}),
        ("classes", {"format": "yolo", "images": "imgs"}),
        ("root", {"format": "images"}),
    ],
)
@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "SECRET_KEY_FILE"])
def test_import_of_a_server_file_is_refused(root, staff_api, settings, field, spec, target):
    (root / "imgs").mkdir()
    if target == "SECRET_KEY_FILE":
        target = str(Path(settings.VAR_DIR) / "secret_key")
    DataSet.create_dataset("d", id_="d")
    response = _import(staff_api, "d", **spec, **{field: target})
    _assert_refused(response, target)
    assert response.json()["detail"]["field"] == field
    assert "import" not in (DataSet.objects.get(pk="d").detail_status or {})


def test_import_through_dotdot_or_a_symlink_out_of_the_roots_is_refused(root, outside, staff_api):
    write_json(outside / "gt.json", coco_gt(2))  # a valid dataset: before the fix it was imported
    (root / "link.json").symlink_to(outside / "gt.json")
    (root / "dir").symlink_to(outside)
    DataSet.create_dataset("d", id_="d")
    for given in (f"{root}/../outside/gt.json", "../outside/gt.json", "link.json", "dir/gt.json"):
        _assert_refused(_import(staff_api, "d", format="coco", ground_truth=given), given)
    write_json(root / "gt.json", coco_gt(2))
    given = str(outside / "gt.json")
    response = _import(
        staff_api, "d", format="coco", ground_truth="gt.json", predictions=[{"name": "p", "file": given}]
    )
    _assert_refused(response, given)
    response = _import(staff_api, "d", format="coco", ground_truth="gt.json", image_root=str(outside))
    _assert_refused(response, str(outside))
    response = _import(staff_api, "d", format="coco", ground_truth="gt.json")  # inside: fine, relative to the root
    assert response.status_code == 200
    assert response.json()["num_images"] == 2


def test_coco_file_names_may_not_lead_out_of_the_image_root(root, outside, staff_api):
    images = root / "images"
    gt = coco_gt(2, with_files=images)
    PILImage.new("RGB", (100, 80)).save(outside / "far.png")
    (images / "link.png").symlink_to(outside / "far.png")
    gt["images"][1]["file_name"] = "link.png"
    write_json(root / "gt.json", gt)
    DataSet.create_dataset("d", id_="d")
    response = _import(staff_api, "d", format="coco", ground_truth="gt.json", image_root="images")
    assert response.status_code == 400
    assert response.json()["detail"]["record"] == "images[1]"
    assert "not found under the image root" in response.json()["message"]
    # An operator on the shell may point into their own tree with symlinks, but never climb out with "..".
    dataset = DataSet.get_importing_dataset("shell", id_="shell")
    assert run_import(dataset, CocoImporter(str(root / "gt.json"), image_root=str(images))).num_images == 2
    gt["images"][1]["file_name"] = "../outside/far.png"
    write_json(root / "climb.json", gt)
    with pytest.raises(ImportFormatError, match="not found under the image root"):
        run_import(dataset, CocoImporter(str(root / "climb.json"), image_root=str(images)))


def test_symlinked_image_or_label_files_out_of_the_roots_are_not_read(root, outside, staff_api):
    (root / "imgs").mkdir()
    PILImage.new("RGB", (20, 10)).save(root / "imgs" / "a.jpg")
    PILImage.new("RGB", (20, 10)).save(outside / "far.jpg")
    (root / "imgs" / "b.jpg").symlink_to(outside / "far.jpg")
    (root / "classes.txt").write_text("cat\n")
    DataSet.create_dataset("d", id_="d")
    response = _import(staff_api, "d", format="images", root="imgs")
    assert response.status_code == 400
    assert "leads out of the data roots" in response.json()["message"]
    response = _import(staff_api, "d", format="images", root="imgs", skip_invalid=True)
    assert response.status_code == 200
    assert response.json()["num_images"] == 1
    os.unlink(root / "imgs" / "b.jpg")
    (root / "labels").mkdir()
    (outside / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "a.txt").symlink_to(outside / "a.txt")
    response = _import(staff_api, "d", format="yolo", images="imgs", classes="classes.txt", labels="labels")
    assert response.status_code == 400
    assert response.json()["detail"]["file"].endswith("labels/a.txt")
    # The operator on the shell may use the same tree.
    call_command(
        "import_yolo",
        str(root / "imgs"),
        *("--classes", str(root / "classes.txt"), "--labels", str(root / "labels"), "--dataset-id", "shell"),
        verbosity=0,
    )
    assert DataSet.objects.get(pk="shell").num_images == 1


def test_shell_commands_still_import_from_any_readable_path(root, outside):
    write_json(outside / "gt.json", coco_gt(2))
    call_command("import_coco", str(outside / "gt.json"), "--dataset-id", "shell", verbosity=0)
    assert DataSet.objects.get(pk="shell").num_images == 2


# --- finding 1: exports write only under the data roots, and never over a file unless asked -----------------------


@pytest.fixture
def small(db) -> DataSet:
    dataset = DataSet.create_dataset("small", id_="small")
    image = dataset.batch_add_image("http://img/a.jpg", width=100, height=50, id_=1)
    image.batch_add_annotation("cat", bbox=(10, 10, 20, 10))
    dataset.finish_batch_add_image()
    return dataset


@pytest.mark.parametrize("kind", ["coco", "tsv", "yolo"])
def test_export_outside_the_roots_is_refused_and_creates_nothing(root, outside, staff_api, small, kind):
    (root / "out").symlink_to(outside)
    for given in (str(outside / "new" / "x.json"), "../outside/x.json", "out/x.json"):
        _assert_refused(_export(staff_api, "small", format=kind, output=given), given)
    assert list(outside.iterdir()) == []
    assert "export" not in (DataSet.objects.get(pk="small").detail_status or {})


@pytest.mark.parametrize(("kind", "output"), [("coco", "e.json"), ("tsv", "e.tsv"), ("yolo", "e")])
def test_export_does_not_overwrite_unless_asked(root, staff_api, small, kind, output):
    target = root / output
    if kind == "yolo":
        target.mkdir()
        (target / "mine.txt").write_text("keep me")
    else:
        target.write_text("keep me")
    response = _export(staff_api, "small", format=kind, output=output)
    assert response.status_code == 409, response.content
    assert response.json()["code"] == 409100, response.content
    assert response.json()["detail"]["field"] == "output"
    assert (target / "mine.txt" if kind == "yolo" else target).read_text() == "keep me"
    assert sorted(p.name for p in root.iterdir()) == [output]  # no temporary files left behind
    response = _export(staff_api, "small", format=kind, output=output, overwrite=True)
    assert response.status_code == 200, response.content
    if kind == "yolo":
        assert (target / "labels" / "a.txt").exists()
        assert (target / "mine.txt").read_text() == "keep me"
    else:
        assert target.read_text() != "keep me"


def test_tsv_export_does_not_overwrite_an_existing_sidecar(root, staff_api, small):
    image = small.batch_add_image("http://img/b.jpg", width=10, height=10, id_=2)
    image.batch_add_annotation("cat", label="det", label_type="Pred", bbox=(1, 1, 2, 2), conf=0.5)
    small.finish_batch_add_image()
    (root / "e.det.pred").write_text("keep me")
    response = _export(staff_api, "small", format="tsv", output="e.tsv")
    assert response.status_code == 409
    assert not (root / "e.tsv").exists()
    assert (root / "e.det.pred").read_text() == "keep me"


def test_export_commands_refuse_an_existing_output_without_overwrite(small, tmp_path):
    from django.core.management.base import CommandError

    (tmp_path / "e.json").write_text("keep me")
    with pytest.raises(CommandError, match="exists"):
        call_command("export_coco", "small", str(tmp_path / "e.json"), stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (tmp_path / "e.json").read_text() == "keep me"
    call_command("export_coco", "small", str(tmp_path / "e.json"), "--overwrite", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert json.loads((tmp_path / "e.json").read_text())["images"][0]["id"] == 1


# --- finding 2: file names and URLs in data decide nothing ----------------------------------------------------------


def _dataset_with_file_names(names: list[str]) -> DataSet:
    dataset = DataSet.create_dataset("crafted", id_="crafted")
    for number, name in enumerate(names, start=1):
        image = dataset.batch_add_image(
            f"http://img/{number}.jpg", width=100, height=50, id_=number, metadata={"file_name": name}
        )
        image.batch_add_annotation("cat", bbox=(number, 10, 20, 10))
    dataset.finish_batch_add_image()
    return dataset


def _tree(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text() for path in sorted(directory.rglob("*")) if path.is_file()
    }


def test_yolo_export_keeps_crafted_file_names_inside_the_output(root, staff_api, tmp_path):
    names = ["../../x.jpg", "/etc/cron.d/evil.jpg", "a.jpg", "../a.jpg", "sub/../../../b.png", "..", "c\x00.jpg"]
    _dataset_with_file_names(names)
    response = _export(staff_api, "crafted", format="yolo", output="out")
    assert response.status_code == 200, response.content
    assert response.json()["images"] == len(names)
    assert response.json()["renamed_label_files"] == 1
    tree = _tree(root / "out")
    assert sorted(tree) == [
        "classes.txt",
        "labels/6.txt",  # ".." leaves no name: the image id
        "labels/a.txt",
        "labels/a__4.txt",  # "../a.jpg" met "a.jpg": renamed, nothing overwritten
        "labels/c.txt",
        "labels/etc/cron.d/evil.txt",
        "labels/sub/b.txt",
        "labels/x.txt",
    ]
    assert tree["labels/a.txt"].startswith("0 0.13 ")
    assert tree["labels/a__4.txt"].startswith("0 0.14 ")
    assert not (tmp_path / "x.txt").exists()
    assert not (tmp_path / "data" / "x.txt").exists()
    # The same dataset always gives the same files.
    assert _export(staff_api, "crafted", format="yolo", output="again").status_code == 200
    assert _tree(root / "again") == tree


def test_yolo_export_on_the_shell_keeps_crafted_names_inside_too(db, tmp_path):
    _dataset_with_file_names(["../../../escaped.jpg"])
    export_yolo("crafted", tmp_path / "a" / "b" / "out")
    assert sorted(_tree(tmp_path / "a" / "b" / "out")) == ["classes.txt", "labels/escaped.txt"]
    assert not list(tmp_path.rglob("escaped.txt"))[1:]


def _range_url(path: Path, begin: int, end: int) -> str:
    return f"/files/local_files/b/2/{begin}_{end}/image_png/{quote(str(path))}"


def test_tsv_export_copies_no_bytes_from_files_outside_the_roots(root, outside, staff_api):
    secret = outside / "secret.b64"
    secret.write_text(SECRET)
    dataset = DataSet.create_dataset("urls", id_="urls")
    image = dataset.batch_add_image(_range_url(secret, 0, len(SECRET)), width=10, height=10, id_=1)
    image.batch_add_annotation("cat", bbox=(1, 1, 2, 2), alpha_uri=_range_url(secret, 0, len(SECRET)))
    dataset.finish_batch_add_image()
    response = _export(staff_api, "urls", format="tsv", output="urls.tsv")
    assert response.status_code == 200
    assert response.json()["unread_local_files"] == 2
    text = (root / "urls.tsv").read_text()
    assert SECRET not in text
    _key, line, content = text.rstrip("\n").split("\t")
    assert content == _range_url(secret, 0, len(SECRET))
    assert "alpha" not in json.loads(line)["objects"][0]


def test_tsv_export_copies_inline_images_of_files_inside_the_roots(root, staff_api):
    inline = root / "inline.b64"
    inline.write_text("iVBORw0KGgo=")
    dataset = DataSet.create_dataset("ok", id_="ok")
    dataset.batch_add_image(_range_url(inline, 0, 12), width=10, height=10, id_=1)
    dataset.finish_batch_add_image()
    response = _export(staff_api, "ok", format="tsv", output="ok.tsv")
    assert response.status_code == 200
    assert response.json()["unread_local_files"] == 0
    assert (root / "ok.tsv").read_text().rstrip("\n").split("\t")[2] == "iVBORw0KGgo="


# --- parser errors and job status show no file content, no server details --------------------------------------------


def test_a_json_parse_error_does_not_show_the_file_content(root, staff_api, user_api):
    (root / "bad.json").write_text(f"{SECRET} {{")
    DataSet.create_dataset("d", id_="d")
    response = _import(staff_api, "d", format="coco", ground_truth="bad.json")
    assert response.status_code == 400
    assert response.json()["code"] == 400002
    assert "malformed JSON" in response.json()["message"]
    assert SECRET not in response.content.decode()
    for client in (staff_api, user_api):
        status = client.get("/api/v1/datasets/d/jobs")
        assert status.json()["import"]["state"] == "failed"
        assert SECRET not in status.content.decode()
    assert SECRET not in json.dumps(DataSet.objects.get(pk="d").detail_status)


@pytest.mark.parametrize(
    ("name", "content", "spec"),
    [
        ("gt.json", f'{{"images": [{{"id": 1, "width": "{SECRET}", "height": 2}}]}}', {"format": "coco"}),
        ("gt.json", f'{{"images": [{SECRET}]}}', {"format": "coco"}),
        ("d.tsv", f'a\t{{"metadata": {{"width": "{SECRET}", "height": 2}}}}\thttp://x/a.jpg\n', {"format": "tsv"}),
        ("labels/a.txt", f"0 {SECRET} 0.5 0.1 0.1\n", {"format": "yolo"}),
        ("labels/a.txt", b"0 0.5 0.5 0.1 0.1 \xff\xfe" + SECRET.encode(), {"format": "yolo"}),
        ("classes.txt", b"\xff" + SECRET.encode(), {"format": "yolo"}),
    ],
)
def test_importer_errors_name_file_record_and_field_but_no_content(root, staff_api, name, content, spec):
    (root / "imgs").mkdir()
    (root / "labels").mkdir()
    PILImage.new("RGB", (20, 10)).save(root / "imgs" / "a.jpg")
    (root / "classes.txt").write_text("cat\n")
    path = root / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    # Absolute paths: the file is read whether or not relative paths are taken from the root.
    spec = {"coco": {"ground_truth": str(path)}, "tsv": {"path": str(path)}}.get(spec["format"], {}) | spec
    if spec["format"] == "yolo":
        spec |= {"images": str(root / "imgs"), "classes": str(root / "classes.txt"), "labels": str(root / "labels")}
    DataSet.create_dataset("d", id_="d")
    response = _import(staff_api, "d", **spec)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == 400002, response.content
    assert response.json()["detail"]["file"].endswith(name)
    assert SECRET not in response.content.decode()
    assert SECRET not in json.dumps(DataSet.objects.get(pk="d").detail_status)


def test_a_tsv_sidecar_for_other_images_is_refused_without_showing_its_ids(root, staff_api):
    (root / "d.tsv").write_text('a\t{"metadata": {"width": 2, "height": 2}}\thttp://x/a.jpg\n')
    (root / "d.p.pred").write_text(f'{SECRET}\t{{"objects": []}}\n')
    DataSet.create_dataset("d", id_="d")
    response = _import(staff_api, "d", format="tsv", path=str(root / "d.tsv"))
    assert response.status_code == 400
    assert response.json()["detail"]["file"] == str(root / "d.p.pred")
    assert response.json()["detail"]["record"] == "line 1"
    assert SECRET not in response.content.decode()


def test_a_yaml_manifest_error_does_not_show_the_manifest(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"format: coco\n ground_truth: [{SECRET}\n")
    with pytest.raises(ImportFormatError, match=r"malformed manifest at line \d+ column \d+") as excinfo:
        load_manifest(str(manifest))
    assert SECRET not in str(excinfo.value)


def test_job_status_shows_users_no_paths_host_pid_or_reasons(root, staff_api, user_api, small):
    write_json(root / "gt.json", coco_gt(2))
    assert _import(staff_api, "small", format="coco", ground_truth="gt.json").status_code == 200
    assert _export(staff_api, "small", format="coco", output="e.json").status_code == 200
    broken = coco_gt(2)
    broken["annotations"][0]["category_id"] = 42
    write_json(root / "bad.json", broken)
    assert _import(staff_api, "small", format="coco", ground_truth="bad.json").status_code == 400
    staff_view = staff_api.get("/api/v1/datasets/small/jobs").json()
    assert {"host", "pid", "files", "reason"} <= set(staff_view["import"])
    assert staff_view["export"]["output"] == str(root / "e.json")
    for body in (user_api.get("/api/v1/datasets/small/jobs").json(), user_api.get("/api/v1/datasets/small").json()):
        shown = body if "import" in body else body["detail_status"]
        assert shown["import"]["state"] == "failed"
        assert shown["export"]["state"] == "ready"
        assert shown["export"]["images"] == 2
        text = json.dumps(shown)
        for leak in (str(root), "host", "pid", "reason", "attempt", "unknown category_id"):
            assert leak not in text, leak
    listed = user_api.get("/api/v1/datasets").json()
    assert str(root) not in json.dumps([d["detail_status"] for d in listed["results"]])
    assert "reason" in json.dumps(staff_api.get("/api/v1/datasets/small").json()["detail_status"])
