"""Labeling API under /api/v1/: projects, their tasks, task roles and task images (reference §8.7).

Viewsets parse input, call one service or selector with the caller as ``actor`` and serialize; the services and
selectors enforce ``labeling.rules``, so the views check no permission themselves. Errors travel as typed
``DDSError``s to the project's exception handler.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dds_site.api import PAGE_PARAMETERS, PagePagination, keyset_list_response, whole_list_response
from labeling import checkpoint, export, permissions, rules, selectors, services
from labeling.models import LabelProject, LabelTask
from labeling.serializers import (
    LabelInput,
    LeadersInput,
    ProjectCreateInput,
    ProjectEditInput,
    ProjectExportInput,
    ProjectInitInput,
    ProjectOutput,
    ProjectPageOutput,
    ProjectQAInput,
    ProjectReopenInput,
    ReplaceInput,
    ReviewInput,
    TaskImageOutput,
    TaskImagePageOutput,
    TaskImageQuery,
    TaskLabelOutput,
    TaskOutput,
    TaskPageOutput,
    TaskQAInput,
    TaskReviewOutput,
    TaskRoleOutput,
    TaskRolePageOutput,
    TaskWithRolesOutput,
    WorkersInput,
    WorkflowEventOutput,
    WorkflowEventPageOutput,
)
from labeling.workflow import Role


def _parse(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _project_output(request, projects) -> dict | list:
    many = not isinstance(projects, LabelProject)
    items = projects if many else [projects]
    show = {project.pk: rules.can_view_progress(request.user, project.pk) for project in items}
    return ProjectOutput(projects, many=many, context={"show_progress": show}).data


class LabelProjectViewSet(viewsets.ViewSet):
    """Label projects: list, create, retrieve, edit; init, QA, reopen and export actions."""

    permission_classes = [permissions.IsActiveUser]
    pagination_class = PagePagination
    lookup_value_regex = "[0-9a-zA-Z]+"

    def _project(self, pk: str) -> LabelProject:
        return selectors.project_get(pk)

    @extend_schema(responses=ProjectPageOutput)
    def list(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.projects_for(request.user), request, view=self)
        return paginator.get_paginated_response(_project_output(request, page))

    @extend_schema(request=ProjectCreateInput, responses=ProjectOutput)
    def create(self, request):
        data = _parse(ProjectCreateInput, request.data)
        project = services.project_create_by_ids(
            actor=request.user,
            name=data["name"],
            dataset_ids=data["dataset_ids"],
            manager_ids=data["manager_ids"],
            categories=data["categories"],
            description=data["description"],
            pre_label=data["pre_label"],
        )
        return Response(_project_output(request, project), status=status.HTTP_201_CREATED)

    @extend_schema(responses=ProjectOutput)
    def retrieve(self, request, pk=None):
        project = selectors.project_for(request.user, pk)
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectEditInput, responses=ProjectOutput)
    def partial_update(self, request, pk=None):
        project = self._project(pk)
        data = _parse(ProjectEditInput, request.data)
        project = services.project_edit_by_ids(
            actor=request.user,
            project=project,
            description=data.get("description"),
            manager_ids=data.get("manager_ids"),
        )
        return Response(_project_output(request, project))

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.project_delete(project=self._project(pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ProjectInitInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def init(self, request, pk=None):
        project = self._project(pk)
        data = _parse(ProjectInitInput, request.data)
        project = services.project_init(project=project, actor=request.user, **data)
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectQAInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def qa(self, request, pk=None):
        project = self._project(pk)
        data = _parse(ProjectQAInput, request.data)
        project = services.project_qa(project=project, action=data["action"], actor=request.user)
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectReopenInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        project = self._project(pk)
        data = _parse(ProjectReopenInput, request.data)
        project = services.project_reopen(project=project, task_ids=data.get("task_ids"), actor=request.user)
        return Response(_project_output(request, project))

    @extend_schema(request=ProjectExportInput, responses=ProjectOutput)
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        project = self._project(pk)
        data = _parse(ProjectExportInput, request.data)
        project = export.project_export(
            project=project, label_set_name=data["label_name"], label_type=data["label_type"], actor=request.user
        )
        return Response(_project_output(request, project))

    @extend_schema(
        operation_id="api_v1_label_projects_history_list", parameters=PAGE_PARAMETERS, responses=WorkflowEventPageOutput
    )
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
        data = _parse(LeadersInput, request.data)
        services.project_set_leaders(
            actor=request.user,
            project=project,
            task_ids=data["task_ids"],
            label_leader_id=data["label_leader_id"],
            review_leader_id=data["review_leader_id"],
        )
        return Response({})


class LabelTaskViewSet(viewsets.ViewSet):
    """Tasks of a project: list, retrieve, workers, replace, restart, QA, roles, config."""

    permission_classes = [permissions.IsActiveUser]
    lookup_value_regex = "[0-9a-zA-Z]+"

    def _task(self, pk: str) -> LabelTask:
        return selectors.project_task_get(self.kwargs["project_pk"], pk)

    def _roles_context(self, request, tasks) -> dict:
        return {"roles": {task.pk: selectors.visible_task_roles(request.user, task) for task in tasks}}

    @extend_schema(parameters=PAGE_PARAMETERS, responses=TaskPageOutput)
    def list(self, request, project_pk=None):
        project = selectors.project_for(request.user, project_pk)
        paginator = PagePagination()
        page = paginator.paginate_queryset(selectors.tasks_for(request.user, project), request, view=self)
        data = TaskWithRolesOutput(page, many=True, context=self._roles_context(request, page)).data
        return paginator.get_paginated_response(data)

    @extend_schema(responses=TaskWithRolesOutput)
    def retrieve(self, request, project_pk=None, pk=None):
        task = selectors.task_for(request.user, project_pk, pk)
        return Response(TaskWithRolesOutput(task, context=self._roles_context(request, [task])).data)

    @extend_schema(operation_id="api_v1_label_projects_tasks_roles_list", responses=TaskRolePageOutput)
    @action(detail=True, methods=["get"])
    def roles(self, request, project_pk=None, pk=None):
        task = selectors.task_for(request.user, project_pk, pk)
        return whole_list_response(TaskRoleOutput(selectors.visible_task_roles(request.user, task), many=True).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def config(self, request, project_pk=None, pk=None):
        task = selectors.task_for(request.user, project_pk, pk)
        return Response({"category_list": [{"name": n, "id": n} for n in task.project.category_list]})

    @extend_schema(request=WorkersInput, responses=TaskRoleOutput(many=True))
    @action(detail=True, methods=["post"])
    def workers(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        data = _parse(WorkersInput, request.data)
        created = services.task_staff_workers(
            actor=request.user, task=task, labeler_ids=data["labeler_ids"], reviewer_ids=data["reviewer_ids"]
        )
        return Response(TaskRoleOutput(created, many=True).data)

    @extend_schema(request=ReplaceInput, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def replace(self, request, pk=None, project_pk=None):
        task = self._task(pk)
        data = _parse(ReplaceInput, request.data)
        old, new = services.task_replace_worker_by_ids(
            actor=request.user,
            task=task,
            role=data["role"],
            old_worker_id=data["old_worker_id"],
            new_worker_id=data["new_worker_id"],
        )
        body = TaskOutput(task).data | {"old_worker": TaskRoleOutput(old).data, "new_worker": TaskRoleOutput(new).data}
        return Response(body)

    @extend_schema(request=None, responses=TaskOutput)
    @action(detail=True, methods=["post"])
    def restart(self, request, project_pk=None, pk=None):
        task = services.task_restart(task=self._task(pk), actor=request.user)
        return Response(TaskOutput(task).data)

    @extend_schema(request=TaskQAInput, responses=TaskOutput)
    @action(detail=True, methods=["post"])
    def qa(self, request, project_pk=None, pk=None):
        task = self._task(pk)
        data = _parse(TaskQAInput, request.data)
        return Response(TaskOutput(services.task_qa(task=task, action=data["action"], actor=request.user)).data)

    @extend_schema(
        operation_id="api_v1_label_projects_tasks_history_list",
        parameters=PAGE_PARAMETERS,
        responses=WorkflowEventPageOutput,
    )
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
        return selectors.project_task_get(self.kwargs["project_pk"], self.kwargs["task_pk"])

    @extend_schema(
        operation_id="label_projects_tasks_images_list", parameters=[TaskImageQuery], responses=TaskImagePageOutput
    )
    def list(self, request, project_pk=None, task_pk=None):
        task = self._task()
        query = _parse(TaskImageQuery, request.query_params)
        active_roles = selectors.task_active_roles(task)  # the caller's role and the page's counter, one read
        key, only_user = selectors.task_image_view(
            task=task, user=request.user, role_id=query.get("role_id"), active_roles=active_roles
        )
        page, page_size, cursor = query["page"], query["page_size"], query.get("cursor")
        # A keyset page reads one image more to know whether another page follows; a numbered page
        # knows it from the total (the role's counter).
        total, docs = selectors.task_images_page(
            task=task,
            status_key=key,
            status=query["status"],
            page=page,
            page_size=page_size if cursor is None else page_size + 1,
            cursor=cursor,
            active_roles=active_roles,
        )
        more = page * page_size < total if cursor is None else len(docs) > page_size
        docs = docs[:page_size]
        reviewer = key.split("_", 1)[1] if key.startswith(f"{Role.REVIEWER}_") else None
        images = [selectors.shape_task_image(doc, reviewer_view=reviewer, only_user_id=only_user) for doc in docs]
        return keyset_list_response(
            request,
            TaskImageOutput(images, many=True).data,
            count=total,
            page=page,
            page_size=page_size,
            cursor=cursor,
            next_cursor=images[-1]["idx"] if more and images else None,
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
        data = _parse(ReviewInput, request.data)
        review = services.task_image_review(
            task=task, image_id=pk, reviewer=request.user, label_id=data["label_id"], action=data["action"]
        )
        return Response(TaskReviewOutput(review).data)
