"""The labeling workflow's verbs: one function per action, keyword-only (reference §7).

Each loads what it needs, checks the rules of ``labeling.workflow``, writes with conditional updates
(or in a retried transaction, ``labeling.transactions.run_atomic``, for multi-document steps) and returns fresh
objects. Every verb an acting user performs takes ``actor`` (no default) and enforces ``labeling.rules`` before it
reads anything else: the API and the admin pass the user of the request, the seed's methods and the management
commands pass None (the operator). The ``*_by_ids`` verbs are the API's: they check the permission before they
look up the user ids of the request, so a caller without it never learns which ids exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import IntegrityError

from accounts.models import User
from datasets.models import DataSet, Label
from dds_site.documents import current_ts
from dds_site.errors import InvalidArgument, WorkflowConflict
from labeling import checkpoint, progress, repair, role_slots, rules, selectors, store, workflow
from labeling.annotations import validate_annotations
from labeling.dataset_images import iter_images
from labeling.errors import (
    BatchAssignLeadersPartial,
    BatchAssignWorkersPartial,
    CantLabelImage,
    CantReviewImage,
    CategoriesEmpty,
    DatasetOccupied,
    DatasetsEmpty,
    LabelDatasetNotFound,
    LabelerCount,
    LabelTaskError,
    LabelUserNotActive,
    LabelUserNotFound,
    LastOwner,
    LeadersEmpty,
    ManagersEmpty,
    ManagersEmptyOnEdit,
    NotLeaderRole,
    ProjectNotRejected,
    ProjectNotReviewing,
    ProjectNotWaiting,
    RestartNotRejected,
    ReviewerCount,
    RoleAlreadyInitialised,
    RoleNotTaskLevel,
    TaskImageNotFound,
    TaskNotInProject,
    WorkersEmpty,
)
from labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole, uuid_hex
from labeling.store import DuplicateKeyError, InsertOne
from labeling.task_images import (
    LabelTaskImageModel,
    UserLabelData,
    UserReviewData,
    compare_and_set,
    image_state,
)
from labeling.transactions import run_atomic
from labeling.workflow import (
    LEADERS,
    WORKERS,
    ImageState,
    ImageStatus,
    ProjectAction,
    ProjectStatus,
    ReviewAction,
    Role,
    TaskAction,
    TaskStatus,
)

logger = logging.getLogger(__name__)

CAS_RETRIES = 50
INSERT_BATCH = 1000


def _snapshot(user: User) -> dict:
    return {"id": user.pk, "name": user.name}


def _ensure_active(users: Iterable[User]) -> None:
    for user in users:
        if not user.is_active:
            raise LabelUserNotActive(f"user {user.name} is not active.")


# --- projects -----------------------------------------------------------------------------------------------------


def project_role_add(*, project: LabelProject, user_ids: list[str], role: str) -> list[ProjectRole]:
    """Give each user the project role (one row per call, as DDS)."""
    rows = [ProjectRole(id=uuid_hex(), project_id=project.pk, user_id=user_id, role=role) for user_id in user_ids]
    return ProjectRole.objects.bulk_create(rows)


def project_role_delete(*, project: LabelProject, user_ids: list[str], role: str) -> int:
    """Remove the users' rows of one project role; the last owner cannot be removed (400235)."""
    if role == Role.OWNER:
        remaining = ProjectRole.objects.filter(project_id=project.pk, role=Role.OWNER).exclude(user_id__in=user_ids)
        if not remaining.exists():
            raise LastOwner()
    deleted, _ = ProjectRole.objects.filter(project_id=project.pk, user_id__in=user_ids, role=role).delete()
    return deleted


def _occupied_dataset_ids(dataset_ids: list[str]) -> set[str]:
    """Datasets already bound to a project that is not exported (deleted projects free theirs, bug 18)."""
    found = store.orm(LabelProject).find(
        {"datasets.id": {"$in": dataset_ids}, "status": {"$in": sorted(workflow.PROJECT_STATUSES_HOLDING_DATASETS)}},
        projection={"datasets": 1},
    )
    return {item["id"] for doc in found for item in doc.get("datasets", [])} & set(dataset_ids)


def project_create(
    *,
    name: str,
    owner: User,
    datasets: list[DataSet],
    managers: list[User],
    categories: list[str],
    description: str = "",
    pre_label: str | None = None,
) -> LabelProject:
    """Create a project and its owner/manager roles (reference §7.1, checks in DDS's order)."""
    if not managers:
        raise ManagersEmpty()
    if not datasets:
        raise DatasetsEmpty()
    normalised = workflow.normalise_categories(categories or [])
    if not normalised:
        raise CategoriesEmpty()
    rules.require_create_project(owner)  # the owner creates it (DDS's order of checks)
    for manager in managers:
        if not manager.is_active:
            raise LabelUserNotActive(f"user {manager.name} is not active.")
    dataset_ids = [dataset.pk for dataset in datasets]
    if _occupied_dataset_ids(dataset_ids):
        raise DatasetOccupied()
    if pre_label and not Label.objects.filter(dataset_id__in=dataset_ids, name=pre_label).exists():
        raise InvalidArgument(f"pre_label {pre_label!r} is not a label set of the project's datasets.")
    project = LabelProject(
        id=uuid_hex(),
        name=name,
        datasets=[{"id": dataset.pk, "name": dataset.name} for dataset in datasets],
        created_ts=current_ts(),
        owner=_snapshot(owner),
        managers=[_snapshot(manager) for manager in managers],
        description=description or "",
        status=ProjectStatus.WAITING,
        categories=normalised,
        pre_label=pre_label or None,
    )

    def _write() -> None:
        project.save(force_insert=True)
        project_role_add(project=project, user_ids=[owner.pk], role=Role.OWNER)
        project_role_add(project=project, user_ids=[manager.pk for manager in managers], role=Role.MANAGER)

    run_atomic(_write)
    return project


def project_edit(
    *,
    project: LabelProject,
    description: str | None = None,
    managers: list[User] | None = None,
    actor: User | None,
) -> LabelProject:
    """Change the description and/or the managers; each may be given alone (fixes DDS bug 13)."""
    rules.require_edit_project(actor, project)
    return _project_edit(project=project, description=description, managers=managers)


def _project_edit(*, project: LabelProject, description: str | None, managers: list[User] | None) -> LabelProject:
    if managers is not None and not managers:
        raise ManagersEmptyOnEdit()
    changes: dict = {}
    if description is not None:
        changes["description"] = description

    def _write() -> None:
        if managers is not None:
            for manager in managers:
                if not manager.is_active:
                    raise LabelUserNotActive(f"user {manager.name} is not active.")
            unique = list({manager.pk: manager for manager in managers}.values())
            changes["managers"] = [_snapshot(manager) for manager in unique]
            new_ids = {manager.pk for manager in unique}
            old_ids = set(
                ProjectRole.objects.filter(project_id=project.pk, role=Role.MANAGER).values_list("user_id", flat=True)
            )
            if old_ids - new_ids:
                project_role_delete(project=project, user_ids=sorted(old_ids - new_ids), role=Role.MANAGER)
            project_role_add(project=project, user_ids=sorted(new_ids - old_ids), role=Role.MANAGER)
        if changes:
            LabelProject.objects.filter(pk=project.pk).update(**changes)

    run_atomic(_write)
    project.refresh_from_db()
    return project


def project_init(
    *,
    project: LabelProject,
    batch_size: int | None = None,
    label_times: int | None = None,
    review_times: int | None = None,
    resume: bool = False,
    actor: User | None,
) -> LabelProject:
    """Split the project's datasets into tasks (reference §7.3).

    The project is claimed by the checkpoint's ``waiting -> initializing`` move, so one caller runs it.
    Images are streamed and task images written in bulk. A failure rolls the project back to waiting
    (DDS stayed in initializing forever, bug 17); ``resume=True`` re-runs an initialisation that a crash
    left in initializing, after removing what it had written.
    """
    rules.require_init_project(actor, project)
    project.refresh_from_db()
    if resume:
        # Resuming finishes an initialisation: the project must be where the crash left it.
        workflow.check_project_move(ProjectAction.INIT_DONE, project.status)
        batch_size = project.batch_size if batch_size is None else batch_size
        label_times = project.label_times if label_times is None else label_times
        review_times = project.review_times if review_times is None else review_times
    else:
        workflow.check_project_move(ProjectAction.INIT, project.status)
    workflow.check_init_config(batch_size, label_times, review_times)
    config = {"batch_size": batch_size, "label_times": label_times, "review_times": review_times}
    if resume:
        # Not a status change: the project stays initializing, under the configuration given now.
        claimed = LabelProject.objects.filter(pk=project.pk, status=ProjectStatus.INITIALIZING).update(**config)
    else:
        claimed = checkpoint.move_project(project=project, action=ProjectAction.INIT, actor=actor, fields=config)
    if not claimed:
        raise ProjectNotWaiting()
    project.refresh_from_db()
    _remove_tasks(project)
    try:
        num_tasks, pre_categories = _generate_tasks(project)
    except BaseException:
        logger.exception("initialisation of label project %s failed; rolling back", project.pk)
        _remove_tasks(project)
        checkpoint.move_project(project=project, action=ProjectAction.INIT_FAILED, actor=actor)
        raise
    counters = dict.fromkeys(workflow.TASK_COUNTER_FIELD.values(), 0) | {
        "task_num_total": num_tasks,
        "task_num_waiting": num_tasks,
    }
    checkpoint.move_project(
        project=project,
        action=ProjectAction.INIT_DONE,
        actor=actor,
        fields={"categories": workflow.merge_categories(project.categories, pre_categories), **counters},
    )
    project.refresh_from_db()
    return project


def _remove_tasks(project: LabelProject) -> None:
    """Delete every task, task role and task image of the project (init rollback / resume)."""
    tasks = list(LabelTask.objects.filter(project_id=project.pk).values_list("id", "dataset_id"))
    by_dataset: dict[str, list[str]] = {}
    for task_id, dataset_id in tasks:
        by_dataset.setdefault(dataset_id, []).append(task_id)
    for dataset_id, task_ids in by_dataset.items():
        store.task_images(dataset_id).delete_many({"task_id": {"$in": task_ids}})
    TaskRole.objects.filter(project_id=project.pk).delete()
    LabelTask.objects.filter(project_id=project.pk).delete()


def _pre_label_data(image: dict, pre_label: str | None, names: set[str]) -> dict | None:
    if not pre_label:
        return None
    annotations = []
    for obj in image.get("objects") or []:
        if obj.get("label_name") != pre_label:
            continue
        category = obj.get("category_name") or ""
        names.add(category)
        annotations.append(
            {"category_id": category, "category_name": category, "bounding_box": obj.get("bounding_box") or {}}
        )
    if not annotations:
        return None
    return UserLabelData(
        user_id=workflow.PRE_LABEL_USER, user_name=workflow.PRE_LABEL_USER, annotations=annotations
    ).model_dump()


def _generate_tasks(project: LabelProject) -> tuple[int, set[str]]:
    pre_categories: set[str] = set()
    num_tasks = 0
    for dataset in project.datasets:
        num_tasks += _generate_dataset_tasks(project, dataset["id"], num_tasks, pre_categories)
    return num_tasks, pre_categories


def _generate_dataset_tasks(project: LabelProject, dataset_id: str, first_idx: int, pre_categories: set[str]) -> int:
    """Create one dataset's tasks and task images; returns the number of tasks."""
    batch_size = project.batch_size or 0
    collection = store.task_images(dataset_id)
    sizes: dict[str, int] = {}

    def new_task() -> str:
        created = LabelTask.objects.create(
            id=uuid_hex(),
            idx=first_idx + len(sizes),
            project_id=project.pk,
            dataset_id=dataset_id,
            created_ts=current_ts(),
        )
        sizes[created.pk] = 0
        return created.pk

    pending: list[InsertOne] = []
    task_ids = [new_task()] if batch_size == 0 else []  # batch 0: one task per dataset, even an empty one
    for position, image in enumerate(iter_images(dataset_id, with_objects=bool(project.pre_label))):
        for hook in before_init_image:
            hook(position)
        number = workflow.task_number(position, batch_size)
        while len(task_ids) <= number:
            task_ids.append(new_task())
        task_id = task_ids[number]
        sizes[task_id] += 1
        pending.append(
            InsertOne(
                {
                    "_id": f"{task_id}_{position}",
                    "idx": position,
                    "image_id": image["_id"],
                    "task_id": task_id,
                    "url": image.get("url", ""),
                    "url_full_res": image.get("url_full_res", ""),
                    "default_labels": _pre_label_data(image, project.pre_label, pre_categories),
                    "labels": {},
                    "reviews": {},
                    "role_status": {},
                    "version": 0,
                }
            )
        )
        if len(pending) >= INSERT_BATCH:
            collection.bulk_write(pending, ordered=False)
            pending = []
    if pending:
        collection.bulk_write(pending, ordered=False)
    for created_id, size in sizes.items():
        LabelTask.objects.filter(pk=created_id).update(num_total=size)
    return len(sizes)


def project_delete(*, project: LabelProject, actor: User | None) -> None:
    """Delete a project with its tasks, roles, task images and history; its datasets are free again (bug 18)."""
    rules.require_edit_project(actor, project)
    _remove_tasks(project)

    def _delete() -> None:
        ProjectRole.objects.filter(project_id=project.pk).delete()
        checkpoint.forget_project(project.pk)
        LabelProject.objects.filter(pk=project.pk).delete()

    run_atomic(_delete)


def project_qa(*, project: LabelProject, action: str, actor: User | None) -> LabelProject:
    """Owner accepts or rejects a project in reviewing (reference §7.10)."""
    rules.require_qa_project(actor, project)
    project.refresh_from_db()
    workflow.project_qa_target(action, project.status)
    if not checkpoint.move_project(project=project, action=action, actor=actor):
        raise ProjectNotReviewing()
    project.refresh_from_db()
    return project


def project_reopen(*, project: LabelProject, task_ids: list[str] | None = None, actor: User | None) -> LabelProject:
    """Reopen a rejected project for rework (DDS had no way out of rejected, bug 17).

    The project goes back to working and the chosen tasks (default: all) from accepted to rejected,
    so their label leaders can restart them; one transaction, one history entry per moved object.
    """
    rules.require_qa_project(actor, project)
    project.refresh_from_db()
    workflow.check_project_move(ProjectAction.REOPEN, project.status)
    tasks = LabelTask.objects.filter(project_id=project.pk, status=TaskStatus.ACCEPTED)
    if task_ids is not None:
        known = set(LabelTask.objects.filter(project_id=project.pk, pk__in=task_ids).values_list("id", flat=True))
        if known != set(task_ids):
            raise TaskNotInProject()
        tasks = tasks.filter(pk__in=task_ids)

    def _reopen() -> None:
        moved = checkpoint.move_project(
            project=project, action=ProjectAction.REOPEN, actor=actor, source=ProjectStatus.REJECTED
        )
        if not moved:
            raise ProjectNotRejected()
        for task in tasks:
            checkpoint.move_task(
                task=task,
                action=TaskAction.REOPEN,
                actor=actor,
                source=TaskStatus.ACCEPTED,
                fields={"force_accepted": False},
            )

    run_atomic(_reopen)
    return progress.project_recount(project=project, actor=actor)


# --- task roles ---------------------------------------------------------------------------------------------------


def task_check_workers(*, task: LabelTask, labeler_ids: list[str], reviewer_ids: list[str]) -> None:
    """Refuse, before anything is written, workers that would make one user labeler and reviewer of the task."""
    allowed = settings.DDS_ALLOW_SELF_REVIEW
    workflow.check_not_self_review(user_ids=labeler_ids, other_holders=reviewer_ids, allowed=allowed)
    _check_self_review(task=task, role=Role.LABELER, user_ids=labeler_ids)
    _check_self_review(task=task, role=Role.REVIEWER, user_ids=reviewer_ids)


def _check_self_review(*, task: LabelTask, role: str, user_ids: list[str]) -> None:
    """Users taking a worker role must not hold the other worker role of the task (unless the setting allows)."""
    if role not in workflow.OTHER_WORKER or not user_ids or settings.DDS_ALLOW_SELF_REVIEW:
        return
    holders = TaskRole.objects.filter(
        task_id=task.pk, role=workflow.OTHER_WORKER[role], is_active=True, user_id__in=user_ids
    ).values_list("user_id", flat=True)
    workflow.check_not_self_review(user_ids=user_ids, other_holders=holders, allowed=False)


def _slot(task: LabelTask, role: str, number: int) -> str:
    return role_slots.slot_for(task.pk, role, number)


def _role_doc(task: LabelTask, user: User, role: str, slot: str | None = None) -> TaskRole:
    return TaskRole(
        slot=slot,
        id=uuid_hex(),
        project_id=task.project_id,
        task_id=task.pk,
        user_id=user.pk,
        user_name=user.name,
        role=role,
        is_active=True,
        label_num_waiting=task.num_total,
    )


def task_roles_init(*, task: LabelTask, users: list[User], role: str, actor: User | None) -> list[TaskRole]:
    """Grant one role to all its users at once (reference §7.4): roles, project roles, image statuses.

    Leaders are given by the project's managers, workers by the task's leader of their kind.
    """
    if role in LEADERS:
        rules.require_assign_leader(actor, task.project)
    elif role in WORKERS:
        rules.require_init_workers(actor, task, role)
    return _roles_init(task=task, users=users, role=role)


def _roles_init(*, task: LabelTask, users: list[User], role: str) -> list[TaskRole]:
    task.refresh_from_db()
    project = task.project
    has_active = rules.task_has_active_role(task.pk, role) if role in workflow.TASK_BONDED_ROLES else False
    workflow.check_init_roles(
        role=role,
        num_users=len(users),
        label_times=project.label_times or 0,
        review_times=project.review_times or 0,
        has_active=has_active,
    )
    distinct = len({user.pk for user in users})
    if distinct != len(users):
        count_error = LabelerCount if role == Role.LABELER else ReviewerCount
        expected = len(users)
        raise count_error(
            f"{count_error.message[:-1]}: {expected} expected, {distinct} given (a user is listed twice).",
            detail={"expected": expected, "given": distinct},
        )
    _ensure_active(users)
    if not users:
        return []
    _check_self_review(task=task, role=role, user_ids=[user.pk for user in users])
    # Both completion flags stay False until the first progress update, as DDS stores them.
    roles = [_role_doc(task, user, role, _slot(task, role, number)) for number, user in enumerate(users)]
    keys = {f"role_status.{workflow.role_key(role, user.pk)}": ImageStatus.LABELING for user in users}

    def _write() -> None:
        TaskRole.objects.bulk_create(roles)
        project_role_add(project=project, user_ids=[user.pk for user in users], role=role)
        store.task_images(task.dataset_id).update_many({"task_id": task.pk}, {"$set": keys, "$inc": {"version": 1}})

    try:
        run_atomic(_write)
    except (IntegrityError, DuplicateKeyError):
        # Someone initialised this role of the task at the same moment (the slot index caught it).
        raise RoleAlreadyInitialised() from None
    return roles


def task_set_leader(*, task: LabelTask, user: User, role: str, actor: User | None) -> tuple[TaskRole, TaskRole]:
    """Set (or replace) a task's label or review leader; start the task once it is staffed."""
    rules.require_assign_leader(actor, task.project)
    return _set_leader(task=task, user=user, role=role, actor=actor)


def _set_leader(*, task: LabelTask, user: User, role: str, actor: User | None) -> tuple[TaskRole, TaskRole]:
    if role not in LEADERS:
        raise NotLeaderRole()
    current = selectors.active_role(task.pk, role)
    if current is not None:
        return _replace_role(task=task, old_user=_user(current.user_id), new_user=user, role=role)
    (created,) = _roles_init(task=task, users=[user], role=role)
    project = task.project
    target = workflow.task_status_after_leader(
        status=task.status,
        review_times=project.review_times or 0,
        has_label_leader=rules.task_has_active_role(task.pk, Role.LABEL_LEADER),
        has_review_leader=rules.task_has_active_role(task.pk, Role.REVIEW_LEADER),
    )
    if target != task.status:
        progress.task_transition(task=task, action=TaskAction.START, actor=actor)
    return created, created


def _user(user_id: str) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise LabelUserNotFound()
    return user


def task_init_workers(*, task: LabelTask, users: list[User], role: str, actor: User | None) -> list[TaskRole]:
    """Set all labelers or all reviewers of a task at once (reference §7.4)."""
    if role not in WORKERS:
        raise RoleNotTaskLevel()
    rules.require_init_workers(actor, task, role)
    return _init_workers(task=task, users=users, role=role)


def _init_workers(*, task: LabelTask, users: list[User], role: str) -> list[TaskRole]:
    roles = _roles_init(task=task, users=users, role=role)
    if role == Role.REVIEWER and roles:
        labelers = list(selectors.task_roles(task.pk).filter(role=Role.LABELER))
        if labelers:
            # Images every labeler already submitted are waiting for the new reviewers.
            ready = {
                f"role_status.{workflow.role_key(Role.LABELER, r.user_id)}": ImageStatus.REVIEWING for r in labelers
            }
            keys = {f"role_status.{workflow.role_key(role, r.user_id)}": ImageStatus.REVIEWING for r in roles}
            store.task_images(task.dataset_id).update_many(
                {"task_id": task.pk, **ready}, {"$set": keys, "$inc": {"version": 1}}
            )
        progress.task_recount(task=task, only=[r.pk for r in roles])
    return [TaskRole.objects.get(pk=r.pk) for r in roles]


def task_replace_role(
    *, task: LabelTask, old_user: User, new_user: User, role: str, actor: User | None
) -> tuple[TaskRole, TaskRole]:
    """Hand a role holder's task role and work to another user (reference §7.5, fixing bugs 14 and 15).

    The old user's statuses, labels and reviews are *moved* to the new user (same label ids, so the
    reviews of them stay valid) instead of duplicated; a banned user can be replaced; the new user
    takes over the old one's slot and counters. Workers are replaced by the task's leader of their kind,
    leaders by the project's managers.
    """
    if role in LEADERS:
        rules.require_assign_leader(actor, task.project)
    else:
        rules.require_replace_worker(actor, task, role)
    return _replace_role(task=task, old_user=old_user, new_user=new_user, role=role)


def _replace_role(*, task: LabelTask, old_user: User, new_user: User, role: str) -> tuple[TaskRole, TaskRole]:
    task.refresh_from_db()
    old_role = selectors.active_role(task.pk, role, old_user.pk) if role in workflow.TASK_BONDED_ROLES else None
    new_has = selectors.active_role(task.pk, role, new_user.pk) is not None if old_role else False
    workflow.check_replace_role(
        role=role, old_user_id=old_user.pk, new_user_id=new_user.pk, old_has=old_role is not None, new_has=new_has
    )
    _ensure_active([new_user])
    _check_self_review(task=task, role=role, user_ids=[new_user.pk])
    new_role = _role_doc(task, new_user, role, old_role.slot)

    def _transfer() -> None:
        # The counters are copied from the old role as this transaction deactivates it: a label or
        # review counting for the old role meanwhile makes the transaction conflict and run again,
        # and one counting later finds the slot, and the image keys, with the new holder.
        before = store.orm(TaskRole).find_one_and_update_before(
            {"_id": old_role.pk, "is_active": True}, {"$set": {"is_active": False, "slot": None}}
        )
        if before is None:
            raise WorkflowConflict()
        for field in (*workflow.COUNTER_FIELDS, "label_completed", "review_completed"):
            setattr(new_role, field, before.get(field, getattr(new_role, field)))
        new_role.save(force_insert=True)
        project_role_add(project=task.project, user_ids=[new_user.pk], role=role)
        still_holds = TaskRole.objects.filter(
            project_id=task.project_id, user_id=old_user.pk, role=role, is_active=True
        ).exists()
        if not still_holds:
            ProjectRole.objects.filter(project_id=task.project_id, user_id=old_user.pk, role=role).delete()
        if role in WORKERS:
            _move_image_work(task=task, role=role, old_user=old_user, new_user=new_user)

    run_atomic(_transfer)
    if new_role.slot is None:
        # A role without a slot (adopted from DDS, not yet given one) is counted by user: an action in
        # flight may have counted for the old holder after the copy, so count the new one's images.
        progress.task_recount(task=task, only=[new_role.pk])
    old_role.refresh_from_db()
    new_role.refresh_from_db()
    return old_role, new_role


def _move_image_work(*, task: LabelTask, role: str, old_user: User, new_user: User) -> None:
    collection = store.task_images(task.dataset_id)
    old_key, new_key = workflow.role_key(role, old_user.pk), workflow.role_key(role, new_user.pk)
    part = "labels" if role == Role.LABELER else "reviews"
    collection.update_many(
        {"task_id": task.pk},
        {
            "$rename": {
                f"role_status.{old_key}": f"role_status.{new_key}",
                f"{part}.{old_user.pk}": f"{part}.{new_user.pk}",
            },
            "$inc": {"version": 1},
        },
    )
    collection.update_many(
        {"task_id": task.pk, f"{part}.{new_user.pk}.0": {"$exists": True}},
        {
            "$set": {
                f"{part}.{new_user.pk}.$[].user_id": new_user.pk,
                f"{part}.{new_user.pk}.$[].user_name": new_user.name,
            }
        },
    )


# --- tasks --------------------------------------------------------------------------------------------------------


def _repair_leftovers(task: LabelTask, actor: User | None) -> None:
    """Drop the work of replaced users from the task's images before a task-level verb judges the task.

    DDS left such work behind (bug 14) and it can hold a finished task in working for good; the repair
    moves the counters and lets a now complete task go on to reviewing. Only tasks that ever had a
    worker replaced are read.
    """
    if repair.task_may_have_leftovers(task):
        repair.repair_task(task=task, actor=actor)
        task.refresh_from_db()


def task_restart(*, task: LabelTask, actor: User | None) -> LabelTask:
    """A label leader restarts a rejected task: every active role gets every image ``rejected``.

    Labels and reviews are kept; counters are recounted and, unlike DDS (bug 19), the project's task
    counters follow at once.
    """
    rules.require_restart_task(actor, task)
    task.refresh_from_db()
    workflow.check_task_move(TaskAction.RESTART, task.status)
    _repair_leftovers(task, actor)
    keys = [progress.role_key_of({"role": r.role, "user_id": r.user_id}) for r in selectors.task_roles(task.pk)]

    def _restart() -> None:
        moved = progress.task_transition(task=task, action=TaskAction.RESTART, actor=actor, source=TaskStatus.REJECTED)
        if not moved:
            raise RestartNotRejected()
        store.task_images(task.dataset_id).update_many(
            {"task_id": task.pk},
            {"$set": {"role_status": workflow.restart_role_status(keys)}, "$inc": {"version": 1}},
        )
        progress.task_recount(task=task, actor=actor)

    run_atomic(_restart)
    task.refresh_from_db()
    return task


def task_qa(*, task: LabelTask, action: str, actor: User | None) -> LabelTask:
    """A manager accepts, rejects or force-accepts a task (reference §7.9)."""
    rules.require_qa_task(actor, task)
    task.refresh_from_db()
    _repair_leftovers(task, actor)
    workflow.task_qa_target(action, task.status)
    extra = {"force_accepted": action == TaskAction.FORCE_ACCEPT}
    if not progress.task_transition(task=task, action=action, actor=actor, extra=extra):
        task.refresh_from_db()
        workflow.task_qa_target(action, task.status)
        raise WorkflowConflict()
    task.refresh_from_db()
    return task


# --- task images: label and review --------------------------------------------------------------------------------


def _load_image(task: LabelTask, image_id: str) -> dict:
    doc = store.task_images(task.dataset_id).find_one({"_id": image_id, "task_id": task.pk})
    if doc is None:
        raise TaskImageNotFound()
    return doc


def task_image_get(*, task: LabelTask, image_id: str) -> dict:
    """The stored task image of this task (404153 if it is not one of the task's images)."""
    return _load_image(task, image_id)


def _image_for(
    task: LabelTask, image_id: str, *, holder: str, refusal: type[LabelTaskError]
) -> tuple[dict, ImageState, ImageState, progress.ActiveRoles]:
    """A task image for a writer whose status key is ``holder``: the document, its state as stored and
    as the workflow sees it (only the task's active workers count), and the task's active roles.

    The active roles are read after the image, on every attempt: a replacement deactivates the role and
    renames its key on every image in one transaction, so either the writer is refused here (403) or
    the image changes before his compare-and-set, which then fails and the next attempt checks again.
    """
    doc = _load_image(task, image_id)
    active = progress.active_roles(task.pk)
    stored = image_state(doc)
    if holder not in active.names or holder not in stored.role_status:
        raise refusal()
    view = workflow.without_inactive_workers(stored, active.names)
    return doc, stored, view, active


def _view(task: LabelTask, doc: dict) -> ImageState:
    """A stored task image as the workflow sees it: only the task's active workers count."""
    return workflow.without_inactive_workers(image_state(doc), progress.active_roles(task.pk).names)


# Called with each image's position as project init lays it out: a seam for tests that fail an init midway.
before_init_image: list[Callable[[int], None]] = []

# Called with (task, image_id) right before each compare-and-set of a label or review: a seam for
# tests that interleave another action (a replacement, say) with a write in flight.
before_image_write: list[Callable[[LabelTask, str], None]] = []


def _before_image_write(task: LabelTask, image_id: str) -> None:
    for hook in before_image_write:
        hook(task, image_id)


def _fresh_task(task: LabelTask) -> LabelTask:
    task.refresh_from_db()
    return task


def _write_image(
    task: LabelTask,
    project: LabelProject,
    image_id: str,
    *,
    role: str,
    actor: User,
    refusal: type[LabelTaskError],
    change: Callable[[LabelTask, ImageState, ImageState], tuple[ImageState, dict]],
) -> dict:
    """One worker's write to one task image as a compare-and-set, retried on a concurrent change.

    ``change(task, stored, view)`` checks the rules on the fresh task and image and returns the new state and
    the result; the image's role statuses and the counters move together, and only when the write lands.
    """
    key = workflow.role_key(role, actor.pk)
    for _ in range(CAS_RETRIES):
        doc, stored, old, active = _image_for(task, image_id, holder=key, refusal=refusal)
        new, result = change(task, stored, old)
        _before_image_write(task, image_id)
        if compare_and_set(task.dataset_id, doc, stored, new, holder=key):
            counted = workflow.active_statuses(stored.role_status, active.names)
            progress.apply_image_change(
                task=task, project=project, old=counted, new=new.role_status, slots=active.slots, actor=actor
            )
            return result
        task = _fresh_task(task)
    raise WorkflowConflict()


def task_image_check_label(*, task: LabelTask, image: LabelTaskImageModel, labeler: User) -> bool:
    """``ensure_status_for_labeling`` on the stored image (raises 400229 / 400230)."""
    task = _fresh_task(task)
    doc = _load_image(task, image.id)
    workflow.check_can_label(task_status=task.status, state=_view(task, doc), labeler_id=labeler.pk)
    return True


def _check_label_base(state: ImageState, labeler_id: str, base_label_id: str | None) -> None:
    """409 if the labeler's current label is not the one his edit started from ("" = none yet)."""
    if base_label_id is None:
        return
    current = (state.labels.get(labeler_id) or [{}])[0].get("id", "")
    if current != base_label_id:
        raise WorkflowConflict(
            "Your label of this image was changed elsewhere; reload it.",
            detail={"base_label_id": base_label_id, "current_label_id": current},
        )


def task_image_label(
    *, task: LabelTask, image_id: str, labeler: User, annotations: list[dict], base_label_id: str | None = None
) -> dict:
    """A labeler submits his label of one image (reference §7.6); returns the new UserLabelData.

    With ``base_label_id`` (the id of the label the edit started from, "" for none) the write is refused
    with 409 if the labeler's label changed meanwhile (another tab or device); the check and the write
    are one compare-and-set. Other labelers' labels of the image never conflict.
    """
    task = _fresh_task(task)
    rules.require_label_image(labeler, task)
    project = task.project
    _load_image(task, image_id)
    annotations = validate_annotations(annotations, project.category_list)

    def change(task: LabelTask, stored: ImageState, old: ImageState) -> tuple[ImageState, dict]:
        workflow.check_can_label(task_status=task.status, state=old, labeler_id=labeler.pk)
        _check_label_base(stored, labeler.pk, base_label_id)
        label = UserLabelData(user_id=labeler.pk, user_name=labeler.name, annotations=annotations).model_dump()
        return workflow.apply_label(old, labeler_id=labeler.pk, label=label), label

    return _write_image(
        task, project, image_id, role=Role.LABELER, actor=labeler, refusal=CantLabelImage, change=change
    )


def task_image_check_review(*, task: LabelTask, image: LabelTaskImageModel, reviewer: User, label_id: str) -> bool:
    """``ensure_status_for_reviewing`` on the stored image (raises 400231 - 400234)."""
    task = _fresh_task(task)
    doc = _load_image(task, image.id)
    state = _view(task, doc)
    workflow.check_can_review(task_status=task.status, state=state, reviewer_id=reviewer.pk, label_id=label_id)
    return True


def task_image_review(*, task: LabelTask, image_id: str, reviewer: User, label_id: str, action: str) -> dict:
    """A reviewer accepts or rejects one label of one image (reference §7.7); returns the UserReviewData."""
    if action not in ReviewAction.values:
        raise InvalidArgument("action must be 'accept' or 'reject'.", detail={"action": action})
    task = _fresh_task(task)
    rules.require_review_image(reviewer, task)
    project = task.project

    def change(task: LabelTask, stored: ImageState, old: ImageState) -> tuple[ImageState, dict]:
        workflow.check_can_review(task_status=task.status, state=old, reviewer_id=reviewer.pk, label_id=label_id)
        workflow.check_not_own_label(
            state=old, reviewer_id=reviewer.pk, label_id=label_id, allowed=settings.DDS_ALLOW_SELF_REVIEW
        )
        review = UserReviewData(
            user_id=reviewer.pk, user_name=reviewer.name, action=action, label_id=label_id
        ).model_dump()
        return workflow.apply_review(old, reviewer_id=reviewer.pk, review=review), review

    return _write_image(
        task, project, image_id, role=Role.REVIEWER, actor=reviewer, refusal=CantReviewImage, change=change
    )


# --- the API's verbs: ids in, the permission checked before any id is looked up -----------------------------------


def users_by_ids(ids: list[str], *, require_active: bool = True) -> list[User]:
    """Users by id in the given order: 400200 if one is missing, 400201 if one is banned (unless allowed)."""
    found = {user.pk: user for user in User.objects.filter(pk__in=list(ids))}
    result = []
    for user_id in ids:
        user = found.get(user_id)
        if user is None:
            raise LabelUserNotFound(detail={"user_id": user_id})
        if require_active and not user.is_active:
            raise LabelUserNotActive(detail={"user_id": user_id})
        result.append(user)
    return result


def project_create_by_ids(
    *,
    actor: User,
    name: str,
    dataset_ids: list[str],
    manager_ids: list[str],
    categories: list[str],
    description: str = "",
    pre_label: str | None = None,
) -> LabelProject:
    """``project_create`` with the actor as owner, from the ids of the datasets and managers."""
    rules.require_create_project(actor)
    managers = users_by_ids(manager_ids)
    found = {dataset.pk: dataset for dataset in DataSet.objects.filter(pk__in=list(dataset_ids))}
    missing = [dataset_id for dataset_id in dataset_ids if dataset_id not in found]
    if missing:
        raise LabelDatasetNotFound(detail={"dataset_ids": missing})
    return project_create(
        name=name,
        owner=actor,
        datasets=[found[dataset_id] for dataset_id in dict.fromkeys(dataset_ids)],
        managers=managers,
        categories=categories,
        description=description,
        pre_label=pre_label,
    )


def project_edit_by_ids(
    *, actor: User, project: LabelProject, description: str | None = None, manager_ids: list[str] | None = None
) -> LabelProject:
    rules.require_edit_project(actor, project)
    managers = users_by_ids(manager_ids) if manager_ids is not None else None
    return _project_edit(project=project, description=description, managers=managers)


def project_set_leaders(
    *, actor: User, project: LabelProject, task_ids: list[str], label_leader_id: str = "", review_leader_id: str = ""
) -> None:
    """Set the label and/or review leader of several tasks of the project (reference §8.7 #12).

    Each task is staffed on its own; if some fail, the others stay staffed and 200001 reports the failures.
    """
    rules.require_assign_leader(actor, project)
    if not label_leader_id and not review_leader_id:
        raise LeadersEmpty()
    leaders: dict[str, User] = {}
    for role, user_id in ((Role.LABEL_LEADER, label_leader_id), (Role.REVIEW_LEADER, review_leader_id)):
        if user_id:
            (leaders[role],) = users_by_ids([user_id])
    tasks = {task.pk: task for task in LabelTask.objects.filter(project_id=project.pk, pk__in=list(task_ids))}
    missing = [task_id for task_id in task_ids if task_id not in tasks]
    if missing:
        # Every task must belong to this project (DDS let a manager staff other projects, bug 4).
        raise TaskNotInProject(detail={"task_ids": missing})
    failed: dict[str, list] = {Role.LABEL_LEADER: [], Role.REVIEW_LEADER: []}
    for task_id in dict.fromkeys(task_ids):
        for role, user in leaders.items():
            try:
                _set_leader(task=tasks[task_id], user=user, role=role, actor=actor)
            except LabelTaskError as exc:
                failed[role].append({"task_id": task_id, "error": exc.to_dict()})
    if any(failed.values()):
        raise BatchAssignLeadersPartial(detail={"failed": failed})


def task_staff_workers(
    *, actor: User, task: LabelTask, labeler_ids: list[str], reviewer_ids: list[str]
) -> list[TaskRole]:
    """Set the labelers and/or the reviewers of a task (reference §8.7 #13); returns the new roles.

    Each role is set on its own, as in DDS: when one fails after the other was set, 200002 reports the failure
    and the other stays; when every role asked for fails, nothing was written and its error is raised.
    """
    if not labeler_ids and not reviewer_ids:
        raise WorkersEmpty()
    requested = [(role, ids) for role, ids in ((Role.LABELER, labeler_ids), (Role.REVIEWER, reviewer_ids)) if ids]
    for role, _ids in requested:
        rules.require_init_workers(actor, task, role)
    wanted = [(role, ids, users_by_ids(ids)) for role, ids in requested]
    # Checked before either role is written, so a refused request leaves the task as it was.
    task_check_workers(task=task, labeler_ids=labeler_ids, reviewer_ids=reviewer_ids)
    created: list[TaskRole] = []
    failures: dict[str, dict] = {}
    errors: list[LabelTaskError] = []
    for role, ids, users in wanted:
        try:
            created += _init_workers(task=task, users=users, role=role)
        except LabelTaskError as exc:
            failures[f"{role}s"] = {"error": exc.to_dict(), f"{role}_ids": ids}
            errors.append(exc)
    if errors and not created:
        raise errors[0]
    if failures:
        raise BatchAssignWorkersPartial(detail={"failed": failures})
    return created


def task_replace_worker_by_ids(
    *, actor: User, task: LabelTask, role: str, old_worker_id: str, new_worker_id: str
) -> tuple[TaskRole, TaskRole]:
    rules.require_replace_worker(actor, task, role)
    (old_user,) = users_by_ids([old_worker_id], require_active=False)  # a banned worker can go (bug 15)
    (new_user,) = users_by_ids([new_worker_id])
    return _replace_role(task=task, old_user=old_user, new_user=new_user, role=role)
