"""COCO round trips on generated data: export -> import -> export gives the same bytes, and the first
export keeps what the source file said (category ids, supercategories, info, licenses, image fields)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command

from datasets.models import Category, DataSet
from tests.datasets.coco_generator import CATEGORIES, INFO, LICENSES, generate_coco


def _import(gt: Path, predictions: dict[str, Path], dataset_id: str, *extra: str) -> None:
    args = [str(gt), "--dataset-id", dataset_id, *extra]
    for name, path in predictions.items():
        args += ["--prediction", f"{name}={path}"]
    call_command("import_coco", *args, verbosity=0)


def _export(dataset_id: str, folder: Path, names: list[str]) -> dict[str, bytes]:
    out = {"gt": folder / "gt.json"}
    call_command("export_coco", dataset_id, str(out["gt"]), verbosity=0)
    for name in names:
        out[name] = folder / f"{name}.json"
        call_command("export_coco", dataset_id, str(out[name]), "--results", name, verbosity=0)
    return {key: path.read_bytes() for key, path in out.items()}


def _round_trip(tmp_path: Path, **generate) -> tuple[dict, dict[str, bytes], dict[str, bytes]]:
    coco = generate_coco(**generate)
    gt, predictions = coco.write(tmp_path / "source")
    _import(gt, predictions, "first")
    first = _export("first", tmp_path / "first", list(predictions))
    again = {name: tmp_path / "first" / f"{name}.json" for name in predictions}
    _import(tmp_path / "first" / "gt.json", again, "second")
    second = _export("second", tmp_path / "second", list(predictions))
    return coco.gt, first, second


def test_coco_export_import_export_is_byte_identical(db, tmp_path):
    source, first, second = _round_trip(tmp_path, num_images=15)
    assert first.keys() == second.keys() == {"gt", "detA", "detB"}
    for key in first:
        assert first[key] == second[key], key
    exported = json.loads(first["gt"])
    kinds = {
        "polygon": any(isinstance(a.get("segmentation"), list) and a["segmentation"] for a in exported["annotations"]),
        "rle": any(isinstance(a.get("segmentation"), dict) and a["iscrowd"] for a in exported["annotations"]),
        "keypoints": any(a.get("keypoints") for a in exported["annotations"]),
        "caption": any(a.get("caption") for a in exported["annotations"]),
    }
    assert all(kinds.values()), kinds
    assert len(exported["annotations"]) == len(source["annotations"])


def test_coco_export_keeps_source_category_ids_supercategories_info_and_licenses(db, tmp_path):
    source, first, _ = _round_trip(tmp_path, num_images=8)
    exported = json.loads(first["gt"])
    assert exported["info"] == INFO
    assert exported["licenses"] == LICENSES
    by_id = {c["id"]: c for c in exported["categories"]}
    for category in CATEGORIES:
        assert by_id[category["id"]]["name"] == category["name"]
        assert by_id[category["id"]]["supercategory"] == category["supercategory"]
    assert by_id[1]["keypoints"] == CATEGORIES[3]["keypoints"]
    assert by_id[1]["skeleton"] == CATEGORIES[3]["skeleton"]
    # Each annotation keeps its category id and image fields survive.
    source_pairs = sorted((a["image_id"], a.get("category_id", 0)) for a in source["annotations"])
    exported_pairs = sorted((a["image_id"], a["category_id"]) for a in exported["annotations"])
    assert exported_pairs == source_pairs
    source_images = {image["id"]: image for image in source["images"]}
    for image in exported["images"]:
        assert image == source_images[image["id"]]
    results = json.loads(first["detA"])
    assert {r["category_id"] for r in results} <= {c["id"] for c in CATEGORIES}


def test_categories_are_stored_with_their_source_id_and_dataset_with_info(db, tmp_path):
    coco = generate_coco(num_images=4)
    gt, predictions = coco.write(tmp_path)
    _import(gt, predictions, "ds")
    stored = {c.name: (c.source_id, c.supercategory) for c in Category.objects.filter(dataset_id="ds")}
    assert stored == {c["name"]: (c["id"], c["supercategory"]) for c in CATEGORIES}
    assert DataSet.objects.get(pk="ds").source_info == {"format": "coco", "info": INFO, "licenses": LICENSES}


def test_categories_without_a_source_id_are_numbered_after_the_source_ids(db, tmp_path):
    coco = generate_coco(num_images=3)
    gt, _ = coco.write(tmp_path)
    _import(gt, {}, "ds")
    from datasets.images import Image

    image = Image("ds").find_one({})
    image.add_annotation("aardvark", label="mine", label_type="User", bbox=(1, 1, 5, 5))
    out = tmp_path / "out.json"
    call_command("export_coco", "ds", str(out), verbosity=0)
    categories = json.loads(out.read_text())["categories"]
    ids = {c["name"]: c["id"] for c in categories}
    assert ids["aardvark"] == max(c["id"] for c in CATEGORIES) + 1
    assert ids["zebra"] == 7


def test_a_reimport_updates_the_source_ids_of_existing_categories(db, tmp_path):
    coco = generate_coco(num_images=3, prediction_sets=())
    gt, _ = coco.write(tmp_path / "one")
    _import(gt, {}, "ds")
    coco.gt["categories"] = [{**c, "id": c["id"] + 100} if c["name"] == "zebra" else c for c in CATEGORIES]
    for ann in coco.gt["annotations"]:
        if ann.get("category_id") == 7:
            ann["category_id"] = 107
    gt, _ = coco.write(tmp_path / "two")
    _import(gt, {}, "ds")
    assert Category.objects.get(dataset_id="ds", name="zebra").source_id == 107
    assert Category.objects.get(dataset_id="ds", name="apple").source_id == 11
