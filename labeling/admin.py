"""Admin for label projects and tasks; state changes go through the workflow services."""

from __future__ import annotations

from django.contrib import admin, messages

from dds_site.errors import DDSError
from labeling import progress, services
from labeling.models import PROJECT_COUNTER_FIELDS, LabelProject, LabelTask, TaskRole


def _run(modeladmin, request, queryset, verb: str, call) -> None:
    done = 0
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except DDSError as exc:
            modeladmin.message_user(request, f"{obj}: {exc}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb} {done} object(s).")


@admin.register(LabelProject)
class LabelProjectAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "created_ts",
        "batch_size",
        "label_times",
        "review_times",
        *PROJECT_COUNTER_FIELDS,
    )
    list_filter = ("status",)
    search_fields = ("name",)
    # Statuses, counters and configuration only change through the workflow (actions below).
    readonly_fields = (
        "id",
        "status",
        "created_ts",
        "owner",
        "datasets",
        "batch_size",
        "label_times",
        "review_times",
        *PROJECT_COUNTER_FIELDS,
    )
    fields = ("id", "name", "description", "categories", "pre_label", *readonly_fields[1:])
    actions = ["accept_projects", "reject_projects", "reopen_projects", "recount_projects"]

    def has_add_permission(self, request) -> bool:
        return False  # creation needs datasets and managers: use the API

    def delete_model(self, request, obj):
        services.project_delete(project=obj)

    def delete_queryset(self, request, queryset):
        for project in queryset:
            services.project_delete(project=project)

    @admin.action(description="Accept selected projects (QA)")
    def accept_projects(self, request, queryset):
        _run(self, request, queryset, "Accepted", lambda p: services.project_qa(project=p, action="accept"))

    @admin.action(description="Reject selected projects (QA)")
    def reject_projects(self, request, queryset):
        _run(self, request, queryset, "Rejected", lambda p: services.project_qa(project=p, action="reject"))

    @admin.action(description="Reopen selected rejected projects for rework")
    def reopen_projects(self, request, queryset):
        _run(self, request, queryset, "Reopened", lambda p: services.project_reopen(project=p))

    @admin.action(description="Recount task counters")
    def recount_projects(self, request, queryset):
        _run(self, request, queryset, "Recounted", lambda p: progress.project_recount(project=p))


@admin.register(LabelTask)
class LabelTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "idx", "project_id", "dataset_id", "num_total", "status", "force_accepted")
    list_filter = ("status",)
    search_fields = ("id", "project_id")
    readonly_fields = ("id", "idx", "project_id", "dataset_id", "created_ts", "num_total", "status", "force_accepted")
    actions = ["accept_tasks", "reject_tasks", "force_accept_tasks", "restart_tasks", "recount_tasks"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Accept selected tasks (QA)")
    def accept_tasks(self, request, queryset):
        _run(self, request, queryset, "Accepted", lambda t: services.task_qa(task=t, action="accept"))

    @admin.action(description="Reject selected tasks (QA)")
    def reject_tasks(self, request, queryset):
        _run(self, request, queryset, "Rejected", lambda t: services.task_qa(task=t, action="reject"))

    @admin.action(description="Force-accept selected rejected tasks")
    def force_accept_tasks(self, request, queryset):
        _run(self, request, queryset, "Force-accepted", lambda t: services.task_qa(task=t, action="force_accept"))

    @admin.action(description="Restart selected rejected tasks")
    def restart_tasks(self, request, queryset):
        _run(self, request, queryset, "Restarted", lambda t: services.task_restart(task=t))

    @admin.action(description="Recount role progress")
    def recount_tasks(self, request, queryset):
        _run(self, request, queryset, "Recounted", lambda t: progress.task_recount(task=t))


@admin.register(TaskRole)
class TaskRoleAdmin(admin.ModelAdmin):
    list_display = ("user_name", "role", "task_id", "is_active", "label_completed", "review_completed")
    list_filter = ("role", "is_active")
    search_fields = ("user_name", "task_id")
    readonly_fields = [field.name for field in TaskRole._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
