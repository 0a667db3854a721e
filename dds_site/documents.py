"""DDS's ``BaseModel`` document API, shared by ORM models and raw per-dataset documents.

DDS exposes the same query verbs on every model (``find_many``, ``update_one``,
``batch_save`` ...) with ``id`` in Python mapped to ``_id`` in MongoDB. Here they run on the
model's collection through PyMongo, joining the open ``django_mongodb_backend`` transaction
when there is one. ``OrmDocumentMixin`` adapts a Django model; ``DocumentModel`` is a pydantic
v2 model for the raw per-dataset collections. Writes are always acknowledged.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pydantic
from pymongo import UpdateOne
from pymongo.collection import Collection

from dds_site import mongo


def current_ts() -> int:
    """The current time in milliseconds (DDS's timestamp unit)."""
    return int(time.time() * 1000)


def md5_id(text: str) -> str:
    """DDS's derived ids (users, label sets, categories, file datasets): the md5 hex digest of ``text``."""
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - an id, not a secret


class _BatchQueues:
    """Per-model-class queues of pending bulk operations, safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, list[UpdateOne]] = {}

    def push(self, key: str, operation: UpdateOne, batch_size: int) -> list[UpdateOne]:
        """Queue an operation; return the operations to flush when the batch is full."""
        with self._lock:
            queue = self._queues.setdefault(key, [])
            queue.append(operation)
            if len(queue) < batch_size:
                return []
            self._queues[key] = []
            return queue

    def drain(self, key: str) -> list[UpdateOne]:
        with self._lock:
            return self._queues.pop(key, [])


_update_queues = _BatchQueues()
_save_queues = _BatchQueues()


def _flush(collection: Collection, operations: list[UpdateOne]) -> None:
    if operations:
        collection.bulk_write(operations, ordered=False, session=mongo.current_session())


class DocumentAPI:
    """The verbs of DDS's ``BaseModel`` (reference §1), over ``get_collection()``."""

    @classmethod
    def get_collection(cls) -> Collection:
        raise NotImplementedError(f"{cls.__name__} must define get_collection()")

    @classmethod
    def get_cls_id(cls) -> str:
        """Key of this model's batch queues: the class name."""
        return cls.__name__

    @classmethod
    def from_dict(cls, data: dict) -> DocumentAPI:
        raise NotImplementedError(f"{cls.__name__} must define from_dict()")

    def to_dict(self, include: list | None = None, exclude: list | None = None) -> dict:
        raise NotImplementedError

    def _to_document(self) -> dict:
        """The object as stored, with ``_id``."""
        return self.convert_id_for_mongo(self.to_dict())

    @staticmethod
    def convert_id_for_python(data: dict) -> dict:
        """Rename ``_id`` to ``id`` in place (and return the dict)."""
        if "_id" in data:
            data["id"] = data.pop("_id")
        return data

    @staticmethod
    def convert_id_for_mongo(data: dict) -> dict:
        """Rename ``id`` to ``_id`` in place (and return the dict)."""
        if "id" in data:
            data["_id"] = data.pop("id")
        return data

    @classmethod
    def _mongo_filters(cls, filters: dict | None) -> dict:
        return cls.convert_id_for_mongo(dict(filters or {}))

    @classmethod
    def find_many(
        cls,
        filters: dict,
        includes: dict | list | None = None,
        sort: list[tuple[str, int]] | None = None,
        skip: int | None = None,
        size: int | None = None,
        to_dict: bool = False,
    ) -> Iterator[Any]:
        """Yield the objects (or dicts with ``id``) matching ``filters``."""
        cursor = cls.get_collection().find(
            cls._mongo_filters(filters), projection=includes or None, session=mongo.current_session()
        )
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(int(skip))
        if size:
            cursor = cursor.limit(int(size))
        for document in cursor:
            data = cls.convert_id_for_python(document)
            yield data if to_dict else cls.from_dict(data)

    @classmethod
    def find_one(cls, filters: dict) -> Any | None:
        document = cls.get_collection().find_one(cls._mongo_filters(filters), session=mongo.current_session())
        return None if document is None else cls.from_dict(cls.convert_id_for_python(document))

    @classmethod
    def count_num(cls, filters: dict) -> int:
        return cls.get_collection().count_documents(cls._mongo_filters(filters), session=mongo.current_session())

    @classmethod
    def _update_spec(cls, set_data: dict | None, unset_data: dict | None) -> dict:
        spec: dict[str, dict] = {}
        if set_data:
            spec["$set"] = dict(set_data)
        if unset_data:
            spec["$unset"] = {key: "" for key in unset_data}
        return spec

    @classmethod
    def _update(cls, method: str, filters: dict, set_data: dict | None, unset_data: dict | None):
        """``update_one`` or ``update_many`` of the collection; nothing to set or unset writes nothing (None)."""
        spec = cls._update_spec(set_data, unset_data)
        if not spec:
            return None
        write = getattr(cls.get_collection(), method)
        return write(cls._mongo_filters(filters), spec, session=mongo.current_session())

    @classmethod
    def update_one(cls, filters: dict, set_data: dict | None = None, unset_data: dict | None = None):
        return cls._update("update_one", filters, set_data, unset_data)

    @classmethod
    def update_many(cls, filters: dict, set_data: dict | None = None, unset_data: dict | None = None):
        return cls._update("update_many", filters, set_data, unset_data)

    @classmethod
    def batch_update(
        cls,
        filters: dict,
        set_data: dict | None = None,
        unset_data: dict | None = None,
        batch_size: int = 20,
    ) -> None:
        """Queue an ``update_one``; the queue is written when it holds ``batch_size`` operations."""
        spec = cls._update_spec(set_data, unset_data)
        if not spec:
            return
        operation = UpdateOne(cls._mongo_filters(filters), spec)
        _flush(cls.get_collection(), _update_queues.push(cls.get_cls_id(), operation, batch_size))

    @classmethod
    def finish_batch_update(cls) -> None:
        """Write every queued ``batch_update`` of this class."""
        _flush(cls.get_collection(), _update_queues.drain(cls.get_cls_id()))

    @classmethod
    def aggregate(cls, pipeline: list[dict]) -> Iterator[dict]:
        return cls.get_collection().aggregate(pipeline, session=mongo.current_session())

    def batch_save(self, batch_size: int = 20, set_on_insert: dict | None = None) -> None:
        """Queue an upsert of this object; written when the queue holds ``batch_size`` operations."""
        document = self._to_document()
        document_id = document.pop("_id")
        spec: dict[str, dict] = {"$set": document}
        if set_on_insert:
            for key in set_on_insert:
                document.pop(key, None)
            spec["$setOnInsert"] = dict(set_on_insert)
        operation = UpdateOne({"_id": document_id}, spec, upsert=True)
        _flush(self.get_collection(), _save_queues.push(self.get_cls_id(), operation, batch_size))

    @classmethod
    def finish_batch_save(cls) -> None:
        """Write every queued ``batch_save`` of this class."""
        _flush(cls.get_collection(), _save_queues.drain(cls.get_cls_id()))

    @classmethod
    def delete_many(cls, filters: dict):
        return cls.get_collection().delete_many(cls._mongo_filters(filters), session=mongo.current_session())


class OrmDocumentMixin(DocumentAPI):
    """The document API on a Django model whose collection is ``db_table`` and pk column ``_id``.

    ``save()`` and ``delete()`` stay Django's (``save`` also takes DDS's ``refresh``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.post_init()

    def post_init(self) -> None:
        """Hook run after construction, including loads from the database (DDS's ``post_init``)."""

    @classmethod
    def get_collection(cls) -> Collection:
        return mongo.get_collection(cls._meta.db_table)

    @classmethod
    def from_dict(cls, data: dict):
        """Build an instance from a stored document (``_id`` or ``id``) without saving it."""
        data = cls.convert_id_for_python(dict(data))
        by_column = {field.column: field for field in cls._meta.concrete_fields}
        by_column["id"] = cls._meta.pk
        values = {}
        for key, value in data.items():
            field = by_column.get(key) or _field_by_name(cls, key)
            if field is not None:
                values[field.attname] = field.to_python(value) if value is not None else None
        instance = cls(**values)
        instance._state.adding = False
        instance._state.db = "default"
        return instance

    def to_dict(self, include: list | None = None, exclude: list | None = None) -> dict:
        data = {}
        for field in self._meta.concrete_fields:
            key = "id" if field.primary_key else field.column
            data[key] = getattr(self, field.attname)
        return _select(data, include, exclude)

    def _to_document(self) -> dict:
        from django.db import connections

        connection = connections["default"]
        document = {}
        for field in self._meta.concrete_fields:
            document[field.column] = field.get_db_prep_save(getattr(self, field.attname), connection)
        return document

    def save(self, *args: Any, refresh: bool = False, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if refresh:
            self.refresh_from_db()


def _field_by_name(model, name: str):
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - FieldDoesNotExist and reverse relations alike
        return None


def _select(data: dict, include: list | set | None, exclude: list | set | None) -> dict:
    if include is not None:
        data = {key: value for key, value in data.items() if key in include}
    if exclude is not None:
        data = {key: value for key, value in data.items() if key not in exclude}
    return data


class DocumentModel(pydantic.BaseModel, DocumentAPI):
    """A pydantic document in a raw collection (per-dataset images, task images)."""

    model_config = pydantic.ConfigDict(validate_assignment=False, extra="ignore", protected_namespaces=())

    _collection_name: ClassVar[str] = ""

    @classmethod
    def get_collection(cls) -> Collection:
        return mongo.get_collection(cls._collection_name)

    @classmethod
    def from_dict(cls, data: dict):
        return cls.model_validate(cls.convert_id_for_python(dict(data)))

    def to_dict(self, include: list | None = None, exclude: list | None = None) -> dict:
        return self.model_dump(
            include=set(include) if include is not None else None,
            exclude=set(exclude) if exclude is not None else None,
        )

    def post_init(self) -> None:
        """Hook run after construction (DDS's ``post_init``)."""

    def model_post_init(self, context: Any, /) -> None:
        self.post_init()

    def save(self, refresh: bool = False):
        """Upsert this document by id, setting every field; re-read it when ``refresh``."""
        document = self._to_document()
        document_id = document.pop("_id", None)
        if document_id is None:
            return None
        self.get_collection().update_one(
            {"_id": document_id}, {"$set": document}, upsert=True, session=mongo.current_session()
        )
        if refresh:
            fresh = self.get_collection().find_one({"_id": document_id}, session=mongo.current_session())
            if fresh:
                for key, value in type(self).from_dict(fresh).__dict__.items():
                    setattr(self, key, value)
        return self

    def delete(self):
        return self.get_collection().delete_one({"_id": self.id}, session=mongo.current_session())
