"""DDS's replacement leftovers (reference §12 bug 14): ignored by the workflow, repaired on demand.

DDS copied a replaced worker's labels and reviews to his successor under new ids and kept the originals;
a review of such a stale label re-created the replaced labeler's status key. The image documents below
are shaped as DDS wrote them.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from datasets.images import Image
from datasets.models import Label
from labeling import progress, workflow
from labeling.errors import LabelAlreadyAccepted, LabelTaskError, ReviewAlreadyDone
from labeling.models import LabelProject, LabelTask
from labeling.task_images import LabelTaskImage
from labeling.workflow import ImageState, Role, TaskStatus
from tests.labeling.conftest import BOX, client_for, make_dataset, staffed_task
from tests.labeling.helpers import (
    assert_counters_equal_recount,
    assert_no_work_of_users_without_a_role,
    assert_project_counters_equal_recount,
    images_of,
)

BASE = "/api/v1/label-projects"
ACTIVE = {"labeler_b": "Bee", "reviewer_r": "Arr"}


def _label(user_id: str, label_id: str, ts: int = 1) -> dict:
    return {"id": label_id, "user_id": user_id, "user_name": user_id, "annotations": [], "created_ts": ts}


def _review(user_id: str, label_id: str, action: str, ts: int) -> dict:
    return {"id": f"rv{ts}", "user_id": user_id, "user_name": user_id, "action": action, "label_id": label_id,
            "created_ts": ts}  # fmt: skip


def _leaders(status: str) -> dict:
    return {"label_leader": status, "review_leader": status}


# --- the pure rule -----------------------------------------------------------------------------------------------


def test_an_image_without_leftovers_comes_back_unchanged():
    state = ImageState(
        labels={"b": [_label("b", "lb")]},
        reviews={"r": [_review("r", "lb", "reject", 2)]},
        role_status={**_leaders("rejected"), "labeler_b": "rejected", "reviewer_r": "rejected"},
    )
    assert workflow.without_inactive_workers(state, ACTIVE) == state


def test_the_stuck_image_of_a_replaced_labeler_is_accepted_as_its_reviews_say():
    """A rejected the stale label, then accepted the successor's copy: DDS left the image blocked for good."""
    state = ImageState(
        labels={"a": [_label("a", "la")], "b": [_label("b", "la_17")]},
        reviews={"r": [_review("r", "la_17", "accept", 3), _review("r", "la", "reject", 2)]},
        role_status={
            **_leaders("rejected"),
            "labeler_a": "rejected",
            "labeler_b": "accepted",
            "reviewer_r": "rejected",
        },
    )
    repaired = workflow.without_inactive_workers(state, ACTIVE)
    assert repaired.labels == {"b": [_label("b", "la_17")]}
    assert repaired.reviews == {"r": [_review("r", "la_17", "accept", 3)]}
    assert repaired.role_status == {**_leaders("accepted"), "labeler_b": "accepted", "reviewer_r": "accepted"}
    assert state.role_status["labeler_a"] == "rejected"  # pure: the input is not modified
    assert workflow.without_inactive_workers(repaired, ACTIVE) == repaired  # idempotent


def test_a_later_reject_of_the_stale_label_counts_for_the_successors_copy():
    """Our replacement moves the label itself, so a reject of it would have hit the successor: he relabels."""
    state = ImageState(
        labels={"a": [_label("a", "la")], "b": [_label("b", "la_17")]},
        reviews={"r": [_review("r", "la", "reject", 3), _review("r", "la_17", "accept", 2)]},
        role_status={
            **_leaders("rejected"),
            "labeler_a": "rejected",
            "labeler_b": "accepted",
            "reviewer_r": "rejected",
        },
    )
    repaired = workflow.without_inactive_workers(state, ACTIVE)
    assert repaired.reviews == {"r": [_review("r", "la_17", "reject", 3)]}
    assert repaired.role_status == {**_leaders("rejected"), "labeler_b": "rejected", "reviewer_r": "rejected"}
    workflow.check_can_label(task_status="working", state=repaired, labeler_id="b")  # the successor may relabel


def test_reviews_of_a_replaced_labelers_label_follow_ddss_copy_of_it():
    """Reviews given before the replacement pointed at the original id; export needs them on the copy."""
    state = ImageState(
        labels={"a": [_label("a", "la")], "b": [_label("b", "la_17")]},
        reviews={"r": [_review("r", "la", "accept", 2)]},
        role_status={**_leaders("accepted"), "labeler_b": "accepted", "reviewer_r": "accepted"},
    )
    repaired = workflow.without_inactive_workers(state, ACTIVE)
    assert repaired.labels == {"b": [_label("b", "la_17")]}
    assert repaired.reviews == {"r": [_review("r", "la_17", "accept", 2)]}
    assert repaired.role_status == state.role_status
    assert workflow.exported_label(repaired, force_accepted=False)["id"] == "la_17"


def test_a_dropped_rejection_sends_everyone_back_to_reviewing_once_every_labeler_submitted():
    state = ImageState(
        labels={"a": [_label("a", "la")], "b": [_label("b", "lb2")]},
        reviews={"r": [_review("r", "la", "reject", 2)]},
        role_status={
            **_leaders("rejected"),
            "labeler_a": "rejected",
            "labeler_b": "reviewing",
            "reviewer_r": "rejected",
        },
    )
    repaired = workflow.without_inactive_workers(state, ACTIVE)
    assert repaired.reviews == {"r": []}
    assert repaired.role_status == {**_leaders("reviewing"), "labeler_b": "reviewing", "reviewer_r": "reviewing"}


def test_work_of_a_replaced_worker_moves_to_a_successor_who_has_nothing_on_the_image():
    """An interrupted replacement: the successor got neither the status key nor the label."""
    state = ImageState(
        labels={"a": [_label("a", "la")]},
        role_status={**_leaders("reviewing"), "labeler_a": "reviewing", "reviewer_r": "reviewing"},
    )
    repaired = workflow.without_inactive_workers(state, ACTIVE)
    assert repaired.labels == {"b": [{**_label("a", "la"), "user_id": "b", "user_name": "Bee"}]}
    assert repaired.role_status == {**_leaders("reviewing"), "labeler_b": "reviewing", "reviewer_r": "reviewing"}


def test_leftover_labels_after_a_restart_go_without_touching_the_restarts_statuses():
    state = ImageState(
        labels={"a": [_label("a", "la")], "b": [_label("b", "lb")]},
        reviews={"r": [_review("r", "lb", "accept", 2)], "q": [_review("q", "la", "accept", 1)]},
        role_status={**_leaders("rejected"), "labeler_b": "rejected", "reviewer_r": "rejected"},
    )
    repaired = workflow.without_inactive_workers(state, ACTIVE)
    assert repaired.labels == {"b": [_label("b", "lb")]}
    assert repaired.reviews == {"r": [_review("r", "lb", "accept", 2)]}
    assert repaired.role_status == state.role_status


# --- a task with a DDS-shaped image -------------------------------------------------------------------------------


@pytest.fixture
def dds_task(users, db):
    """Task of a project (label 1, review 1) whose labeler A was replaced by B, image 0 left as DDS leaves it.

    Image 1 is done. On image 0 DDS kept A's label beside B's copy; the reviewer rejected A's stale label
    (re-creating A's status key) and accepted B's copy: B accepted, the reviewer and the leaders rejected.
    """
    dataset = make_dataset("dds_leftovers", 2)
    task = staffed_task(users, [dataset], label_times=1, review_times=1)
    project = task.project
    old, new, reviewer = users["labeler"][0], users["labeler"][1], users["reviewer"][0]
    for image in images_of(task):
        image.set_label(task, old, BOX)
    done = images_of(task)[1]
    done.set_review(task, reviewer, done.labels[old.pk][0].id, "accept")
    task.replace_worker(old, new, Role.LABELER)
    image = images_of(task)[0]
    original = image.labels[new.pk][0].model_dump() | {"user_id": old.pk, "user_name": old.name}
    copy = original | {"id": f"{original['id']}_17000000001700000000", "user_id": new.pk, "user_name": new.name}
    LabelTaskImage(task.dataset_id).get_collection().update_one(
        {"_id": image.id},
        {
            "$set": {
                "labels": {old.pk: [original], new.pk: [copy]},
                "reviews": {
                    reviewer.pk: [
                        {**_review(reviewer.pk, copy["id"], "accept", 3), "user_name": reviewer.name},
                        {**_review(reviewer.pk, original["id"], "reject", 2), "user_name": reviewer.name},
                    ]
                },
                "role_status": {
                    **_leaders("rejected"),
                    f"labeler_{old.pk}": "rejected",
                    f"labeler_{new.pk}": "accepted",
                    f"reviewer_{reviewer.pk}": "rejected",
                },
            }
        },
    )
    progress.task_recount(task=task)  # what adoption does with DDS's counters
    task.refresh_from_db()
    assert task.status == TaskStatus.WORKING
    return project, task, copy


def _accept_and_export(users, project: LabelProject, task: LabelTask) -> list[dict]:
    """Manager accepts the task, owner the project; export; the exported objects of every image."""
    response = client_for(users["manager"][0]).post(
        f"{BASE}/{project.pk}/tasks/{task.pk}/qa", {"action": "accept"}, format="json"
    )
    assert response.status_code == 200, response.content
    owner = client_for(users["staff"][0])
    response = owner.post(f"{BASE}/{project.pk}/qa", {"action": "accept"}, format="json")
    assert response.status_code == 200, response.content
    response = owner.post(f"{BASE}/{project.pk}/export", {"label_name": "done"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "exported"
    label = Label.objects.get(dataset_id=task.dataset_id, name=f"done[{project.pk[:8]}]")
    return [
        [obj for obj in image.objects if obj.label_id == label.pk] for image in Image(task.dataset_id).find_many({})
    ]


def test_without_repair_a_task_held_by_leftovers_is_accepted_and_exported(dds_task, users):
    project, task, copy = dds_task
    new, reviewer = users["labeler"][1], users["reviewer"][0]
    image = images_of(task)[0]
    with pytest.raises(LabelTaskError) as caught:
        image.set_label(task, new, BOX)  # his copy was accepted
    assert caught.value.code == LabelAlreadyAccepted.code
    with pytest.raises(LabelTaskError) as caught:
        image.set_review(task, reviewer, copy["id"], "accept")
    assert caught.value.code == ReviewAlreadyDone.code
    exported = _accept_and_export(users, project, task)
    assert [[obj.category_name for obj in objects] for objects in exported] == [["test"], ["test"]]
    assert_no_work_of_users_without_a_role(task)
    assert_counters_equal_recount(task)
    assert_project_counters_equal_recount(project)


@pytest.mark.parametrize("verb", ["force_accept", "restart"])
def test_a_rejected_task_with_leftovers_is_force_accepted_or_restarted_without_them(dds_task, users, verb):
    """The replaced labeler's stale label is the newest here: a force-accepted export would have picked it."""
    project, task, _ = dds_task
    old = users["labeler"][0]
    LabelTaskImage(task.dataset_id).get_collection().update_one(
        {"_id": images_of(task)[0].id},
        {"$set": {f"labels.{old.pk}.0.created_ts": 2**40, f"labels.{old.pk}.0.annotations.0.category_name": "cat"}},
    )
    LabelTask.objects.filter(pk=task.pk).update(status=TaskStatus.REJECTED)
    project.update_subtask_counter()
    if verb == "restart":
        response = client_for(users["label_leader"][0]).post(f"{BASE}/{project.pk}/tasks/{task.pk}/restart")
        assert response.status_code == 200, response.content
        assert_no_work_of_users_without_a_role(task)
        assert_counters_equal_recount(task)
        return
    response = client_for(users["manager"][0]).post(
        f"{BASE}/{project.pk}/tasks/{task.pk}/qa", {"action": "force_accept"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert_no_work_of_users_without_a_role(task)
    owner = client_for(users["staff"][0])
    assert owner.post(f"{BASE}/{project.pk}/qa", {"action": "accept"}, format="json").status_code == 200
    assert owner.post(f"{BASE}/{project.pk}/export", {"label_name": "forced"}, format="json").status_code == 200
    label = Label.objects.get(dataset_id=task.dataset_id, name=f"forced[{project.pk[:8]}]")
    exported = [
        [o.category_name for o in image.objects if o.label_id == label.pk]
        for image in Image(task.dataset_id).find_many({})
    ]
    assert exported == [["test"], ["test"]]


def test_a_review_ignores_a_replaced_labelers_status_and_label(users, db):
    """DDS: the stale rejected status kept the leaders rejected whatever the active reviewer did."""
    dataset = make_dataset("dds_review", 1)
    task = staffed_task(users, [dataset], label_times=1, review_times=1)
    old, new, reviewer = users["labeler"][0], users["labeler"][1], users["reviewer"][0]
    images_of(task)[0].set_label(task, old, BOX)
    task.replace_worker(old, new, Role.LABELER)
    image = images_of(task)[0]
    copy = image.labels[new.pk][0].model_dump()
    stale = copy | {"id": "stale", "user_id": old.pk, "user_name": old.name}
    LabelTaskImage(task.dataset_id).get_collection().update_one(
        {"_id": image.id},
        {
            "$set": {
                f"labels.{old.pk}": [stale],
                f"reviews.{reviewer.pk}": [{**_review(reviewer.pk, "stale", "reject", 2), "user_name": reviewer.name}],
                f"role_status.labeler_{old.pk}": "rejected",
                f"role_status.reviewer_{reviewer.pk}": "rejected",
                "role_status.label_leader": "rejected",
                "role_status.review_leader": "rejected",
            }
        },
    )
    progress.task_recount(task=task)
    images_of(task)[0].set_review(task, reviewer, copy["id"], "accept")
    after = images_of(task)[0]
    assert set(after.role_status.values()) == {"accepted"}
    assert old.pk not in after.labels
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    assert_counters_equal_recount(task)


def test_repair_command_repairs_once_and_reports(dds_task, users):
    project, task, copy = dds_task
    before = images_of(task)[0]
    out = io.StringIO()
    call_command("repair_labeling", "--dry-run", stdout=out, verbosity=0)
    assert "checked 2 image(s) of 1 task(s); would repair 1 image(s) of 1 task(s)" in out.getvalue()
    assert images_of(task)[0].version == before.version
    out = io.StringIO()
    call_command("repair_labeling", stdout=out, verbosity=0)
    assert "repaired 1 image(s) of 1 task(s)" in out.getvalue()
    assert_no_work_of_users_without_a_role(task)
    image = images_of(task)[0]
    assert set(image.role_status.values()) == {"accepted"}
    assert image.labels[users["labeler"][1].pk][0].id == copy["id"]
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING  # complete once the leftovers are gone
    assert_counters_equal_recount(task)
    out = io.StringIO()
    call_command("repair_labeling", stdout=out, verbosity=0)
    assert "repaired 0 image(s) of 0 task(s)" in out.getvalue()
    exported = _accept_and_export(users, project, task)
    assert [[obj.category_name for obj in objects] for objects in exported] == [["test"], ["test"]]
    assert_project_counters_equal_recount(project)


def test_repair_command_refuses_an_unknown_project(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not found"):
        call_command("repair_labeling", "--project", "f" * 32, verbosity=0)


def test_adopting_a_dds_database_repairs_the_leftovers(dds_task, users):
    _, task, _ = dds_task
    out = io.StringIO()
    call_command("adopt_dds_database", stdout=out, verbosity=0)
    assert "repaired 1 task image(s) of 1 task(s)" in out.getvalue()
    assert_no_work_of_users_without_a_role(task)
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEWING
    assert_counters_equal_recount(task)
