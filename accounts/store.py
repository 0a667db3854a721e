"""The accounts app's raw MongoDB writes that the ORM cannot express (the login counters have their own
store, ``accounts.throttle_store``)."""

from __future__ import annotations

from pymongo import ReturnDocument

from accounts.models import User
from dds_site import mongo


def user_set_status_and_bump_epoch(user_id: str, status: str) -> int | None:
    """Set the user's status and add one to its session epoch in one write; the new epoch, or None if no such user.

    ``$inc``, unlike the ORM's ``F() + 1``, also counts from a DDS user document that has no epoch yet.
    """
    stored = mongo.get_collection(User._meta.db_table).find_one_and_update(
        {"_id": user_id},
        {"$set": {"status": status}, "$inc": {"session_epoch": 1}},
        projection={"session_epoch": 1},
        return_document=ReturnDocument.AFTER,
        session=mongo.current_session(),
    )
    return None if stored is None else stored["session_epoch"]
