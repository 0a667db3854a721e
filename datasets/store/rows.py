"""Raw writes to the ORM collections of the datasets app (``DataSet``, ``Label``, ``Category``).

Only what the ORM cannot say: atomic array unions, writes into ``detail_status``, idempotent
upserts by DDS's md5 ids, and deletes that must not run Django's cascade collector. Collections
are named by the models' ``db_table``; every write joins the open transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from pymongo import ReturnDocument, UpdateOne

from datasets.models import Category, DataSet, Label
from dds_site import mongo


def _collection(model):
    return mongo.get_collection(model._meta.db_table)


def dataset_add_object_types(dataset_id: str, object_types: list[str]) -> None:
    """Add annotation types to the dataset's ``object_types`` (a union, never a replacement)."""
    _collection(DataSet).update_one(
        {"_id": dataset_id},
        {"$addToSet": {"object_types": {"$each": list(object_types)}}},
        session=mongo.current_session(),
    )


def dataset_set_detail(dataset_id: str, key: str, value: object, **fields: object) -> None:
    """Set ``detail_status[key]`` (e.g. DDS's processor states) and any top-level ``fields``."""
    spec = {f"detail_status.{key}": value, **fields}
    _collection(DataSet).update_one({"_id": dataset_id}, {"$set": spec}, session=mongo.current_session())


def dataset_delete_rows(dataset_id: str) -> None:
    """Delete the dataset's categories, labels and the dataset itself (no images: see collections)."""
    session = mongo.current_session()
    _collection(Category).delete_many({"dataset_id": dataset_id}, session=session)
    _collection(Label).delete_many({"dataset_id": dataset_id}, session=session)
    _collection(DataSet).delete_one({"_id": dataset_id}, session=session)


def labels_delete(dataset_id: str, label_ids: Iterable[str]) -> None:
    """Delete these label sets of the dataset (their objects are gone already: see the import's swap)."""
    ids = list(label_ids)
    if ids:
        _collection(Label).delete_many({"dataset_id": dataset_id, "_id": {"$in": ids}}, session=mongo.current_session())


def _insert_only(document: dict) -> tuple[dict, dict]:
    """Filter and update of an upsert that creates ``document`` unless its ``_id`` exists."""
    fields = dict(document)
    return {"_id": fields.pop("_id")}, {"$setOnInsert": fields}


def label_get_or_create(document: dict) -> dict:
    """The stored label set with ``document["_id"]``, created from ``document`` if new (one atomic step)."""
    return _collection(Label).find_one_and_update(
        *_insert_only(document), upsert=True, return_document=ReturnDocument.AFTER, session=mongo.current_session()
    )


def labels_get_or_create(documents: Iterable[dict]) -> None:
    """Create the label sets (documents with ``_id``) that do not exist yet (idempotent)."""
    _upsert_many(Label, documents)


def categories_get_or_create(documents: Iterable[dict]) -> None:
    """Create the categories (documents with ``_id``) that do not exist yet (idempotent)."""
    _upsert_many(Category, documents)


def _upsert_many(model, documents: Iterable[dict]) -> None:
    requests = [UpdateOne(*_insert_only(document), upsert=True) for document in documents]
    if requests:
        _collection(model).bulk_write(requests, ordered=False, session=mongo.current_session())
