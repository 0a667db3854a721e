"""Counters for login throttling, shared by every server process.

With a shared cache configured (``DDS_CACHE_URL``, Django's Redis cache) the counters live there; otherwise in
MongoDB, the one store every deployment has. A counter is created by its first increment and expires at the end
of its time window.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Protocol

from django.conf import settings
from django.core.cache import BaseCache, caches
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from accounts.models import LoginCounter
from accounts.tokens import now_s
from dds_site import mongo


class CounterStore(Protocol):
    def increment(self, key: str, expire_at: int) -> int:
        """Add one to the counter (created expiring at ``expire_at``, unix seconds); return its new value."""

    def decrement(self, key: str) -> None:
        """Take one back from a counter that is still there."""


class CacheCounterStore:
    """Counters in a Django cache; atomic across processes when the cache is (Redis: ``INCR``)."""

    ATTEMPTS = 3

    def __init__(self, cache: BaseCache) -> None:
        self.cache = cache

    def increment(self, key: str, expire_at: int) -> int:
        for _ in range(self.ATTEMPTS):
            self.cache.add(key, 0, timeout=max(1, expire_at - now_s()))
            try:
                return self.cache.incr(key)
            except ValueError:  # it expired between add and incr: start it again
                continue
        raise RuntimeError(f"login counter {key} expires faster than it can be incremented")

    def decrement(self, key: str) -> None:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
            self.cache.decr(key)


class MongoCounterStore:
    """Counters as documents of ``login_counters``, counted by atomic ``$inc`` (no read-modify-write)."""

    PURGE_INTERVAL_S = 60
    ATTEMPTS = 3

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_purge = 0

    @staticmethod
    def _collection():
        return mongo.get_collection(LoginCounter._meta.db_table)

    def increment(self, key: str, expire_at: int) -> int:
        self._purge_now_and_then()
        collection = self._collection()
        for _ in range(self.ATTEMPTS):
            stored = collection.find_one_and_update(
                {"_id": key}, {"$inc": {"hits": 1}}, projection={"hits": 1}, return_document=ReturnDocument.AFTER
            )
            if stored is not None:
                return stored["hits"]
            # The window's first count: create the counter, then count. (Not one upsert: the embedded server
            # answers no document when such an upsert races another's insert.)
            with contextlib.suppress(DuplicateKeyError):  # another process created it first
                collection.update_one({"_id": key}, {"$setOnInsert": {"hits": 0, "expire": expire_at}}, upsert=True)
        raise RuntimeError(f"login counter {key} expires faster than it can be incremented")

    def decrement(self, key: str) -> None:
        self._collection().update_one({"_id": key, "hits": {"$gt": 0}}, {"$inc": {"hits": -1}})

    def purge_expired(self) -> int:
        """Delete every expired counter (indexed on ``expire``); returns how many."""
        return self._collection().delete_many({"expire": {"$lte": now_s()}}).deleted_count

    def _purge_now_and_then(self) -> None:
        with self._lock:
            now = now_s()
            if now < self._next_purge:
                return
            self._next_purge = now + self.PURGE_INTERVAL_S
        self.purge_expired()


# This process's MongoDB store; it holds only when it last purged, the counts are in the database. A module-level
# seam: tests replace it to act as another server process would.
mongo_store = MongoCounterStore()


def counter_store() -> CounterStore:
    """The shared cache when one is configured, else MongoDB."""
    if settings.DDS_CACHE_URL:
        return CacheCounterStore(caches["default"])
    return mongo_store


def counters_purge_expired() -> int:
    """Delete the expired login counters kept in MongoDB (a cache expires its own)."""
    return mongo_store.purge_expired()
