"""Repairing the work that DDS's worker replacement left on task images (reference §12 bug 14).

DDS copied a replaced labeler's or reviewer's labels and reviews to his successor but kept the
originals, and a review of such a stale label re-created the replaced labeler's status key (mostly
``rejected``). Nobody can act on those entries any more, so the image, and with it the task and the
project, can never be accepted. ``repair_task`` brings each image of a task to the state our
replacement would have produced (``workflow.without_inactive_workers``: the entries move to the
successor or are dropped, and the statuses that depended on them are derived again), moves the role
counters by the difference and lets a task that is now complete go on to reviewing.

Each image is written with the same compare-and-set as a label or review, so the repair can run while
people work; running it twice changes nothing the second time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dds_site.errors import WorkflowConflict
from labeling import progress, store, workflow
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.task_images import compare_and_set, image_state

if TYPE_CHECKING:
    from accounts.models import User

PAGE = 200
ATTEMPTS = 50


@dataclass
class RepairReport:
    """What a repair looked at and changed (or, in a dry run, would change)."""

    tasks: int = 0
    images: int = 0
    tasks_repaired: int = 0
    images_repaired: int = 0
    images_conflicting: int = 0

    def add(self, other: RepairReport) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _pages(task: LabelTask) -> Iterator[list[dict]]:
    """The task's images in pages of bounded ``idx`` ranges on the ``(task_id, idx)`` index."""
    collection = store.task_images(task.dataset_id)
    last = -1
    while True:
        batch = list(
            collection.find(
                {"task_id": task.pk, "idx": {"$gt": last}},
                projection={"labels": 1, "reviews": 1, "role_status": 1, "version": 1, "idx": 1},
            )
            .sort("idx", 1)
            .limit(PAGE)
        )
        if not batch:
            return
        yield batch
        last = batch[-1]["idx"]


def _repair_image(
    task: LabelTask,
    project: LabelProject,
    doc: dict,
    active: progress.ActiveRoles,
    *,
    dry_run: bool,
    actor: User | None,
) -> bool | None:
    """Write one image's repaired state; True if it changed, False if clean, None if it kept changing."""
    collection = store.task_images(task.dataset_id)
    for _ in range(ATTEMPTS):
        stored = image_state(doc)
        repaired = workflow.without_inactive_workers(stored, active.names)
        if repaired == stored:
            return False
        if dry_run:
            return True
        if compare_and_set(task.dataset_id, doc, stored, repaired):
            counted = workflow.active_statuses(stored.role_status, active.names)
            # A counter write that loses a race has recounted the task already: the image is repaired.
            with contextlib.suppress(WorkflowConflict):
                progress.apply_image_change(
                    task=task,
                    project=project,
                    old=counted,
                    new=repaired.role_status,
                    slots=active.slots,
                    actor=actor,
                )
            return True
        # Written meanwhile: read it again, and the roles after it (a replacement may have run).
        doc = collection.find_one({"_id": doc["_id"]})
        if doc is None:
            return False
        active = progress.active_roles(task.pk)
    return None


def task_may_have_leftovers(task: LabelTask) -> bool:
    """Whether a worker of the task was ever replaced (only then can its images carry leftovers)."""
    return TaskRole.objects.filter(task_id=task.pk, is_active=False, role__in=sorted(workflow.WORKERS)).exists()


def repair_task(*, task: LabelTask, dry_run: bool = False, actor: User | None = None) -> RepairReport:
    """Repair every image of ``task`` that carries work of users without an active role in it.

    ``actor`` is whoever the repair runs for (a task that is now complete moves on in his name).
    """
    report = RepairReport(tasks=1)
    project = task.project
    for batch in _pages(task):
        # The active roles are read after the images: see ``services._image_for``.
        active = progress.active_roles(task.pk)
        for doc in batch:
            report.images += 1
            changed = _repair_image(task, project, doc, active, dry_run=dry_run, actor=actor)
            if changed is None:
                report.images_conflicting += 1
            elif changed:
                report.images_repaired += 1
    report.tasks_repaired = int(report.images_repaired > 0)
    return report


def repair_replacement_leftovers(
    *,
    tasks: Iterable[LabelTask] | None = None,
    dry_run: bool = False,
    progress_bar: Callable[[Iterable[LabelTask]], Iterable[LabelTask]] | None = None,
) -> RepairReport:
    """Repair the task images of every task (or of ``tasks``); ``progress_bar`` wraps the task iterator."""
    if tasks is None:
        tasks = list(LabelTask.objects.order_by("project_id", "idx"))
    report = RepairReport()
    for task in progress_bar(tasks) if progress_bar else tasks:
        report.add(repair_task(task=task, dry_run=dry_run))
    return report
