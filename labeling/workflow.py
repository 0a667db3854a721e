"""The labeling workflow as data and pure functions (reference §5.1, §7); no database access.

Read top to bottom: vocabulary, status machines, role rules, task splitting, the per-image per-role
status rules for labeling, reviewing and restarting, progress counters, and what export keeps.
Where DDS has a bug (reference §12) the rule here is the corrected one and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models

from dds_site.errors import DDSError, InvalidTransition
from labeling.errors import (
    AcceptNotReviewing,
    ConfigIncomplete,
    ForceAcceptNotRejected,
    LabelAlreadyAccepted,
    LabelerCount,
    LabelTaskNotWorking,
    LeaderCount,
    NewUserHasRole,
    OldUserLacksRole,
    ProjectNotAccepted,
    ProjectNotInitializing,
    ProjectNotRejected,
    ProjectNotReviewing,
    ProjectNotWaiting,
    ProjectQAActionInvalid,
    RejectNotReviewing,
    ReplaceSameUser,
    RestartNotRejected,
    ReviewAlreadyDone,
    ReviewerCount,
    ReviewLabelingUnfinished,
    ReviewLabelNotFound,
    ReviewNotRequired,
    ReviewTaskNotWorking,
    RoleAlreadyInitialised,
    RoleNotTaskLevel,
    SelfReview,
    TaskQAActionInvalid,
)

# --- vocabulary -------------------------------------------------------------------------------------------------


class ProjectStatus(models.TextChoices):
    WAITING = "waiting"
    INITIALIZING = "initializing"
    WORKING = "working"
    REVIEWING = "reviewing"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    EXPORTED = "exported"


class TaskStatus(models.TextChoices):
    WAITING = "waiting"
    WORKING = "working"
    REVIEWING = "reviewing"
    REJECTED = "rejected"
    ACCEPTED = "accepted"


class ImageStatus(models.TextChoices):
    LABELING = "labeling"
    REVIEWING = "reviewing"
    REJECTED = "rejected"
    ACCEPTED = "accepted"


class Role(models.TextChoices):
    OWNER = "owner"
    MANAGER = "manager"
    LABEL_LEADER = "label_leader"
    REVIEW_LEADER = "review_leader"
    LABELER = "labeler"
    REVIEWER = "reviewer"


class TaskQAAction(models.TextChoices):
    ACCEPT = "accept"
    REJECT = "reject"
    FORCE_ACCEPT = "force_accept"


class ProjectQAAction(models.TextChoices):
    ACCEPT = "accept"
    REJECT = "reject"


class ReviewAction(models.TextChoices):
    ACCEPT = "accept"
    REJECT = "reject"


# Smaller level = more power (reference §5.1). Roles are not hierarchical for responsibilities.
ROLE_LEVEL: dict[str, int] = {
    Role.OWNER: 0,
    Role.MANAGER: 1,
    Role.LABEL_LEADER: 2,
    Role.REVIEW_LEADER: 3,
    Role.LABELER: 4,
    Role.REVIEWER: 5,
}
GT_LEADERS = frozenset({Role.OWNER, Role.MANAGER})
GTE_LEADERS = frozenset({Role.OWNER, Role.MANAGER, Role.LABEL_LEADER, Role.REVIEW_LEADER})
TASK_BONDED_ROLES = frozenset({Role.LABEL_LEADER, Role.LABELER, Role.REVIEW_LEADER, Role.REVIEWER})
LEADERS = frozenset({Role.LABEL_LEADER, Role.REVIEW_LEADER})
WORKERS = frozenset({Role.LABELER, Role.REVIEWER})
REVIEW_KINDS = frozenset({Role.REVIEWER, Role.REVIEW_LEADER})

WAIT_FOR_LABELING = frozenset({ImageStatus.LABELING, ImageStatus.REJECTED})

# Which TaskRole counter counts the images in each status of the role's key (reference §6.4).
COUNTER_FIELD: dict[str, str] = {
    ImageStatus.LABELING: "label_num_waiting",
    ImageStatus.REVIEWING: "review_num_waiting",
    ImageStatus.REJECTED: "review_num_rejected",
    ImageStatus.ACCEPTED: "review_num_accepted",
}
COUNTER_FIELDS = tuple(COUNTER_FIELD.values())

# The project counter of each task status.
TASK_COUNTER_FIELD: dict[str, str] = {status: f"task_num_{status}" for status in TaskStatus.values}

PRE_LABEL_USER = "_pre"
MAX_INIT_VALUE = 2**31 - 1  # bound of batch_size, label_times and review_times

# --- status machines (reference §7.11) ----------------------------------------------------------------------------

PROJECT_TRANSITIONS: dict[str, frozenset[str]] = {
    ProjectStatus.WAITING: frozenset({ProjectStatus.INITIALIZING}),
    # A failed initialisation rolls back to waiting (fixes DDS bug 17: stuck in initializing).
    ProjectStatus.INITIALIZING: frozenset({ProjectStatus.WORKING, ProjectStatus.WAITING}),
    ProjectStatus.WORKING: frozenset({ProjectStatus.REVIEWING}),
    ProjectStatus.REVIEWING: frozenset({ProjectStatus.ACCEPTED, ProjectStatus.REJECTED}),
    # Reopening a rejected project for rework (fixes DDS bug 17: rejected was terminal).
    ProjectStatus.REJECTED: frozenset({ProjectStatus.WORKING}),
    ProjectStatus.ACCEPTED: frozenset({ProjectStatus.EXPORTED}),
    ProjectStatus.EXPORTED: frozenset(),
}

TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.WAITING: frozenset({TaskStatus.WORKING}),
    TaskStatus.WORKING: frozenset({TaskStatus.REVIEWING}),
    TaskStatus.REVIEWING: frozenset({TaskStatus.ACCEPTED, TaskStatus.REJECTED}),
    TaskStatus.REJECTED: frozenset({TaskStatus.WORKING, TaskStatus.ACCEPTED}),
    # Only when a rejected project is reopened for rework.
    TaskStatus.ACCEPTED: frozenset({TaskStatus.REJECTED}),
}


class TaskAction(models.TextChoices):
    """The workflow actions that move a task, as the history records them."""

    START = "start"  # its leaders are there
    COMPLETE = "complete"  # every active role finished: off to review
    ACCEPT = "accept"
    REJECT = "reject"
    FORCE_ACCEPT = "force_accept"
    RESTART = "restart"
    REOPEN = "reopen"  # its rejected project is reopened for rework


class ProjectAction(models.TextChoices):
    """The workflow actions that move a project, as the history records them."""

    INIT = "init"
    INIT_DONE = "init_done"
    INIT_FAILED = "init_failed"
    COMPLETE = "complete"  # every task accepted: off to the owner's review
    ACCEPT = "accept"
    REJECT = "reject"
    REOPEN = "reopen"
    EXPORT = "export"


@dataclass(frozen=True)
class Move:
    """One action's edge of a status machine: the statuses it starts from, where it goes, and DDS's
    error when the object is elsewhere (None: an internal move, refused as ``InvalidTransition``)."""

    sources: frozenset[str]
    target: str
    error: type[DDSError] | None = None


TASK_MOVES: dict[str, Move] = {
    TaskAction.START: Move(frozenset({TaskStatus.WAITING}), TaskStatus.WORKING),
    TaskAction.COMPLETE: Move(frozenset({TaskStatus.WORKING}), TaskStatus.REVIEWING),
    TaskAction.ACCEPT: Move(frozenset({TaskStatus.REVIEWING}), TaskStatus.ACCEPTED, AcceptNotReviewing),
    TaskAction.REJECT: Move(frozenset({TaskStatus.REVIEWING}), TaskStatus.REJECTED, RejectNotReviewing),
    TaskAction.FORCE_ACCEPT: Move(frozenset({TaskStatus.REJECTED}), TaskStatus.ACCEPTED, ForceAcceptNotRejected),
    TaskAction.RESTART: Move(frozenset({TaskStatus.REJECTED}), TaskStatus.WORKING, RestartNotRejected),
    TaskAction.REOPEN: Move(frozenset({TaskStatus.ACCEPTED}), TaskStatus.REJECTED),
}

PROJECT_MOVES: dict[str, Move] = {
    ProjectAction.INIT: Move(frozenset({ProjectStatus.WAITING}), ProjectStatus.INITIALIZING, ProjectNotWaiting),
    ProjectAction.INIT_DONE: Move(
        frozenset({ProjectStatus.INITIALIZING}), ProjectStatus.WORKING, ProjectNotInitializing
    ),
    ProjectAction.INIT_FAILED: Move(frozenset({ProjectStatus.INITIALIZING}), ProjectStatus.WAITING),
    ProjectAction.COMPLETE: Move(frozenset({ProjectStatus.WORKING}), ProjectStatus.REVIEWING),
    ProjectAction.ACCEPT: Move(frozenset({ProjectStatus.REVIEWING}), ProjectStatus.ACCEPTED, ProjectNotReviewing),
    ProjectAction.REJECT: Move(frozenset({ProjectStatus.REVIEWING}), ProjectStatus.REJECTED, ProjectNotReviewing),
    ProjectAction.REOPEN: Move(frozenset({ProjectStatus.REJECTED}), ProjectStatus.WORKING, ProjectNotRejected),
    ProjectAction.EXPORT: Move(frozenset({ProjectStatus.ACCEPTED}), ProjectStatus.EXPORTED, ProjectNotAccepted),
}

# The task QA actions and the project QA actions are moves of those names.
TASK_QA_ACTIONS = frozenset(TaskQAAction.values)
PROJECT_QA_ACTIONS = frozenset(ProjectQAAction.values)

# A dataset stays bound to its project until the project is exported (or deleted): fixes DDS bug 18.
PROJECT_STATUSES_HOLDING_DATASETS = frozenset(set(ProjectStatus.values) - {ProjectStatus.EXPORTED})


def check_move(move: Move, current: str, transitions: Mapping[str, frozenset[str]]) -> None:
    """Refuse ``move`` from ``current`` unless the action starts there and the status machine allows it.

    The refusal is the action's DDS error; moves without one (internal moves) raise ``InvalidTransition``.
    """
    if current in move.sources and move.target in transitions.get(current, frozenset()):
        return
    if move.error is not None:
        raise move.error()
    source, target = str(current), str(move.target)
    raise InvalidTransition(f"can't move from {source!r} to {target!r}.", detail={"from": source, "to": target})


def check_task_move(action: str, current: str) -> Move:
    """The task move of ``action`` if it may start from ``current``; raises its DDS error otherwise."""
    move = TASK_MOVES[action]
    check_move(move, current, TASK_TRANSITIONS)
    return move


def check_project_move(action: str, current: str) -> Move:
    """The project move of ``action`` if it may start from ``current``; raises its DDS error otherwise."""
    move = PROJECT_MOVES[action]
    check_move(move, current, PROJECT_TRANSITIONS)
    return move


def task_qa_target(action: str, current: str) -> str:
    """The status a task QA ``action`` moves a task in ``current`` to; raises DDS's code otherwise."""
    if action not in TASK_QA_ACTIONS:
        raise TaskQAActionInvalid()
    return check_task_move(action, current).target


def project_qa_target(action: str, current: str) -> str:
    if action not in PROJECT_QA_ACTIONS:
        raise ProjectQAActionInvalid()
    return check_project_move(action, current).target


def task_status_after_leader(*, status: str, review_times: int, has_label_leader: bool, has_review_leader: bool) -> str:
    """A waiting task starts once its leaders are there (reference §7.4).

    DDS starts a task on its review leader alone; here a task never starts without a label leader
    (fixes DDS bug 19), and with reviews it also needs its review leader.
    """
    if status != TaskStatus.WAITING or not has_label_leader:
        return status
    if review_times == 0 or has_review_leader:
        return TaskStatus.WORKING
    return status


# --- roles --------------------------------------------------------------------------------------------------------


def role_key(role: str, user_id: str) -> str:
    """The key of a role in an image's ``role_status``: leaders by role name, workers per user."""
    return role if role in LEADERS else f"{role}_{user_id}"


def is_labeler_key(key: str) -> bool:
    return key.startswith(f"{Role.LABELER}_")


def is_reviewer_key(key: str) -> bool:
    return key.startswith(f"{Role.REVIEWER}_")


def is_worker_key(key: str) -> bool:
    return is_labeler_key(key) or is_reviewer_key(key)


def user_of_key(key: str) -> str:
    return key.rsplit("_", 1)[1]


def check_init_roles(*, role: str, num_users: int, label_times: int, review_times: int, has_active: bool) -> None:
    """DDS's ``_check_init_role`` (reference §7.4), with the right message for 400216 (bug 20)."""
    if role not in TASK_BONDED_ROLES:
        raise RoleNotTaskLevel()
    if role in LEADERS and num_users != 1:
        raise LeaderCount(expected=1, given=num_users)
    if role in REVIEW_KINDS and num_users > 0 and review_times == 0:
        raise ReviewNotRequired()
    if role == Role.LABELER and num_users != label_times:
        raise LabelerCount(expected=label_times, given=num_users)
    if role == Role.REVIEWER and num_users != review_times:
        raise ReviewerCount(expected=review_times, given=num_users)
    if has_active:
        raise RoleAlreadyInitialised()


def check_replace_role(*, role: str, old_user_id: str, new_user_id: str, old_has: bool, new_has: bool) -> None:
    """DDS's ``_check_replace_role`` (reference §7.5)."""
    if role not in TASK_BONDED_ROLES:
        raise RoleNotTaskLevel()
    if old_user_id == new_user_id:
        raise ReplaceSameUser()
    if not old_has:
        raise OldUserLacksRole()
    if new_has:
        raise NewUserHasRole()


# The worker role a user may not hold beside the other in one task (he would review his own labels).
OTHER_WORKER: dict[str, str] = {Role.LABELER: Role.REVIEWER, Role.REVIEWER: Role.LABELER}


def check_not_self_review(*, user_ids: Iterable[str], other_holders: Iterable[str], allowed: bool) -> None:
    """Users taking one worker role of a task must not hold the other one (ours; DDS allowed it).

    ``allowed`` (the setting ``DDS_ALLOW_SELF_REVIEW``) lifts the rule for one-person teams.
    """
    if allowed:
        return
    both = set(user_ids) & set(other_holders)
    if both:
        raise SelfReview(detail={"user_ids": sorted(both)})


def check_not_own_label(*, state: ImageState, reviewer_id: str, label_id: str, allowed: bool) -> None:
    """A reviewer must not review a label of his own (roles given before the rule, e.g. adopted from DDS).

    ``allowed`` (the setting ``DDS_ALLOW_SELF_REVIEW``) lifts the rule for one-person teams.
    """
    if allowed:
        return
    if any(label.get("id") == label_id for label in state.labels.get(reviewer_id, [])):
        raise SelfReview(detail={"user_ids": [reviewer_id]})


def max_role(roles: Iterable[str]) -> str | None:
    """The most powerful (lowest level) of ``roles``."""
    ranked = sorted(set(roles), key=ROLE_LEVEL.__getitem__)
    return ranked[0] if ranked else None


def may_view_as(*, own_role: str, requested_role: str) -> bool:
    """Whether a caller whose top task role is ``own_role`` may look at the task as ``requested_role``.

    DDS allowed any role with a higher level number, so a labeler could view as a reviewer and see
    every labeler's work (bug 4). Here workers may only view as themselves; leaders and above as any
    role below them.
    """
    if own_role in WORKERS:
        return requested_role == own_role
    return ROLE_LEVEL[requested_role] >= ROLE_LEVEL[own_role]


# --- projects and tasks -------------------------------------------------------------------------------------------


def normalise_categories(names: Iterable[str]) -> str:
    """Trim, drop empty, lower-case, de-duplicate, sort and comma-join (reference §7.1)."""
    return ",".join(sorted({name.strip().lower() for name in names if name and name.strip()}))


def merge_categories(current: str, extra: Iterable[str]) -> str:
    """Append pre-label category names (not lower-cased, as DDS) to the project categories."""
    names = {name for name in current.split(",") if name} | {name for name in extra if name}
    return ",".join(sorted(names))


def check_init_config(batch_size: int | None, label_times: int | None, review_times: int | None) -> None:
    if batch_size is None or label_times is None or review_times is None:
        raise ConfigIncomplete()
    if batch_size < 0 or label_times < 1 or review_times < 0:
        raise ConfigIncomplete(
            "batch_size must be >= 0, label_times >= 1 and review_times >= 0.",
        )
    if max(batch_size, label_times, review_times) > MAX_INIT_VALUE:
        # Stored as MongoDB int64: a larger value would fail in the driver, after the status changed.
        raise ConfigIncomplete(f"batch_size, label_times and review_times must be <= {MAX_INIT_VALUE}.")


def task_number(position: int, batch_size: int) -> int:
    """The task (0-based, within one dataset) that takes the image at ``position`` (reference §7.3).

    ``batch_size`` 0 means one task for the whole dataset.
    """
    return position // batch_size if batch_size else 0


def task_sizes(num_images: int, batch_size: int) -> list[int]:
    """Images per task for one dataset: 0 means one task, even for an empty dataset."""
    if batch_size == 0:
        return [num_images]
    sizes: dict[int, int] = {}
    for position in range(num_images):
        number = task_number(position, batch_size)
        sizes[number] = sizes.get(number, 0) + 1
    return list(sizes.values())


# --- per-image, per-role statuses (reference §7.6, §7.7, §7.9) -----------------------------------------------------


@dataclass
class ImageState:
    """The mutable part of a task image: labels and reviews by user id, and the per-role statuses."""

    labels: dict[str, list[dict]] = field(default_factory=dict)
    reviews: dict[str, list[dict]] = field(default_factory=dict)
    role_status: dict[str, str] = field(default_factory=dict)

    def copy(self) -> ImageState:
        return ImageState(
            labels={k: [dict(x) for x in v] for k, v in self.labels.items()},
            reviews={k: [dict(x) for x in v] for k, v in self.reviews.items()},
            role_status=dict(self.role_status),
        )

    def labeler_statuses(self) -> list[str]:
        return [status for key, status in self.role_status.items() if is_labeler_key(key)]

    def current_label_ids(self) -> set[str]:
        return {items[0]["id"] for items in self.labels.values() if items}

    def review_of(self, reviewer_id: str, label_id: str) -> dict | None:
        return next((r for r in self.reviews.get(reviewer_id, []) if r["label_id"] == label_id), None)


def check_can_label(*, task_status: str, state: ImageState, labeler_id: str) -> None:
    """``ensure_status_for_labeling`` (reference §7.6).

    DDS's 400230 check never fired (bug 11): here a label that all reviewers accepted cannot be
    overwritten, and that is exactly when the labeler's own status is ``accepted``.
    """
    if task_status != TaskStatus.WORKING:
        raise LabelTaskNotWorking()
    if state.role_status.get(role_key(Role.LABELER, labeler_id)) == ImageStatus.ACCEPTED:
        raise LabelAlreadyAccepted()


def apply_label(state: ImageState, *, labeler_id: str, label: dict) -> ImageState:
    """The image after ``labeler_id`` submits ``label`` (reference §7.6)."""
    new = state.copy()
    previous_ids = {item["id"] for item in new.labels.get(labeler_id, [])}
    new.labels[labeler_id] = [label]
    for reviewer_id, items in list(new.reviews.items()):
        new.reviews[reviewer_id] = [r for r in items if r["label_id"] not in previous_ids]
    new.role_status[role_key(Role.LABELER, labeler_id)] = ImageStatus.REVIEWING
    labeler_statuses = new.labeler_statuses()
    if all(status == ImageStatus.REVIEWING for status in labeler_statuses):
        for key in new.role_status:
            new.role_status[key] = ImageStatus.REVIEWING
    elif not any(status in WAIT_FOR_LABELING for status in labeler_statuses):
        # A relabel after reviews: a reviewer who had accepted everything has a new label to review,
        # so he is waiting again (DDS left him "accepted" and the image vanished from his queue).
        for key, status in new.role_status.items():
            if is_reviewer_key(key) and status == ImageStatus.ACCEPTED:
                new.role_status[key] = ImageStatus.REVIEWING
    return new


def check_can_review(*, task_status: str, state: ImageState, reviewer_id: str, label_id: str) -> None:
    """``ensure_status_for_reviewing`` (reference §7.7).

    Every labeler must have submitted (no ``labeling`` key). DDS's API also refused when a labeler was
    ``rejected``, so after the first rejection the other reviewers could not give their verdicts, while
    its own acceptance scenario (§11.6) has them do exactly that; here they may.
    """
    if task_status != TaskStatus.WORKING:
        raise ReviewTaskNotWorking()
    if any(status == ImageStatus.LABELING for status in state.labeler_statuses()):
        raise ReviewLabelingUnfinished()
    if label_id not in state.current_label_ids():
        raise ReviewLabelNotFound()
    if state.review_of(reviewer_id, label_id) is not None:
        raise ReviewAlreadyDone()


def apply_review(state: ImageState, *, reviewer_id: str, review: dict) -> ImageState:
    """The image after ``reviewer_id`` reviews one label (reference §7.7).

    Only the reviewers holding a key on the image count for "accepted by all reviewers": a replaced
    reviewer's key and reviews moved to his successor, so stale reviews never count (fixes bug 14).
    """
    new = state.copy()
    label_id = review["label_id"]
    new.reviews[reviewer_id] = [review] + [r for r in new.reviews.get(reviewer_id, []) if r["label_id"] != label_id]
    labeler_id = next(uid for uid, items in new.labels.items() if items and items[0]["id"] == label_id)
    reviewer_key = role_key(Role.REVIEWER, reviewer_id)
    labeler_key = role_key(Role.LABELER, labeler_id)
    if review["action"] == ReviewAction.REJECT:
        for key in (reviewer_key, labeler_key, Role.LABEL_LEADER, Role.REVIEW_LEADER):
            new.role_status[key] = ImageStatus.REJECTED
        return new

    def accepted_by(reviewer: str, label: str) -> bool:
        found = new.review_of(reviewer, label)
        return found is not None and found["action"] == ReviewAction.ACCEPT

    if all(accepted_by(reviewer_id, lid) for lid in new.current_label_ids()):
        new.role_status[reviewer_key] = ImageStatus.ACCEPTED
    reviewers = [user_of_key(key) for key in new.role_status if is_reviewer_key(key)]
    if all(accepted_by(reviewer, label_id) for reviewer in reviewers):
        new.role_status[labeler_key] = ImageStatus.ACCEPTED
    if all(status == ImageStatus.ACCEPTED for status in new.labeler_statuses()):
        for key in (Role.LABEL_LEADER, Role.REVIEW_LEADER):
            new.role_status[key] = ImageStatus.ACCEPTED
    return new


def without_inactive_workers(state: ImageState, active: Mapping[str, str]) -> ImageState:
    """The image with the work of users who hold no active worker role moved or dropped (fixes bug 14's leftovers).

    ``active`` maps the task's active worker keys (``labeler_<id>``, ``reviewer_<id>``) to user names;
    leader keys are kept as they are. DDS's replacement copied a replaced worker's labels and reviews
    to his successor but left the originals, and a review of the stale label re-created the replaced
    labeler's status key; those entries then blocked the image for good. As our replacement would:

    * a replaced worker's status, labels or reviews move to the one active worker of that kind who has
      nothing on the image (an interrupted replacement); otherwise they are dropped (the successor
      already holds DDS's copy);
    * reviews of a dropped label follow DDS's copy of it (id ``<label id>_<suffix>``) or are dropped;
    * when a status key was dropped, the statuses that depended on it are derived again with the rules
      of ``apply_label`` and ``apply_review``: everyone is reviewing once every active labeler is, and a
      reviewer, a labeler and the leaders are accepted once the reviews on the image say so.

    An image without such entries comes back unchanged.
    """
    new = state.copy()
    dropped_status = dropped_labels = False
    for kind, store in ((Role.LABELER, new.labels), (Role.REVIEWER, new.reviews)):
        keys = {key for key in new.role_status if key.startswith(f"{kind}_")}
        gone = {user_of_key(key) for key in keys if key not in active}
        gone |= {user_id for user_id in store if role_key(kind, user_id) not in active}
        if not gone:
            continue
        vacant = [
            key
            for key in active
            if key.startswith(f"{kind}_") and key not in new.role_status and user_of_key(key) not in store
        ]
        if len(gone) == 1 and len(vacant) == 1:
            _move_worker(new, kind, store, gone.pop(), user_of_key(vacant[0]), active[vacant[0]])
            continue
        for user_id in gone:
            dropped_status |= new.role_status.pop(role_key(kind, user_id), None) is not None
            dropped_labels |= bool(store.pop(user_id, None)) and kind == Role.LABELER
    if dropped_labels:
        _reattach_reviews(new)
    if dropped_status:
        _derive_statuses_again(new)
    return new


def _move_worker(state: ImageState, kind: str, store: dict, old_id: str, new_id: str, new_name: str) -> None:
    status = state.role_status.pop(role_key(kind, old_id), None)
    if status is not None:
        state.role_status[role_key(kind, new_id)] = status
    items = store.pop(old_id, None)
    if items:
        store[new_id] = [{**item, "user_id": new_id, "user_name": new_name} for item in items]


def _reattach_reviews(state: ImageState) -> None:
    """Reviews of labels no longer on the image follow DDS's copy of the label, else go; one per label."""
    current = state.current_label_ids()
    for reviewer_id, items in list(state.reviews.items()):
        kept: dict[str, dict] = {}
        for review in items:
            label_id = review["label_id"]
            if label_id not in current:
                copies = [lid for lid in current if lid.startswith(f"{label_id}_")]
                if len(copies) != 1:
                    continue
                review = {**review, "label_id": copies[0]}
            previous = kept.get(review["label_id"])
            if previous is None or (review.get("created_ts") or 0) > (previous.get("created_ts") or 0):
                kept[review["label_id"]] = review
        state.reviews[reviewer_id] = sorted(kept.values(), key=lambda r: r.get("created_ts") or 0, reverse=True)


def _derive_statuses_again(state: ImageState) -> None:
    """Statuses from the labels and reviews left on the image, by the rules of ``apply_label``/``apply_review``.

    A reject of a current label stands until the label is replaced; without one, everyone is reviewing
    once every labeler is; then whoever the reviews accept is accepted. Statuses no rule decides keep
    their value.
    """
    statuses = state.role_status
    labelers = [key for key in statuses if is_labeler_key(key)]
    reviewers = [user_of_key(key) for key in statuses if is_reviewer_key(key)]
    current = {key: state.labels[user_of_key(key)][0]["id"] for key in labelers if state.labels.get(user_of_key(key))}

    def verdict(reviewer: str, label_id: str) -> str | None:
        found = state.review_of(reviewer, label_id)
        return found["action"] if found is not None else None

    if _mark_rejections(statuses, reviewers, current, verdict):
        _set_leaders(statuses, ImageStatus.REJECTED)
    elif labelers and all(statuses[key] == ImageStatus.REVIEWING for key in labelers):
        for key in statuses:
            statuses[key] = ImageStatus.REVIEWING
    open_statuses = (ImageStatus.REVIEWING, ImageStatus.REJECTED)
    for reviewer in reviewers:
        key = role_key(Role.REVIEWER, reviewer)
        accepts_all = all(verdict(reviewer, label_id) == ReviewAction.ACCEPT for label_id in current.values())
        if statuses[key] in open_statuses and current and accepts_all:
            statuses[key] = ImageStatus.ACCEPTED
    for key, label_id in current.items():
        accepted = all(verdict(reviewer, label_id) == ReviewAction.ACCEPT for reviewer in reviewers)
        if statuses[key] in open_statuses and reviewers and accepted:
            statuses[key] = ImageStatus.ACCEPTED
    if labelers and all(statuses[key] == ImageStatus.ACCEPTED for key in labelers):
        _set_leaders(statuses, ImageStatus.ACCEPTED)


def _mark_rejections(
    statuses: dict[str, str],
    reviewers: list[str],
    current: Mapping[str, str],
    verdict: Callable[[str, str], str | None],
) -> bool:
    """Reviewer and labeler of each rejected current label are ``rejected``; True if there was one."""
    rejected = False
    for reviewer in reviewers:
        for key, label_id in current.items():
            if verdict(reviewer, label_id) == ReviewAction.REJECT:
                statuses[role_key(Role.REVIEWER, reviewer)] = statuses[key] = ImageStatus.REJECTED
                rejected = True
    return rejected


def _set_leaders(statuses: dict[str, str], status: str) -> None:
    for key in (Role.LABEL_LEADER, Role.REVIEW_LEADER):
        statuses[key] = status


def active_statuses(role_status: Mapping[str, str], active: Iterable[str]) -> dict[str, str]:
    """The statuses that count for progress: the leaders' and those of the task's active workers."""
    active = set(active)
    return {key: value for key, value in role_status.items() if not is_worker_key(key) or key in active}


def restart_role_status(active_keys: Iterable[str]) -> dict[str, str]:
    """After a task restart every active role has the image ``rejected`` (reference §7.9)."""
    return dict.fromkeys(active_keys, ImageStatus.REJECTED)


# --- progress counters (reference §7.8) ---------------------------------------------------------------------------


def counter_deltas(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Per role key, the ``$inc`` of TaskRole counters that turns ``old`` statuses into ``new``."""
    deltas: dict[str, dict[str, int]] = {}
    for key in set(old) | set(new):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        inc = deltas.setdefault(key, {})
        if before in COUNTER_FIELD:
            inc[COUNTER_FIELD[before]] = inc.get(COUNTER_FIELD[before], 0) - 1
        if after in COUNTER_FIELD:
            inc[COUNTER_FIELD[after]] = inc.get(COUNTER_FIELD[after], 0) + 1
    return deltas


def completion_flags(counters: Mapping[str, int], *, review_times: int, num_total: int) -> dict[str, bool]:
    """``label_completed`` and ``review_completed`` of a role from its counters."""
    return {
        "label_completed": counters.get("label_num_waiting", 0) == 0 and counters.get("review_num_rejected", 0) == 0,
        "review_completed": review_times == 0 or counters.get("review_num_accepted", 0) == num_total,
    }


def task_is_complete(roles: Iterable[Mapping]) -> bool:
    """A working task goes to reviewing when every active role is done (never with no roles at all)."""
    roles = list(roles)
    return bool(roles) and all(r["label_completed"] and r["review_completed"] for r in roles)


# --- export (reference §7.10) -------------------------------------------------------------------------------------


def exported_label(state: ImageState, *, force_accepted: bool) -> dict | None:
    """The one label of an image that export writes back (fixes DDS bug 16).

    The latest label accepted by every reviewer on the image; for a force-accepted task or a task
    without reviews, simply the latest label. Never one label per labeler (that duplicated objects).
    """
    reviewers = [user_of_key(key) for key in state.role_status if is_reviewer_key(key)]
    candidates = []
    for items in state.labels.values():
        if not items:
            continue
        label = items[0]
        if force_accepted or not reviewers:
            candidates.append(label)
            continue
        reviews = [state.review_of(reviewer, label["id"]) for reviewer in reviewers]
        if all(r is not None and r["action"] == ReviewAction.ACCEPT for r in reviews):
            candidates.append(label)
    if not candidates:
        return None
    return max(candidates, key=lambda item: (item.get("created_ts") or 0, item["id"]))
