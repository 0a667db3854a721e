"""TSV round trips: images imported from files keep their local-file URLs through export -> import ->
export (the TSV reader takes them as URLs, not as inline image data), byte for byte."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from PIL import Image as PILImage

from datasets.images import Image
from tests.datasets.coco_generator import generate_coco


def _export(dataset_id: str, output: Path, predictions: list[str]) -> dict[str, bytes]:
    args = ["export_tsv", dataset_id, str(output)]
    for name in predictions:
        args += ["--prediction", name]
    call_command(*args, verbosity=0)
    return {path.name: path.read_bytes() for path in sorted(output.parent.iterdir())}


def test_tsv_export_import_export_keeps_local_file_images(db, tmp_path):
    coco = generate_coco(num_images=6, prediction_sets=("detA", "detB"))
    images = tmp_path / "images"
    images.mkdir()
    for image in coco.gt["images"]:
        PILImage.new("RGB", (image["width"], image["height"]), "white").save(images / image["file_name"])
    gt, predictions = coco.write(tmp_path / "coco")
    args = ["import_coco", str(gt), "--image-root", str(images), "--dataset-id", "first"]
    for name, path in predictions.items():
        args += ["--prediction", f"{name}={path}"]
    call_command(*args, verbosity=0)

    first = _export("first", tmp_path / "one" / "val.tsv", ["detA", "detB"])
    assert set(first) == {"val.tsv", "val.detA.pred", "val.detB.pred"}
    call_command("import_tsv", str(tmp_path / "one" / "val.tsv"), "--dataset-id", "second", verbosity=0)
    second = _export("second", tmp_path / "two" / "val.tsv", ["detA", "detB"])
    assert first == second
    urls = {image.url for image in Image("first").find_many({})}
    assert {image.url for image in Image("second").find_many({})} == urls
    assert all(url.startswith("/files/local_files/b/1/") for url in urls)
