"""The task pages of the admin: team and progress, leaders, workers, replacement, QA, restart, images with labels
and verdicts drawn; refusals and workflow errors as messages with nothing changed."""

from __future__ import annotations

import pytest

from accounts.models import User, UserStatus
from accounts.staff_group import staff_group_join
from labeling import services
from labeling.models import LabelTask, TaskRole, WorkflowEvent
from labeling.workflow import Role, TaskStatus
from tests.labeling.conftest import make_dataset
from tests.labeling.test_admin_project import (
    client_of,
    label_and_review,
    make_cats,
    make_people,
    messages_of,
    page_text,
    staff_task,
)

TASKS_URL = "/admin/labeling/labeltask/"


@pytest.fixture
def people(db) -> dict[str, User]:
    people = make_people()
    User.objects.filter(pk=people["leader"].pk).update(is_staff=True)
    people["leader"].refresh_from_db()
    staff_group_join(people["leader"])
    people["spare"] = User.objects.create_user("spare", "spare-pw-123")
    return people


@pytest.fixture
def task(people) -> LabelTask:
    """The only task (2 images) of a project with one labeler and one reviewer per image, not staffed yet."""
    project = make_cats(people, make_dataset("pets", 2), init={"batch_size": 0, "label_times": 1, "review_times": 1})
    return LabelTask.objects.get(project_id=project.pk)


def url(task: LabelTask, page: str = "change") -> str:
    return f"{TASKS_URL}{task.pk}/{page}/"


def active_roles(task: LabelTask) -> set[tuple[str, str]]:
    return set(TaskRole.objects.filter(task_id=task.pk, is_active=True).values_list("role", "user_name"))


def test_task_page_shows_team_progress_and_drawn_labels(people, task):
    staff_task(task, people)
    label_and_review(task, people, action="reject")
    page = page_text(client_of(people["manager"]).get(url(task)))

    for text in ("Label leader", "Review leader", "Labeler", "Reviewer", "leader", "labeler", "reviewer"):
        assert text in page
    assert 'id="task-progress"' in page
    assert str(task.created_ts) not in page
    # Each image with the labeler's box drawn in image pixels (640x480; the box is 0.1-0.5 x 0.2-0.6)...
    assert page.count('data-labeler="labeler"') == 2
    assert '<rect class="ov-box" x="64" y="96" width="256" height="192"/>' in page
    # ...and the reviewer's verdict on it.
    assert page.count("rejected by reviewer") == 2
    assert "/api/v1/datasets/" in page
    assert "/thumbnail?size=256" in page


def test_task_images_are_paged(people, task):
    client = client_of(people["manager"])
    from labeling import admin_images

    first = admin_images.task_image_page(task, size=1)
    assert [card.idx for card in first.cards] == [0]
    assert first.next_cursor == 0
    page = page_text(client.get(url(task), {"after": 0}))
    assert page.count('class="dds-image"') == 1
    assert "#1" in page
    assert "First images" in page


def test_manager_sets_leaders_and_the_task_starts(people, task):
    client = client_of(people["manager"])
    response = client.post(
        url(task, "leaders"),
        {"leaders-label_leader": people["leader"].pk, "leaders-review_leader": people["leader"].pk},
        follow=True,
    )
    assert any("Leaders set" in text for text in messages_of(response))
    assert active_roles(task) == {(Role.LABEL_LEADER, "leader"), (Role.REVIEW_LEADER, "leader")}
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING


def test_leader_assigns_workers_then_replaces_one(people, task):
    services.task_set_leader(task=task, user=people["leader"], role=Role.LABEL_LEADER, actor=None)
    services.task_set_leader(task=task, user=people["leader"], role=Role.REVIEW_LEADER, actor=None)
    client = client_of(people["leader"])
    assert "Assign workers" in page_text(client.get(url(task)))

    client.post(
        url(task, "workers"), {"workers-labelers": [people["labeler"].pk], "workers-reviewers": [people["reviewer"].pk]}
    )
    assert {(Role.LABELER, "labeler"), (Role.REVIEWER, "reviewer")} <= active_roles(task)
    page = page_text(client.get(url(task)))
    assert 'id="form-workers"' not in page  # set once; later changes are replacements
    assert "labeler (labeler)" in page
    assert "reviewer (reviewer)" in page

    response = client.post(
        url(task, "replace"),
        {
            "replace-worker": f"{Role.LABELER}:{people['labeler'].pk}",
            "replace-new_user": people["spare"].pk,
        },
        follow=True,
    )
    assert any("spare took over from labeler" in text for text in messages_of(response))
    assert (Role.LABELER, "spare") in active_roles(task)
    assert (Role.LABELER, "labeler") not in active_roles(task)


def test_assigning_a_banned_user_is_refused_and_changes_nothing(people, task):
    services.task_set_leader(task=task, user=people["leader"], role=Role.LABEL_LEADER, actor=None)
    User.objects.filter(pk=people["spare"].pk).update(status=UserStatus.INACTIVE)
    before = active_roles(task)
    client = client_of(people["leader"])
    assert "spare (banned)" in page_text(client.get(url(task)))

    response = client.post(url(task, "workers"), {"workers-labelers": [people["spare"].pk]}, follow=True)

    assert any("400201" in text for text in messages_of(response))
    assert active_roles(task) == before


def test_workers_that_would_review_their_own_labels_are_refused(people, task):
    services.task_set_leader(task=task, user=people["leader"], role=Role.LABEL_LEADER, actor=None)
    services.task_set_leader(task=task, user=people["leader"], role=Role.REVIEW_LEADER, actor=None)
    before = active_roles(task)
    same = people["labeler"].pk
    response = client_of(people["leader"]).post(
        url(task, "workers"), {"workers-labelers": [same], "workers-reviewers": [same]}, follow=True
    )
    assert any("4002" in text for text in messages_of(response))
    assert active_roles(task) == before


def test_accepting_an_unfinished_task_is_refused(people, task):
    staff_task(task, people)
    response = client_of(people["manager"]).post(url(task, "qa"), {"qa-action": "accept"}, follow=True)
    assert response.redirect_chain[-1][0] == url(task)
    assert any("400224" in text for text in messages_of(response))
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING


@pytest.mark.slow
def test_reject_restart_and_force_accept_with_history(people, task):
    staff_task(task, people)
    label_and_review(task, people)
    manager, leader = client_of(people["manager"]), client_of(people["leader"])

    manager.post(url(task, "qa"), {"qa-action": "reject"})
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.REJECTED
    assert "Restart task" in page_text(leader.get(url(task)))
    leader.post(url(task, "restart"))
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING

    refused = manager.post(url(task, "qa"), {"qa-action": "force_accept"}, follow=True)
    assert any("400226" in text for text in messages_of(refused))  # only a rejected task can be force-accepted
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING

    page = page_text(manager.get(url(task)))
    assert 'id="history"' in page
    assert WorkflowEvent.objects.filter(task_id=task.pk).count() >= 2
    assert "manager</strong> reject" in page
    assert "leader</strong> restart" in page


def test_staff_labeler_sees_his_task_but_may_not_steer_it(people, task):
    staff_task(task, people)
    services.task_replace_role(
        task=task, old_user=people["labeler"], new_user=people["staff_labeler"], role=Role.LABELER, actor=None
    )
    client = client_of(people["staff_labeler"])
    page = page_text(client.get(url(task)))
    assert 'id="steer"' not in page
    before = active_roles(task)

    workers = client.post(url(task, "workers"), {"workers-reviewers": [people["spare"].pk]}, follow=True)
    qa = client.post(url(task, "qa"), {"qa-action": "accept"}, follow=True)
    restart = client.post(url(task, "restart"), follow=True)

    for response in (workers, qa, restart):
        assert any("[403" in text for text in messages_of(response)), messages_of(response)
    assert active_roles(task) == before
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING


def test_manager_of_another_project_cannot_see_or_steer_the_task(people, task):
    client = client_of(people["outsider"])
    response = client.get(url(task), follow=True)
    assert response.redirect_chain[-1][0] == TASKS_URL
    assert task.pk not in page_text(response).split("does not exist")[-1]
    client.post(url(task, "leaders"), {"leaders-label_leader": people["outsider"].pk})
    client.post(TASKS_URL, {"action": "accept_tasks", "_selected_action": [task.pk]})
    assert not TaskRole.objects.filter(task_id=task.pk).exists()
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WAITING


def test_non_staff_cannot_reach_task_pages(people, task):
    client = client_of(people["labeler"])
    for page in ("change", "leaders", "qa"):
        response = client.get(url(task, page))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_task_changelist_is_readable(people, task):
    staff_task(task, people)
    page = page_text(client_of(people["manager"]).get(TASKS_URL))
    assert "Task 0" in page
    assert ">Cats</a>" in page
    assert "pets" in page
    assert "dds-status-working" in page
    assert "dds-bar" in page


def test_changelist_actions_report_workflow_errors(people, task):
    staff_task(task, people)
    response = client_of(people["manager"]).post(
        TASKS_URL, {"action": "accept_tasks", "_selected_action": [task.pk]}, follow=True
    )
    assert any("400224" in text for text in messages_of(response))
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WORKING
