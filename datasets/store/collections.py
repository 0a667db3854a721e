"""The per-dataset image collections: their names, indexes, and whole-collection operations.

``images@dataset_<id>`` holds a dataset's images; an import writes into a staging collection of
its own attempt, ``images@dataset_<id>@staging_<attempt>``, and renames it over the live one.
The first time a process touches an image collection its indexes are created, once.
"""

from __future__ import annotations

import re
import threading

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from datasets.names import NAME_KEY
from datasets.store.revisions import REVISION
from dds_site import mongo

_STAGING = "@staging"
IMAGE_INDEXES = (
    ("idx", ASCENDING),
    ("objects.category_id", ASCENDING),
    (REVISION, ASCENDING),
    (NAME_KEY, ASCENDING),  # ?file_name= prefix ranges
)
_LIVE_IMAGE_COLLECTION = "^images@dataset_[^@]+$"
_NAMESPACE_NOT_FOUND = 26
ImageCollection = Collection  # the type of what ``image_collection`` returns

_indexed_lock = threading.Lock()
_indexed: set[tuple[str, str]] = set()


def image_collection_name(dataset_id: str) -> str:
    return f"images@dataset_{dataset_id}"


def staging_collection_name(dataset_id: str, attempt: str) -> str:
    """Where one import attempt writes the images it swaps in at the end.

    One per attempt, so the late writes of an attempt declared dead can never land in the
    collection of a later one.
    """
    return f"{image_collection_name(dataset_id)}{_STAGING}_{attempt}"


def legacy_staging_collection_name(dataset_id: str) -> str:
    """The one staging collection per dataset of earlier versions."""
    return f"{image_collection_name(dataset_id)}{_STAGING}"


def staging_collection_names(dataset_id: str) -> list[str]:
    """The staging collections of the dataset that exist: per attempt, and an earlier version's."""
    pattern = f"^{re.escape(legacy_staging_collection_name(dataset_id))}(_[0-9a-f]+)?$"
    return sorted(mongo.get_database().list_collection_names(filter={"name": {"$regex": pattern}}))


def live_image_collection_names() -> list[str]:
    """The live image collections of the database (not the staging collections of imports)."""
    return sorted(mongo.get_database().list_collection_names(filter={"name": {"$regex": _LIVE_IMAGE_COLLECTION}}))


def collection_exists(name: str) -> bool:
    return name in mongo.get_database().list_collection_names(filter={"name": name})


def raw_image_collection(name: str) -> Collection:
    """An image (or staging) collection by name, without creating its indexes."""
    return mongo.get_collection(name)


def image_collection(dataset_id: str) -> Collection:
    """The dataset's live image collection, indexed."""
    collection = mongo.get_collection(image_collection_name(dataset_id))
    _ensure_indexes(collection, force=False)
    return collection


def ensure_image_indexes(name: str, *, force: bool = False) -> None:
    """Create the image indexes of collection ``name`` once per process (``force`` re-issues them)."""
    _ensure_indexes(mongo.get_collection(name), force=force)


def _ensure_indexes(collection: Collection, *, force: bool) -> None:
    key = (collection.database.name, collection.name)
    if not force and key in _indexed:
        return
    with _indexed_lock:
        if not force and key in _indexed:
            return
        for field, direction in IMAGE_INDEXES:
            collection.create_index([(field, direction)])
        _indexed.add(key)


def drop_image_collection(name: str) -> None:
    """Drop an image (or staging) collection; idempotent. A re-creation re-creates its indexes."""
    database = mongo.get_database()
    database.drop_collection(name)
    with _indexed_lock:
        _indexed.discard((database.name, name))


def rename_image_collection(source: str, target: str) -> bool:
    """Rename ``source`` over ``target`` (replacing it); False if ``source`` no longer exists."""
    database = mongo.get_database()
    try:
        database.client.admin.command(
            "renameCollection", f"{database.name}.{source}", to=f"{database.name}.{target}", dropTarget=True
        )
    except OperationFailure as exc:
        if exc.code != _NAMESPACE_NOT_FOUND:
            raise
        return False
    finally:
        with _indexed_lock:
            _indexed.discard((database.name, source))
    return True


def in_transaction() -> bool:
    """Whether a ``django_mongodb_backend`` transaction is open (the store's writes then join it)."""
    return mongo.current_session() is not None
