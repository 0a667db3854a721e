"""Reference §11.5: assigning leaders and workers; §7.5 replacement of each role (bugs 14, 15, 19)."""

from __future__ import annotations

import pytest

from labeling.errors import (
    CantLabelImage,
    LabelerCount,
    LabelTaskError,
    LabelUserNotActive,
    LastOwner,
    NewUserHasRole,
    NotLeaderRole,
    OldUserLacksRole,
    ReplaceSameUser,
    ReviewNotRequired,
    RoleAlreadyInitialised,
    RoleNotTaskLevel,
)
from labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole
from labeling.workflow import ImageStatus, Role, TaskStatus
from tests.factories import StaffedTaskFactory
from tests.labeling.conftest import BOX, make_project
from tests.labeling.helpers import assert_counters_equal_recount, images_of


@pytest.fixture
def project1(users, datasets) -> LabelProject:
    return make_project(users, datasets[0:2], batch_size=0, label_times=2, review_times=2)


@pytest.fixture
def project2(users, datasets) -> LabelProject:
    project = LabelProject.create_project(
        name="project_01",
        owner=users["staff"][1],
        datasets=datasets[2:4],
        managers=users["manager"][2:4],
        categories=["cat"],
    )
    return project.init_project(batch_size=0, label_times=2, review_times=0)


def tasks_of(project) -> list[LabelTask]:
    return list(LabelTask.objects.filter(project_id=project.pk).order_by("idx"))


def assert_fresh(role: TaskRole, user, task: LabelTask) -> None:
    stored = TaskRole.objects.get(pk=role.pk)
    assert stored.user_id == user.pk
    assert stored.is_active
    assert (stored.label_num_waiting, stored.review_num_waiting) == (100, 0)
    assert (stored.review_num_rejected, stored.review_num_accepted) == (0, 0)
    assert not stored.label_completed
    assert not stored.review_completed
    key = role.role if role.role in ("label_leader", "review_leader") else f"{role.role}_{user.pk}"
    assert sum(1 for image in images_of(task) if image.role_status.get(key) == ImageStatus.LABELING) == 100
    assert stored.to_dict() == role.to_dict() | {"id": role.pk}


def test_assign_leaders_with_review(project1, users):
    for i, task in enumerate(tasks_of(project1)):
        assert not TaskRole.objects.filter(task_id=task.pk, role="label_leader").exists()
        old, new = task.set_leader(users["label_leader"][i], Role.LABEL_LEADER)
        assert old is new
        assert_fresh(new, users["label_leader"][i], task)
        assert ProjectRole.objects.filter(project_id=project1.pk, user_id=users["label_leader"][i].pk).exists()
        task.refresh_from_db()
        assert task.status == TaskStatus.WAITING
        assert LabelProject.objects.get(pk=project1.pk).task_num_working == i
        _, role = task.set_leader(users["review_leader"][i], Role.REVIEW_LEADER)
        assert_fresh(role, users["review_leader"][i], task)
        task.refresh_from_db()
        assert task.status == TaskStatus.WORKING
        assert LabelProject.objects.get(pk=project1.pk).task_num_working == i + 1
    assert LabelProject.objects.get(pk=project1.pk).task_num_working == 2


def test_review_leader_alone_does_not_start_task_bug19(project1, users):
    task = tasks_of(project1)[0]
    task.set_leader(users["review_leader"][0], Role.REVIEW_LEADER)
    task.refresh_from_db()
    assert task.status == TaskStatus.WAITING
    task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
    task.refresh_from_db()
    assert task.status == TaskStatus.WORKING


def test_assign_leaders_without_review(project2, users):
    for i, task in enumerate(tasks_of(project2)):
        task.set_leader(users["label_leader"][i], Role.LABEL_LEADER)
        task.refresh_from_db()
        assert task.status == TaskStatus.WORKING
        assert LabelProject.objects.get(pk=project2.pk).task_num_working == i + 1
        with pytest.raises(LabelTaskError) as caught:
            task.set_leader(users["review_leader"][i], Role.REVIEW_LEADER)
        assert caught.value.code == ReviewNotRequired.code
        assert not TaskRole.objects.filter(task_id=task.pk, role="review_leader").exists()
    assert LabelProject.objects.get(pk=project2.pk).task_num_working == 2


def test_set_leader_rejects_worker_role(project1, users):
    task = tasks_of(project1)[0]
    with pytest.raises(LabelTaskError) as caught:
        task.set_leader(users["labeler"][0], Role.LABELER)
    assert caught.value.code == NotLeaderRole.code


def test_assign_workers_with_review(project1, users):
    for i, task in enumerate(tasks_of(project1)):
        task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
        task.set_leader(users["review_leader"][0], Role.REVIEW_LEADER)
        labelers = task.init_workers(users["labeler"][2 * i : 2 * i + 2], Role.LABELER)
        reviewers = task.init_workers(users["reviewer"][2 * i : 2 * i + 2], Role.REVIEWER)
        assert TaskRole.objects.filter(task_id=task.pk, role="labeler").count() == 2
        assert TaskRole.objects.filter(task_id=task.pk, role="reviewer").count() == 2
        for role, user in zip(
            labelers + reviewers,
            users["labeler"][2 * i : 2 * i + 2] + users["reviewer"][2 * i : 2 * i + 2],
            strict=True,
        ):
            assert_fresh(role, user, task)
        with pytest.raises(LabelTaskError) as caught:
            task.init_workers(users["labeler"][2 * i : 2 * i + 2], Role.LABELER)
        assert caught.value.code == RoleAlreadyInitialised.code


def test_assign_workers_without_review(project2, users):
    for task in tasks_of(project2):
        task.set_leader(users["label_leader"][0], Role.LABEL_LEADER)
        for workers, role, code in [
            (users["labeler"], Role.LABELER, LabelerCount.code),
            (users["labeler"][:1], Role.LABELER, LabelerCount.code),
            (users["reviewer"], Role.REVIEWER, ReviewNotRequired.code),
        ]:
            with pytest.raises(LabelTaskError) as caught:
                task.init_workers(workers, role)
            assert caught.value.code == code
        assert task.init_workers([], Role.REVIEWER) == []
        assert not TaskRole.objects.filter(task_id=task.pk, role__in=["labeler", "reviewer"]).exists()


def test_init_roles_rejects_project_level_role_with_right_message_bug20(project1, users):
    task = tasks_of(project1)[0]
    with pytest.raises(LabelTaskError) as caught:
        TaskRole.init_roles(task, [users["manager"][0]], Role.MANAGER)
    assert caught.value.code == RoleNotTaskLevel.code
    assert "not task level" in caught.value.message


# --- replacement ------------------------------------------------------------------------------------------------


@pytest.fixture
def staffed(project1, users):
    """Task 0 of project 1 with both leaders, labelers L1 L2 and reviewers R1 R2."""
    return StaffedTaskFactory.for_users(users, project1, label_times=2, review_times=2)


@pytest.mark.parametrize("role", [Role.LABEL_LEADER, Role.REVIEW_LEADER])
def test_replace_leader(staffed, users, role):
    task = staffed
    old_user = users[role][0]
    new_user = users[role][1]
    old_role, new_role = task.set_leader(new_user, role)
    assert old_role.user_id == old_user.pk
    assert not old_role.is_active
    assert new_role.user_id == new_user.pk
    assert new_role.is_active
    assert new_role.label_num_waiting == 100
    assert TaskRole.objects.filter(task_id=task.pk, role=role).count() == 2
    assert not ProjectRole.objects.filter(project_id=task.project_id, user_id=old_user.pk, role=role).exists()
    assert ProjectRole.objects.filter(project_id=task.project_id, user_id=new_user.pk, role=role).exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.WORKING


@pytest.mark.parametrize("stage", ["fresh", "labeled", "reviewed"])
def test_replace_labeler_moves_labels_bug14(staffed, users, stage):
    task = staffed
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    images = images_of(task)
    if stage in ("labeled", "reviewed"):
        for image in images[:10]:
            image.set_label(task, l1, BOX)
            image.set_label(task, l2, BOX)
    if stage == "reviewed":
        for image in images_of(task)[:5]:
            label_id = image.labels[l1.pk][0].id
            image.set_review(task, r1, label_id, "accept")
            image.set_review(task, r2, label_id, "accept")
    before = {image.id: image for image in images_of(task)}
    new_user = users["labeler"][3]
    old_role, new_role = task.replace_worker(l1, new_user, Role.LABELER)
    assert not old_role.is_active
    assert new_role.is_active
    for image in images_of(task):
        assert l1.pk not in image.labels
        assert f"labeler_{l1.pk}" not in image.role_status
        assert image.role_status[f"labeler_{new_user.pk}"] == before[image.id].role_status[f"labeler_{l1.pk}"]
        if l1.pk in before[image.id].labels:
            (moved,) = image.labels[new_user.pk]
            assert moved.id == before[image.id].labels[l1.pk][0].id
            assert moved.user_id == new_user.pk
    if stage == "reviewed":
        assert all(images_of(task)[k].role_status[f"labeler_{new_user.pk}"] == "accepted" for k in range(5))
    assert_counters_equal_recount(task)
    with pytest.raises(LabelTaskError) as caught:
        images_of(task)[0].set_label(task, l1, BOX)
    assert caught.value.code == CantLabelImage.code
    if stage != "reviewed":
        images_of(task)[0].set_label(task, new_user, BOX)
        assert_counters_equal_recount(task)


def test_replace_reviewer_drops_stale_reviews_bug14(staffed, users):
    task = staffed
    l1, l2 = users["labeler"][:2]
    r1 = users["reviewer"][0]
    image = images_of(task)[0]
    image.set_label(task, l1, BOX)
    image.set_label(task, l2, BOX)
    image = images_of(task)[0]
    image.set_review(task, r1, image.labels[l1.pk][0].id, "reject")
    new_user = users["reviewer"][3]
    task.replace_worker(r1, new_user, Role.REVIEWER)
    image = images_of(task)[0]
    assert r1.pk not in image.reviews
    assert image.reviews[new_user.pk][0].user_id == new_user.pk
    assert image.role_status[f"reviewer_{new_user.pk}"] == ImageStatus.REJECTED
    assert_counters_equal_recount(task)


def test_replace_banned_worker_bug15(staffed, users):
    task = staffed
    banned = users["labeler"][0]
    banned.status = "inactive"
    banned.save()
    _, new_role = task.replace_worker(banned, users["labeler"][2], Role.LABELER)
    assert new_role.user_id == users["labeler"][2].pk


@pytest.mark.parametrize(
    ("old", "new", "role", "code"),
    [
        (("labeler", 0), ("labeler", 0), Role.LABELER, ReplaceSameUser.code),
        (("labeler", 0), ("labeler", 1), Role.LABELER, NewUserHasRole.code),
        (("labeler", 2), ("labeler", 3), Role.LABELER, OldUserLacksRole.code),
        (("reviewer", 0), ("reviewer", 1), Role.REVIEWER, NewUserHasRole.code),
        (("manager", 0), ("manager", 1), Role.MANAGER, RoleNotTaskLevel.code),
    ],
)
def test_replace_role_checks(staffed, users, old, new, role, code):
    before = TaskRole.objects.count()
    with pytest.raises(LabelTaskError) as caught:
        TaskRole.replace_role(staffed, users[old[0]][old[1]], users[new[0]][new[1]], role)
    assert caught.value.code == code
    assert TaskRole.objects.count() == before


def test_replace_with_inactive_new_user_fails(staffed, users):
    new_user = users["labeler"][3]
    new_user.status = "inactive"
    new_user.save()
    with pytest.raises(LabelTaskError) as caught:
        staffed.replace_worker(users["labeler"][0], new_user, Role.LABELER)
    assert caught.value.code == LabelUserNotActive.code
    assert TaskRole.objects.get(task_id=staffed.pk, user_id=users["labeler"][0].pk).is_active


def _label_and_review_some(task, users):
    l1, l2 = users["labeler"][:2]
    r1, r2 = users["reviewer"][:2]
    for image in images_of(task)[:10]:
        image.set_label(task, l1, BOX)
        image.set_label(task, l2, BOX)
    for number, image in enumerate(images_of(task)[:6]):
        image.set_review(task, r1, image.labels[l1.pk][0].id, "accept" if number % 3 else "reject")
        image.set_review(task, r2, image.labels[l2.pk][0].id, "accept")


@pytest.mark.parametrize("stage", ["fresh", "in_review"])
@pytest.mark.parametrize(
    ("role", "kind"),
    [(Role.LABEL_LEADER, "label_leader"), (Role.REVIEW_LEADER, "review_leader"), (Role.REVIEWER, "reviewer")],
)
def test_replace_each_role_at_each_stage(staffed, users, stage, role, kind):
    task = staffed
    if stage == "in_review":
        _label_and_review_some(task, users)
    before = {image.id: dict(image.role_status) for image in images_of(task)}
    old_user, new_user = users[kind][0], users[kind][3]
    if role in (Role.LABEL_LEADER, Role.REVIEW_LEADER):
        old_role, new_role = task.set_leader(new_user, role)
    else:
        old_role, new_role = task.replace_worker(old_user, new_user, role)
    assert (old_role.user_id, old_role.is_active, new_role.user_id, new_role.is_active) == (
        old_user.pk,
        False,
        new_user.pk,
        True,
    )
    for image in images_of(task):
        expected = before[image.id]
        if role == Role.REVIEWER:
            expected = {
                (f"reviewer_{new_user.pk}" if k == f"reviewer_{old_user.pk}" else k): v for k, v in expected.items()
            }
            assert old_user.pk not in image.reviews
        assert image.role_status == expected
    assert_counters_equal_recount(task)
    assert (
        TaskRole.objects.get(pk=new_role.pk).label_num_waiting == TaskRole.objects.get(pk=old_role.pk).label_num_waiting
    )
    if stage == "in_review" and role == Role.REVIEWER:
        # The new reviewer continues where the old one stopped: his reviews count, he can review the rest.
        image = images_of(task)[8]
        image.set_review(task, new_user, image.labels[users["labeler"][0].pk][0].id, "accept")
        assert_counters_equal_recount(task)


def test_get_max_role_is_always_the_callers_own_bug4(staffed, project1, users):
    task_a = staffed
    task_b = tasks_of(project1)[1]
    task_b.set_leader(users["label_leader"][1], Role.LABEL_LEADER)
    assert task_a.get_max_role(users["staff"][0]) is None  # the owner holds no task role
    assert task_a.get_max_role(users["label_leader"][0]).role == Role.LABEL_LEADER
    assert task_a.get_max_role(users["labeler"][0]).user_id == users["labeler"][0].pk
    assert task_a.get_max_role(users["label_leader"][1]) is None  # leads another task only
    assert task_b.get_max_role(users["label_leader"][1]).user_id == users["label_leader"][1].pk


def test_role_predicates(staffed, project1, users):
    pid, tid = project1.pk, staffed.pk
    owner, manager, leader, labeler, reviewer, other = (
        users["staff"][0],
        users["manager"][0],
        users["label_leader"][0],
        users["labeler"][0],
        users["reviewer"][0],
        users["others"][0],
    )
    assert ProjectRole.is_owner(owner, pid)
    assert not ProjectRole.is_owner(manager, pid)
    assert ProjectRole.is_manager(manager, pid)
    assert ProjectRole.is_gt_leader(manager, pid)
    assert ProjectRole.is_label_leader(leader, pid)
    assert ProjectRole.is_gte_leader(leader, pid)
    assert ProjectRole.is_leader(leader, pid)
    assert not ProjectRole.is_gt_leader(leader, pid)
    assert ProjectRole.is_label_worker(labeler, pid)
    assert ProjectRole.is_worker(labeler, pid)
    assert ProjectRole.is_review_worker(reviewer, pid)
    assert not ProjectRole.is_label_worker(reviewer, pid)
    assert not ProjectRole.is_member(other, pid)
    assert ProjectRole.can_create_project(owner)
    assert not ProjectRole.can_create_project(manager)
    assert ProjectRole.can_init_project(manager, pid)
    assert not ProjectRole.can_init_project(owner, pid)
    assert ProjectRole.can_qa_project(owner, pid)
    assert ProjectRole.can_export_project(owner, pid)
    assert ProjectRole.can_view_project_progress(leader, pid)
    assert not ProjectRole.can_view_project_progress(labeler, pid)
    assert TaskRole.is_task_label_leader(leader, tid)
    assert TaskRole.can_restart_task(leader, tid)
    assert TaskRole.can_replace_label_worker(leader, tid)
    assert not TaskRole.can_init_label_worker(leader, tid)
    assert TaskRole.can_label_image(labeler, tid)
    assert not TaskRole.can_review_image(labeler, tid)
    assert TaskRole.can_review_image(reviewer, tid)
    assert TaskRole.can_commit_review(reviewer, tid)
    assert TaskRole.can_qa_task(manager, pid)
    assert TaskRole.can_view_all_roles(leader, pid)
    labeler.status = "inactive"
    labeler.save()
    assert not TaskRole.can_label_image(labeler, tid)  # banned users lose every permission


def test_last_owner_cannot_be_removed(project1, users):
    with pytest.raises(LabelTaskError) as caught:
        ProjectRole.del_role(project1, users["staff"][0].pk, Role.OWNER)
    assert caught.value.code == LastOwner.code
    assert ProjectRole.is_owner(users["staff"][0], project1.pk)
    ProjectRole.add_role(project1, users["staff"][1].pk, Role.OWNER)
    assert ProjectRole.del_roles(project1, [users["staff"][0].pk], Role.OWNER) == 1
