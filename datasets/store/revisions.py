"""Image revisions: every write of an image sets ``rev``, an ObjectId made from the writer's clock.

A read-compute-write of a whole ``objects`` array (the FN/FP analysis) guards its write on the
``rev`` it read; a re-import finds the images edited while it ran by ``rev`` (``revision_since``).
Documents written by DDS have no ``rev`` until their first write here; a guard on ``rev: None``
matches them.
"""

from __future__ import annotations

import datetime

from bson import ObjectId

REVISION = "rev"
# Revisions are made on the application servers: their clocks may differ by up to this much.
CLOCK_SKEW_S = 60


def new_revision() -> ObjectId:
    """A value for ``rev`` that no earlier write of any image can have had."""
    return ObjectId()


def revision_since(timestamp: float) -> ObjectId:
    """The lowest revision any image written at or after ``timestamp`` (seconds) can have."""
    moment = datetime.datetime.fromtimestamp(timestamp - CLOCK_SKEW_S, tz=datetime.UTC)
    return ObjectId.from_datetime(moment)


def with_new_revision(update: dict) -> dict:
    """A copy of the update document ``update`` that also sets a new ``rev``."""
    update = dict(update)
    update["$set"] = {**update.get("$set", {}), REVISION: new_revision()}
    return update
