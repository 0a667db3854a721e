"""``label-projects/<p>/tasks/<t>/next``: the next image of a task waiting for the caller's own work.

A labeler gets his rejected images first (a reviewer sent them back), then those still to label; a
reviewer gets the images waiting for his review. Within a status the next image after ``after`` (an
idx) comes first, wrapping around to the start, so "skip" walks the task. The answer also counts
what is left for the caller, per status. The caller must hold the asked role, active, in the task.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import permissions, rules, selectors, store
from labeling.models import LabelTask
from labeling.serializers import TaskImageOutput
from labeling.workflow import ImageStatus, Role, role_key

# For each worker role, the statuses of his key that mean "waiting for me", most urgent first.
WAITING_FOR = {
    Role.LABELER: (ImageStatus.REJECTED, ImageStatus.LABELING),
    Role.REVIEWER: (ImageStatus.REVIEWING,),
}


class NextImageOutput(serializers.Serializer):
    role = serializers.CharField()
    image = TaskImageOutput(allow_null=True, help_text="The next image waiting for the caller; null when none is.")
    waiting = serializers.DictField(
        child=serializers.IntegerField(), help_text="Images waiting for the caller in this role, per status."
    )


class NextImageQuery(serializers.Serializer):
    role = serializers.ChoiceField(choices=[Role.LABELER, Role.REVIEWER])
    after = serializers.IntegerField(min_value=-1, max_value=2**53, required=False, default=-1)


def next_image_for(*, task: LabelTask, role: str, user_id: str, after: int) -> tuple[dict | None, dict[str, int]]:
    """The stored next image waiting for ``user_id`` acting as ``role`` (or None), and the waiting counts."""
    collection = store.task_images(task.dataset_id)
    status_key = role_key(role, user_id)
    waiting: dict[str, int] = {}
    found = None
    active_roles = selectors.task_active_roles(task)  # the counters of every status, read once
    for status in WAITING_FOR[role]:
        # The role's counter and bounded task_id+idx windows (see selectors.task_images_page), never a count
        # or a status filter over the dataset's task images.
        total = selectors.task_status_total(task, status_key, status, active_roles=active_roles)
        if total is None:
            total = collection.count({"task_id": task.pk, f"role_status.{status_key}": status})
        waiting[status] = total
        if found is None and total:
            for cursor in (after, -1):  # after the current image, else from the start
                page = selectors.task_keyset_page(collection, task.pk, status_key, status, cursor, 1)
                if page:
                    found = page[0]
                    break
    return found, waiting


class NextTaskImage(APIView):
    """The next image waiting for the caller in this task, as his role sees it."""

    permission_classes = [permissions.IsActiveUser]

    @extend_schema(parameters=[NextImageQuery], responses=NextImageOutput)
    def get(self, request, project_pk: str, task_pk: str) -> Response:
        project = selectors.project_get(project_pk)
        task = selectors.task_get(task_pk, project.pk)
        query = NextImageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        role = query.validated_data["role"]
        if role == Role.LABELER:
            rules.require_label_image(request.user, task)
        else:
            rules.require_review_image(request.user, task)
        after = query.validated_data["after"]
        doc, waiting = next_image_for(task=task, role=role, user_id=request.user.pk, after=after)
        image = None
        if doc is not None:
            shaped = selectors.shape_task_image(
                doc,
                reviewer_view=request.user.pk if role == Role.REVIEWER else None,
                only_user_id=request.user.pk if role == Role.LABELER else None,
            )
            image = TaskImageOutput(shaped).data
        return Response({"role": role, "image": image, "waiting": waiting})
