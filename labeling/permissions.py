"""Who may do what (reference §7.13), with DDS's holes closed (§12.1 item 4).

Each ``ensure_*`` raises the typed error with DDS's 403 code, and checks only *active* users and
*active* task roles of the task at hand. ``IsProjectMember`` is the DRF permission class the project
endpoints share.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from accounts.models import User
from labeling import selectors
from labeling.errors import LabelErrCode, project_error, task_error
from labeling.models import LabelProject, LabelTask
from labeling.workflow import GT_LEADERS, GTE_LEADERS, Role


def ensure_can_create_project(user: User) -> None:
    if not (user.is_active and user.is_staff):
        raise project_error(LabelErrCode.CANT_CREATE_PROJECT)


def ensure_project_role(user: User, project: LabelProject, roles, code: int) -> None:
    if not selectors.has_project_role(user, project.pk, roles):
        raise project_error(code)


def ensure_can_view_project(user: User, project: LabelProject) -> None:
    ensure_project_role(user, project, None, LabelErrCode.CANT_VIEW_PROJECT)


def ensure_can_edit_project(user: User, project: LabelProject) -> None:
    ensure_project_role(user, project, {Role.OWNER}, LabelErrCode.CANT_EDIT_PROJECT)


def ensure_can_init_project(user: User, project: LabelProject) -> None:
    ensure_project_role(user, project, {Role.MANAGER}, LabelErrCode.CANT_INIT_PROJECT)


def ensure_can_qa_project(user: User, project: LabelProject) -> None:
    ensure_project_role(user, project, {Role.OWNER}, LabelErrCode.CANT_QA_PROJECT)


def ensure_can_export_project(user: User, project: LabelProject) -> None:
    ensure_project_role(user, project, {Role.OWNER}, LabelErrCode.CANT_EXPORT_PROJECT)


def ensure_can_assign_leader(user: User, project: LabelProject) -> None:
    ensure_project_role(user, project, {Role.MANAGER}, LabelErrCode.CANT_ASSIGN_LEADER)


def ensure_can_qa_task(user: User, task: LabelTask) -> None:
    if not selectors.has_project_role(user, task.project_id, {Role.MANAGER}):
        raise task_error(LabelErrCode.CANT_QA_TASK)


def ensure_task_role(user: User, task: LabelTask, role: str, code: int) -> None:
    if not selectors.has_task_role(user, task.pk, role):
        raise task_error(code)


def ensure_can_init_workers(user: User, task: LabelTask, role: str) -> None:
    leader = Role.LABEL_LEADER if role == Role.LABELER else Role.REVIEW_LEADER
    ensure_task_role(user, task, leader, LabelErrCode.CANT_ASSIGN_WORKER)
    if selectors.task_has_active_role(task.pk, role):
        raise task_error(LabelErrCode.CANT_ASSIGN_WORKER, f"the task already has {role}s; replace them instead.")


def ensure_can_replace_worker(user: User, task: LabelTask, role: str) -> None:
    if role not in (Role.LABELER, Role.REVIEWER):
        raise task_error(LabelErrCode.ROLE_NOT_TASK_LEVEL)
    leader = Role.LABEL_LEADER if role == Role.LABELER else Role.REVIEW_LEADER
    ensure_task_role(user, task, leader, LabelErrCode.CANT_ASSIGN_WORKER)


def ensure_can_restart_task(user: User, task: LabelTask) -> None:
    ensure_task_role(user, task, Role.LABEL_LEADER, LabelErrCode.CANT_RESTART_TASK)


def ensure_can_label(user: User, task: LabelTask) -> None:
    ensure_task_role(user, task, Role.LABELER, LabelErrCode.CANT_LABEL_IMAGE)


def ensure_can_review(user: User, task: LabelTask) -> None:
    ensure_task_role(user, task, Role.REVIEWER, LabelErrCode.CANT_REVIEW_IMAGE)


def ensure_can_view_task(user: User, task: LabelTask) -> str:
    """The role whose view the user gets of the task; 403051 if none (tasks of others stay hidden)."""
    role = selectors.task_view_role(task=task, user=user)
    if role is None:
        raise task_error(LabelErrCode.CANT_VIEW_TASK)
    return role


def can_see_progress(user: User, project: LabelProject) -> bool:
    return bool(selectors.project_roles_of(user, project.pk) & GTE_LEADERS)


def sees_all_tasks(user: User, project: LabelProject) -> bool:
    return bool(selectors.project_roles_of(user, project.pk) & GT_LEADERS)


class IsActiveUser(BasePermission):
    """Authenticated and not banned."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)
