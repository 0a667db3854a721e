"""The label-project pages of the admin: create, initialise, QA, reopen, export, staff tasks in batch; who sees what."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import User, UserStatus
from accounts.staff_group import staff_group_join
from datasets.models import Label
from labeling import services
from labeling.models import LabelProject, LabelTask, ProjectRole, TaskRole, WorkflowEvent
from labeling.task_images import LabelTaskImage
from labeling.workflow import ProjectStatus, Role, TaskStatus
from tests.labeling.conftest import make_dataset

BOX = [{"category_name": "cat", "bounding_box": {"xmin": 0.1, "ymin": 0.2, "xmax": 0.5, "ymax": 0.6}}]
ADD_URL = "/admin/labeling/labelproject/add/"
LIST_URL = "/admin/labeling/labelproject/"

# name -> staff?
PEOPLE = {
    "owner": True,
    "manager": True,
    "outsider": True,  # staff, manager of another project
    "leader": False,
    "labeler": False,
    "reviewer": False,
    "staff_labeler": True,  # staff, but only a labeler in the project
}


def make_people() -> dict[str, User]:
    people = {}
    for name, staff in PEOPLE.items():
        user = User.objects.create_user(name, f"{name}-pw-123", is_staff=staff)
        if staff:
            staff_group_join(user)
        people[name] = user
    return people


def client_of(user: User) -> Client:
    client = Client()
    assert client.login(username=user.name, password=f"{user.name}-pw-123")
    return client


def make_cats(people, dataset, *, init: dict | None = None) -> LabelProject:
    project = services.project_create(
        name="Cats",
        owner=people["owner"],
        datasets=[dataset],
        managers=[people["manager"]],
        categories=["cat", "dog"],
    )
    if init is not None:
        project = services.project_init(project=project, **init, actor=None)
    return project


def staff_task(task: LabelTask, people, *, reviewer: bool = True) -> None:
    services.task_set_leader(task=task, user=people["leader"], role=Role.LABEL_LEADER, actor=None)
    services.task_set_leader(task=task, user=people["leader"], role=Role.REVIEW_LEADER, actor=None)
    services.task_init_workers(task=task, users=[people["labeler"]], role=Role.LABELER, actor=None)
    if reviewer:
        services.task_init_workers(task=task, users=[people["reviewer"]], role=Role.REVIEWER, actor=None)
    task.refresh_from_db()


def label_and_review(task: LabelTask, people, *, action: str = "accept") -> None:
    """The labeler labels every image and the reviewer gives each label ``action``."""
    docs = list(LabelTaskImage(task.dataset_id).get_collection().find({"task_id": task.pk}))
    for doc in docs:
        services.task_image_label(task=task, image_id=doc["_id"], labeler=people["labeler"], annotations=BOX)
    for doc in LabelTaskImage(task.dataset_id).get_collection().find({"task_id": task.pk}):
        label_id = doc["labels"][people["labeler"].pk][0]["id"]
        services.task_image_review(
            task=task, image_id=doc["_id"], reviewer=people["reviewer"], label_id=label_id, action=action
        )
    task.refresh_from_db()


def reviewing_project(people, dataset) -> LabelProject:
    """A project whose only task every role finished and the manager accepted: it waits for the owner's QA."""
    project = make_cats(people, dataset, init={"batch_size": 0, "label_times": 1, "review_times": 1})
    task = LabelTask.objects.get(project_id=project.pk)
    staff_task(task, people)
    label_and_review(task, people)
    services.task_qa(task=task, action="accept", actor=None)
    project.refresh_from_db()
    assert project.status == ProjectStatus.REVIEWING
    return project


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def page_text(response) -> str:
    return response.content.decode()


@pytest.fixture
def people(db) -> dict[str, User]:
    return make_people()


@pytest.fixture
def dataset(db):
    return make_dataset("pets", 5)


@pytest.fixture
def tiny(db):
    """One image: enough to take a project through review quickly."""
    return make_dataset("tiny", 1)


def _create_form(people, dataset, **overrides) -> dict:
    data = {
        "name": "Pets 2026",
        "datasets": [dataset.pk],
        "managers": [people["manager"].pk],
        "categories": "cat, dog",
        "pre_label": "",
        "description": "First pass",
    }
    data.update(overrides)
    return data


# --- create -------------------------------------------------------------------------------------------------------


def test_create_project_page_and_post(people, dataset):
    client = client_of(people["owner"])
    page = client.get(ADD_URL)
    assert page.status_code == 200
    assert "pets" in page_text(page)
    assert "manager" in page_text(page)

    response = client.post(ADD_URL, _create_form(people, dataset), follow=True)

    project = LabelProject.objects.get(name="Pets 2026")
    assert response.redirect_chain[-1][0] == f"/admin/labeling/labelproject/{project.pk}/change/"
    assert project.owner == {"id": people["owner"].pk, "name": "owner"}
    assert project.managers == [{"id": people["manager"].pk, "name": "manager"}]
    assert project.category_list == ["cat", "dog"]
    assert project.description == "First pass"
    roles = set(ProjectRole.objects.filter(project_id=project.pk).values_list("user_id", "role"))
    assert roles == {(people["owner"].pk, Role.OWNER), (people["manager"].pk, Role.MANAGER)}
    assert any("Created project Pets 2026" in text for text in messages_of(response))


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"categories": " , "}, "400206"),  # no category left after normalising
        ({"pre_label": "Predictions"}, "400002"),  # a label set of another dataset
    ],
)
def test_create_project_refusals_show_the_error_and_write_nothing(people, dataset, overrides, code):
    other = make_dataset("others", 1)
    Label.objects.create(id="l" * 32, name="Predictions", dataset=other, type="Pred")
    client = client_of(people["owner"])

    response = client.post(ADD_URL, _create_form(people, dataset, **overrides))

    assert response.status_code == 200
    assert code in page_text(response)
    assert not LabelProject.objects.exists()
    assert not ProjectRole.objects.exists()


def test_create_project_with_an_occupied_dataset_is_refused(people, dataset):
    make_cats(people, dataset)
    response = client_of(people["owner"]).post(ADD_URL, _create_form(people, dataset))
    assert "400207" in page_text(response)
    assert LabelProject.objects.count() == 1


def test_create_project_with_a_banned_manager_is_refused(people, dataset):
    User.objects.filter(pk=people["manager"].pk).update(status=UserStatus.INACTIVE)
    response = client_of(people["owner"]).post(ADD_URL, _create_form(people, dataset))
    assert "400201" in page_text(response)
    assert "manager (banned)" in page_text(response)
    assert not LabelProject.objects.exists()


def test_create_project_form_checks_fields_like_the_api(people, dataset):
    response = client_of(people["owner"]).post(ADD_URL, _create_form(people, dataset, name="x" * 256, datasets=[]))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"name", "datasets"}
    assert not LabelProject.objects.exists()


def test_non_staff_users_cannot_reach_the_project_admin(people, dataset):
    project = make_cats(people, dataset)
    client = client_of(people["labeler"])
    for url in (LIST_URL, ADD_URL, f"{LIST_URL}{project.pk}/change/", f"{LIST_URL}{project.pk}/init/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"], url
    client.post(f"{LIST_URL}{project.pk}/init/", {"batch_size": 1, "label_times": 1, "review_times": 0})
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING


# --- staff sees what the API shows --------------------------------------------------------------------------------


def test_staff_manager_sees_only_his_projects(people, dataset):
    mine = make_cats(people, dataset)
    theirs = services.project_create(
        name="Birds",
        owner=people["outsider"],
        datasets=[make_dataset("birds", 2)],
        managers=[people["outsider"]],
        categories=["bird"],
    )
    client = client_of(people["manager"])

    listing = page_text(client.get(LIST_URL))
    assert "Cats" in listing
    assert "Birds" not in listing

    response = client.get(f"{LIST_URL}{theirs.pk}/change/", follow=True)
    assert response.redirect_chain[-1][0] == LIST_URL
    assert any("does not exist or is not yours" in text for text in messages_of(response))
    assert client.get(f"{LIST_URL}{mine.pk}/change/").status_code == 200


def test_staff_manager_of_another_project_cannot_act_on_it(people, dataset):
    project = make_cats(people, dataset)
    client = client_of(people["outsider"])

    client.post(f"{LIST_URL}{project.pk}/init/", {"batch_size": 1, "label_times": 1, "review_times": 0})
    client.post(LIST_URL, {"action": "recount_projects", "_selected_action": [project.pk]})
    client.post(f"{LIST_URL}{project.pk}/delete/", {"post": "yes"})

    project.refresh_from_db()
    assert project.status == ProjectStatus.WAITING
    assert not LabelTask.objects.exists()


def test_owner_who_is_not_manager_cannot_initialise(people, dataset):
    project = make_cats(people, dataset)
    client = client_of(people["owner"])
    assert "Initialise into tasks" not in page_text(client.get(f"{LIST_URL}{project.pk}/change/"))

    response = client.post(
        f"{LIST_URL}{project.pk}/init/", {"batch_size": 1, "label_times": 1, "review_times": 0}, follow=True
    )

    assert any("403" in text for text in messages_of(response))  # CANT_INIT_PROJECT, as the API says
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING


def test_staff_labeler_sees_his_task_but_no_project_tools(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 2, "label_times": 1, "review_times": 1})
    tasks = list(LabelTask.objects.filter(project_id=project.pk).order_by("idx"))
    staff_task(tasks[0], people)
    services.task_init_workers(task=tasks[1], users=[people["staff_labeler"]], role=Role.LABELER, actor=None)
    client = client_of(people["staff_labeler"])

    page = page_text(client.get(f"{LIST_URL}{project.pk}/change/"))

    assert f"/admin/labeling/labeltask/{tasks[1].pk}/change/" in page
    assert f"/admin/labeling/labeltask/{tasks[0].pk}/change/" not in page
    assert 'id="project-progress"' not in page  # progress is for leaders and up, as in the API
    assert "Set leaders" not in page
    assert "Initialise" not in page
    task_list = page_text(client.get("/admin/labeling/labeltask/"))
    assert tasks[1].pk in task_list
    assert tasks[0].pk not in task_list


# --- initialise ---------------------------------------------------------------------------------------------------


def test_initialise_from_the_admin_then_twice(people, dataset):
    project = make_cats(people, dataset)
    client = client_of(people["manager"])
    url = f"{LIST_URL}{project.pk}/init/"
    assert client.get(url).status_code == 200

    response = client.post(url, {"batch_size": 2, "label_times": 1, "review_times": 1}, follow=True)

    project.refresh_from_db()
    assert project.status == ProjectStatus.WORKING
    assert (project.batch_size, project.label_times, project.review_times) == (2, 1, 1)
    assert LabelTask.objects.filter(project_id=project.pk).count() == 3
    assert any("3 task(s)" in text for text in messages_of(response))

    again = client.post(url, {"batch_size": 5, "label_times": 1, "review_times": 0})
    assert again.status_code == 200
    assert "400209" in page_text(again)
    project.refresh_from_db()
    assert project.batch_size == 2
    assert LabelTask.objects.filter(project_id=project.pk).count() == 3


def test_initialise_form_bounds(people, dataset):
    project = make_cats(people, dataset)
    response = client_of(people["manager"]).post(
        f"{LIST_URL}{project.pk}/init/", {"batch_size": -1, "label_times": 0, "review_times": 0}
    )
    assert set(response.context["form"].errors) == {"batch_size", "label_times"}
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WAITING


# --- project page ---------------------------------------------------------------------------------------------------


def test_project_page_reads_like_a_product(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 2, "label_times": 1, "review_times": 1})
    task = LabelTask.objects.filter(project_id=project.pk).order_by("idx").first()
    staff_task(task, people)
    doc = LabelTaskImage(task.dataset_id).get_collection().find_one({"task_id": task.pk})
    services.task_image_label(task=task, image_id=doc["_id"], labeler=people["labeler"], annotations=BOX)

    page = page_text(client_of(people["manager"]).get(f"{LIST_URL}{project.pk}/change/"))

    assert str(project.created_ts) not in page  # a date, not epoch milliseconds
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", page)
    assert "{&#x27;id&#x27;" not in page
    assert "{'id'" not in page  # no raw JSON of owner, managers or datasets
    assert f'href="/admin/datasets/dataset/{dataset.pk}/change/">pets</a>' in page
    assert 'id="project-progress"' in page
    assert "0 of 3 tasks accepted" in page
    # The staffed task's bar: 1 of its 2 images in review (50%), the other still to label.
    assert 'class="dds-seg dds-reviewing" style="width:50.0%"' in page
    assert "leader" in page
    assert "labeler" in page
    assert "reviewer" in page
    people = page.split('id="people"')[1].split("</table>")[0]  # each worker's images over his tasks
    assert "<strong>Labeler</strong>" in people
    assert "<strong>Reviewer</strong>" in people
    # The labeled image waits for its review, for both; the other waits for its label.
    assert people.count('<td class="dds-muted-text">1 in review, 1 to label</td>') == 2


def test_superuser_sees_every_project_acts_as_the_operator_and_is_named_in_the_history(people, dataset):
    project = make_cats(people, dataset)
    User.objects.create_superuser("root", "root-pw-123")
    client = client_of(User.objects.get(name="root"))
    assert "Cats" in page_text(client.get(LIST_URL))

    client.post(f"{LIST_URL}{project.pk}/init/", {"batch_size": 0, "label_times": 1, "review_times": 0})

    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WORKING
    history = page_text(client.get(f"{LIST_URL}{project.pk}/change/")).split('id="history"')[1]
    assert "root</strong> init" in history
    assert WorkflowEvent.objects.filter(project_id=project.pk, action="init").get().actor_name == "root"


def test_project_changelist_shows_status_progress_and_dates(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 0, "label_times": 1, "review_times": 1})
    page = page_text(client_of(people["manager"]).get(LIST_URL))
    assert "dds-status-working" in page
    assert "<small>0%</small>" in page
    assert str(project.created_ts) not in page
    assert ">owner<" in page


# --- staff the tasks in batch ---------------------------------------------------------------------------------------


def test_set_leaders_of_ticked_tasks(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 2, "label_times": 1, "review_times": 0})
    tasks = list(LabelTask.objects.filter(project_id=project.pk).order_by("idx"))
    client = client_of(people["manager"])

    response = client.post(
        f"{LIST_URL}{project.pk}/leaders/",
        {"task": [tasks[0].pk, tasks[2].pk], "leaders-label_leader": people["leader"].pk},
        follow=True,
    )

    assert any("Set the leaders of 2 task(s)" in text for text in messages_of(response))
    led = set(TaskRole.objects.filter(role=Role.LABEL_LEADER, is_active=True).values_list("task_id", flat=True))
    assert led == {tasks[0].pk, tasks[2].pk}
    statuses = dict(LabelTask.objects.filter(project_id=project.pk).values_list("id", "status"))
    assert statuses[tasks[0].pk] == TaskStatus.WORKING
    assert statuses[tasks[1].pk] == TaskStatus.WAITING


def test_set_leaders_refused_for_a_banned_user_or_an_outsider(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 0, "label_times": 1, "review_times": 0})
    task = LabelTask.objects.get(project_id=project.pk)
    User.objects.filter(pk=people["leader"].pk).update(status=UserStatus.INACTIVE)
    form = {"task": [task.pk], "leaders-label_leader": people["leader"].pk}

    response = client_of(people["manager"]).post(f"{LIST_URL}{project.pk}/leaders/", form, follow=True)
    assert any("400201" in text for text in messages_of(response))

    User.objects.filter(pk=people["leader"].pk).update(status=UserStatus.ACTIVE)
    response = client_of(people["staff_labeler"]).post(f"{LIST_URL}{project.pk}/leaders/", form, follow=True)
    assert not TaskRole.objects.exists()
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.WAITING


# --- QA, reopen, export ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_owner_accepts_and_exports(people, tiny):
    project = reviewing_project(people, tiny)
    client = client_of(people["owner"])
    page = page_text(client.get(f"{LIST_URL}{project.pk}/change/"))
    assert "Accept or reject" in page
    assert client.get(f"{LIST_URL}{project.pk}/qa/").status_code == 200

    client.post(f"{LIST_URL}{project.pk}/qa/", {"action": "accept"})
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.ACCEPTED

    assert client.get(f"{LIST_URL}{project.pk}/export/").status_code == 200
    response = client.post(f"{LIST_URL}{project.pk}/export/", {"label_name": "round1", "label_type": "GT"}, follow=True)
    assert any("Exported Cats" in text for text in messages_of(response))
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.EXPORTED
    (label,) = Label.objects.filter(dataset_id=tiny.pk, name__startswith="round1")
    assert label.type == "GT"


def test_qa_before_review_and_export_before_accept_are_refused(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 0, "label_times": 1, "review_times": 1})
    client = client_of(people["owner"])

    qa = client.post(f"{LIST_URL}{project.pk}/qa/", {"action": "accept"})
    export = client.post(f"{LIST_URL}{project.pk}/export/", {"label_name": "round1", "label_type": "User"})

    assert "400212" in page_text(qa)
    assert "4002" in page_text(export)
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WORKING
    assert not Label.objects.filter(name__startswith="round1").exists()


def test_manager_is_not_owner_so_cannot_qa(people, tiny):
    project = reviewing_project(people, tiny)
    response = client_of(people["manager"]).post(f"{LIST_URL}{project.pk}/qa/", {"action": "accept"}, follow=True)
    assert any("403" in text for text in messages_of(response))
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.REVIEWING


def test_reject_then_reopen_chosen_tasks(people, tiny):
    project = reviewing_project(people, tiny)
    task = LabelTask.objects.get(project_id=project.pk)
    client = client_of(people["owner"])
    client.post(f"{LIST_URL}{project.pk}/qa/", {"action": "reject"})
    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.REJECTED
    page = client.get(f"{LIST_URL}{project.pk}/reopen/")
    assert "Task 0" in page_text(page)

    client.post(f"{LIST_URL}{project.pk}/reopen/", {"tasks": [task.pk]})

    assert LabelProject.objects.get(pk=project.pk).status == ProjectStatus.WORKING
    assert LabelTask.objects.get(pk=task.pk).status == TaskStatus.REJECTED
    again = client.post(f"{LIST_URL}{project.pk}/reopen/", {})
    assert "400" in page_text(again)
    assert "rejected" in page_text(again).lower()


def test_edit_description_and_managers(people, dataset):
    project = make_cats(people, dataset)
    refused = client_of(people["manager"]).post(
        f"{LIST_URL}{project.pk}/edit/", {"description": "v3", "managers": [people["manager"].pk]}, follow=True
    )
    assert any("403055" in text for text in messages_of(refused))  # only the owner edits, as in the API
    assert LabelProject.objects.get(pk=project.pk).description == ""
    client = client_of(people["owner"])
    assert client.get(f"{LIST_URL}{project.pk}/edit/").status_code == 200

    client.post(f"{LIST_URL}{project.pk}/edit/", {"description": "v2", "managers": [people["outsider"].pk]})

    project.refresh_from_db()
    assert project.description == "v2"
    assert [item["name"] for item in project.managers] == ["outsider"]


def test_owner_deletes_project_from_its_page(people, dataset):
    project = make_cats(people, dataset, init={"batch_size": 0, "label_times": 1, "review_times": 0})
    client = client_of(people["owner"])
    assert client.get(f"{LIST_URL}{project.pk}/delete/").status_code == 200
    client.post(f"{LIST_URL}{project.pk}/delete/", {"post": "yes"})
    assert not LabelProject.objects.exists()
    assert not LabelTask.objects.exists()
