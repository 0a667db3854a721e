"""How the labeling admin shows things: dates, people, datasets and progress bars built from the stored counters.

Progress comes from the counters the workflow keeps (``LabelProject.task_num_*`` and ``TaskRole``'s per-status
image counts, see ``labeling.progress``), so a page of tasks costs one query for all their roles.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.workflow import COUNTER_FIELD, ImageStatus, Role, TaskStatus

ROLE_TITLES = {
    Role.OWNER: "Owner",
    Role.MANAGER: "Manager",
    Role.LABEL_LEADER: "Label leader",
    Role.REVIEW_LEADER: "Review leader",
    Role.LABELER: "Labeler",
    Role.REVIEWER: "Reviewer",
}
ROLE_ORDER = (Role.LABEL_LEADER, Role.REVIEW_LEADER, Role.LABELER, Role.REVIEWER)

# Image statuses of a role as bar segments, finished work first.
IMAGE_SEGMENTS = (
    (ImageStatus.ACCEPTED, "accepted"),
    (ImageStatus.REVIEWING, "in review"),
    (ImageStatus.REJECTED, "rejected"),
    (ImageStatus.LABELING, "to label"),
)
TASK_SEGMENTS = (
    (TaskStatus.ACCEPTED, "accepted"),
    (TaskStatus.REVIEWING, "in review"),
    (TaskStatus.REJECTED, "rejected"),
    (TaskStatus.WORKING, "working"),
    (TaskStatus.WAITING, "waiting"),
)


def ts_text(ms: int | None) -> str:
    """A DDS timestamp (epoch milliseconds) as a UTC date and time."""
    if not ms:
        return "—"
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def names_text(people: Iterable[dict] | dict | None) -> str:
    """``{id, name}`` snapshots (one or a list) as a comma-separated list of names."""
    if not people:
        return "—"
    if isinstance(people, dict):
        people = [people]
    return ", ".join(str(person.get("name") or person.get("id") or "?") for person in people) or "—"


def datasets_html(datasets: Iterable[dict]) -> str:
    """Project dataset snapshots as links to the datasets' admin pages."""
    items = [
        (reverse("admin:datasets_dataset_change", args=[item["id"]]), item.get("name") or item["id"])
        for item in datasets or []
    ]
    if not items:
        return "—"
    return format_html_join(", ", '<a href="{}">{}</a>', items)


@dataclass(frozen=True)
class Segment:
    kind: str
    title: str
    count: int
    percent: float


@dataclass(frozen=True)
class Progress:
    """A stacked bar: segments in display order, the total, and the finished share in percent."""

    segments: tuple[Segment, ...]
    total: int
    done_percent: int

    @property
    def summary(self) -> str:
        return ", ".join(f"{segment.count} {segment.title}" for segment in self.segments if segment.count) or "empty"


def _progress(counts: dict[str, int], order, done: str) -> Progress:
    total = sum(counts.values())
    segments = tuple(
        Segment(kind=str(kind), title=title, count=counts.get(kind, 0), percent=_percent(counts.get(kind, 0), total))
        for kind, title in order
    )
    return Progress(segments=segments, total=total, done_percent=round(_percent(counts.get(done, 0), total)))


def _percent(part: int, total: int) -> float:
    return round(100 * part / total, 2) if total else 0.0


def project_progress(project: LabelProject) -> Progress:
    counts = {status: getattr(project, f"task_num_{status}", 0) or 0 for status, _ in TASK_SEGMENTS}
    return _progress(counts, TASK_SEGMENTS, TaskStatus.ACCEPTED)


def role_progress(role: TaskRole) -> Progress:
    """The role's images by status, from its counters."""
    counts = {status: max(getattr(role, field) or 0, 0) for status, field in COUNTER_FIELD.items()}
    return _progress(counts, IMAGE_SEGMENTS, ImageStatus.ACCEPTED)


def unstaffed_progress(task: LabelTask) -> Progress:
    return _progress({ImageStatus.LABELING: task.num_total}, IMAGE_SEGMENTS, ImageStatus.ACCEPTED)


def task_progress(task: LabelTask, roles: Iterable[TaskRole]) -> Progress:
    """A task's images by status as its label leader's counters see them (every image passes through his key)."""
    if task.status == TaskStatus.ACCEPTED:
        return _progress({ImageStatus.ACCEPTED: task.num_total}, IMAGE_SEGMENTS, ImageStatus.ACCEPTED)
    leader = next((role for role in roles if role.role == Role.LABEL_LEADER), None)
    return role_progress(leader) if leader is not None else unstaffed_progress(task)


def roles_by_task(task_ids: Iterable[str]) -> dict[str, list[TaskRole]]:
    """Active roles of several tasks in one query, each task's sorted leaders first."""
    found: dict[str, list[TaskRole]] = {}
    for role in TaskRole.objects.filter(task_id__in=list(task_ids), is_active=True):
        found.setdefault(role.task_id, []).append(role)
    for roles in found.values():
        roles.sort(key=lambda role: (ROLE_ORDER.index(role.role) if role.role in ROLE_ORDER else 9, role.user_name))
    return found


def people_progress(roles: Iterable[TaskRole]) -> list[dict]:
    """Each worker's images by status over all his tasks of a project: who is ahead, who is behind."""
    totals: dict[tuple[str, str], dict] = {}
    for role in roles:
        if role.role not in (Role.LABELER, Role.REVIEWER):
            continue
        entry = totals.setdefault((role.role, role.user_name), {"counts": dict.fromkeys(COUNTER_FIELD, 0), "tasks": 0})
        entry["tasks"] += 1
        for status, field_name in COUNTER_FIELD.items():
            entry["counts"][status] += max(getattr(role, field_name) or 0, 0)
    return [
        {
            "title": ROLE_TITLES[role],
            "user": user,
            "tasks": totals[role, user]["tasks"],
            "progress": _progress(totals[role, user]["counts"], IMAGE_SEGMENTS, ImageStatus.ACCEPTED),
        }
        for role, user in sorted(totals, key=lambda key: (ROLE_ORDER.index(key[0]), key[1]))
    ]


def team_text(roles: Iterable[TaskRole], role: str) -> str:
    return ", ".join(item.user_name for item in roles if item.role == role) or "—"


def status_badge(status: str) -> str:
    return format_html('<span class="dds-badge dds-status-{}">{}</span>', status, status)
