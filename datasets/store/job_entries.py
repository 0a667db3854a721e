"""The job entries of a dataset, ``DataSet.detail_status[<kind>]``, and their conditional writes.

``where`` arguments match fields of the entry (values or query operators, e.g.
``{"attempt": a, "state": {"$in": [...]}}``); a write happens only if the entry still matches, which
is how a stale attempt is kept from overwriting a newer one (see ``datasets.jobs``). These writes
never join an open transaction, on purpose: a job's state must be visible at once and outlive a
rollback of the work it describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ReturnDocument

from datasets.models import DataSet
from dds_site import mongo


def _key(kind: str) -> str:
    return f"detail_status.{kind}"


class JobEntries:
    """The job entries of the datasets collection, bound on the creating thread (so a heartbeat
    thread writing through it opens no database connection of its own)."""

    def __init__(self) -> None:
        self._collection = mongo.get_collection(DataSet._meta.db_table)

    def _filter(self, dataset_id: str, kind: str, where: dict[str, Any]) -> dict:
        return {"_id": dataset_id, **{f"{_key(kind)}.{name}": value for name, value in where.items()}}

    def get(self, dataset_id: str, kind: str) -> dict | None:
        document = self._collection.find_one({"_id": dataset_id}, {"detail_status": 1})
        if not document:
            return None
        return (document.get("detail_status") or {}).get(kind)

    def update(
        self,
        dataset_id: str,
        kind: str,
        where: dict[str, Any],
        fields: dict[str, Any],
        *,
        dataset_fields: dict | None = None,
        unset: Iterable[str] = (),
    ) -> bool:
        """Set ``fields`` of the entry (and ``dataset_fields`` of the dataset, in the same write),
        remove its fields ``unset``; True if the entry matched ``where``."""
        spec: dict[str, dict] = {
            "$set": {**(dataset_fields or {}), **{f"{_key(kind)}.{name}": value for name, value in fields.items()}}
        }
        unset = list(unset)
        if unset:
            spec["$unset"] = {f"{_key(kind)}.{name}": "" for name in unset}
        return self._collection.update_one(self._filter(dataset_id, kind, where), spec).matched_count == 1

    def replace(self, dataset_id: str, kind: str, where: dict[str, Any], entry: dict) -> bool:
        """Replace the whole entry if it matches ``where``."""
        result = self._collection.update_one(self._filter(dataset_id, kind, where), {"$set": {_key(kind): entry}})
        return result.matched_count == 1

    def claim(self, dataset_id: str, kind: str, where: dict[str, Any], entry: dict) -> tuple[bool, dict | None]:
        """Replace the entry if it matches ``where`` (a missing entry matches negative conditions);
        returns (replaced, the entry before)."""
        before = self._collection.find_one_and_update(
            self._filter(dataset_id, kind, where),
            {"$set": {_key(kind): entry}},
            projection={_key(kind): 1},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return False, None
        return True, (before.get("detail_status") or {}).get(kind)

    def find_live(self, kind: str, live_states: list[str]) -> list[tuple[str, dict]]:
        """``(dataset id, entry)`` of every dataset whose ``kind`` entry is in one of ``live_states``."""
        found = self._collection.find({f"{_key(kind)}.state": {"$in": live_states}}, {_key(kind): 1})
        return [(doc["_id"], (doc.get("detail_status") or {}).get(kind)) for doc in found]
