"""Who sees and does what in the labeling admin: the rules of the API (``labeling.rules``), plus Django's superuser.

A staff user sees the projects and tasks the API lists for him (``labeling.selectors``) and acts as himself: the
services check him with the same ``require_*`` rules as for an API call. A superuser holds every permission of
the site by Django's definition; the admin lets him act as the operator (the actor ``None`` of the services, as
the management commands do), so he sees every project and the role rules are waived for him; the history still
names him (``labeling.middleware``). The workflow rules (statuses, counts, banned users) apply to everybody.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from dds_site.errors import DDSError
from labeling import selectors
from labeling.models import LabelProject, LabelTask, TaskRole


def is_operator(user: User) -> bool:
    return bool(user.is_active and user.is_superuser)


def actor_for(user: User) -> User | None:
    """The ``actor`` the services get for an admin user: None (the operator) for a superuser, else the user."""
    return None if is_operator(user) else user


def projects_visible(user: User) -> QuerySet[LabelProject]:
    if is_operator(user):
        return LabelProject.objects.all()
    return selectors.projects_for(user)


def tasks_visible(user: User) -> QuerySet[LabelTask]:
    """Tasks the API would list for the user: every task of his projects for owners and managers, else his own."""
    if is_operator(user):
        return LabelTask.objects.all()
    task_ids: list[str] = []
    for project in selectors.projects_for(user):
        task_ids += selectors.tasks_for(user, project).values_list("id", flat=True)
    return LabelTask.objects.filter(pk__in=task_ids)


def roles_visible(user: User, task: LabelTask) -> list[TaskRole]:
    if is_operator(user):
        return list(selectors.task_roles(task.pk).order_by("role", "user_name"))
    return selectors.visible_task_roles(user, task)


def check(user: User, require: Callable[..., Any], *args: Any) -> None:
    """Apply one of ``labeling.rules.require_*`` to the admin user (it raises the API's 403 error)."""
    require(actor_for(user), *args)


def allowed(user: User, require: Callable[..., Any], *args: Any) -> bool:
    """Whether ``check`` passes: the pages offer only the forms their user may submit."""
    try:
        check(user, require, *args)
    except DDSError:
        return False
    return True
