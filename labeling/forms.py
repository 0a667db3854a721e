"""Forms of the labeling admin. Field checks reuse the API's input serializers; the workflow rules stay in
the services, whose errors the admin views report."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from rest_framework import serializers as drf

from accounts.models import User
from datasets.models import DataSet, Label
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.serializers import ProjectCreateInput, ProjectExportInput, ProjectInitInput
from labeling.workflow import ProjectQAAction, Role, TaskQAAction, TaskStatus

DEFAULT_BATCH_SIZE = 100


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.name if obj.is_active else f"{obj.name} (banned)"


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.name if obj.is_active else f"{obj.name} (banned)"


class DatasetsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: DataSet) -> str:
        return obj.name


def _users() -> forms.models.QuerySet:
    # Banned users stay selectable (marked) so the workflow, not the form, says why they cannot be chosen.
    return User.objects.order_by("name")


class _SerializerCheckedForm(forms.Form):
    """A form whose cleaned data also passes the API's input serializer (same bounds, same messages)."""

    serializer_class: type[drf.Serializer]

    def serializer_data(self) -> dict:
        return dict(self.cleaned_data)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        serializer = self.serializer_class(data=self.serializer_data())
        if not serializer.is_valid():
            for field, messages in serializer.errors.items():
                target = field if field in self.fields else None
                for message in messages:
                    self.add_error(target, str(message))
            return cleaned
        self.validated = serializer.validated_data
        return cleaned


class ProjectCreateForm(_SerializerCheckedForm):
    serializer_class = ProjectCreateInput

    name = forms.CharField(max_length=255)
    datasets = DatasetsChoiceField(
        queryset=DataSet.objects.order_by("name"),
        widget=FilteredSelectMultiple("datasets", is_stacked=False),
        help_text="A dataset can belong to one unfinished project at a time.",
    )
    managers = UsersChoiceField(
        queryset=_users(),
        widget=FilteredSelectMultiple("managers", is_stacked=False),
        help_text="Managers initialise the project, staff its tasks and accept or reject them.",
    )
    categories = forms.CharField(
        max_length=10_000,
        help_text="Comma-separated category names, e.g. cat, dog, person.",
    )
    pre_label = forms.ChoiceField(
        required=False,
        label="Pre-label set",
        help_text="Objects of this label set of the datasets are shown to the labelers as a starting point.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted(set(Label.objects.values_list("name", flat=True)))
        self.fields["pre_label"].choices = [("", "— none —"), *((name, name) for name in names)]

    def serializer_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description") or "",
            "dataset_ids": [dataset.pk for dataset in data["datasets"]],
            "manager_ids": [user.pk for user in data["managers"]],
            "categories": data["categories"],
            "pre_label": data.get("pre_label") or None,
        }


class ProjectEditForm(forms.Form):
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    managers = UsersChoiceField(queryset=_users(), widget=FilteredSelectMultiple("managers", is_stacked=False))


class ProjectInitForm(_SerializerCheckedForm):
    serializer_class = ProjectInitInput

    batch_size = forms.IntegerField(
        min_value=0, initial=DEFAULT_BATCH_SIZE, help_text="Images per task; 0 makes one task per dataset."
    )
    label_times = forms.IntegerField(min_value=1, initial=1, help_text="How many labelers label each image.")
    review_times = forms.IntegerField(
        min_value=0, initial=1, help_text="How many reviewers review each label; 0 skips review."
    )


class ProjectQAForm(forms.Form):
    action = forms.ChoiceField(choices=ProjectQAAction.choices, widget=forms.RadioSelect)


class ProjectReopenForm(forms.Form):
    tasks = forms.ModelMultipleChoiceField(
        queryset=LabelTask.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Accepted tasks to send back for rework; none chosen reopens every accepted task.",
    )

    def __init__(self, *args, project: LabelProject, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["tasks"]
        field.queryset = LabelTask.objects.filter(project_id=project.pk, status=TaskStatus.ACCEPTED).order_by("idx")
        field.label_from_instance = lambda task: f"Task {task.idx} ({task.num_total} images)"


class ProjectExportForm(_SerializerCheckedForm):
    serializer_class = ProjectExportInput

    label_name = forms.CharField(
        max_length=200, label="Label set name", help_text="The label set the accepted labels are written to."
    )
    label_type = forms.ChoiceField(
        choices=[("User", "User labels"), ("GT", "Ground truth"), ("Pred", "Predictions")],
        initial="User",
        label="Write as",
    )


class LeadersForm(forms.Form):
    label_leader = UserChoiceField(queryset=_users(), required=False)
    review_leader = UserChoiceField(queryset=_users(), required=False)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("label_leader") or cleaned.get("review_leader")):
            raise forms.ValidationError("Choose a label leader, a review leader or both.")
        return cleaned


class WorkersForm(forms.Form):
    """The first labelers and/or reviewers of a task."""

    labelers = UsersChoiceField(queryset=_users(), required=False, widget=forms.SelectMultiple(attrs={"size": 6}))
    reviewers = UsersChoiceField(queryset=_users(), required=False, widget=forms.SelectMultiple(attrs={"size": 6}))

    def __init__(self, *args, roles: Iterable[str] | None = None, **kwargs):
        """``roles``: offer only these worker roles (the page shows what its user may still set)."""
        super().__init__(*args, **kwargs)
        if roles is not None:
            for role, name in ((Role.LABELER, "labelers"), (Role.REVIEWER, "reviewers")):
                if role not in roles:
                    del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not (cleaned.get("labelers") or cleaned.get("reviewers")):
            raise forms.ValidationError("Choose labelers, reviewers or both.")
        cleaned.setdefault("labelers", [])
        cleaned.setdefault("reviewers", [])
        return cleaned


class ReplaceForm(forms.Form):
    """Hand one worker's role in a task, with his work, to another user."""

    worker = forms.ChoiceField(label="Replace")
    new_user = UserChoiceField(queryset=_users(), label="With")

    def __init__(self, *args, task: LabelTask, **kwargs):
        super().__init__(*args, **kwargs)
        workers = TaskRole.objects.filter(task_id=task.pk, is_active=True, role__in=[Role.LABELER, Role.REVIEWER])
        self.fields["worker"].choices = [("", "---------")] + [
            (f"{role.role}:{role.user_id}", f"{role.user_name} ({role.role})")
            for role in workers.order_by("role", "user_name")
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        role, user_id = cleaned["worker"].split(":", 1)
        old_user = User.objects.filter(pk=user_id).first()  # banned workers can be replaced
        if old_user is None:
            raise forms.ValidationError("That worker no longer exists.")
        cleaned.update(role=role, old_user=old_user)
        return cleaned


class TaskQAForm(forms.Form):
    action = forms.ChoiceField(choices=TaskQAAction.choices)
