"""Input and output shapes of the labeling API (no writes here)."""

from __future__ import annotations

from rest_framework import serializers

from labeling.models import PROJECT_COUNTER_FIELDS, LabelProject, LabelTask, TaskRole
from labeling.workflow import MAX_INIT_VALUE, ImageStatus, ProjectQAAction, ReviewAction, Role, TaskQAAction

# Integers are stored in MongoDB as int64: larger input is a 400, not an OverflowError (500).
MAX_PAGE = 10**9
MAX_IDX = 2**53


def _id(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=64, **kwargs)


class ProjectCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    dataset_ids = serializers.ListField(child=_id(), allow_empty=True)
    manager_ids = serializers.ListField(child=_id(), allow_empty=True)
    categories = serializers.JSONField(help_text="A list of names, or DDS's comma-separated string.")
    pre_label = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)

    def validate_categories(self, value):
        if isinstance(value, str):
            return [name for name in value.split(",")]
        if isinstance(value, list) and all(isinstance(name, str) for name in value):
            return value
        raise serializers.ValidationError("categories must be a list of names or a comma-separated string.")


class ProjectEditInput(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True)
    manager_ids = serializers.ListField(child=_id(), required=False, allow_empty=True)


class ProjectInitInput(serializers.Serializer):
    batch_size = serializers.IntegerField(min_value=0, max_value=MAX_INIT_VALUE)
    label_times = serializers.IntegerField(min_value=1, max_value=MAX_INIT_VALUE)
    review_times = serializers.IntegerField(min_value=0, max_value=MAX_INIT_VALUE)


class ProjectQAInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=ProjectQAAction.choices)


class ProjectReopenInput(serializers.Serializer):
    task_ids = serializers.ListField(child=_id(), required=False, allow_empty=False)


class ProjectExportInput(serializers.Serializer):
    label_name = serializers.CharField(max_length=200)
    label_type = serializers.ChoiceField(choices=["GT", "Pred", "User"], default="User")


class LeadersInput(serializers.Serializer):
    task_ids = serializers.ListField(child=_id(), allow_empty=False)
    label_leader_id = _id(required=False, allow_null=True, default=None)
    review_leader_id = _id(required=False, allow_null=True, default=None)


class WorkersInput(serializers.Serializer):
    labeler_ids = serializers.ListField(child=_id(), required=False, default=list)
    reviewer_ids = serializers.ListField(child=_id(), required=False, default=list)


class ReplaceInput(serializers.Serializer):
    old_worker_id = _id()
    new_worker_id = _id()
    role = serializers.ChoiceField(choices=[Role.LABELER, Role.REVIEWER])


class TaskQAInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=TaskQAAction.choices)


class LabelInput(serializers.Serializer):
    annotations = serializers.JSONField()
    base_label_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text='Optional guard: the id of your label this edit started from ("" if none); 409 if it changed.',
    )


class ReviewInput(serializers.Serializer):
    label_id = _id()
    action = serializers.ChoiceField(choices=ReviewAction.choices)


class TaskImageQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ImageStatus.choices, default=ImageStatus.LABELING)
    role_id = _id(required=False)
    page = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=500, default=50)
    cursor = serializers.IntegerField(
        min_value=-1, max_value=MAX_IDX, required=False, help_text="Last idx seen (keyset paging)."
    )


class ProjectOutput(serializers.ModelSerializer):
    class Meta:
        model = LabelProject
        fields = (
            "id",
            "name",
            "description",
            "datasets",
            "owner",
            "managers",
            "status",
            "created_ts",
            "batch_size",
            "label_times",
            "review_times",
            "categories",
            "pre_label",
            *PROJECT_COUNTER_FIELDS,
        )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("show_progress", {}).get(instance.pk, False):
            for name in PROJECT_COUNTER_FIELDS:
                data[name] = None
        return data


class TaskRoleOutput(serializers.ModelSerializer):
    class Meta:
        model = TaskRole
        fields = (
            "id",
            "project_id",
            "task_id",
            "user_id",
            "user_name",
            "role",
            "is_active",
            "label_num_waiting",
            "review_num_waiting",
            "review_num_rejected",
            "review_num_accepted",
            "label_completed",
            "review_completed",
        )


class TaskOutput(serializers.ModelSerializer):
    class Meta:
        model = LabelTask
        fields = ("id", "idx", "project_id", "dataset_id", "created_ts", "num_total", "status", "force_accepted")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        roles = self.context.get("roles", {}).get(instance.pk)
        if roles is not None:
            by_kind = {kind: [TaskRoleOutput(r).data for r in roles if r.role == kind] for kind in Role.values}
            data["label_leader"] = (by_kind[Role.LABEL_LEADER] or [None])[0]
            data["review_leader"] = (by_kind[Role.REVIEW_LEADER] or [None])[0]
            data["labelers"] = by_kind[Role.LABELER]
            data["reviewers"] = by_kind[Role.REVIEWER]
        return data
