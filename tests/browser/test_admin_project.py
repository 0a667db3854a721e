"""A staff manager runs a label project from the admin in chromium: creates it, initialises it, staffs its tasks
with leaders, a labeler and a reviewer, and looks at a task whose images were labeled and reviewed.
Screenshots go to var/screenshots/admin_project_*.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.models import User
from accounts.staff_group import staff_group_join
from dds_site.files import resolve_data_path
from labeling import services
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.task_images import LabelTaskImage
from labeling.workflow import ProjectStatus, Role, TaskStatus
from tests.browser.conftest import log_in
from tests.datasets.gallery_helpers import import_scene_dataset

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def scenes(settings, tmp_path, db):
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "data").mkdir()
    return import_scene_dataset(Path(resolve_data_path(".")) / "scenes", 6)


@pytest.fixture
def team(db) -> dict[str, User]:
    mia = User.objects.create_user("mia", "mia-pw-123", is_staff=True)
    staff_group_join(mia)
    return {
        "mia": mia,
        "leo": User.objects.create_user("leo", "leo-pw-123"),
        "rita": User.objects.create_user("rita", "rita-pw-123"),
    }


def _move(page, field: str, label: str) -> None:
    """Choose ``label`` in one of the admin's two-box (FilteredSelectMultiple) widgets."""
    page.select_option(f"#id_{field}_from", label=label)
    page.click(f"#id_{field}_add")


def _label_and_review(task: LabelTask, team: dict[str, User]) -> None:
    """Leo labels every image of the task with one box; Rita accepts all but the last label."""
    collection = LabelTaskImage(task.dataset_id).get_collection()
    docs = list(collection.find({"task_id": task.pk}).sort("idx", 1))
    for number, doc in enumerate(docs):
        box = {"xmin": 0.1 + 0.05 * number, "ymin": 0.3, "xmax": 0.55 + 0.05 * number, "ymax": 0.8}
        services.task_image_label(
            task=task,
            image_id=doc["_id"],
            labeler=team["leo"],
            annotations=[{"category_name": "car", "bounding_box": box}],
        )
    for number, doc in enumerate(collection.find({"task_id": task.pk}).sort("idx", 1)):
        action = "reject" if number == len(docs) - 1 else "accept"
        label_id = doc["labels"][team["leo"].pk][0]["id"]
        services.task_image_review(
            task=task, image_id=doc["_id"], reviewer=team["rita"], label_id=label_id, action=action
        )


def test_staff_manager_creates_initialises_and_staffs_a_project(page, scenes, team, screenshot):
    log_in(page, "mia", "mia-pw-123", next_url="/admin/labeling/labelproject/add/")
    page.fill("#id_name", "City scenes, round 1")
    _move(page, "datasets", "City scenes")
    _move(page, "managers", "mia")
    page.fill("#id_categories", "car, person, tree")
    page.select_option("#id_pre_label", "detector")
    page.fill("#id_description", "Boxes around every car, person and tree.")
    screenshot(page, "admin_project_create")
    page.click("input[type=submit][value='Create project']")
    page.wait_for_load_state("networkidle")

    project = LabelProject.objects.get(name="City scenes, round 1")
    assert project.owner["name"] == "mia"
    assert project.pre_label == "detector"
    assert page.locator("#project-status").inner_text().lower() == "waiting"
    assert "Created project City scenes, round 1" in page.locator(".messagelist").inner_text()
    screenshot(page, "admin_project_new")

    page.click("text=Initialise into tasks")
    page.fill("#id_batch_size", "3")
    page.fill("#id_label_times", "1")
    page.fill("#id_review_times", "1")
    screenshot(page, "admin_project_init")
    page.click("input[type=submit][value='Initialise']")
    page.wait_for_load_state("networkidle")

    project.refresh_from_db()
    assert project.status == ProjectStatus.WORKING
    assert project.task_num_total == 2
    assert page.locator("#tasks tbody tr").count() == 2

    page.check("#dds-all-tasks")
    page.select_option("#id_leaders-label_leader", label="mia")
    page.select_option("#id_leaders-review_leader", label="mia")
    page.click("input[type=submit][value='Set leaders']")
    page.wait_for_load_state("networkidle")
    assert "Set the leaders of 2 task(s)" in page.locator(".messagelist").inner_text()
    assert set(LabelTask.objects.filter(project_id=project.pk).values_list("status", flat=True)) == {"working"}

    page.click("#tasks >> text=Task 0")
    page.wait_for_load_state("networkidle")
    page.select_option("#id_workers-labelers", label="leo")
    page.select_option("#id_workers-reviewers", label="rita")
    page.click("input[type=submit][value='Assign workers']")
    page.wait_for_load_state("networkidle")
    task = LabelTask.objects.get(project_id=project.pk, idx=0)
    roles = set(TaskRole.objects.filter(task_id=task.pk, is_active=True).values_list("role", "user_name"))
    assert roles == {
        (Role.LABEL_LEADER, "mia"),
        (Role.REVIEW_LEADER, "mia"),
        (Role.LABELER, "leo"),
        (Role.REVIEWER, "rita"),
    }
    assert "Workers assigned" in page.locator(".messagelist").inner_text()

    _label_and_review(task, team)
    task.refresh_from_db()
    assert task.status == TaskStatus.WORKING  # one label rejected: Leo relabels it
    page.reload()
    page.wait_for_function("[...document.images].every((img) => img.complete && img.naturalWidth > 0)")
    boxes = page.locator("#images .ov-box")
    assert boxes.count() == 3
    assert page.locator("#images .dds-verdict-accept").count() == 2
    assert page.locator("#images .dds-verdict-reject").count() == 1
    # The first label's box (x 0.1-0.55 of the image) sits over the left part of its thumbnail.
    frame = page.locator("#images .dds-frame img").first.bounding_box()
    box = boxes.first.bounding_box()
    assert abs(box["x"] + box["width"] / 2 - (frame["x"] + 0.325 * frame["width"])) < 1.5
    assert abs(box["width"] - 0.45 * frame["width"]) < 3  # the stroke (2 px) widens the box by 1 px a side
    screenshot(page, "admin_project_task")

    page.click("text=City scenes, round 1")
    page.wait_for_load_state("networkidle")
    screenshot(page, "admin_project_page")
    page.goto("/admin/labeling/labelproject/")
    screenshot(page, "admin_project_list")
