"""Bad input to the label endpoint is a typed 4xx, never a 500, and writes nothing.

Numbers MongoDB cannot store, too many annotations or points, too deep a body, and a submission
whose document would outgrow MongoDB's 16 MB.
"""

from __future__ import annotations

import json

import pytest

from labeling.errors import LabelTaskError
from labeling.models import TaskRole
from labeling.workflow import Role
from tests.labeling.conftest import client_for, staffed_task
from tests.labeling.helpers import assert_counters_equal_recount, images_of

BASE = "/api/v1/label-projects"
KEYPOINT = [10, 20, 0, 1, 2, 1]  # x, y, z, w, visibility, conf


@pytest.fixture
def labeling(users, small_datasets):
    """A working task with one labeler; yields (labeler client, label URL of its first image, image, task)."""
    task = staffed_task(users, small_datasets[:1], label_times=1, review_times=1)
    image = images_of(task)[0]
    url = f"{BASE}/{task.project_id}/tasks/{task.pk}/images/{image.id}/label"
    return client_for(users["labeler"][0]), url, image, task


def _post(client, url, body: str):
    return client.post(url, data=body, content_type="application/json")


def _label(client, url, annotations: list):
    return _post(client, url, json.dumps({"annotations": annotations}, separators=(",", ":")))


def _assert_unlabeled(image, task) -> None:
    fresh = images_of(task)[0]
    assert fresh.id == image.id
    assert fresh.labels == image.labels == {}


def _keypoints(count: int) -> list:
    return KEYPOINT * count


@pytest.mark.parametrize(
    ("annotation", "field"),
    [
        ({"points": [10**30, *KEYPOINT[1:]]}, "points"),
        ({"points": [10**400, *KEYPOINT[1:]]}, "points"),
        ({"points": KEYPOINT, "point_colors": [10**30, 0, 0]}, "point_colors"),
        ({"mask": {"counts": "ab", "size": [10**30, 4]}}, "mask"),
        ({"mask": {"counts": "ab", "size": [4, 10**400]}}, "mask"),
    ],
)
def test_numbers_beyond_int64_are_a_400(labeling, annotation, field):
    client, url, image, task = labeling
    response = _label(client, url, [{"category_name": "test", **annotation}])
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == 400228
    assert body["detail"]["index"] == 0
    assert body["detail"]["reason"].startswith(field)
    _assert_unlabeled(image, task)


def test_model_api_refuses_numbers_beyond_int64_too(labeling, users):
    _, _, image, task = labeling
    for annotation in (
        {"points": KEYPOINT, "point_colors": [10**30, 0, 0]},
        {"points": [10**400, *KEYPOINT[1:]]},
        {"mask": {"counts": "ab", "size": [2**63, 4]}},
        {"segmentation": "0,0,1,1,1e999,0"},
    ):
        with pytest.raises(LabelTaskError) as caught:
            image.set_label(task, users["labeler"][0], [{"category_name": "test", **annotation}])
        assert caught.value.code == 400228, annotation
    _assert_unlabeled(image, task)


def test_too_many_annotations_is_a_413(labeling, settings):
    settings.DDS_MAX_OBJECTS_PER_IMAGE = 3
    client, url, image, task = labeling
    box = {"category_name": "test", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}
    response = _label(client, url, [box] * 4)
    assert response.status_code == 413
    assert response.json() == {
        "code": 413000,
        "message": "At most 3 annotations per image are allowed, got 4.",
        "detail": {"field": "annotations", "limit": 3, "count": 4},
    }
    _assert_unlabeled(image, task)
    assert _label(client, url, [box] * 3).status_code == 200


def test_a_2_mb_body_of_keypoints_is_a_413_by_the_default_limit(labeling, settings):
    # 200,000 keypoints of "0," in 2.4 MB: a single task-image document of ~20 MB.
    client, url, image, task = labeling
    body = json.dumps({"annotations": [{"category_name": "test", "points": [0] * 6 * 200_000}]}, separators=(",", ":"))
    assert 2_000_000 < len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = _post(client, url, body)
    assert response.status_code == 413
    assert response.json()["detail"] == {"index": 0, "limit": settings.DDS_MAX_POINTS_PER_OBJECT, "count": 200_000}
    _assert_unlabeled(image, task)


@pytest.mark.parametrize(
    "annotation",
    [
        {"points": _keypoints(5)},
        {"points": KEYPOINT, "lines": [0, 0] * 5},
        {"segmentation": ",".join(["1"] * 10)},  # 5 x,y pairs
        {"segmentation": "1,1,2,2,3,3/4,4,5,5,6,6"},  # 6 pairs in two polygons
    ],
)
def test_too_many_points_per_annotation_is_a_413(labeling, settings, annotation):
    settings.DDS_MAX_POINTS_PER_OBJECT = 4
    client, url, image, task = labeling
    response = _label(client, url, [{"category_name": "test", **annotation}])
    assert (response.status_code, response.json()["code"]) == (413, 413000), response.content
    assert response.json()["detail"]["limit"] == 4
    _assert_unlabeled(image, task)


def test_document_over_16_mb_is_a_413_and_nothing_is_written(labeling, settings):
    # With the points limit lifted, the last line of defence: MongoDB's 16 MB per document.
    settings.DDS_MAX_POINTS_PER_OBJECT = 10**6
    client, url, image, task = labeling
    body = json.dumps({"annotations": [{"category_name": "test", "points": [0] * 6 * 200_000}]}, separators=(",", ":"))
    response = _post(client, url, body)
    assert response.status_code == 413, response.content
    assert response.json()["code"] == 413000
    assert "16 MB" in response.json()["message"]
    _assert_unlabeled(image, task)
    assert_counters_equal_recount(task)
    assert TaskRole.objects.get(task_id=task.pk, role=Role.LABELER).review_num_waiting == 0


def test_too_deeply_nested_body_is_a_400(labeling):
    client, url, image, task = labeling
    for depth in (100, 1000):
        response = _post(client, url, '{"annotations":' + "[" * depth + "]" * depth + "}")
        assert (response.status_code, response.json()["code"]) == (400, 400002), depth
        assert "nested too deeply" in response.json()["message"]
    _assert_unlabeled(image, task)
