"""``lpexport --format coco``: original file names, and task images whose dataset image is gone are
left out (and counted) instead of written with a 0x0 size."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from datasets.images import Image
from tests.labeling.conftest import make_project


def test_lpexport_coco_writes_file_names_and_leaves_out_images_that_are_gone(users, small_datasets, tmp_path):
    dataset_id = small_datasets[0].pk
    project = make_project(users, small_datasets[:1], batch_size=4, label_times=1, review_times=0)
    images = Image(dataset_id)
    url = images.find_one({"id": 3}).url
    images.update_one({"id": 2}, {"metadata": json.dumps({"file_name": "park/0002.jpg"})})
    images.delete_many({"id": {"$in": [0, 1]}})  # as a re-import that no longer has them

    err = StringIO()
    call_command("lpexport", project.pk, "--format", "coco", "--output", str(tmp_path), stdout=StringIO(), stderr=err)
    (path,) = tmp_path.glob("*/*.coco.json")
    coco = json.loads(path.read_text())
    by_id = {image["id"]: image for image in coco["images"]}
    assert sorted(by_id) == list(range(2, 10))
    assert all(image["width"] and image["height"] for image in coco["images"])
    assert by_id[2]["file_name"] == "park/0002.jpg"
    assert by_id[3]["file_name"] == url.rsplit("/", 1)[-1]
    assert "://" not in by_id[3]["file_name"]
    assert f"{path}: 2 task images no longer in the dataset, left out" in err.getvalue()
