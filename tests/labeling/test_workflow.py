"""The pure workflow rules (no database) and the seed API surface."""

from __future__ import annotations

import pytest

from labeling import models, workflow
from labeling.errors import (
    AcceptNotReviewing,
    ForceAcceptNotRejected,
    LabelAlreadyAccepted,
    LabelerCount,
    LabelProjectError,
    LabelTaskError,
    LeaderCount,
    ProjectNotReviewing,
    ProjectQAActionInvalid,
    RejectNotReviewing,
    ReviewAlreadyDone,
    ReviewerCount,
    ReviewNotRequired,
    RoleAlreadyInitialised,
    RoleNotTaskLevel,
    TaskQAActionInvalid,
)
from labeling.workflow import ImageState, ImageStatus, ProjectStatus, Role, TaskStatus


@pytest.mark.parametrize(
    ("num_images", "batch_size", "sizes"),
    [
        (100, 0, [100]),
        (0, 0, [0]),
        (0, 10, []),
        (100, 30, [30, 30, 30, 10]),
        (100, 40, [40, 40, 20]),
        (100, 50, [50, 50]),
        (7, 100, [7]),
    ],
)
def test_task_sizes(num_images, batch_size, sizes):
    assert workflow.task_sizes(num_images, batch_size) == sizes


def test_categories():
    assert workflow.normalise_categories(["dog", "mouse", "cat", "mouse", "DOG", " Mouse ", ""]) == "cat,dog,mouse"
    assert workflow.merge_categories("cat,dog", ["Zebra", "cat"]) == "Zebra,cat,dog"


@pytest.mark.parametrize(
    ("action", "current", "expected"),
    [
        ("accept", TaskStatus.REVIEWING, TaskStatus.ACCEPTED),
        ("reject", TaskStatus.REVIEWING, TaskStatus.REJECTED),
        ("force_accept", TaskStatus.REJECTED, TaskStatus.ACCEPTED),
        ("accept", TaskStatus.WORKING, AcceptNotReviewing.code),
        ("reject", TaskStatus.ACCEPTED, RejectNotReviewing.code),
        ("force_accept", TaskStatus.REVIEWING, ForceAcceptNotRejected.code),
        ("maybe", TaskStatus.REVIEWING, TaskQAActionInvalid.code),
    ],
)
def test_task_qa_table(action, current, expected):
    if isinstance(expected, int):
        with pytest.raises(LabelTaskError) as caught:
            workflow.task_qa_target(action, current)
        assert caught.value.code == expected
        assert caught.value.http_status == 400
    else:
        assert workflow.task_qa_target(action, current) == expected
        assert expected in workflow.TASK_TRANSITIONS[current]


@pytest.mark.parametrize(
    ("action", "current", "expected"),
    [
        ("accept", ProjectStatus.REVIEWING, ProjectStatus.ACCEPTED),
        ("reject", ProjectStatus.REVIEWING, ProjectStatus.REJECTED),
        ("accept", ProjectStatus.WORKING, ProjectNotReviewing.code),
        ("force_accept", ProjectStatus.REVIEWING, ProjectQAActionInvalid.code),
    ],
)
def test_project_qa_table(action, current, expected):
    if isinstance(expected, int):
        with pytest.raises(LabelProjectError) as caught:
            workflow.project_qa_target(action, current)
        assert caught.value.code == expected
    else:
        assert workflow.project_qa_target(action, current) == expected
        assert expected in workflow.PROJECT_TRANSITIONS[current]


@pytest.mark.parametrize(
    ("review_times", "label_leader", "review_leader", "expected"),
    [
        (0, True, False, TaskStatus.WORKING),
        (1, True, False, TaskStatus.WAITING),
        (1, False, True, TaskStatus.WAITING),  # bug 19: no start without a label leader
        (1, True, True, TaskStatus.WORKING),
    ],
)
def test_task_start_table(review_times, label_leader, review_leader, expected):
    assert (
        workflow.task_status_after_leader(
            status=TaskStatus.WAITING,
            review_times=review_times,
            has_label_leader=label_leader,
            has_review_leader=review_leader,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("role", "num", "label_times", "review_times", "active", "code"),
    [
        (Role.MANAGER, 1, 1, 1, False, RoleNotTaskLevel.code),
        (Role.LABEL_LEADER, 2, 1, 1, False, LeaderCount.code),
        (Role.REVIEW_LEADER, 1, 1, 0, False, ReviewNotRequired.code),
        (Role.LABELER, 1, 2, 1, False, LabelerCount.code),
        (Role.REVIEWER, 1, 2, 2, False, ReviewerCount.code),
        (Role.LABELER, 2, 2, 1, True, RoleAlreadyInitialised.code),
        (Role.REVIEWER, 0, 1, 0, False, None),
    ],
)
def test_check_init_roles(role, num, label_times, review_times, active, code):
    kwargs = {"role": role, "num_users": num, "label_times": label_times, "review_times": review_times}
    if code is None:
        workflow.check_init_roles(**kwargs, has_active=active)
        return
    with pytest.raises(LabelTaskError) as caught:
        workflow.check_init_roles(**kwargs, has_active=active)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("own", "requested", "allowed"),
    [
        (Role.OWNER, Role.LABELER, True),
        (Role.LABEL_LEADER, Role.REVIEW_LEADER, True),
        (Role.REVIEW_LEADER, Role.LABEL_LEADER, False),
        (Role.LABELER, Role.REVIEWER, False),  # bug 4: a labeler may not see other labelers' work
        (Role.LABELER, Role.LABELER, True),
    ],
)
def test_may_view_as(own, requested, allowed):
    assert workflow.may_view_as(own_role=own, requested_role=requested) is allowed


def _state(**role_status) -> ImageState:
    return ImageState(role_status=dict(role_status))


def test_apply_label_moves_everyone_to_reviewing_once_all_labelers_submitted():
    state = _state(label_leader="labeling", labeler_a="labeling", labeler_b="labeling", reviewer_r="labeling")
    first = workflow.apply_label(state, labeler_id="a", label={"id": "la", "annotations": []})
    assert first.role_status == {**state.role_status, "labeler_a": "reviewing"}
    second = workflow.apply_label(first, labeler_id="b", label={"id": "lb", "annotations": []})
    assert set(second.role_status.values()) == {ImageStatus.REVIEWING}
    assert state.role_status["labeler_a"] == "labeling"  # pure: the input is not modified


def test_apply_review_reject_and_accept_rules():
    state = ImageState(
        labels={"a": [{"id": "la"}], "b": [{"id": "lb"}]},
        role_status=dict.fromkeys(
            ["label_leader", "review_leader", "labeler_a", "labeler_b", "reviewer_r"], "reviewing"
        ),
    )
    rejected = workflow.apply_review(state, reviewer_id="r", review={"label_id": "la", "action": "reject"})
    assert {k for k, v in rejected.role_status.items() if v == "rejected"} == {
        "label_leader",
        "review_leader",
        "labeler_a",
        "reviewer_r",
    }
    accepted = workflow.apply_review(state, reviewer_id="r", review={"label_id": "la", "action": "accept"})
    assert accepted.role_status["labeler_a"] == "accepted"
    assert accepted.role_status["reviewer_r"] == "reviewing"
    both = workflow.apply_review(accepted, reviewer_id="r", review={"label_id": "lb", "action": "accept"})
    assert set(both.role_status.values()) == {"accepted"}
    with pytest.raises(LabelTaskError) as caught:
        workflow.check_can_review(task_status="working", state=both, reviewer_id="r", label_id="lb")
    assert caught.value.code == ReviewAlreadyDone.code
    with pytest.raises(LabelTaskError) as caught:
        workflow.check_can_label(task_status="working", state=both, labeler_id="a")
    assert caught.value.code == LabelAlreadyAccepted.code  # bug 11


def test_counter_deltas():
    deltas = workflow.counter_deltas(
        {"labeler_a": "labeling", "label_leader": "reviewing"}, {"labeler_a": "reviewing", "label_leader": "reviewing"}
    )
    assert deltas == {"labeler_a": {"label_num_waiting": -1, "review_num_waiting": 1}}
    assert workflow.completion_flags({"review_num_accepted": 3}, review_times=1, num_total=3) == {
        "label_completed": True,
        "review_completed": True,
    }
    assert workflow.task_is_complete([]) is False


SEED = {
    models.LabelProject: "create_project edit_project init_project update_subtask_counter accept_project "
    "reject_project "
    "qa_project export_project get_collection find_many find_one count_num update_one update_many batch_update "
    "finish_batch_update aggregate save batch_save finish_batch_save delete delete_many from_dict to_dict "
    "convert_id_for_python convert_id_for_mongo get_cls_id",
    models.ProjectRole: "add_role add_roles del_role del_roles is_member is_owner is_manager is_leader is_gte_leader "
    "is_gt_leader is_label_leader is_review_leader is_worker is_label_worker is_review_worker can_create_project "
    "can_edit_project can_init_project can_view_project can_view_project_progress can_assign_leader "
    "can_view_all_tasks can_qa_project can_export_project",
    models.TaskRole: "init_roles replace_role is_task_label_leader is_task_review_leader is_task_labeler "
    "is_task_reviewer can_init_label_worker can_init_review_worker can_replace_label_worker "
    "can_replace_review_worker can_commit_review can_restart_task can_qa_task can_view_all_roles can_label_image "
    "can_review_image update_progress_for_all_roles",
    models.LabelTask: "set_leader init_workers replace_worker restart_task reject_task accept_task "
    "accept_rejected_task qa_task get_max_role",
    models.LabelTaskImageModel: "get_collection get_cls_id ensure_status_for_labeling set_label "
    "ensure_status_for_reviewing set_review find_many save",
}


@pytest.mark.parametrize("cls", list(SEED), ids=lambda c: c.__name__)
def test_seed_api_surface(cls):
    missing = [name for name in SEED[cls].split() if not callable(getattr(cls, name, None))]
    assert missing == []


def test_seed_errors_keep_dds_signature():
    error = models.LabelProjectError(403053, "User can't create label project.", 403)
    assert (error.code, error.msg, error.http_status) == (403053, "User can't create label project.", 403)
    assert models.LabelTaskError(400216).message.startswith("label project role is not task level")
