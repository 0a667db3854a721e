"""The one way a project or a task changes status, and the history of those changes.

``move_project`` and ``move_task`` take the acting user and a workflow action (``workflow.ProjectAction``,
``workflow.TaskAction``). The action must start from the object's status and be an edge of the status
machine (``workflow.PROJECT_TRANSITIONS``/``TASK_TRANSITIONS``), else the action's DDS error is raised
and nothing is written. The change is a conditional update on the expected status, so of two callers
moving the same object only one wins (the other gets False); the winner appends a ``WorkflowEvent``
(who, which action, when, from -> to) in the same transaction, so a change is never without its entry.
A caller already inside a transaction gets both in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from dds_site.documents import current_ts
from labeling import rules, workflow
from labeling.models import LabelProject, LabelTask, WorkflowEvent
from labeling.transactions import run_atomic

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts.models import User


def move_task(
    *,
    task: LabelTask,
    action: str,
    actor: User | None,
    source: str | None = None,
    fields: dict[str, Any] | None = None,
) -> bool:
    """Move ``task`` by ``action`` from ``source`` (default: its status as loaded), setting ``fields`` too.

    Raises the action's error if the move may not start from ``source``; False if the task is no longer
    there (someone else moved it). On success ``task`` carries the new status and fields.
    """
    source = task.status if source is None else source
    move = workflow.check_task_move(action, source)
    changes = {"status": move.target, **(fields or {})}

    def _write() -> bool:
        if not LabelTask.objects.filter(pk=task.pk, status=source).update(**changes):
            return False
        _record(task.project_id, task.pk, actor, action, source, move.target)
        return True

    if not run_atomic(_write):
        return False
    for name, value in changes.items():
        setattr(task, name, value)
    return True


def move_project(
    *,
    project: LabelProject | str,
    action: str,
    actor: User | None,
    source: str | None = None,
    fields: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> bool:
    """Move a project (or the project of this id) by ``action``; as ``move_task``.

    ``where`` adds conditions on other fields to the update (e.g. the counters that decided the move).
    ``source`` is required when only the id is given.
    """
    project_id = project if isinstance(project, str) else project.pk
    if source is None:
        source = project.status  # type: ignore[union-attr]
    move = workflow.check_project_move(action, source)
    changes = {"status": move.target, **(fields or {})}

    def _write() -> bool:
        if not LabelProject.objects.filter(pk=project_id, status=source, **(where or {})).update(**changes):
            return False
        _record(project_id, None, actor, action, source, move.target)
        return True

    if not run_atomic(_write):
        return False
    if isinstance(project, LabelProject):
        for name, value in changes.items():
            setattr(project, name, value)
    return True


# Who is signed in while the operator (actor None) acts: a superuser in the admin acts as the operator, and the
# history should still say which one. Set per request by ``labeling.middleware``, as Wagtail's log context does.
_signed_in_user: ContextVar[Callable[[], User | None] | None] = ContextVar("workflow_signed_in_user", default=None)


@contextmanager
def recording_signed_in_user(resolve: Callable[[], User | None]) -> Iterator[None]:
    """Within the block, history entries of operator actions name the user ``resolve()`` returns."""
    token = _signed_in_user.set(resolve)
    try:
        yield
    finally:
        _signed_in_user.reset(token)


def _recorded_actor(actor: User | None) -> User | None:
    if actor is not None:
        return actor
    resolve = _signed_in_user.get()
    return resolve() if resolve is not None else None


def _record(project_id: str, task_id: str | None, actor: User | None, action: str, source: str, target: str) -> None:
    actor = _recorded_actor(actor)
    WorkflowEvent.objects.create(
        project_id=project_id,
        task_id=task_id,
        actor_id=actor.pk if actor is not None else None,
        actor_name=actor.name if actor is not None else "",
        action=action,
        from_status=source,
        to_status=target,
        created_ts=current_ts(),
    )


# --- reading the history ----------------------------------------------------------------------------------------


def project_history(*, project: LabelProject, actor: User | None) -> QuerySet[WorkflowEvent]:
    """The changes of the project itself, newest first, for whoever may view the project.

    The tasks' changes are in their own histories, which only those who may view the task see.
    """
    rules.require_view_project(actor, project)
    return WorkflowEvent.objects.filter(project_id=project.pk, task_id=None).order_by("-created_ts", "-id")


def task_history(*, task: LabelTask, actor: User | None) -> QuerySet[WorkflowEvent]:
    """The changes of one task, newest first, for whoever may view the task."""
    rules.require_view_task(actor, task)
    return WorkflowEvent.objects.filter(project_id=task.project_id, task_id=task.pk).order_by("-created_ts", "-id")


def forget_project(project_id: str) -> None:
    """Delete the history of a project and its tasks (the project is being deleted)."""
    WorkflowEvent.objects.filter(project_id=project_id).delete()
