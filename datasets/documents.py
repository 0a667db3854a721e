"""The stored shapes of the datasets app's documents, each built in one place (reference §3).

``object_document`` (an annotation inside an image), ``image_document`` (``images@dataset_<id>``),
``label_document`` (``labels``) and ``category_document`` (``categories``) return the dicts that are
written, field for field and in ``Object`` / ``ImageModel`` field order, whoever writes them: the
seed API, the batch buffer, the importers, the label-project export. They take values that are
already checked and formatted (``datasets.objects`` formats raw input), and stay plain Python:
an import builds millions of them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from datasets.names import NAME_KEY, image_name_key
from datasets.store.revisions import REVISION, new_revision
from dds_site.documents import md5_id

if TYPE_CHECKING:
    from datasets.images import ImageModel
    from datasets.objects import Number

# Extra image field (not in DDS's ImageModel): the stable identity of an image in its source
# (COCO id, file name, TSV image id) so a re-import re-attaches user annotations and flags to
# the same picture even when ids or line numbers change (DDS matched by line index, §12.22).
SOURCE_KEY = "source_key"


@functools.lru_cache(maxsize=65536)
def label_id_for(dataset_id: str, name: str) -> str:
    """DDS's id of a label set or a category: md5 of ``"<dataset_id>_<name>"``.

    Memoised: an import asks for the same few names millions of times.
    """
    return md5_id(f"{dataset_id}_{name}")


# DDS derives both ids the same way; two names say which one a caller means.
category_id_for = label_id_for


def label_document(dataset_id: str, name: str, label_type: str) -> dict:
    """A new label set (``labels``), before any FN/FP analysis or clone."""
    return {
        "_id": label_id_for(dataset_id, name),
        "name": name,
        "type": label_type,
        "dataset_id": dataset_id,
        "compare_precisions": [],
        "clone_from_label": "",
    }


def category_document(dataset_id: str, name: str) -> dict:
    """A category of a dataset (``categories``)."""
    return {"_id": category_id_for(dataset_id, name), "name": name, "dataset_id": dataset_id}


def insert_only(document: dict) -> tuple[dict, dict]:
    """Filter and update of an upsert that creates ``document`` unless its ``_id`` exists (get-or-create)."""
    fields = dict(document)
    return {"_id": fields.pop("_id")}, {"$setOnInsert": fields}


def object_document(
    *,
    label_name: str,
    label_type: str,
    label_id: str,
    category_name: str,
    category_id: str,
    conf: Number = 1.0,
    is_group: bool | None = False,
    bounding_box: dict | None = None,
    segmentation: str | None = "",
    alpha: str | None = "",
    points: Sequence[Number] | None = None,
    lines: Sequence[int] | None = None,
    point_colors: Sequence[int] | None = None,
    point_names: Sequence[str] | None = None,
    caption: str | None = "",
    confirm_type: int | None = 0,
    mask: dict | None = None,
) -> dict:
    """An annotation as stored in an image's ``objects``: a normalised box, ``"x,y,.../..."`` polygons,
    6 numbers per keypoint, an RLE ``mask``; the FN/FP fields start empty."""
    return {
        "label_name": label_name,
        "label_type": label_type,
        "label_id": label_id,
        "category_id": category_id,
        "category_name": category_name,
        "conf": conf,
        "is_group": is_group,
        "bounding_box": bounding_box or {},
        "segmentation": segmentation or "",
        "alpha": alpha or "",
        "points": list(points or ()),
        "lines": list(lines or ()),
        "point_colors": list(point_colors or ()),
        "point_names": list(point_names or ()),
        "caption": caption or "",
        "confirm_type": confirm_type,
        "compare_result": {},
        "matched_det_idx": None,
        "mask": dict(mask) if mask else {},
    }


def image_document(
    *,
    image_id: int,
    idx: int,
    url: str,
    dataset_id: str,
    type: str | None,
    url_full_res: str = "",
    objects: Iterable[dict] = (),
    width: int | None = None,
    height: int | None = None,
    metadata: str = "{}",
    flag: int = 0,
    flag_ts: int = 0,
    num_fn: dict | None = None,
    num_fn_cat: dict | None = None,
    num_fp: dict | None = None,
    num_fp_cat: dict | None = None,
    label_confirm: dict | None = None,
    name_key: str = "",
    source_key: str | None = None,
) -> dict:
    """An image as stored in ``images@dataset_<id>``, with a new revision.

    ``metadata`` is the JSON string DDS stores; ``source_key`` is set by imports only. ``name_key``
    is derived from the URLs (``datasets.names``); the one given (the key a stored image has) is
    kept only by an image with no file of its own and no source key.
    """
    document: dict[str, Any] = {
        "_id": image_id,
        "idx": idx,
        "url": url,
        "dataset_id": dataset_id,
        "type": type,
        "url_full_res": url_full_res,
        "objects": list(objects),
        "width": width,
        "height": height,
        "metadata": metadata,
        "flag": flag,
        "flag_ts": flag_ts,
        "num_fn": num_fn or {},
        "num_fn_cat": num_fn_cat or {},
        "num_fp": num_fp or {},
        "num_fp_cat": num_fp_cat or {},
        "label_confirm": label_confirm or {},
        NAME_KEY: image_name_key(url, url_full_res, source_key or name_key),
    }
    if source_key is not None:
        document[SOURCE_KEY] = source_key
    document[REVISION] = new_revision()
    return document


def image_document_of(image: ImageModel) -> dict:
    """The stored form of a validated ``ImageModel`` and its objects.

    Read from the field values directly: equivalent to ``model_dump()`` for these plain-typed
    models and an order of magnitude cheaper (pydantic's serializer was the largest client-side
    cost of an import). A field added to ``ImageModel`` but not to ``image_document`` is a TypeError.
    """
    fields = dict(image.__dict__)
    objects = [dict(obj.__dict__) for obj in fields.pop("objects")]
    return image_document(image_id=fields.pop("id"), objects=objects, **fields)
