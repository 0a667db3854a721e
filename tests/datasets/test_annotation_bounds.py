"""The model API refuses annotations MongoDB cannot store, or with more points than allowed, writing nothing."""

from __future__ import annotations

import pytest

from datasets.errors import InvalidDatasetArgument
from dds_site.errors import PayloadTooLarge

KEYPOINT = [10, 20, 2, 0.9]  # x, y, visibility, conf


@pytest.fixture
def image(dataset):
    return dataset.add_image("http://img/cat.jpg", width=640, height=480)


def _stored_objects(image) -> list:
    return type(image).find_one({"id": image.id}).objects


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bbox": (0, 0, 10**30, 1)},
        {"bbox": (0, 0, float("inf"), 1)},
        {"segmentation": [[0, 0, 1, 1, 10**400, 0]]},
        {"segmentation": [[0, 0, 1, 1, -(2**63) - 1, 0]]},
        {"segmentation": [[0.5, 0.5, 1.5, float("nan"), 2.5, 0.5]]},
        {"segmentation": [[0, 0, True, 1, 1, 0]]},
        {"segmentation": [[0, 0, 1, 1, "2", 0]]},
        {"keypoints": [10**400, *KEYPOINT[1:]]},
        {"keypoints": [1, 2, float("nan"), 1]},
        {"keypoints": KEYPOINT, "keypoint_colors": [10**30, 0, 0]},
        {"keypoints": KEYPOINT, "keypoint_skeleton": [0, 2**63]},
        {"conf": 10**400},
        {"conf": float("inf")},
        {"confirm_type": 2**63},
    ],
)
def test_numbers_mongodb_cannot_store_are_refused(image, kwargs):
    with pytest.raises(InvalidDatasetArgument) as caught:
        image.add_annotation("cat", **kwargs)
    assert caught.value.code == 400002
    assert isinstance(caught.value, ValueError)
    assert _stored_objects(image) == []


def test_int64_edges_and_finite_floats_are_kept(image):
    image.add_annotation("cat", bbox=(0, 0, 64, 48), conf=0.5, confirm_type=2**63 - 1, keypoints=KEYPOINT)
    (stored,) = _stored_objects(image)
    assert stored.confirm_type == 2**63 - 1
    assert stored.conf == 0.5
    assert stored.points[:2] == [10.0, 20.0]


def test_polygons_of_any_storable_numbers_are_kept(image):
    # All ints at the int64 edges; mixed ints and floats; finite floats whose sum is not finite.
    polygons = [[2**63 - 1, -(2**63), 1, 1, 2, 2], [0, 0.5, 1, 1.5, 2, 2.5], [1e308, 1e308, 1e308, 0.0, 0.0, 1e308]]
    image.add_annotation("cat", segmentation=polygons)
    (stored,) = _stored_objects(image)
    assert stored.segmentation == "/".join(",".join(map(str, polygon)) for polygon in polygons)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keypoints": KEYPOINT * 5},
        {"segmentation": [[0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5]]},  # 6 points in two polygons
        {"keypoints": KEYPOINT, "keypoint_colors": [0, 0, 0] * 5},
        {"keypoints": KEYPOINT, "keypoint_skeleton": [0, 0] * 5},
    ],
)
def test_more_points_than_allowed_is_a_413(image, settings, kwargs):
    settings.DDS_MAX_POINTS_PER_OBJECT = 4
    with pytest.raises(PayloadTooLarge) as caught:
        image.add_annotation("cat", **kwargs)
    assert caught.value.code == 413000
    assert caught.value.detail["limit"] == 4
    assert isinstance(caught.value, ValueError)  # DDS raised ValueError for bad annotations
    assert _stored_objects(image) == []


def test_batch_annotations_are_checked_as_well(dataset, settings):
    settings.DDS_MAX_POINTS_PER_OBJECT = 4
    image = dataset.batch_add_image("http://img/dog.jpg", width=640, height=480)
    with pytest.raises(PayloadTooLarge):
        image.batch_add_annotation("dog", keypoints=KEYPOINT * 5)
    with pytest.raises(InvalidDatasetArgument):
        image.batch_add_annotation("dog", bbox=(0, 0, 10**30, 1))
    image.batch_add_annotation("dog", keypoints=KEYPOINT * 4)
    dataset.finish_batch_add_image()
    (stored,) = _stored_objects(image)
    assert len(stored.points) == 4 * 6
