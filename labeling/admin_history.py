"""The read-only history tables on the project and task change pages of the admin.

Each lists the object's ``WorkflowEvent``s, newest first: who did which action, when, and the status
before and after. Nothing can be added, changed or deleted here; the history is written only by
``labeling.checkpoint`` with the change it records.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import admin

from labeling.models import WorkflowEvent

FIELDS = ("when", "actor", "action", "from_status", "to_status")


class _HistoryInline(admin.TabularInline):
    model = WorkflowEvent
    fields = FIELDS
    readonly_fields = FIELDS
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name = "status change"
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Whoever may view the project or task page may read its history.
        return self.admin_site._registry[self.parent_model].has_view_permission(request, obj)

    @admin.display(description="when (UTC)")
    def when(self, event: WorkflowEvent) -> str:
        return datetime.fromtimestamp(event.created_ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="by")
    def actor(self, event: WorkflowEvent) -> str:
        return event.actor_name or "(script)"


class ProjectHistoryInline(_HistoryInline):
    """The changes of the project itself (each task's are on its own page)."""

    fk_name = "project"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(task_id=None).order_by("-created_ts", "-id")


class TaskHistoryInline(_HistoryInline):
    fk_name = "task"

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_ts", "-id")


def attach(project_admin: type[admin.ModelAdmin], task_admin: type[admin.ModelAdmin]) -> None:
    """Show the history tables on the change pages of these two admin classes."""
    project_admin.inlines = [*project_admin.inlines, ProjectHistoryInline]
    task_admin.inlines = [*task_admin.inlines, TaskHistoryInline]
