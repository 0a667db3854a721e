"""The accounts app's raw MongoDB writes that the ORM cannot express (the login counters have their own
store, ``accounts.throttle_store``)."""

from __future__ import annotations

from typing import Any

from django.db import connections, router
from pymongo import ReturnDocument

from accounts.models import User, UserToken
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


def token_owner(token_id: str, now: int) -> User | None:
    """The user owning the unexpired token ``token_id`` (its hash), read in one round trip, else None.

    The token is found by ``_id`` and its user joined by the users' ``_id`` index (``$lookup`` with
    ``localField``/``foreignField``; the ORM's ``select_related`` writes a pipeline join instead, which a
    server may evaluate against every user). The user is built as the ORM builds it, with the same
    field converters.
    """
    found = next(
        mongo.get_collection(UserToken._meta.db_table).aggregate(
            [
                {"$match": {"_id": token_id, "expire": {"$gt": now}}},
                {"$limit": 1},
                {
                    "$lookup": {
                        "from": User._meta.db_table,
                        "localField": "user_id",
                        "foreignField": "_id",
                        "as": "owner",
                    }
                },
                {"$project": {"_id": 0, "owner": 1}},
            ],
            session=mongo.current_session(),
        ),
        None,
    )
    if found is None or not found["owner"]:
        return None
    return _user_from_document(found["owner"][0])


def _user_from_document(document: dict[str, Any]) -> User:
    """``document`` as a ``User``, each value through the converters the ORM's compiler applies to its column."""
    alias = router.db_for_read(User)
    connection = connections[alias]
    names, values = [], []
    for field in User._meta.concrete_fields:
        column = field.get_col(User._meta.db_table)
        value = document.get(field.column)
        for converter in (*connection.ops.get_db_converters(column), *column.get_db_converters(connection)):
            value = converter(value, column, connection)
        names.append(field.attname)
        values.append(value)
    return User.from_db(alias, names, values)
