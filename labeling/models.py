"""LabelProject, ProjectRole, LabelTask and TaskRole on DDS's collections (reference §6).

Fields and collection names are DDS's. The seed's methods stay here as the public Python API; each is
a one-line call into ``labeling.services`` (the workflow) or ``labeling.rules`` (the predicates).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.db import models

from dds_site.documents import OrmDocumentMixin, current_ts
from labeling.errors import LabelProjectError, LabelTaskError
from labeling.task_images import LabelTaskImage, LabelTaskImageModel, UserLabelData, UserReviewData
from labeling.workflow import GT_LEADERS, GTE_LEADERS, LEADERS, WORKERS, ProjectStatus, Role, TaskStatus

# The seed's ``deepdataspace.model.label_task`` module exposes all of these in one place.
__all__ = [
    "LabelProject",
    "LabelProjectError",
    "LabelTask",
    "LabelTaskError",
    "LabelTaskImage",
    "LabelTaskImageModel",
    "ProjectRole",
    "TaskRole",
    "UserLabelData",
    "UserReviewData",
    "current_ts",
    "gen_uuid",
]

if TYPE_CHECKING:
    from accounts.models import User
    from datasets.models import DataSet


def gen_uuid() -> str:
    """DDS's id of projects, tasks and roles: a uuid4 hex string."""
    return uuid.uuid4().hex


uuid_hex = gen_uuid

PROJECT_COUNTER_FIELDS = (
    "task_num_total",
    "task_num_waiting",
    "task_num_working",
    "task_num_reviewing",
    "task_num_rejected",
    "task_num_accepted",
)


class LabelProject(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id", default=uuid_hex, editable=False)
    name = models.CharField(max_length=255)
    datasets = models.JSONField(default=list, help_text="[{id, name}] snapshots of the project's datasets.")
    created_ts = models.BigIntegerField(default=current_ts)
    owner = models.JSONField(default=dict, help_text="{id, name} of the creator.")
    managers = models.JSONField(default=list, help_text="[{id, name}] of the managers.")
    description = models.TextField(default="", blank=True)
    status = models.CharField(max_length=16, choices=ProjectStatus.choices, default=ProjectStatus.WAITING)
    batch_size = models.IntegerField(null=True, blank=True)
    label_times = models.IntegerField(null=True, blank=True)
    review_times = models.IntegerField(null=True, blank=True)
    task_num_total = models.IntegerField(default=0)
    task_num_waiting = models.IntegerField(default=0)
    task_num_working = models.IntegerField(default=0)
    task_num_reviewing = models.IntegerField(default=0)
    task_num_rejected = models.IntegerField(default=0)
    task_num_accepted = models.IntegerField(default=0)
    categories = models.TextField(default="", blank=True, help_text="Sorted, comma-joined category names.")
    pre_label = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        db_table = "label_projects"
        indexes = [models.Index(fields=["status"], name="label_projects_status")]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def dataset_ids(self) -> list[str]:
        return [item["id"] for item in self.datasets]

    @property
    def category_list(self) -> list[str]:
        return [name for name in self.categories.split(",") if name]

    @classmethod
    def create_project(
        cls,
        name: str,
        owner: User,
        datasets: list[DataSet],
        managers: list[User],
        categories: list[str],
        description: str = "",
        pre_label: str | None = None,
    ) -> LabelProject:
        from labeling import services

        return services.project_create(
            name=name,
            owner=owner,
            datasets=datasets,
            managers=managers,
            categories=categories,
            description=description,
            pre_label=pre_label,
        )

    def edit_project(self, desc: str | None = None, managers: list[User] | None = None) -> LabelProject:
        from labeling import services

        return services.project_edit(project=self, description=desc, managers=managers, actor=None)

    def init_project(
        self, batch_size: int | None = None, label_times: int | None = None, review_times: int | None = None
    ) -> LabelProject:
        from labeling import services

        return services.project_init(
            project=self, batch_size=batch_size, label_times=label_times, review_times=review_times, actor=None
        )

    def update_subtask_counter(self) -> LabelProject:
        from labeling import progress

        return progress.project_recount(project=self)

    def accept_project(self) -> LabelProject:
        from labeling import services

        return services.project_qa(project=self, action="accept", actor=None)

    def reject_project(self) -> LabelProject:
        from labeling import services

        return services.project_qa(project=self, action="reject", actor=None)

    def qa_project(self, action: str) -> LabelProject:
        from labeling import services

        return services.project_qa(project=self, action=action, actor=None)

    def reopen_project(self, task_ids: list[str] | None = None) -> LabelProject:
        from labeling import services

        return services.project_reopen(project=self, task_ids=task_ids, actor=None)

    def export_project(self, label_set_name: str, label_type: str = "User") -> LabelProject:
        from labeling import export

        return export.project_export(project=self, label_set_name=label_set_name, label_type=label_type, actor=None)


class ProjectRole(OrmDocumentMixin, models.Model):
    """A user's role in a project; one row per task role received (as DDS), one per owner/manager."""

    id = models.CharField(primary_key=True, max_length=32, db_column="_id", default=uuid_hex, editable=False)
    project_id = models.CharField(max_length=32)
    user_id = models.CharField(max_length=32)
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        db_table = "label_project_roles"
        indexes = [
            models.Index(fields=["project_id", "user_id"], name="lpr_project_user"),
            models.Index(fields=["user_id"], name="lpr_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.project_id}"

    @classmethod
    def add_role(cls, project: LabelProject, user_id: str, role: str) -> ProjectRole:
        from labeling import services

        return services.project_role_add(project=project, user_ids=[user_id], role=role)[0]

    @classmethod
    def add_roles(cls, project: LabelProject, user_ids: list[str], role: str) -> list[ProjectRole]:
        from labeling import services

        return services.project_role_add(project=project, user_ids=user_ids, role=role)

    @classmethod
    def del_role(cls, project: LabelProject, user_id: str, role: str) -> int:
        from labeling import services

        return services.project_role_delete(project=project, user_ids=[user_id], role=role)

    @classmethod
    def del_roles(cls, project: LabelProject, user_ids: list[str], role: str) -> int:
        from labeling import services

        return services.project_role_delete(project=project, user_ids=user_ids, role=role)

    # The seed's predicates (reference §7.12, §7.13), all project-wide; the rules are ``labeling.rules``.
    @staticmethod
    def is_member(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id)

    @staticmethod
    def is_owner(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, {Role.OWNER})

    @staticmethod
    def is_manager(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, {Role.MANAGER})

    @staticmethod
    def is_leader(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, LEADERS)

    @staticmethod
    def is_gte_leader(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, GTE_LEADERS)

    @staticmethod
    def is_gt_leader(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, GT_LEADERS)

    @staticmethod
    def is_label_leader(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, {Role.LABEL_LEADER})

    @staticmethod
    def is_review_leader(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, {Role.REVIEW_LEADER})

    @staticmethod
    def is_worker(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, WORKERS)

    @staticmethod
    def is_label_worker(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, {Role.LABELER})

    @staticmethod
    def is_review_worker(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.has_project_role(user, project_id, {Role.REVIEWER})

    @staticmethod
    def can_create_project(user: User) -> bool:
        from labeling import rules

        return rules.can_create_project(user)

    @staticmethod
    def can_edit_project(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_edit_project(user, project_id)

    @staticmethod
    def can_init_project(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_init_project(user, project_id)

    @staticmethod
    def can_view_project(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_view_project(user, project_id)

    @staticmethod
    def can_view_project_progress(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_view_progress(user, project_id)

    @staticmethod
    def can_assign_leader(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_assign_leader(user, project_id)

    @staticmethod
    def can_view_all_tasks(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_view_all_tasks(user, project_id)

    @staticmethod
    def can_qa_project(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_qa_project(user, project_id)

    @staticmethod
    def can_export_project(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_export_project(user, project_id)


class LabelTask(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id", default=uuid_hex, editable=False)
    idx = models.IntegerField()
    project_id = models.CharField(max_length=32)
    dataset_id = models.CharField(max_length=32)
    created_ts = models.BigIntegerField(default=current_ts)
    num_total = models.IntegerField(default=0)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.WAITING)
    # Ours: export takes the latest label of a force-accepted task instead of the all-accepted one.
    force_accepted = models.BooleanField(default=False)

    class Meta:
        db_table = "label_tasks"
        indexes = [
            models.Index(fields=["project_id", "idx"], name="label_tasks_project_idx"),
            models.Index(fields=["dataset_id"], name="label_tasks_dataset"),
        ]

    def __str__(self) -> str:
        return f"task {self.idx} of {self.project_id}"

    @property
    def project(self) -> LabelProject:
        cached = getattr(self, "_project", None)
        if cached is None or cached.pk != self.project_id:
            cached = LabelProject.objects.get(pk=self.project_id)
            self._project = cached
        return cached

    def refresh_cached_project(self) -> None:
        """Re-read the status and task counters of the project cached by ``project``, in place.

        Transitions move the project's counters with ``$inc`` in the database; DDS changed its cached
        object itself, so a script holding ``task.project`` saw the new numbers.
        """
        cached = getattr(self, "_project", None)
        if cached is not None and cached.pk == self.project_id:
            cached.refresh_from_db(fields=["status", *PROJECT_COUNTER_FIELDS])

    def set_leader(self, leader: User, role: str) -> tuple[TaskRole, TaskRole]:
        from labeling import services

        return services.task_set_leader(task=self, user=leader, role=role, actor=None)

    def init_workers(self, workers: list[User], role: str) -> list[TaskRole]:
        from labeling import services

        return services.task_init_workers(task=self, users=workers, role=role, actor=None)

    def replace_worker(self, old_user: User, new_user: User, role: str) -> tuple[TaskRole, TaskRole]:
        from labeling import services

        return services.task_replace_role(task=self, old_user=old_user, new_user=new_user, role=role, actor=None)

    def restart_task(self) -> LabelTask:
        from labeling import services

        return services.task_restart(task=self, actor=None)

    def reject_task(self) -> LabelTask:
        from labeling import services

        return services.task_qa(task=self, action="reject", actor=None)

    def accept_task(self) -> LabelTask:
        from labeling import services

        return services.task_qa(task=self, action="accept", actor=None)

    def accept_rejected_task(self) -> LabelTask:
        from labeling import services

        return services.task_qa(task=self, action="force_accept", actor=None)

    def qa_task(self, action: str) -> LabelTask:
        from labeling import services

        return services.task_qa(task=self, action=action, actor=None)

    def get_max_role(self, user: User) -> TaskRole | None:
        from labeling import rules

        return rules.task_max_role(task=self, user=user)


class TaskRole(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id", default=uuid_hex, editable=False)
    project_id = models.CharField(max_length=32)
    task_id = models.CharField(max_length=32)
    user_id = models.CharField(max_length=32)
    user_name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    label_num_waiting = models.IntegerField(default=0)
    review_num_waiting = models.IntegerField(default=0)
    review_num_rejected = models.IntegerField(default=0)
    review_num_accepted = models.IntegerField(default=0)
    label_completed = models.BooleanField(default=False)
    review_completed = models.BooleanField(default=False)
    # Ours: "<task_id>:<role>[:<n>]" while active, None after replacement. A unique partial index on it
    # makes two concurrent initialisations of the same role (or two replacements) fail instead of both
    # succeeding; DDS documents without it are simply not guarded.
    slot = models.CharField(max_length=100, null=True, blank=True, default=None, editable=False)

    class Meta:
        db_table = "label_task_roles"
        indexes = [
            models.Index(fields=["task_id", "is_active"], name="ltr_task_active"),
            models.Index(fields=["project_id", "user_id"], name="ltr_project_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_name} {self.role} of task {self.task_id}"

    @classmethod
    def init_roles(cls, task: LabelTask, users: list[User], role: str) -> list[TaskRole]:
        from labeling import services

        return services.task_roles_init(task=task, users=users, role=role, actor=None)

    @classmethod
    def replace_role(cls, task: LabelTask, old_user: User, new_user: User, role: str) -> tuple[TaskRole, TaskRole]:
        from labeling import services

        return services.task_replace_role(task=task, old_user=old_user, new_user=new_user, role=role, actor=None)

    @staticmethod
    def update_progress_for_all_roles(task_id: str) -> None:
        from labeling import progress

        progress.task_recount(task=LabelTask.objects.get(pk=task_id))

    # The seed's predicates of task roles; the rules are ``labeling.rules``.
    @staticmethod
    def is_task_label_leader(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.has_task_role(user, task_id, Role.LABEL_LEADER)

    @staticmethod
    def is_task_review_leader(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.has_task_role(user, task_id, Role.REVIEW_LEADER)

    @staticmethod
    def is_task_labeler(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.has_task_role(user, task_id, Role.LABELER)

    @staticmethod
    def is_task_reviewer(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.has_task_role(user, task_id, Role.REVIEWER)

    @staticmethod
    def can_init_label_worker(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_init_workers(user, task_id, Role.LABELER)

    @staticmethod
    def can_init_review_worker(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_init_workers(user, task_id, Role.REVIEWER)

    @staticmethod
    def can_replace_label_worker(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_replace_worker(user, task_id, Role.LABELER)

    @staticmethod
    def can_replace_review_worker(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_replace_worker(user, task_id, Role.REVIEWER)

    @staticmethod
    def can_commit_review(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_review_image(user, task_id)

    @staticmethod
    def can_restart_task(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_restart_task(user, task_id)

    @staticmethod
    def can_qa_task(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_qa_task(user, project_id)

    @staticmethod
    def can_view_all_roles(user: User, project_id: str) -> bool:
        from labeling import rules

        return rules.can_view_all_roles(user, project_id)

    @staticmethod
    def can_label_image(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_label_image(user, task_id)

    @staticmethod
    def can_review_image(user: User, task_id: str) -> bool:
        from labeling import rules

        return rules.can_review_image(user, task_id)


class WorkflowEvent(models.Model):
    """One status change of a project or a task: who did what, when, from which status to which.

    Written by ``labeling.checkpoint`` together with the change it records (in one transaction), so the
    history is complete. ``task`` is None for a change of the project itself. The actor is kept as a
    snapshot (id and name) so the history outlives the user; None is a script or the seed's model API.
    """

    project = models.ForeignKey(LabelProject, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    task = models.ForeignKey(
        LabelTask, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+"
    )
    actor_id = models.CharField(max_length=32, null=True, blank=True)
    actor_name = models.CharField(max_length=150, default="", blank=True)
    action = models.CharField(max_length=16)
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    created_ts = models.BigIntegerField(default=current_ts)

    class Meta:
        db_table = "label_workflow_events"
        indexes = [models.Index(fields=["project", "task", "created_ts"], name="lwe_project_task_ts")]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_status} -> {self.to_status}"
