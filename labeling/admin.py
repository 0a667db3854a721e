"""Admin for label projects and tasks: pages that run a project end to end through the workflow services.

What a user sees and may do is what the API lets him (``labeling.admin_access``); the pages and form posts are
in ``labeling.admin_views``. Changelist actions go through the same checks, object by object.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from dds_site.admin_actions import run_each
from dds_site.errors import DDSError
from labeling import admin_access, admin_display, admin_views, progress, rules, services
from labeling.models import LabelProject, LabelTask, TaskRole


def _bulk_action(description: str, verb: str, ensure: Callable, call: Callable) -> Callable:
    """A changelist action running ``call(obj, actor)`` on each selected object the user may act on (``ensure``);
    each refusal or workflow error is a message."""

    def checked(user, obj) -> None:
        admin_access.check(user, ensure, obj)
        call(obj, admin_access.actor_for(user))

    @admin.action(description=description)
    def action(modeladmin, request, queryset) -> None:
        run_each(
            modeladmin, request, queryset, lambda obj: checked(request.user, obj), done=f"{verb} {{count}} object(s)."
        )

    return action


def _project_qa_action(description: str, verb: str, action: str) -> Callable:
    return _bulk_action(
        description,
        verb,
        rules.require_qa_project,
        lambda project, actor: services.project_qa(project=project, action=action, actor=actor),
    )


def _task_qa_action(description: str, verb: str, action: str) -> Callable:
    return _bulk_action(
        description,
        verb,
        rules.require_qa_task,
        lambda task, actor: services.task_qa(task=task, action=action, actor=actor),
    )


def _progress_bar(progress) -> str:
    return format_html(
        '<span class="dds-nowrap">{}</span>', render_to_string("admin/labeling/_bar.html", {"progress": progress})
    )


class _ObjectPagesMixin:
    """Pages of one object instead of Django's change form, and its stylesheet.

    Routes ``<pk>/<name>/`` to a view of ``admin_views`` taking the object, found in the user's queryset."""

    object_pages: dict[str, Callable] = {}

    class Media:
        css = {"all": ("labeling/admin.css",)}

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        extra = [
            path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(self._object_page(view)),
                name="{}_{}_{}".format(*info, name),
            )
            for name, view in self.object_pages.items()
        ]
        return extra + super().get_urls()

    def _object_page(self, view: Callable):
        def handler(request, object_id):
            obj = self._visible_object(request, object_id)
            if obj is None:
                return self._not_found(request, object_id)
            return view(self, request, obj)

        return handler

    def _visible_object(self, request, object_id):
        if not self.has_view_permission(request):
            return None
        return self.get_queryset(request).filter(pk=unquote(object_id)).first()

    def _not_found(self, request, object_id):
        opts = self.model._meta
        self.message_user(
            request, f"{opts.verbose_name.capitalize()} {object_id!r} does not exist or is not yours.", messages.WARNING
        )
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self._visible_object(request, object_id)
        if obj is None:
            return self._not_found(request, object_id)
        return self.overview(request, obj)


@admin.register(LabelProject)
class LabelProjectAdmin(_ObjectPagesMixin, admin.ModelAdmin):
    list_display = ("name", "status_badge", "progress_bar", "datasets_text", "owner_text", "created")
    list_display_links = ("name",)
    list_filter = ("status",)
    search_fields = ("name",)
    actions = ["accept_projects", "reject_projects", "reopen_projects", "recount_projects"]
    object_pages = {**admin_views.PROJECT_FORM_PAGES, "leaders": admin_views.project_leaders}

    def get_queryset(self, request):
        return admin_access.projects_visible(request.user).order_by("-created_ts")

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Label projects", **(extra_context or {})})

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletion is per project, from its page, by its owner
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or admin_access.allowed(request.user, rules.require_edit_project, obj))

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return admin_views.project_create(self, request)

    def overview(self, request, project):
        return admin_views.project_overview(self, request, project)

    def delete_view(self, request, object_id, extra_context=None):
        """Django's confirmation page; the confirmed POST goes to the service (outside Django's atomic block,
        which would refuse the service's own MongoDB transaction)."""
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)
        project = self._visible_object(request, object_id)
        if project is None:
            return self._not_found(request, object_id)
        try:
            services.project_delete(project=project, actor=admin_access.actor_for(request.user))
        except DDSError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(admin_views.project_url(project))
        self.message_user(request, f"Deleted project {project.name}.", level=messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:labeling_labelproject_changelist"))

    @admin.display(description="status", ordering="status")
    def status_badge(self, project):
        return admin_display.status_badge(project.status)

    @admin.display(description="tasks accepted")
    def progress_bar(self, project):
        if not project.task_num_total:
            return "not initialised" if project.status == "waiting" else "no tasks"
        return _progress_bar(admin_display.project_progress(project))

    @admin.display(description="datasets")
    def datasets_text(self, project):
        return admin_display.datasets_html(project.datasets)

    @admin.display(description="owner")
    def owner_text(self, project):
        return admin_display.names_text(project.owner)

    @admin.display(description="created", ordering="created_ts")
    def created(self, project):
        return admin_display.ts_text(project.created_ts)

    accept_projects = _project_qa_action("Accept selected projects (QA)", "Accepted", "accept")
    reject_projects = _project_qa_action("Reject selected projects (QA)", "Rejected", "reject")

    reopen_projects = _bulk_action(
        "Reopen selected rejected projects for rework",
        "Reopened",
        rules.require_qa_project,
        lambda p, actor: services.project_reopen(project=p, actor=actor),
    )

    recount_projects = _bulk_action(
        "Recount task counters",
        "Recounted",
        rules.require_init_project,
        lambda p, actor: progress.project_recount(project=p, actor=actor),
    )


@admin.register(LabelTask)
class LabelTaskAdmin(_ObjectPagesMixin, admin.ModelAdmin):
    list_display = ("task_name", "project_name", "dataset_name", "status_badge", "progress_bar", "num_total")
    list_display_links = ("task_name",)
    list_filter = ("status",)
    search_fields = ("id", "project_id")
    actions = ["accept_tasks", "reject_tasks", "force_accept_tasks", "restart_tasks", "recount_tasks"]
    object_pages = {
        "leaders": admin_views.task_leaders,
        "workers": admin_views.task_workers,
        "replace": admin_views.task_replace,
        "restart": admin_views.task_restart,
        "qa": admin_views.task_qa,
    }

    def get_queryset(self, request):
        return admin_access.tasks_visible(request.user).order_by("project_id", "idx")

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Label tasks", **(extra_context or {})})

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One query for the shown tasks' projects and one for their roles, not one per row.
        tasks = list(changelist.result_list)
        projects = {p.pk: p for p in LabelProject.objects.filter(pk__in={t.project_id for t in tasks})}
        roles = admin_display.roles_by_task(t.pk for t in tasks)
        for task in tasks:
            task._project = projects.get(task.project_id)
            task._roles = roles.get(task.pk, [])
        return changelist

    def has_add_permission(self, request) -> bool:
        return False  # tasks are made by initialising their project

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def overview(self, request, task):
        return admin_views.task_overview(self, request, task)

    @admin.display(description="task", ordering="idx")
    def task_name(self, task):
        return f"Task {task.idx}"

    @admin.display(description="project")
    def project_name(self, task):
        project = getattr(task, "_project", None) or task.project
        return format_html('<a href="{}">{}</a>', admin_views.project_url(project), project.name)

    @admin.display(description="dataset")
    def dataset_name(self, task):
        project = getattr(task, "_project", None) or task.project
        return admin_views.dataset_name(project, task.dataset_id)

    @admin.display(description="status", ordering="status")
    def status_badge(self, task):
        return admin_display.status_badge(task.status)

    @admin.display(description="progress")
    def progress_bar(self, task):
        roles = getattr(task, "_roles", None)
        if roles is None:
            roles = admin_display.roles_by_task([task.pk]).get(task.pk, [])
        return _progress_bar(admin_display.task_progress(task, roles))

    accept_tasks = _task_qa_action("Accept selected tasks (QA)", "Accepted", "accept")
    reject_tasks = _task_qa_action("Reject selected tasks (QA)", "Rejected", "reject")
    force_accept_tasks = _task_qa_action("Force-accept selected rejected tasks", "Force-accepted", "force_accept")

    restart_tasks = _bulk_action(
        "Restart selected rejected tasks",
        "Restarted",
        rules.require_restart_task,
        lambda t, actor: services.task_restart(task=t, actor=actor),
    )

    recount_tasks = _bulk_action(
        "Recount role progress",
        "Recounted",
        rules.require_qa_task,
        lambda t, actor: progress.task_recount(task=t),
    )


@admin.register(TaskRole)
class TaskRoleAdmin(admin.ModelAdmin):
    list_display = ("user_name", "role", "task_link", "is_active", "label_completed", "review_completed")
    list_filter = ("role", "is_active")
    search_fields = ("user_name", "task_id")
    readonly_fields = [field.name for field in TaskRole._meta.fields]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if admin_access.is_operator(request.user):
            return queryset
        return queryset.filter(task_id__in=list(admin_access.tasks_visible(request.user).values_list("id", flat=True)))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # roles change through their task's page (assign, replace)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="task")
    def task_link(self, role):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:labeling_labeltask_change", args=[role.task_id]), role.task_id
        )
