"""The labeling app's raw MongoDB access: collection names, indexes, sessions, and the driver's errors.

The task images live in one raw collection per dataset (``label_task_images@dataset_<id>``); the
projects, tasks and task roles are ORM collections, reached through their models. Either way the rest
of the app gets a ``BoundCollection``: every call on it runs in the session of the open transaction
(``django_mongodb_backend.transaction.atomic``), looked up when the call is made, so a raw write inside
a transaction always joins it and one outside never does. No other labeling module imports PyMongo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import connections
from pymongo import ASCENDING, IndexModel, InsertOne, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from dds_site import mongo

if TYPE_CHECKING:
    from pymongo.command_cursor import CommandCursor
    from pymongo.cursor import Cursor
    from pymongo.results import BulkWriteResult, DeleteResult, UpdateResult

__all__ = [
    "SLOT_INDEX",
    "BoundCollection",
    "Collection",
    "ConnectionFailure",
    "DuplicateKeyError",
    "InsertOne",
    "PyMongoError",
    "UpdateOne",
    "create_slot_index",
    "drop_slot_index",
    "forget_indexes",
    "in_transaction",
    "orm",
    "session",
    "task_images",
    "task_images_collection_name",
]


def session():
    """The PyMongo session of the open transaction, or None outside one."""
    return mongo.current_session()


def in_transaction() -> bool:
    return connections["default"].in_atomic_block_mongo


class BoundCollection:
    """A collection whose every call runs in the current transaction's session (if one is open)."""

    def __init__(self, collection: Collection) -> None:
        self._collection = collection

    @property
    def name(self) -> str:
        return self._collection.name

    def find(self, filter: Mapping, projection: Mapping | None = None) -> Cursor:
        return self._collection.find(filter, projection=projection, session=session())

    def find_one(self, filter: Mapping, projection: Mapping | None = None) -> dict | None:
        return self._collection.find_one(filter, projection=projection, session=session())

    def find_one_and_update(self, filter: Mapping, update: Mapping) -> dict | None:
        """The document after the update (None if nothing matched)."""
        return self._collection.find_one_and_update(
            filter, update, return_document=ReturnDocument.AFTER, session=session()
        )

    def find_one_and_update_before(self, filter: Mapping, update: Mapping) -> dict | None:
        """The document as it was before the update (None if nothing matched)."""
        return self._collection.find_one_and_update(filter, update, session=session())

    def update_one(self, filter: Mapping, update: Mapping) -> UpdateResult:
        return self._collection.update_one(filter, update, session=session())

    def update_many(self, filter: Mapping, update: Mapping) -> UpdateResult:
        return self._collection.update_many(filter, update, session=session())

    def delete_many(self, filter: Mapping) -> DeleteResult:
        return self._collection.delete_many(filter, session=session())

    def bulk_write(self, operations: list[Any], *, ordered: bool = True) -> BulkWriteResult:
        return self._collection.bulk_write(operations, ordered=ordered, session=session())

    def aggregate(self, pipeline: list[Mapping]) -> CommandCursor:
        return self._collection.aggregate(pipeline, session=session())

    def count(self, filter: Mapping) -> int:
        return self._collection.count_documents(filter, session=session())


def orm(model: Any) -> BoundCollection:
    """The collection of an ORM model of the app (``LabelProject``, ``LabelTask``, ``TaskRole``)."""
    return BoundCollection(model.get_collection())


# --- task images ----------------------------------------------------------------------------------------------------

TASK_IMAGE_INDEXES = [
    IndexModel([("task_id", ASCENDING), ("idx", ASCENDING)], name="task_id_idx"),
    IndexModel([("image_id", ASCENDING)], name="image_id"),
]
_indexed: set[tuple[str, str]] = set()


def task_images_collection_name(dataset_id: str) -> str:
    return f"label_task_images@dataset_{dataset_id}"


def ensure_task_image_indexes(dataset_id: str) -> None:
    """Create the task-image indexes DDS lacked (§12.3), once per database and dataset."""
    database = mongo.get_database()
    key = (database.name, dataset_id)
    if key in _indexed:
        return
    database[task_images_collection_name(dataset_id)].create_indexes(TASK_IMAGE_INDEXES)
    _indexed.add(key)


def task_images(dataset_id: str) -> BoundCollection:
    """One dataset's task images (indexes created on first use)."""
    ensure_task_image_indexes(dataset_id)
    return BoundCollection(mongo.get_collection(task_images_collection_name(dataset_id)))


def forget_indexes() -> None:
    """Forget which collections were indexed (tests drop collections between tests)."""
    _indexed.clear()


# --- task role slots ------------------------------------------------------------------------------------------------

SLOT_INDEX = "ltr_active_slot"
STRING_SLOT = {"$type": "string"}


def create_slot_index(collection: Collection) -> None:
    """The unique partial index on the slots of ``label_task_roles`` (re-creating it is a no-op)."""
    collection.create_index("slot", name=SLOT_INDEX, unique=True, partialFilterExpression={"slot": STRING_SLOT})


def drop_slot_index(collection: Collection) -> None:
    collection.drop_index(SLOT_INDEX)
