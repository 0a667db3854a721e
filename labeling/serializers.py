"""Input and output shapes of the labeling API (no writes here)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dds_site.output import DictOutput, page_output
from labeling.models import PROJECT_COUNTER_FIELDS, LabelProject, LabelTask, TaskRole
from labeling.workflow import MAX_INIT_VALUE, ImageStatus, ProjectQAAction, ReviewAction, Role, TaskQAAction

# Integers are stored in MongoDB as int64: larger input is a 400, not an OverflowError (500).
MAX_PAGE = 10**9
MAX_IDX = 2**53


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {"counts": {"type": "string"}, "size": {"type": "array", "items": {"type": "integer"}}},
                "required": ["counts", "size"],
            },
            {"type": "string", "enum": [""]},
        ],
        "description": 'An RLE mask {counts, size: [height, width]}, or "" for none.',
    }
)
class MaskField(serializers.JSONField):
    """An annotation's RLE mask, or ``""``."""


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


class TaskAnnotationOutput(DictOutput):
    """One annotation of a label, as the labeler submitted it (checked and normalised), or of a pre-label
    made from a dataset's label set: category and box only, the fields marked optional are then absent."""

    category_name = serializers.CharField(read_only=True)
    category_id = serializers.CharField(read_only=True, help_text="The category name (labels name categories).")
    bounding_box = serializers.DictField(
        child=serializers.FloatField(), read_only=True, help_text="xmin, ymin, xmax, ymax in 0-1; {} for none."
    )
    segmentation = serializers.CharField(required=False, help_text='Polygons "x,y,x,y,..." joined by "/", or "".')
    mask = MaskField(required=False)
    points = serializers.ListField(
        child=serializers.FloatField(), required=False, help_text="6 numbers per keypoint: x, y, z, w, v, conf."
    )
    lines = serializers.ListField(child=serializers.IntegerField(), required=False)
    point_colors = serializers.ListField(child=serializers.IntegerField(), required=False)
    point_names = serializers.ListField(child=serializers.CharField(), required=False)


class TaskLabelOutput(DictOutput):
    """One labeler's label of an image (``UserLabelData``)."""

    id = serializers.CharField(read_only=True)
    user_id = serializers.CharField(read_only=True)
    user_name = serializers.CharField(read_only=True)
    annotations = TaskAnnotationOutput(many=True, read_only=True)
    created_ts = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch.")


class TaskReviewOutput(DictOutput):
    """One reviewer's verdict on one label (``UserReviewData``)."""

    id = serializers.CharField(read_only=True)
    user_id = serializers.CharField(read_only=True)
    user_name = serializers.CharField(read_only=True)
    action = serializers.ChoiceField(choices=ReviewAction.choices, read_only=True)
    label_id = serializers.CharField(read_only=True)
    created_ts = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch.")


class TaskImageOutput(DictOutput):
    """A task image as the caller's role sees it: each labeler's latest label and the reviews of those
    labels, filtered for the viewer; ``role_status`` maps ``<role>_<user id>`` to that role's status."""

    id = serializers.CharField(source="_id", read_only=True, help_text='"<task id>_<idx>"')
    idx = serializers.IntegerField(read_only=True)
    image_id = serializers.IntegerField(read_only=True)
    task_id = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True, default="")
    url_full_res = serializers.CharField(read_only=True, default="")
    default_labels = TaskLabelOutput(read_only=True, allow_null=True, default=None, help_text="The pre-label.")
    labels = TaskLabelOutput(many=True, read_only=True, default=list)
    reviews = TaskReviewOutput(many=True, read_only=True, default=list)
    role_status = serializers.DictField(child=serializers.CharField(), read_only=True, default=dict)


TaskImagePageOutput = page_output(
    TaskImageOutput,
    "TaskImagePageOutput",
    count_help="Images of the task in the requested status for the role (from the role's counters).",
    keyset=True,
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
        extra_kwargs = {
            name: {"allow_null": True, "help_text": "null unless the caller may view the project's progress."}
            for name in PROJECT_COUNTER_FIELDS
        }

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


TaskRolePageOutput = page_output(
    TaskRoleOutput, "TaskRolePageOutput", count_help="The task's roles the caller may see."
)


class TaskOutput(serializers.ModelSerializer):
    class Meta:
        model = LabelTask
        fields = ("id", "idx", "project_id", "dataset_id", "created_ts", "num_total", "status", "force_accepted")


class TaskWithRolesOutput(TaskOutput):
    """A task with the holders of its roles the caller may see (``context["roles"]``: task id -> roles)."""

    label_leader = serializers.SerializerMethodField()
    review_leader = serializers.SerializerMethodField()
    labelers = serializers.SerializerMethodField()
    reviewers = serializers.SerializerMethodField()

    class Meta(TaskOutput.Meta):
        fields = (*TaskOutput.Meta.fields, "label_leader", "review_leader", "labelers", "reviewers")

    def _holders(self, task: LabelTask, role: str) -> list[dict]:
        roles = self.context["roles"].get(task.pk) or []
        return [TaskRoleOutput(item).data for item in roles if item.role == role]

    @extend_schema_field(TaskRoleOutput(allow_null=True))
    def get_label_leader(self, task: LabelTask) -> dict | None:
        return (self._holders(task, Role.LABEL_LEADER) or [None])[0]

    @extend_schema_field(TaskRoleOutput(allow_null=True))
    def get_review_leader(self, task: LabelTask) -> dict | None:
        return (self._holders(task, Role.REVIEW_LEADER) or [None])[0]

    @extend_schema_field(TaskRoleOutput(many=True))
    def get_labelers(self, task: LabelTask) -> list[dict]:
        return self._holders(task, Role.LABELER)

    @extend_schema_field(TaskRoleOutput(many=True))
    def get_reviewers(self, task: LabelTask) -> list[dict]:
        return self._holders(task, Role.REVIEWER)


TaskPageOutput = page_output(TaskWithRolesOutput, "TaskPageOutput")
ProjectPageOutput = page_output(ProjectOutput, "ProjectPageOutput")


class WorkflowEventOutput(serializers.Serializer):
    """One entry of a project's or a task's history: who did what, when, from which status to which."""

    id = serializers.CharField(read_only=True)
    project_id = serializers.CharField(read_only=True)
    task_id = serializers.CharField(read_only=True, allow_null=True)
    actor_id = serializers.CharField(read_only=True, allow_null=True, help_text="None: a script or the model API.")
    actor_name = serializers.CharField(read_only=True)
    action = serializers.CharField(read_only=True)
    from_status = serializers.CharField(read_only=True)
    to_status = serializers.CharField(read_only=True)
    created_ts = serializers.IntegerField(read_only=True, help_text="Milliseconds since the epoch.")


WorkflowEventPageOutput = page_output(WorkflowEventOutput, "WorkflowEventPageOutput")
