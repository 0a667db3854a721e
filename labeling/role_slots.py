"""The guard against two active holders of one task role: each active TaskRole holds a *slot*.

A slot is ``"<task_id>:<role>"`` for leaders and ``"<task_id>:<role>:<n>"`` for the n-th labeler or
reviewer; a replaced role gives its slot to its successor and keeps None. A unique index on the
string slots (a partial index: None and missing are not indexed) makes two concurrent
initialisations or replacements of the same role fail instead of both succeeding.

The index is created by migration ``labeling.0002`` and by ``adopt_dds_database`` through the same
function, so the two cannot drift apart. DDS's roles have no slots; adoption gives its active roles
theirs (``backfill_slots``) so they are guarded too.
"""

from __future__ import annotations

from collections import defaultdict

from labeling.store import SLOT_INDEX as SLOT_INDEX  # the index itself is the store's
from labeling.store import STRING_SLOT, Collection, DuplicateKeyError
from labeling.store import create_slot_index as create_slot_index
from labeling.store import drop_slot_index as drop_slot_index
from labeling.workflow import LEADERS


def slot_for(task_id: str, role: str, number: int) -> str:
    """The slot of the ``number``-th holder of ``role`` in a task (leaders have one slot)."""
    return f"{task_id}:{role}" if role in LEADERS else f"{task_id}:{role}:{number}"


def backfill_slots(collection: Collection) -> int:
    """Give every active role without a slot a free one of its task and role; returns how many got one.

    Workers take the lowest free numbers, in ``_id`` order. When DDS left two active holders of one
    leader role, only the first gets the slot (the index would refuse the second).
    """
    missing = list(
        collection.find(
            {"is_active": True, "slot": {"$not": STRING_SLOT}}, projection={"task_id": 1, "role": 1}, sort=[("_id", 1)]
        )
    )
    if not missing:
        return 0
    taken: dict[tuple[str, str], set[str]] = defaultdict(set)
    task_ids = sorted({role["task_id"] for role in missing})
    for role in collection.find({"task_id": {"$in": task_ids}, "slot": STRING_SLOT}, projection={"slot": 1}):
        task_id, kind = role["slot"].split(":")[:2]
        taken[(task_id, kind)].add(role["slot"])
    filled = 0
    for role in missing:
        used = taken[(role["task_id"], role["role"])]
        slot = _free_slot(role["task_id"], role["role"], used)
        if slot is None:
            continue
        try:
            result = collection.update_one(
                {"_id": role["_id"], "slot": {"$not": STRING_SLOT}}, {"$set": {"slot": slot}}
            )
        except DuplicateKeyError:
            continue  # taken meanwhile by a role initialised while adopting
        used.add(slot)
        filled += result.modified_count
    return filled


def _free_slot(task_id: str, role: str, used: set[str]) -> str | None:
    if role in LEADERS:
        slot = slot_for(task_id, role, 0)
        return None if slot in used else slot
    number = 0
    while slot_for(task_id, role, number) in used:
        number += 1
    return slot_for(task_id, role, number)
