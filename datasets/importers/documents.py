"""Turn parsed records into DDS image documents (reference §3.3, §3.4), with the shared builders.

Records are checked by the importers already, so the pixel-to-stored conversions here do not
check again: an import converts millions of annotations.
"""

from __future__ import annotations

import json

from datasets.documents import SOURCE_KEY, category_id_for, image_document, label_id_for, object_document
from datasets.importers.records import AnnotationRecord, ImageRecord
from datasets.objects import keypoint_points, normalised_box, polygons_text

__all__ = ["SOURCE_KEY", "image_record_document", "object_record_document"]


def object_record_document(ann: AnnotationRecord, image: ImageRecord, dataset_id: str) -> dict:
    """The stored ``Object`` dict of one annotation: normalised box, string polygons, 6-number keypoints."""
    points = keypoint_points(ann.keypoints) if ann.keypoints else []
    return object_document(
        label_name=ann.label,
        label_type=ann.label_type,
        label_id=label_id_for(dataset_id, ann.label),
        category_name=ann.category,
        category_id=category_id_for(dataset_id, ann.category) if ann.category else "",
        conf=ann.conf,
        is_group=ann.is_group,
        bounding_box=normalised_box(image.width, image.height, ann.bbox) if ann.bbox is not None else {},
        segmentation=polygons_text(ann.polygons),
        alpha=ann.alpha,
        points=points,
        # a skeleton, colours or names without keypoints mean nothing: not stored
        lines=ann.keypoint_skeleton if points else None,
        point_colors=ann.keypoint_colors if points else None,
        point_names=ann.keypoint_names if points else None,
        caption=ann.caption,
        mask=ann.mask,
    )


def image_record_document(
    image: ImageRecord, *, image_id: int, idx: int, dataset_id: str, dataset_type: str | None
) -> dict:
    """The stored image document of one record (``_id`` is the integer image id)."""
    return image_document(
        image_id=image_id,
        idx=idx,
        url=image.url,
        dataset_id=dataset_id,
        type=dataset_type,
        url_full_res=image.url_full_res or image.url,
        objects=[object_record_document(ann, image, dataset_id) for ann in image.annotations],
        width=image.width,
        height=image.height,
        metadata=json.dumps(image.metadata, ensure_ascii=False),
        source_key=image.key,
    )
