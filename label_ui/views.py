"""The labeling pages: "my tasks", the image page (labelers and reviewers) and the task page (leaders).

The views only render templates; the pages read and write through the REST API with the user's
session, and the API enforces every rule. What a view checks here (the task exists, the user may see
it) is the API's own check, so that a page is never served to someone the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dds_site.errors import DDSError
from labeling import rules, selectors
from labeling.api_worklist import next_image_for
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.workflow import GTE_LEADERS, Role

LOGIN_URL = "label_ui:login"
WORKER_ROLES = (Role.LABELER, Role.REVIEWER)


@dataclass
class RoleRow:
    role: TaskRole
    next_idx: int | None = None

    @property
    def waiting(self) -> int:
        """Images waiting for this user's work in this role."""
        if self.role.role == Role.LABELER:
            return self.role.label_num_waiting + self.role.review_num_rejected
        return self.role.review_num_waiting


@dataclass
class TaskRow:
    project: LabelProject
    task: LabelTask
    roles: list[RoleRow] = field(default_factory=list)
    leads: bool = False


def _role_order(role: TaskRole) -> int:
    return WORKER_ROLES.index(role.role) if role.role in WORKER_ROLES else len(WORKER_ROLES)


def _task_rows(user) -> list[TaskRow]:
    """Tasks where the user holds an active role, and every task of projects he owns or manages.

    ``tasks_for`` lists a project's tasks the user may see: all of them for its owner and managers,
    else those where he holds an active role.
    """
    rows: list[TaskRow] = []
    for project in selectors.projects_for(user):
        own: dict[str, list[TaskRole]] = {}
        for role in TaskRole.objects.filter(project_id=project.pk, user_id=user.pk, is_active=True):
            own.setdefault(role.task_id, []).append(role)
        for task in selectors.tasks_for(user, project):
            row = TaskRow(project=project, task=task, leads=task.pk not in own)
            for role in sorted(own.get(task.pk, []), key=_role_order):
                if role.role in WORKER_ROLES:
                    doc, _ = next_image_for(task=task, role=role.role, user_id=user.pk, after=-1)
                    row.roles.append(RoleRow(role, doc["idx"] if doc else None))
                else:
                    row.leads = True
                    row.roles.append(RoleRow(role))
            rows.append(row)
    return rows


@require_GET
@login_required(login_url=LOGIN_URL)
def my_tasks(request: HttpRequest) -> HttpResponse:
    return render(request, "label_ui/my_tasks.html", {"rows": _task_rows(request.user)})


def _visible_task(request: HttpRequest, project_id: str, task_id: str) -> tuple[LabelTask, str]:
    """The task and the user's view role in it: 404 for an unknown task, 403 if the API would refuse."""
    try:
        task = selectors.project_task_get(project_id, task_id)
    except DDSError:
        raise Http404("No such task.") from None
    try:
        role = rules.require_view_task(request.user, task)
    except DDSError as exc:
        raise PermissionDenied(str(exc)) from None
    return task, role


def _page_context(task: LabelTask, request: HttpRequest) -> dict:
    return {
        "task": task,
        "project": task.project,
        "config": {
            "projectId": task.project_id,
            "taskId": task.pk,
            "datasetId": task.dataset_id,
            "me": {"id": request.user.pk, "name": request.user.get_username()},
            "api": "/api/v1",
            # The API takes the session with CSRF protection: the page sends this as X-CSRFToken.
            "csrfToken": get_token(request),
        },
    }


@require_GET
@login_required(login_url=LOGIN_URL)
def label_page(request: HttpRequest, project_id: str, task_id: str) -> HttpResponse:
    """The image page; which actions it offers comes from the roles the API reports for the user."""
    task, _ = _visible_task(request, project_id, task_id)
    context = _page_context(task, request)
    wanted = request.GET.get("role")
    context["config"]["role"] = wanted if wanted in WORKER_ROLES else None
    return render(request, "label_ui/label.html", context)


@require_GET
@login_required(login_url=LOGIN_URL)
def task_page(request: HttpRequest, project_id: str, task_id: str) -> HttpResponse:
    """The task page for owners, managers and the task's leaders: statuses, counters, assignments."""
    task, role = _visible_task(request, project_id, task_id)
    if role not in GTE_LEADERS:
        raise PermissionDenied("The task page is for the project's owner and managers and the task's leaders.")
    context = _page_context(task, request)
    context["config"]["isStaff"] = request.user.is_staff
    return render(request, "label_ui/task.html", context)
