"""Labeling API under /api/v1/: projects, their tasks, task roles and task images (reference §8.7).

Viewsets parse input, check the caller's permission (``labeling.permissions``), call one service or
selector and serialize. Errors travel as typed ``DDSError``s to the project's exception handler.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from datasets.models import DataSet
from dds_site.api import PagePagination
from labeling import checkpoint, export, permissions, selectors, services
from labeling.errors import LabelErrCode, LabelTaskError, project_error, task_error
from labeling.models import LabelProject, LabelTask
from labeling.serializers import (
    LabelInput,
    LeadersInput,
    ProjectCreateInput,
    ProjectEditInput,
    ProjectExportInput,
    ProjectInitInput,
    ProjectOutput,
    ProjectQAInput,
    ProjectReopenInput,
    ReplaceInput,
    ReviewInput,
    TaskImageOutput,
    TaskImagePageOutput,
    TaskImageQuery,
    TaskLabelOutput,
    TaskOutput,
    TaskQAInput,
    TaskReviewOutput,
    TaskRoleOutput,
    WorkersInput,
    WorkflowEventOutput,
)
from labeling.workflow import Role


def _parse(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _users(ids: list[str], *, require_active: bool = True) -> list[User]:
    """Users by id in the given order: 400200 if one is missing, 400201 if one is banned."""
    found = {user.pk: user for user in User.objects.filter(pk__in=list(ids))}
    result = []
    for user_id in ids:
        user = found.get(user_id)
        if user is None:
            raise project_error(LabelErrCode.USER_NOT_FOUND, detail={"user_id": user_id})
        if require_active and not user.is_active:
            raise project_error(LabelErrCode.USER_NOT_ACTIVE, detail={"user_id": user_id})
        result.append(user)
    return result


def _project_output(request, projects) -> dict | list:
    many = not isinstance(projects, LabelProject)
    items = projects if many else [projects]
    show = {project.pk: permissions.can_see_progress(request.user, project) for project in items}
    return ProjectOutput(projects, many=many, context={"show_progress": show}).data


class LabelProjectViewSet(viewsets.ViewSet):
    """Label projects: list, create, retrieve, edit; init, QA, reopen and export actions."""

    permission_classes = [permissions.IsActiveUser]
    pagination_class = PagePagination
    lookup_value_regex = "[0-9a-zA-Z]+"

    def _project(self, pk: str) -> LabelProject:
        return selectors.project_get(pk)

    @extend_schema(responses=ProjectOutput(many=True))
    def list(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.projects_for(request.user), request, view=self)
        return paginator.get_paginated_response(_project_output(request, page))

    @extend_schema(request=ProjectCreateInput, responses=ProjectOutput)
    def create(self, request):
        permissions.ensure_can_create_project(request.user)
        data = _parse(ProjectCreateInput, request.data)
        managers = _users(data["manager_ids"])
        found = {d.pk: d for d in DataSet.objects.filter(pk__in=list(data["dataset_ids"]))}
        missing = [dataset_id for dataset_id in data["dataset_ids"] if dataset_id not in found]
        if missing:
            raise project_error(LabelErrCode.DATASET_NOT_FOUND, detail={"dataset_ids": missing})
        project = services.project_create(
            name=data["name"],
            owner=request.user,
            datasets=[found[dataset_id] for dataset_id in dict.fromkeys(data["dataset_ids"])],
            managers=managers,
            categories=data["categories"],
            description=data["description"],
            pre_label=data["pre_label"],
        )
        return Response(_project_output(request, project), status=status.HTTP_201_CREATED)

    @extend_schema(responses=ProjectOutput)
    def retrieve(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_view_project(request.user, project)
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectEditInput, responses=ProjectOutput)
    def partial_update(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_edit_project(request.user, project)
        data = _parse(ProjectEditInput, request.data)
        managers = _users(data["manager_ids"]) if "manager_ids" in data else None
        project = services.project_edit(project=project, description=data.get("description"), managers=managers)
        return Response(_project_output(request, project))

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_edit_project(request.user, project)
        services.project_delete(project=project)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ProjectInitInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def init(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_init_project(request.user, project)
        data = _parse(ProjectInitInput, request.data)
        project = services.project_init(project=project, **data)
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectQAInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def qa(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_qa_project(request.user, project)
        data = _parse(ProjectQAInput, request.data)
        return Response(_project_output(request, services.project_qa(project=project, action=data["action"])))

    @extend_schema(request=ProjectReopenInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_qa_project(request.user, project)
        data = _parse(ProjectReopenInput, request.data)
        project = services.project_reopen(project=project, task_ids=data.get("task_ids"))
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectExportInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        project = self._project(pk)
        permissions.ensure_can_export_project(request.user, project)
        data = _parse(ProjectExportInput, request.data)
        project = export.project_export(
            project=project, label_set_name=data["label_name"], label_type=data["label_type"]
        )
        return Response(_project_output(request, project))

    @extend_schema(responses=WorkflowEventOutput(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """The project's status changes, newest first: who, which action, when, from -> to (paged)."""
        events = checkpoint.project_history(project=self._project(pk), actor=request.user)
        paginator = PagePagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(WorkflowEventOutput(page, many=True).data)

    @extend_schema(request=LeadersInput, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="leaders")
    def leaders(self, request, pk=None):
        """Set the label and/or review leader of several tasks; per-task failures are reported (200001)."""
        project = self._project(pk)
        permissions.ensure_can_assign_leader(request.user, project)
        data = _parse(LeadersInput, request.data)
        if not data["label_leader_id"] and not data["review_leader_id"]:
            raise task_error(LabelErrCode.LEADERS_EMPTY)
        leaders = {}
        for role, key in ((Role.LABEL_LEADER, "label_leader_id"), (Role.REVIEW_LEADER, "review_leader_id")):
            if data[key]:
                (leaders[role],) = _users([data[key]])
        tasks = {t.pk: t for t in LabelTask.objects.filter(project_id=project.pk, pk__in=list(data["task_ids"]))}
        missing = [task_id for task_id in data["task_ids"] if task_id not in tasks]
        if missing:
            # Every task must belong to this project (DDS let a manager staff other projects, bug 4).
            raise task_error(LabelErrCode.TASK_NOT_IN_PROJECT, detail={"task_ids": missing})
        failed: dict[str, list] = {Role.LABEL_LEADER: [], Role.REVIEW_LEADER: []}
        for task_id in dict.fromkeys(data["task_ids"]):
            for role, user in leaders.items():
                try:
                    services.task_set_leader(task=tasks[task_id], user=user, role=role)
                except LabelTaskError as exc:
                    failed[role].append({"task_id": task_id, "error": exc.to_dict()})
        if any(failed.values()):
            body = {
                "code": LabelErrCode.BATCH_ASSIGN_LEADERS_PARTIAL,
                "message": "Batch assign leaders partially success.",
                "detail": {"failed": failed},
            }
            return Response(body, status=status.HTTP_200_OK)
        return Response({})


class LabelTaskViewSet(viewsets.ViewSet):
    """Tasks of a project: list, retrieve, workers, replace, restart, QA, roles, config."""

    permission_classes = [permissions.IsActiveUser]
    lookup_value_regex = "[0-9a-zA-Z]+"

    def _project(self) -> LabelProject:
        return selectors.project_get(self.kwargs["project_pk"])

    def _task(self, pk: str) -> LabelTask:
        project = self._project()
        return selectors.task_get(pk, project.pk)

    def _roles_context(self, request, tasks) -> dict:
        return {"roles": {task.pk: selectors.visible_task_roles(request.user, task) for task in tasks}}

    @extend_schema(responses=TaskOutput(many=True))
    def list(self, request, project_pk=None):
        project = self._project()
        permissions.ensure_can_view_project(request.user, project)
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.tasks_for(request.user, project), request, view=self)
        data = TaskOutput(page, many=True, context=self._roles_context(request, page)).data
        return paginator.get_paginated_response(data)

    @extend_schema(responses=TaskOutput)
    def retrieve(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        permissions.ensure_can_view_task(request.user, task)
        return Response(TaskOutput(task, context=self._roles_context(request, [task])).data)

    @extend_schema(responses=TaskRoleOutput(many=True))
    @action(detail=True, methods=["get"])
    def roles(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        permissions.ensure_can_view_task(request.user, task)
        return Response({"role_list": TaskRoleOutput(selectors.visible_task_roles(request.user, task), many=True).data})

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def config(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        permissions.ensure_can_view_task(request.user, task)
        return Response({"category_list": [{"name": n, "id": n} for n in task.project.category_list]})

    @extend_schema(request=WorkersInput, responses=TaskRoleOutput(many=True))
    @action(detail=True, methods=["post"])
    def workers(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        data = _parse(WorkersInput, request.data)
        if not data["labeler_ids"] and not data["reviewer_ids"]:
            raise task_error(LabelErrCode.WORKERS_EMPTY)
        lists = ((Role.LABELER, data["labeler_ids"]), (Role.REVIEWER, data["reviewer_ids"]))
        requested = [(role, ids) for role, ids in lists if ids]
        # Permission first: the answer to a caller without it never tells which user ids exist.
        for role, _ in requested:
            permissions.ensure_can_init_workers(request.user, task, role)
        wanted = [(role, _users(ids)) for role, ids in requested]
        # Checked before either role is written, so a refused request leaves the task as it was.
        services.task_check_workers(task=task, labeler_ids=data["labeler_ids"], reviewer_ids=data["reviewer_ids"])
        created = []
        for role, users in wanted:
            created += services.task_init_workers(task=task, users=users, role=role)
        return Response(TaskRoleOutput(created, many=True).data)

    @extend_schema(request=ReplaceInput, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def replace(self, request, pk=None, project_pk=None):
        task = self._task(pk)
        data = _parse(ReplaceInput, request.data)
        permissions.ensure_can_replace_worker(request.user, task, data["role"])  # before looking up the users
        (old_user,) = _users([data["old_worker_id"]], require_active=False)  # a banned worker can go (bug 15)
        (new_user,) = _users([data["new_worker_id"]])
        old, new = services.task_replace_role(task=task, old_user=old_user, new_user=new_user, role=data["role"])
        body = TaskOutput(task).data | {"old_worker": TaskRoleOutput(old).data, "new_worker": TaskRoleOutput(new).data}
        return Response(body)

    @extend_schema(request=None, responses=TaskOutput)
    @action(detail=True, methods=["post"])
    def restart(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        permissions.ensure_can_restart_task(request.user, task)
        return Response(TaskOutput(services.task_restart(task=task)).data)

    @extend_schema(request=TaskQAInput, responses=TaskOutput)
    @action(detail=True, methods=["post"])
    def qa(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        permissions.ensure_can_qa_task(request.user, task)
        data = _parse(TaskQAInput, request.data)
        return Response(TaskOutput(services.task_qa(task=task, action=data["action"])).data)

    @extend_schema(responses=WorkflowEventOutput(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, project_pk=None, pk=None):
        """The task's status changes, newest first: who, which action, when, from -> to (paged)."""
        events = checkpoint.task_history(task=self._task(pk), actor=request.user)
        paginator = PagePagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(WorkflowEventOutput(page, many=True).data)


class TaskImageViewSet(viewsets.ViewSet):
    """Images of a task as the caller's role sees them, with ``label`` and ``review`` actions."""

    permission_classes = [permissions.IsActiveUser]
    lookup_value_regex = "[0-9a-zA-Z_]+"

    def _task(self) -> LabelTask:
        project = selectors.project_get(self.kwargs["project_pk"])
        return selectors.task_get(self.kwargs["task_pk"], project.pk)

    @extend_schema(
        operation_id="label_projects_tasks_images_list", parameters=[TaskImageQuery], responses=TaskImagePageOutput
    )
    def list(self, request, project_pk=None, task_pk=None):
        task = self._task()
        query = _parse(TaskImageQuery, request.query_params)
        key, only_user = selectors.task_image_view(task=task, user=request.user, role_id=query.get("role_id"))
        total, docs = selectors.task_images_page(
            task=task,
            status_key=key,
            status=query["status"],
            page=query["page"],
            page_size=query["page_size"],
            cursor=query.get("cursor"),
        )
        reviewer = key.split("_", 1)[1] if key.startswith(f"{Role.REVIEWER}_") else None
        images = [selectors.shape_task_image(doc, reviewer_view=reviewer, only_user_id=only_user) for doc in docs]
        next_cursor = images[-1]["idx"] if images else None
        return Response(
            {
                "total": total,
                "page": query["page"],
                "page_size": query["page_size"],
                "next_cursor": next_cursor,
                "image_list": TaskImageOutput(images, many=True).data,
            }
        )

    @extend_schema(responses=TaskImageOutput)
    def retrieve(self, request, project_pk=None, task_pk=None, pk=None):
        task = self._task()
        key, only_user = selectors.task_image_view(task=task, user=request.user)
        doc = services.task_image_get(task=task, image_id=pk)
        reviewer = key.split("_", 1)[1] if key.startswith(f"{Role.REVIEWER}_") else None
        return Response(
            TaskImageOutput(selectors.shape_task_image(doc, reviewer_view=reviewer, only_user_id=only_user)).data
        )

    @extend_schema(request=LabelInput, responses=TaskLabelOutput)
    @action(detail=True, methods=["post"])
    def label(self, request, project_pk=None, task_pk=None, pk=None):
        task = self._task()
        permissions.ensure_can_label(request.user, task)
        data = _parse(LabelInput, request.data)
        label = services.task_image_label(
            task=task,
            image_id=pk,
            labeler=request.user,
            annotations=data["annotations"],
            base_label_id=data.get("base_label_id"),
        )
        return Response(TaskLabelOutput(label).data)

    @extend_schema(request=ReviewInput, responses=TaskReviewOutput)
    @action(detail=True, methods=["post"])
    def review(self, request, project_pk=None, task_pk=None, pk=None):
        task = self._task()
        permissions.ensure_can_review(request.user, task)
        data = _parse(ReviewInput, request.data)
        review = services.task_image_review(
            task=task, image_id=pk, reviewer=request.user, label_id=data["label_id"], action=data["action"]
        )
        return Response(TaskReviewOutput(review).data)
