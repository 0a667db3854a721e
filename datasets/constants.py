"""DDS constants of the dataset side (reference §5) that are not model choices."""

from __future__ import annotations

MAX_IMAGE_NUMBER = 2**53  # ids and idx must fit MongoDB's int64; larger input is a 400, not a 500


class AnnotationType:
    """Kinds of annotation a dataset holds (``DataSet.object_types``)."""

    CLASSIFICATION = "Classification"
    DETECTION = "Detection"
    SEGMENTATION = "Segmentation"
    MATTING = "Matting"
    KEYPOINTS = "KeyPoints"
    MASK = "Mask"


class LabelName:
    """Reserved label-set names."""

    GROUND_TRUTH = "GroundTruth"
    USER_ANNOTATION = "UserAnnotation"


class ImageFlag:
    NONE = 0
    POSITIVE = 1
    NEGATIVE = 2
    ALL = frozenset({0, 1, 2})


# Statuses whose images may not be read (DDS's ``DatasetStatus.DontRead_``).
DONT_READ_STATUSES = frozenset({"waiting", "importing", "processing", "failed"})

COCO_KEYPOINT_NAMES = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]

# 17 RGB triples, one per COCO keypoint.
COCO_KEYPOINT_COLORS = [
    128, 0, 0, 255, 178, 102, 230, 230, 0, 255, 51, 255, 153, 204, 255, 255, 128, 0,
    0, 255, 255, 128, 0, 255, 51, 153, 255, 169, 165, 139, 255, 0, 0, 102, 255, 102,
    184, 97, 134, 128, 128, 0, 255, 190, 255, 0, 128, 0, 0, 0, 255,
]  # fmt: skip

# 19 pairs of 0-based keypoint indices.
COCO_KEYPOINT_SKELETON = [
    15, 13, 13, 11, 16, 14, 14, 12, 11, 12, 5, 11, 6, 12, 5, 6, 5, 7, 6, 8,
    7, 9, 8, 10, 1, 2, 0, 1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 6,
]  # fmt: skip
