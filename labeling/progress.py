"""Progress counters of task roles and projects (reference §7.8), kept exact without scanning datasets.

Label and review actions move counters with ``$inc`` from the status diff of the one image they
changed; recounts group the task's images on the indexed ``task_id`` (never the whole dataset) and are
used by the multi-document steps (role init, replacement, restart) and as the seed's
``update_progress_for_all_roles``. Status changes go through ``labeling.checkpoint`` (conditional
updates with a history entry), so exactly one caller moves a task and adjusts the project's counters.
``actor`` is the user whose action caused a change (None: a script or the seed's model API).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import DatabaseError, IntegrityError

from dds_site.errors import WorkflowConflict
from labeling import checkpoint, store, workflow
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.store import DuplicateKeyError, PyMongoError
from labeling.workflow import COUNTER_FIELD, COUNTER_FIELDS, LEADERS, ProjectAction, ProjectStatus, TaskAction

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def _role_filter(task_id: str, key: str, slot: str | None = None) -> dict:
    if slot is not None:
        # Whoever holds the slot now: a replacement hands the slot and the image keys over together.
        return {"task_id": task_id, "is_active": True, "slot": slot}
    if key in LEADERS:
        return {"task_id": task_id, "role": key, "is_active": True}
    role, user_id = key.rsplit("_", 1)
    return {"task_id": task_id, "role": role, "user_id": user_id, "is_active": True}


def role_key_of(role: Mapping) -> str:
    return workflow.role_key(role["role"], role["user_id"])


@dataclass(frozen=True)
class ActiveRoles:
    """A task's active roles by status key: the holders' names, and the slots of the roles that have one."""

    names: dict[str, str]
    slots: dict[str, str]


def active_roles(task_id: str) -> ActiveRoles:
    """The task's active roles (one indexed query)."""
    found = list(
        store.orm(TaskRole).find(
            {"task_id": task_id, "is_active": True}, projection={"role": 1, "user_id": 1, "user_name": 1, "slot": 1}
        )
    )
    return ActiveRoles(
        names={role_key_of(role): role.get("user_name", "") for role in found},
        slots={role_key_of(role): role["slot"] for role in found if isinstance(role.get("slot"), str)},
    )


def apply_image_change(
    *,
    task: LabelTask,
    project: LabelProject,
    old: Mapping[str, str],
    new: Mapping[str, str],
    slots: Mapping[str, str] | None = None,
    actor: User | None = None,
):
    """Move the role counters by one image's status change, then refresh flags and task completion.

    ``slots`` (status key -> slot, read with the image) sends each change to the current holder of the
    role's slot, so a change made just before a replacement counts for the successor, who got the
    image's key; roles without a slot are found by user.

    The image write has landed when this runs. A counter write that loses a race (a role replaced at
    that moment: the embedded server then reports a duplicate key on the active-slot index) leaves the
    counters recounted from the images and answers 409, never a 500.
    """
    slots = slots or {}
    try:
        roles = store.orm(TaskRole)
        for key, inc in workflow.counter_deltas(old, new).items():
            inc = {field: n for field, n in inc.items() if n}
            if inc:
                roles.update_one(_role_filter(task.id, key, slots.get(key)), {"$inc": inc})
        refresh_completion(task=task, project=project, actor=actor)
    except (DuplicateKeyError, IntegrityError) as exc:
        logger.warning("progress of task %s lost a race (%s); recounting", task.pk, exc)
        with contextlib.suppress(PyMongoError, DatabaseError):
            task_recount(task=task)
        raise WorkflowConflict() from exc


def refresh_completion(*, task: LabelTask, project: LabelProject, actor: User | None = None) -> None:
    """Store each active role's completed flags; move a finished working task to reviewing.

    Flags are written only if the counters still hold the values they were computed from, so a
    slower caller never overwrites a newer caller's flags.
    """
    collection = store.orm(TaskRole)
    active = list(collection.find({"task_id": task.id, "is_active": True}))
    for role in active:
        flags = workflow.completion_flags(role, review_times=project.review_times or 0, num_total=task.num_total)
        if any(role.get(name) != value for name, value in flags.items()):
            seen = {field: role.get(field, 0) for field in COUNTER_FIELDS}
            collection.update_one({"_id": role["_id"], **seen}, {"$set": flags})
        role.update(flags)
    if workflow.task_is_complete(active):
        task_transition(task=task, action=TaskAction.COMPLETE, actor=actor, source=workflow.TaskStatus.WORKING)


def task_transition(
    *, task: LabelTask, action: str, actor: User | None, source: str | None = None, extra: dict | None = None
) -> bool:
    """Move a task by ``action`` through the checkpoint (False if it is no longer in ``source``), then
    move the project's task counters; a project whose tasks are all accepted goes on to reviewing."""
    source = task.status if source is None else source
    if not checkpoint.move_task(task=task, action=action, actor=actor, source=source, fields=extra):
        return False
    decremented = workflow.TASK_COUNTER_FIELD[source]
    inc = {decremented: -1, workflow.TASK_COUNTER_FIELD[task.status]: 1}
    after = store.orm(LabelProject).find_one_and_update(
        {"_id": task.project_id, decremented: {"$gt": 0}}, {"$inc": inc}
    )
    if after is None:
        # The stored counters do not count this task (stale, e.g. left so by DDS): count the tasks instead.
        project_recount(project=task.project, actor=actor)
    else:
        _maybe_project_reviewing(after, actor)
    task.refresh_cached_project()
    return True


def _maybe_project_reviewing(project_doc: Mapping | None, actor: User | None) -> None:
    """All tasks accepted: a working project goes to reviewing (DDS did this from any status)."""
    if not project_doc or project_doc.get("task_num_total", 0) == 0:
        return
    if project_doc["task_num_accepted"] == project_doc["task_num_total"]:
        checkpoint.move_project(
            project=project_doc["_id"],
            action=ProjectAction.COMPLETE,
            actor=actor,
            source=ProjectStatus.WORKING,
            where={"task_num_accepted": project_doc["task_num_total"]},
        )


def project_recount(*, project: LabelProject, actor: User | None = None) -> LabelProject:
    """DDS's ``update_subtask_counter``: count the project's tasks per status (indexed ``project_id``)."""
    pipeline = [{"$match": {"project_id": project.id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
    counts = {row["_id"]: row["n"] for row in store.orm(LabelTask).aggregate(pipeline)}
    values = {field: counts.get(status, 0) for status, field in workflow.TASK_COUNTER_FIELD.items()}
    values["task_num_total"] = sum(counts.values())
    after = store.orm(LabelProject).find_one_and_update({"_id": project.id}, {"$set": values})
    _maybe_project_reviewing(after, actor)
    project.refresh_from_db()
    return project


def count_statuses(*, task: LabelTask, keys: Iterable[str] | None = None) -> dict[str, Counter]:
    """Per role key, how many of the task's images are in each status (one grouping on ``task_id``)."""
    pipeline = [
        {"$match": {"task_id": task.id}},
        {"$project": {"rs": {"$objectToArray": "$role_status"}}},
        {"$unwind": "$rs"},
        {"$group": {"_id": {"k": "$rs.k", "v": "$rs.v"}, "n": {"$sum": 1}}},
    ]
    wanted = set(keys) if keys is not None else None
    result: dict[str, Counter] = {}
    for row in store.task_images(task.dataset_id).aggregate(pipeline):
        key = row["_id"]["k"]
        if wanted is None or key in wanted:
            result.setdefault(key, Counter())[row["_id"]["v"]] = row["n"]
    return result


def task_recount_total(*, task: LabelTask) -> LabelTask:
    """Set the task's ``num_total`` from its images (indexed ``task_id``)."""
    count = store.task_images(task.dataset_id).count({"task_id": task.id})
    if task.num_total != count:
        LabelTask.objects.filter(pk=task.pk).update(num_total=count)
        task.num_total = count
    return task


def task_recount(*, task: LabelTask, only: Iterable[str] | None = None, actor: User | None = None) -> None:
    """Recount the counters of the task's active roles (or of the role ids in ``only``) from its images."""
    project = task.project
    collection = store.orm(TaskRole)
    roles = list(collection.find({"task_id": task.id, "is_active": True}))
    if only is not None:
        wanted = set(only)
        roles = [role for role in roles if role["_id"] in wanted]
    counts = count_statuses(task=task, keys=[role_key_of(role) for role in roles])
    for role in roles:
        by_status = counts.get(role_key_of(role), Counter())
        values = {field: by_status.get(status, 0) for status, field in COUNTER_FIELD.items()}
        flags = workflow.completion_flags(values, review_times=project.review_times or 0, num_total=task.num_total)
        values.update(flags)
        collection.update_one({"_id": role["_id"]}, {"$set": values})
    refresh_completion(task=task, project=project, actor=actor)
