"""Reading a dataset's images and objects for the labeling workflow, through the datasets store."""

from __future__ import annotations

from collections.abc import Iterator

from datasets import store
from datasets.images import Image


def images_collection(dataset_id: str):
    return Image(dataset_id).get_collection()


def iter_images(dataset_id: str, *, with_objects: bool = False, batch_size: int = 1000) -> Iterator[dict]:
    """Stream a dataset's images in DDS's task order (idx, id) with only the fields tasks need."""
    projection = {"_id": 1, "idx": 1, "url": 1, "url_full_res": 1}
    if with_objects:
        projection["objects"] = 1
    yield from store.images_by_idx(dataset_id, projection, batch_size=batch_size)


def images_by_ids(dataset_id: str, image_ids: list[int], projection: dict | None = None) -> dict[int, dict]:
    return store.images_by_ids(dataset_id, image_ids, projection)
