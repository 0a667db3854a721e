"""Reads and writes of image documents (``images@dataset_<id>`` and an import's staging collection).

Every function takes the open ``django_mongodb_backend`` transaction's session when there is one,
except the writers handed to a ``BackgroundWriter`` (they run on another thread, with collections
bound on the caller's thread) and the writes into an import's staging collection, which no
transaction ever covers (it is swapped in by a rename).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.cursor import Cursor
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from datasets.names import NAME_KEY, stored_name_key
from datasets.store.collections import (
    ensure_image_indexes,
    image_collection,
    image_collection_name,
    live_image_collection_names,
    raw_image_collection,
)
from datasets.store.revisions import REVISION, new_revision, revision_since, with_new_revision
from dds_site import mongo

DUPLICATE_KEY = 11000
WRITE_CONFLICT = 112
SOURCE_KEY_INDEX = "source_key_for_late_edits"
# What an image's name key is derived from (``datasets.names.stored_name_key``).
NAME_KEY_SOURCES = ("url", "url_full_res", "source_key", NAME_KEY)
# Wraps the documents read to show progress (tqdm in commands and migrations); the identity by default.
Progress = Callable[[Iterable[dict], str], Iterable[dict]]


def _no_progress(documents: Iterable[dict], _description: str) -> Iterable[dict]:
    return documents


def _session():
    return mongo.current_session()


def _as_is(dataset_id: str) -> Collection:
    """The live image collection without creating its indexes: for reads of whole datasets by the
    importer and the FN/FP job, which must not index a collection an import is about to fill
    (unindexed inserts and one index build after are faster)."""
    return raw_image_collection(image_collection_name(dataset_id))


# --- counting and reading -------------------------------------------------------------------------


def image_count(dataset_id: str, *, estimate: bool = False) -> int:
    """Number of images of the dataset.

    ``estimate``: the collection's own count from its metadata, which costs the same for any size
    (the exact count scans on some servers); inside a transaction it is exact anyway, as the
    estimate is not allowed there and would miss the transaction's inserts.
    """
    collection = image_collection(dataset_id)
    session = _session()
    if estimate and session is None:
        return collection.estimated_document_count()
    return collection.count_documents({}, session=session)


def collection_is_empty(name: str) -> bool:
    return raw_image_collection(name).find_one({}, {"_id": 1}) is None


def image_exists(dataset_id: str, image_id: int) -> bool:
    return image_collection(dataset_id).find_one({"_id": image_id}, {"_id": 1}, session=_session()) is not None


def image_document(dataset_id: str, image_id: int, projection: dict | None = None) -> dict | None:
    """The stored document (with ``_id``) of one image, or None."""
    return image_collection(dataset_id).find_one({"_id": image_id}, projection, session=_session())


def image_cursor(dataset_id: str, projection: dict | None = None, *, batch_size: int = 1000) -> Cursor:
    """Every image document of the dataset, unsorted (the cheapest read of a whole dataset)."""
    return _as_is(dataset_id).find({}, projection, batch_size=batch_size, session=_session())


def images_by_idx(dataset_id: str, projection: dict | None = None, *, batch_size: int = 1000) -> Cursor:
    """Every image document of the dataset in DDS's order (idx, then id), through one cursor."""
    return image_cursor(dataset_id, projection, batch_size=batch_size).sort([("idx", 1), ("_id", 1)])


def images_by_id(dataset_id: str, projection: dict | None = None, *, batch_size: int = 1000) -> Cursor:
    return image_cursor(dataset_id, projection, batch_size=batch_size).sort("_id", 1)


def images_by_ids(dataset_id: str, image_ids: Iterable[int], projection: dict | None = None) -> dict[int, dict]:
    """``{image id: document}`` of the images with these ids that exist."""
    found = image_collection(dataset_id).find({"_id": {"$in": list(image_ids)}}, projection, session=_session())
    return {doc["_id"]: doc for doc in found}


def image_revisions(dataset_id: str, image_ids: Iterable[int]) -> dict[int, Any]:
    """``{image id: rev}`` of the images that exist."""
    found = _as_is(dataset_id).find({"_id": {"$in": list(image_ids)}}, {REVISION: 1}, session=_session())
    return {doc["_id"]: doc.get(REVISION) for doc in found}


def images_with_user_work(dataset_id: str, projection: dict) -> Cursor:
    """The images that carry User-type objects or a flag."""
    query = {"$or": [{"flag": {"$nin": [0, None]}}, {"objects.label_type": "User"}]}
    return _as_is(dataset_id).find(query, projection, session=_session())


def images_written_since(dataset_id: str, timestamp: float, projection: dict) -> Cursor:
    """The images written at or after ``timestamp`` (seconds), found by their indexed revision."""
    query = {REVISION: {"$gte": revision_since(timestamp)}}
    return _as_is(dataset_id).find(query, projection, session=_session())


# --- single-image writes --------------------------------------------------------------------------


def image_insert_new(dataset_id: str, document: dict) -> bool:
    """Insert a new image document (with ``_id``); False if that id was taken meanwhile."""
    try:
        image_collection(dataset_id).insert_one(document, session=_session())
    except DuplicateKeyError:
        return False
    except OperationFailure as exc:
        if exc.code != WRITE_CONFLICT:  # the same race, reported as a write conflict by some servers
            raise
        return False
    return True


def image_readd(dataset_id: str, image_id: int, fields: dict) -> dict | None:
    """Re-add an image: set ``fields``, keep only its User objects; returns the stored document.

    Its name key follows new URLs (``fields`` come from the seed API, which knows no name keys).
    """
    collection = image_collection(dataset_id)
    update = {"$set": fields, "$pull": {"objects": {"label_type": {"$ne": "User"}}}}
    collection.update_one({"_id": image_id}, with_new_revision(update), session=_session())
    if touches_name_key(fields):
        images_refresh_name_keys(image_collection_name(dataset_id), {"_id": image_id})
    return collection.find_one({"_id": image_id}, session=_session())


def image_push_object(dataset_id: str, image_id: int, obj: dict, insert_fields: dict) -> None:
    """Append an object to an image, creating the image with ``insert_fields`` if it is new."""
    image_collection(dataset_id).update_one(
        {"_id": image_id},
        with_new_revision({"$push": {"objects": obj}, "$setOnInsert": insert_fields}),
        upsert=True,
        session=_session(),
    )


def images_set_flag(dataset_id: str, image_ids: list[int], flag: int, flag_ts: int) -> None:
    """Set ``flag`` and ``flag_ts`` of the images with these ids."""
    image_collection(dataset_id).update_many(
        {"_id": {"$in": image_ids}},
        with_new_revision({"$set": {"flag": flag, "flag_ts": flag_ts}}),
        session=_session(),
    )


def label_set_objects_replace(dataset_id: str, changes: Iterable[tuple[int, str, list[dict]]]) -> None:
    """For each ``(image id, label id, objects)``, replace the image's objects of that label set.

    Pull then push: a re-run replaces the set's objects instead of adding them twice, and the other
    label sets' objects of the image are never rewritten. The labeling app's export writes through it.
    """
    operations = []
    for image_id, label_id, objects in changes:
        pull = {"$pull": {"objects": {"label_id": label_id}}}
        operations.append(UpdateOne({"_id": image_id}, with_new_revision(pull)))
        if objects:
            push = {"$push": {"objects": {"$each": objects}}}
            operations.append(UpdateOne({"_id": image_id}, with_new_revision(push)))
    if operations:
        image_collection(dataset_id).bulk_write(operations, ordered=True, session=_session())


# --- name keys ------------------------------------------------------------------------------------


def touches_name_key(fields: Iterable[str]) -> bool:
    """Whether a write of these fields may change an image's name key."""
    return any(name in NAME_KEY_SOURCES for name in fields)


def images_refresh_name_keys(
    name: str, query: dict, *, batch_size: int = 1000, progress: Progress = _no_progress
) -> int:
    """Give the images of collection ``name`` matching ``query`` the name key their URLs call for;
    returns how many changed.

    Read and written in batches of ``batch_size``. The revision is left alone: the key is derived
    from fields the image already has, so nothing a revision guards has changed.
    """
    collection = raw_image_collection(name)
    session = _session()
    projection = dict.fromkeys(NAME_KEY_SOURCES, 1)
    found = collection.find(query, projection, batch_size=batch_size, session=session)
    changed = 0
    for batch in _batches(progress(found, name), batch_size):
        updates = [
            UpdateOne({"_id": document["_id"]}, {"$set": {NAME_KEY: key}})
            for document in batch
            if document.get(NAME_KEY) != (key := stored_name_key(document))
        ]
        if updates:
            changed += collection.bulk_write(updates, ordered=False, session=session).modified_count
    return changed


def name_keys_backfill(*, batch_size: int = 1000, progress: Progress = _no_progress) -> int:
    """Give every image of every live image collection that has none its name key, then index the
    keys; returns how many images got one. Idempotent: a second run finds nothing to do."""
    changed = 0
    for name in live_image_collection_names():
        changed += images_refresh_name_keys(
            name, {NAME_KEY: {"$exists": False}}, batch_size=batch_size, progress=progress
        )
        ensure_image_indexes(name, force=True)  # built here, not by the first request after
    return changed


def _batches(documents: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for document in documents:
        batch.append(document)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- batches ------------------------------------------------------------------------------------


def image_inserter(name: str, *, update_existing: bool = False) -> Callable[[list[dict]], None]:
    """A function inserting batches of image documents into collection ``name``.

    Bound to the collection and to the open transaction's session, if any, now; so it may run on a
    ``BackgroundWriter``. With ``update_existing`` an id that exists already is updated in place
    (keeping its ``idx``) instead of failing the batch.
    """
    collection = raw_image_collection(name)
    session = _session()

    def insert(documents: list[dict]) -> None:
        if update_existing:
            _insert_or_update(collection, documents, session)
        else:
            collection.insert_many(documents, ordered=False, session=session)

    return insert


def _insert_or_update(collection: Collection, documents: list[dict], session: Any) -> None:
    try:
        collection.insert_many(documents, ordered=False, session=session)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error["code"] != DUPLICATE_KEY for error in errors):
            raise
        updates = []
        for error in errors:
            document = dict(documents[error["index"]])
            document_id = document.pop("_id")
            document.pop("idx", None)
            updates.append(UpdateOne({"_id": document_id}, {"$set": document}))
        collection.bulk_write(updates, ordered=False, session=session)


@dataclass(frozen=True)
class GuardedSet:
    """Set ``fields`` of an image only while it is at ``revision`` (the one it was read at; None
    for a document never written here), giving it the revision ``written``."""

    image_id: int
    revision: Any
    fields: dict
    written: ObjectId = field(default_factory=new_revision)

    def _filter(self) -> dict:
        return {"_id": self.image_id, REVISION: self.revision}

    def _update(self) -> dict:
        return {"$set": {**self.fields, REVISION: self.written}}


def guarded_setter(dataset_id: str) -> Callable[[list[GuardedSet]], int]:
    """A function writing a batch of ``GuardedSet``s; returns how many images matched their guard.

    Bound to the collection now, so it may run on a ``BackgroundWriter``.
    """
    collection = _as_is(dataset_id)

    def write(updates: list[GuardedSet]) -> int:
        requests = [UpdateOne(update._filter(), update._update()) for update in updates]
        return collection.bulk_write(requests, ordered=False).matched_count if requests else 0

    return write


def image_set_guarded(dataset_id: str, update: GuardedSet) -> bool:
    """Write one ``GuardedSet``; False if the image is no longer at the revision read."""
    result = image_collection(dataset_id).update_one(update._filter(), update._update(), session=_session())
    return result.matched_count == 1


# --- an import's staging collection ---------------------------------------------------------------


def staging_index_source_key(name: str, source_key: str) -> None:
    """Index the staged images by source key (for ``staging_replace_user_work``)."""
    raw_image_collection(name).create_index(source_key, name=SOURCE_KEY_INDEX)


def staging_replace_user_work(name: str, source_key: str, key: str, user_work: tuple[list[dict], int, int]) -> None:
    """Give the staged image with source key ``key`` these User objects, flag and flag time."""
    staging = raw_image_collection(name)
    user_objects, flag, flag_ts = user_work
    staging.update_one({source_key: key}, with_new_revision({"$pull": {"objects": {"label_type": "User"}}}))
    staging.update_one(
        {source_key: key},
        with_new_revision({"$push": {"objects": {"$each": user_objects}}, "$set": {"flag": flag, "flag_ts": flag_ts}}),
    )


def staging_drop_source_key_index(name: str) -> None:
    raw_image_collection(name).drop_index(SOURCE_KEY_INDEX)
