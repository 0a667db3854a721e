"""Who may do what in labeling: the one set of rules for the API, the admin and the model API.

The matrix is DDS's (reference §7.13) with its holes closed (§12.1 item 4): only active users hold roles, only
active task roles count, and a task role counts for its own task only.

- ``can_*(user, ...)`` answer, reading the caller's roles and nothing else;
- ``require_*(actor, ...)`` raise the rule's DDS 403 error (``labeling.errors``) when ``can_*`` says no.

One layer enforces them: every workflow verb of ``labeling.services`` takes ``actor`` and calls its ``require_*``
before it reads anything else, and the reads of one project or task go through ``labeling.selectors``
(``project_for``, ``task_for``, ``task_image_view``); the API views, the admin and the labeling pages pass the user
of the request and cannot skip a rule. The actor None is the operator: the seed's model API and the management
commands, code and shell users with the database's authority, which DDS's model API never checked either.
``actor`` has no default, so every caller states which it is. Labelling and reviewing are the exception: the
labeler or reviewer is the actor, from the model API too, as in DDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from labeling.errors import (
    CantAssignLeader,
    CantAssignWorker,
    CantCreateProject,
    CantEditProject,
    CantExportProject,
    CantInitProject,
    CantLabelImage,
    CantQAProject,
    CantQATask,
    CantRestartTask,
    CantReviewImage,
    CantViewProject,
    CantViewTask,
    RoleNotTaskLevel,
)
from labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole
from labeling.workflow import GT_LEADERS, GTE_LEADERS, ROLE_LEVEL, WORKERS, Role, max_role

if TYPE_CHECKING:
    from accounts.models import User


# The leader who staffs each worker role (reference §7.4, §7.5).
LEADER_OF: Final = {Role.LABELER: Role.LABEL_LEADER, Role.REVIEWER: Role.REVIEW_LEADER}


# --- the caller's roles ------------------------------------------------------------------------------------------


def is_usable(user: User | None) -> bool:
    """Authenticated and not banned: a banned user loses every role at once."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def project_roles_of(user: User, project_id: str) -> set[str]:
    if not is_usable(user):
        return set()
    return set(ProjectRole.objects.filter(project_id=project_id, user_id=user.pk).values_list("role", flat=True))


def has_project_role(user: User, project_id: str, roles: Iterable[str] | None = None) -> bool:
    """Whether an active ``user`` holds any project role (or one of ``roles``)."""
    if not is_usable(user):
        return False
    query = ProjectRole.objects.filter(project_id=project_id, user_id=user.pk)
    if roles is not None:
        query = query.filter(role__in=list(roles))
    return query.exists()


def has_task_role(user: User, task_id: str, role: str) -> bool:
    """Whether an active ``user`` holds an active ``role`` in the task."""
    if not is_usable(user):
        return False
    return TaskRole.objects.filter(task_id=task_id, user_id=user.pk, role=role, is_active=True).exists()


def task_has_active_role(task_id: str, role: str) -> bool:
    return TaskRole.objects.filter(task_id=task_id, role=role, is_active=True).exists()


def task_max_role(*, task: LabelTask, user: User, active_roles: Iterable[TaskRole] | None = None) -> TaskRole | None:
    """The user's own most powerful active role in the task; from ``active_roles`` (the task's active roles,
    read once by the caller) when given, else read.

    DDS handed project-level leaders the top role of *anybody* in *any* task (bug 4); here it is
    always one of the caller's own roles in this task.
    """
    if not is_usable(user):
        return None
    if active_roles is None:
        roles = list(TaskRole.objects.filter(task_id=task.pk, user_id=user.pk, is_active=True))
    else:
        roles = [
            role for role in active_roles if role.task_id == task.pk and role.user_id == user.pk and role.is_active
        ]
    return min(roles, key=lambda role: ROLE_LEVEL[role.role], default=None)


def task_view_role(*, task: LabelTask, user: User, active_roles: Iterable[TaskRole] | None = None) -> str | None:
    """The role whose view of the task the user gets: owner/manager of the project, else his own task role."""
    project_level = max_role(project_roles_of(user, task.project_id) & GT_LEADERS)
    if project_level:
        return project_level
    own = task_max_role(task=task, user=user, active_roles=active_roles)
    return own.role if own else None


# --- projects ----------------------------------------------------------------------------------------------------


def can_create_project(user: User) -> bool:
    return bool(user.is_active and user.is_staff)


def can_view_project(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id)


def can_edit_project(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id, {Role.OWNER})


def can_init_project(user: User, project_id: str) -> bool:
    """Initialising is the managers' (the owner alone is not enough)."""
    return has_project_role(user, project_id, {Role.MANAGER})


def can_qa_project(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id, {Role.OWNER})


def can_export_project(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id, {Role.OWNER})


def can_assign_leader(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id, {Role.MANAGER})


def can_view_progress(user: User, project_id: str) -> bool:
    """The project's counters are shown to its owner, managers and leaders."""
    return has_project_role(user, project_id, GTE_LEADERS)


def can_view_all_tasks(user: User, project_id: str) -> bool:
    """Owners and managers see every task and every role; others only the tasks where they hold a role."""
    return has_project_role(user, project_id, GT_LEADERS)


def can_view_all_roles(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id, GTE_LEADERS)


# --- tasks -------------------------------------------------------------------------------------------------------


def can_view_task(user: User, task: LabelTask) -> bool:
    return task_view_role(task=task, user=user) is not None


def can_qa_task(user: User, project_id: str) -> bool:
    return has_project_role(user, project_id, {Role.MANAGER})


def can_replace_worker(user: User, task_id: str, role: str) -> bool:
    """The task's active leader of the kind replaces its labelers or reviewers."""
    return role in LEADER_OF and has_task_role(user, task_id, LEADER_OF[role])


def can_init_workers(user: User, task_id: str, role: str) -> bool:
    """The task's active leader of the kind sets its labelers or reviewers, once: later changes are replacements."""
    return can_replace_worker(user, task_id, role) and not task_has_active_role(task_id, role)


def can_restart_task(user: User, task_id: str) -> bool:
    return has_task_role(user, task_id, Role.LABEL_LEADER)


def can_label_image(user: User, task_id: str) -> bool:
    return has_task_role(user, task_id, Role.LABELER)


def can_review_image(user: User, task_id: str) -> bool:
    return has_task_role(user, task_id, Role.REVIEWER)


def can_view_all_roles_of_task(user: User, task: LabelTask) -> bool:
    """Owners, managers and the task's own leaders see every role of a task; others both leaders and their own."""
    if can_view_all_tasks(user, task.project_id):
        return True
    return any(has_task_role(user, task.pk, leader) for leader in (Role.LABEL_LEADER, Role.REVIEW_LEADER))


# --- enforcement: the rule's 403 --------------------------------------------------------------------------------


def require_create_project(actor: User | None) -> None:
    if actor is not None and not can_create_project(actor):
        raise CantCreateProject()


def require_view_project(actor: User | None, project: LabelProject) -> None:
    if actor is not None and not can_view_project(actor, project.pk):
        raise CantViewProject()


def require_edit_project(actor: User | None, project: LabelProject) -> None:
    if actor is not None and not can_edit_project(actor, project.pk):
        raise CantEditProject()


def require_init_project(actor: User | None, project: LabelProject) -> None:
    if actor is not None and not can_init_project(actor, project.pk):
        raise CantInitProject()


def require_qa_project(actor: User | None, project: LabelProject) -> None:
    if actor is not None and not can_qa_project(actor, project.pk):
        raise CantQAProject()


def require_export_project(actor: User | None, project: LabelProject) -> None:
    if actor is not None and not can_export_project(actor, project.pk):
        raise CantExportProject()


def require_assign_leader(actor: User | None, project: LabelProject) -> None:
    if actor is not None and not can_assign_leader(actor, project.pk):
        raise CantAssignLeader()


def require_view_task(actor: User | None, task: LabelTask, *, active_roles: Iterable[TaskRole] | None = None) -> str:
    """The role whose view of the task the actor gets (the owner's for the operator); 403051 if none."""
    if actor is None:
        return Role.OWNER
    role = task_view_role(task=task, user=actor, active_roles=active_roles)
    if role is None:
        raise CantViewTask()
    return role


def require_qa_task(actor: User | None, task: LabelTask) -> None:
    if actor is not None and not can_qa_task(actor, task.project_id):
        raise CantQATask()


def require_init_workers(actor: User | None, task: LabelTask, role: str) -> None:
    if actor is None:
        return
    if not can_replace_worker(actor, task.pk, role):
        raise CantAssignWorker()
    if task_has_active_role(task.pk, role):
        raise CantAssignWorker(f"the task already has {role}s; replace them instead.")


def require_replace_worker(actor: User | None, task: LabelTask, role: str) -> None:
    """Only workers are replaced by a task's leader (400216 for other roles, before the permission)."""
    if actor is None:
        return
    if role not in WORKERS:
        raise RoleNotTaskLevel()
    if not can_replace_worker(actor, task.pk, role):
        raise CantAssignWorker()


def require_restart_task(actor: User | None, task: LabelTask) -> None:
    if actor is not None and not can_restart_task(actor, task.pk):
        raise CantRestartTask()


def require_label_image(actor: User | None, task: LabelTask) -> None:
    if actor is not None and not can_label_image(actor, task.pk):
        raise CantLabelImage()


def require_review_image(actor: User | None, task: LabelTask) -> None:
    if actor is not None and not can_review_image(actor, task.pk):
        raise CantReviewImage()
