"""Read queries of the labeling app: what each user sees (reference §7.12, §7.13); the rules are ``labeling.rules``."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from dds_site.keyset import idx_windows
from labeling import rules
from labeling.errors import CantViewRole, ProjectNotFound, RoleNotFound, TaskNotFound
from labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole
from labeling.workflow import COUNTER_FIELD, LEADERS, Role, may_view_as, role_key


def active_role(task_id: str, role: str, user_id: str | None = None) -> TaskRole | None:
    query = TaskRole.objects.filter(task_id=task_id, role=role, is_active=True)
    if user_id is not None:
        query = query.filter(user_id=user_id)
    return query.first()


def task_roles(task_id: str, *, active: bool = True) -> QuerySet[TaskRole]:
    query = TaskRole.objects.filter(task_id=task_id)
    return query.filter(is_active=True) if active else query


def project_get(project_id: str) -> LabelProject:
    project = LabelProject.objects.filter(pk=project_id).first()
    if project is None:
        raise ProjectNotFound()
    return project


def project_task_get(project_id: str, task_id: str) -> LabelTask:
    """The task ``task_id`` of project ``project_id`` in one read; 404 ProjectNotFound for an unknown
    project, else TaskNotFound (the project is read only then, to tell the two apart)."""
    task = LabelTask.objects.filter(pk=task_id, project_id=project_id).first()
    if task is None:
        project_get(project_id)
        raise TaskNotFound()
    return task


def task_active_roles(task: LabelTask) -> list[TaskRole]:
    """The task's active roles (its leaders, labelers and reviewers: a few documents), for a request that
    needs both the caller's role and a role's counters to read them once."""
    return list(TaskRole.objects.filter(task_id=task.pk, is_active=True))


def task_get(task_id: str, project_id: str | None = None) -> LabelTask:
    """A task; with ``project_id``, only if it belongs to that project (DDS did not check, bug 4)."""
    query = LabelTask.objects.filter(pk=task_id)
    if project_id is not None:
        query = query.filter(project_id=project_id)
    task = query.first()
    if task is None:
        raise TaskNotFound()
    return task


def projects_for(user: User) -> QuerySet[LabelProject]:
    """Projects where the user holds any role, oldest first."""
    if not rules.is_usable(user):
        return LabelProject.objects.none()
    ids = set(ProjectRole.objects.filter(user_id=user.pk).values_list("project_id", flat=True))
    return LabelProject.objects.filter(pk__in=list(ids)).order_by("created_ts", "id")


def tasks_for(user: User, project: LabelProject) -> QuerySet[LabelTask]:
    """Owners/managers see every task; others only tasks where they hold an active role."""
    query = LabelTask.objects.filter(project_id=project.pk).order_by("idx")
    if rules.can_view_all_tasks(user, project.pk):
        return query
    task_ids = set(
        TaskRole.objects.filter(project_id=project.pk, user_id=user.pk, is_active=True).values_list(
            "task_id", flat=True
        )
    )
    return query.filter(pk__in=list(task_ids))


def visible_task_roles(user: User, task: LabelTask) -> list[TaskRole]:
    """Roles of a task the user may see (reference §7.13 "List tasks" / "Task roles").

    Owners, managers and the task's own leaders see every active role; anyone else with a role in the
    task sees both leaders and his own roles; outsiders see nothing (DDS had no membership check).
    """
    roles = list(task_roles(task.pk).order_by("role", "user_name"))
    if rules.can_view_all_roles_of_task(user, task):
        return roles
    own = [role for role in roles if role.user_id == user.pk]
    if not own:
        return []
    return [role for role in roles if role.role in LEADERS or role.user_id == user.pk]


def task_image_view(
    *, task: LabelTask, user: User, role_id: str | None = None, active_roles: list[TaskRole] | None = None
) -> tuple[str, str | None]:
    """Which role key filters the images and whose work is shown: ``(status_key, only_user_id)``.

    Owners, managers and leaders filter on ``label_leader`` and see everything; a labeler filters on
    his own key and sees only his labels; a reviewer filters on his key and sees all labels. With
    ``role_id`` a caller may look through another *active role of this task* below his own level
    (DDS accepted any role of any task and let labelers view as reviewers, bug 4). ``active_roles``:
    the task's active roles if the caller has read them (``task_active_roles``), else they are read here.
    """
    own = rules.require_view_task(user, task, active_roles=active_roles)
    if role_id is None:
        if own in (Role.LABELER, Role.REVIEWER):
            return role_key(own, user.pk), user.pk if own == Role.LABELER else None
        return Role.LABEL_LEADER, None
    if active_roles is None:
        target = TaskRole.objects.filter(pk=role_id, task_id=task.pk, is_active=True).first()
    else:
        target = next((role for role in active_roles if role.pk == role_id), None)
    if target is None:
        raise RoleNotFound()
    if target.user_id != user.pk and not may_view_as(own_role=own, requested_role=target.role):
        raise CantViewRole()
    if target.user_id != user.pk and own in (Role.LABELER, Role.REVIEWER):
        raise CantViewRole()
    if target.role in (Role.LABELER, Role.REVIEWER):
        key = role_key(target.role, target.user_id)
        return key, target.user_id if target.role == Role.LABELER else None
    return Role.LABEL_LEADER, None


def task_images_page(
    *,
    task: LabelTask,
    status_key: str,
    status: str,
    page: int = 1,
    page_size: int = 50,
    cursor: int | None = None,
    active_roles: list[TaskRole] | None = None,
) -> tuple[int, list[dict]]:
    """One page of a task's images in ``status`` for ``status_key``, by idx (``cursor`` = last idx seen).

    The total comes from the role's progress counter (kept exact by ``labeling.progress``); only a key
    without an active role is counted in the images.
    """
    from labeling import store

    collection = store.task_images(task.dataset_id)
    query = {"task_id": task.pk, f"role_status.{status_key}": status}
    total = task_status_total(task, status_key, status, active_roles=active_roles)
    if total is None:
        total = collection.count(query)
    if cursor is not None:
        return total, task_keyset_page(collection, task.pk, status_key, status, cursor, page_size)
    docs = collection.find(query).sort("idx", 1).skip((page - 1) * page_size).limit(page_size)
    return total, list(docs)


def task_status_total(
    task: LabelTask, status_key: str, status: str, *, active_roles: list[TaskRole] | None = None
) -> int | None:
    """The active role's counter of images in ``status`` (None: no such role, or a counter marked inexact);
    from ``active_roles`` when the caller has read them (``task_active_roles``), else they are read here."""
    field = COUNTER_FIELD.get(status)
    if field is None:
        return None
    roles = task_active_roles(task) if active_roles is None else active_roles
    role = next((role for role in roles if role_key(role.role, role.user_id) == status_key), None)
    counter = None if role is None else getattr(role, field) or 0
    return None if counter is None or counter < 0 else counter


def task_keyset_page(collection, task_id: str, status_key: str, status: str, cursor: int, page_size: int) -> list[dict]:
    """The first ``page_size`` images after idx ``cursor`` in ``status``, read in bounded idx windows.

    The query is only ``task_id`` and an idx range, which the ``task_id_idx`` index serves whole; the
    status is matched here (the embedded server scans the whole collection when a filter has a field
    its index lacks), so a page costs the same at any depth.
    """
    found: list[dict] = []
    for bounds in idx_windows(cursor, page_size):
        for doc in collection.find({"task_id": task_id, "idx": bounds}).sort("idx", 1):
            if (doc.get("role_status") or {}).get(status_key) == status:
                found.append(doc)
                if len(found) == page_size:
                    return found
    return found


def shape_task_image(doc: dict, *, reviewer_view: str | None, only_user_id: str | None) -> dict:
    """A task image as the API shows it: flattened labels and reviews, filtered for the viewer."""
    labels = [label for items in (doc.get("labels") or {}).values() for label in items[:1]]
    if only_user_id is not None:
        labels = [label for label in labels if label["user_id"] == only_user_id]
    label_ids = {label["id"] for label in labels}
    reviews = [review for items in (doc.get("reviews") or {}).values() for review in items]
    reviews = [review for review in reviews if review["label_id"] in label_ids]
    if reviewer_view is not None:
        reviews = [review for review in reviews if review["user_id"] == reviewer_view]
    # rendered by serializers.TaskImageOutput
    return {**doc, "labels": labels, "reviews": reviews, "role_status": doc.get("role_status") or {}}


def project_for(user: User, project_id: str) -> LabelProject:
    """A project the user may view: 404150 if there is none, 403054 if he is not a member."""
    project = project_get(project_id)
    rules.require_view_project(user, project)
    return project


def task_for(user: User, project_id: str, task_id: str) -> LabelTask:
    """A task of the project that the user may view: 404150 / 404152 if missing, 403051 if it is not his."""
    task = task_get(task_id, project_get(project_id).pk)
    rules.require_view_task(user, task)
    return task
