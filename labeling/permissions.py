"""The DRF permission class of the labeling API; the rules themselves are ``labeling.rules``.

The labeling endpoints only require an active user here: which user may do what is decided by the services,
which enforce ``labeling.rules`` for every caller (the API, the admin, the model API).
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from labeling import rules

# Former names of the rules, until every caller uses ``labeling.rules``.
ensure_can_create_project = rules.require_create_project
ensure_can_view_project = rules.require_view_project
ensure_can_edit_project = rules.require_edit_project
ensure_can_init_project = rules.require_init_project
ensure_can_qa_project = rules.require_qa_project
ensure_can_export_project = rules.require_export_project
ensure_can_assign_leader = rules.require_assign_leader
ensure_can_qa_task = rules.require_qa_task
ensure_can_init_workers = rules.require_init_workers
ensure_can_replace_worker = rules.require_replace_worker
ensure_can_restart_task = rules.require_restart_task
ensure_can_label = rules.require_label_image
ensure_can_review = rules.require_review_image
ensure_can_view_task = rules.require_view_task


def can_see_progress(user, project) -> bool:
    return rules.can_view_progress(user, project.pk)


class IsActiveUser(BasePermission):
    """Authenticated and not banned."""

    def has_permission(self, request, view) -> bool:
        return rules.is_usable(request.user)
