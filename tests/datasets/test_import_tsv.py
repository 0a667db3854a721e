"""TSV import: inline base64 images with byte offsets, .pred sidecars, round trip, bad input."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image as PILImage

from datasets.exporters.tsv import export_tsv
from datasets.images import Image
from datasets.importers.errors import ImportFormatError
from datasets.importers.runner import run_import
from datasets.importers.tsv import TsvImporter
from datasets.models import DataSet


def _range_bytes(url: str) -> bytes | None:
    """The bytes a byte-range URL (``/files/local_files/b/2/<begin>_<end>/<mime>/<path>``) points at."""
    match = re.match(r"^/files/local_files/b/2/(\d+)_(\d+)/[^/]+/(.+)$", url or "")
    if not match:
        return None
    with open(unquote(match[3]), "rb") as handle:
        handle.seek(int(match[1]))
        return handle.read(int(match[2]) - int(match[1]))


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("L", (width, height), 128).save(buffer, "PNG")
    return buffer.getvalue()


def _write_tsv(tmp_path: Path) -> tuple[Path, bytes]:
    inline = _png(40, 20)
    alpha = base64.b64encode(_png(4, 4)).decode()
    lines = [
        (
            "a.jpg",
            {
                "metadata": {"width": 100, "height": 50, "note": "naïve café 猫"},
                "objects": [
                    {
                        "class": "cat",
                        "bounding_box": {"xmin": 0.1, "ymin": 0.2, "xmax": 0.5, "ymax": 0.6},
                        "segmentation": "50,100/10,10,40,10,40,30",
                        "iscrowd": 0,
                        "alpha": alpha,
                    },
                    {"bounding_box": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}},
                ],
            },
            "http://img/a.jpg",
        ),
        (
            "b.png",
            {
                "metadata": {"caption": "ünïcödé"},
                "objects": [
                    {"class": "dog", "bounding_box": {"xmin": 0.0, "ymin": 0.0, "xmax": 0.5, "ymax": 0.5}, "iscrowd": 1}
                ],
            },
            base64.b64encode(inline).decode(),
        ),
    ]
    path = tmp_path / "val.tsv"
    path.write_text(
        "".join(f"{key}\t{json.dumps(data, ensure_ascii=False)}\t{content}\n" for key, data, content in lines),
        encoding="utf-8",
    )
    preds = [
        (
            "a.jpg",
            [{"class": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.2, "xmax": 0.5, "ymax": 0.6}, "conf": 0.8}],
        ),
        ("b.png", []),
    ]
    (tmp_path / "val.yolo.pred").write_text("".join(f"{k}\t{json.dumps({'objects': o})}\n" for k, o in preds))
    return path, inline


def _normalised(dataset_id: str) -> dict:
    out = {}
    for image in Image(dataset_id).find_many({}, to_dict=True):
        objects = []
        for obj in image["objects"]:
            obj = {k: v for k, v in obj.items() if k not in ("label_id", "category_id")}
            obj["alpha"] = (_range_bytes(obj["alpha"]) or b"").decode()
            obj["bounding_box"] = {k: round(v, 6) for k, v in obj["bounding_box"].items()}
            objects.append(json.dumps(obj, sort_keys=True))
        out[image["source_key"]] = (sorted(objects), json.loads(image["metadata"]), image["width"], image["height"])
    return out


def test_tsv_import_with_inline_images_non_ascii_and_sidecar(db, tmp_path):
    path, inline = _write_tsv(tmp_path)
    dataset = DataSet.get_importing_dataset("val", id_="tsv1")
    result = run_import(dataset, TsvImporter(str(path)))
    assert result.num_images == 2
    a, b = Image("tsv1").find_one({"id": 0}), Image("tsv1").find_one({"id": 1})
    assert a.url == "http://img/a.jpg"
    assert (a.width, a.height) == (100, 50)
    assert [(o.label_name, o.label_type, o.category_name) for o in a.objects] == [
        ("GroundTruth", "GT", "cat"),
        ("yolo", "Pred", "cat"),
    ]  # the class-less object is skipped, as DDS
    assert a.objects[0].bounding_box == pytest.approx({"xmin": 0.1, "ymin": 0.2, "xmax": 0.5, "ymax": 0.6})
    assert a.objects[0].segmentation == "10,10,40,10,40,30"
    assert a.objects[1].conf == 0.8
    # Byte offsets survive the non-ASCII text earlier on the lines.
    assert base64.b64decode(_range_bytes(b.url)) == inline
    assert (b.width, b.height) == (40, 20)
    assert base64.b64decode(_range_bytes(a.objects[0].alpha)).startswith(b"\x89PNG")
    assert b.objects[0].is_group is True
    assert json.loads(a.metadata)["note"] == "naïve café 猫"


def test_tsv_round_trip(db, tmp_path):
    path, _ = _write_tsv(tmp_path)
    run_import(DataSet.get_importing_dataset("val", id_="tsv1"), TsvImporter(str(path)))
    out = tmp_path / "out" / "copy.tsv"
    export_tsv("tsv1", out)
    assert (tmp_path / "out" / "copy.yolo.pred").exists()
    run_import(DataSet.get_importing_dataset("copy", id_="tsv2"), TsvImporter(str(out)))
    assert _normalised("tsv2") == _normalised("tsv1")


def test_tsv_reimport_matches_user_annotations_by_image_id_not_line(db, tmp_path):
    path, _ = _write_tsv(tmp_path)
    run_import(DataSet.get_importing_dataset("val", id_="tsv1"), TsvImporter(str(path), predictions={}))
    Image("tsv1").find_one({"id": 1}).add_annotation("dog", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[1] + lines[0])  # b.png is now on the first line
    result = run_import(DataSet.objects.get(pk="tsv1"), TsvImporter(str(path), predictions={}))
    assert result.carried_images == 1
    first = Image("tsv1").find_one({"id": 0})
    assert first.url.startswith("/files/local_files/")
    assert [o.label_name for o in first.objects][-1] == "mine"
    assert all(o.label_type != "User" for o in Image("tsv1").find_one({"id": 1}).objects)


def test_tsv_bad_input(db, tmp_path):
    path, _ = _write_tsv(tmp_path)
    (tmp_path / "val.yolo.pred").write_text('zzz.jpg\t{"objects": []}\n')
    with pytest.raises(ImportFormatError, match="image id differs from the TSV line's") as excinfo:
        run_import(DataSet.get_importing_dataset("val", id_="tsv1"), TsvImporter(str(path)))
    assert excinfo.value.detail["file"].endswith("val.yolo.pred")
    assert excinfo.value.detail["record"] == "line 1"
    path.write_text("x.jpg\t{not json}\thttp://img/x.jpg\n")
    with pytest.raises(ImportFormatError, match="malformed JSON"):
        run_import(DataSet.objects.get(pk="tsv1"), TsvImporter(str(path), predictions={}))
    path.write_text(
        'x.jpg\t{"metadata": {"width": 10, "height": 10}, "objects": [{"class": "a", '
        '"bounding_box": {"xmin": 1.2, "ymin": 0, "xmax": 1.9, "ymax": 1}}]}\thttp://img/x.jpg\n'
    )
    with pytest.raises(ImportFormatError, match="outside") as excinfo:
        run_import(DataSet.objects.get(pk="tsv1"), TsvImporter(str(path), predictions={}))
    assert excinfo.value.detail["record"] == "line 1 objects[0]"
    assert Image("tsv1").count_num({}) == 0
    assert DataSet.objects.get(pk="tsv1").status == "failed"
