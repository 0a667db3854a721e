"""The labeling pages in chromium: label, review, fix a rejection, watch the counters; two labelers at once."""

from __future__ import annotations

import re

import pytest

from labeling.task_images import LabelTaskImage
from tests.label_ui.staging import password, staffed_task

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def sign_in(page, user, next_url: str = "/label/") -> None:
    page.goto(f"/label/login/?next={next_url}")
    page.fill("#id_username", user.name)
    page.fill("#id_password", password(user.name))
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}*")


def wait_ready(page) -> None:
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.wait_for_load_state("networkidle")


class Stage:
    """Display <-> image pixels of the page's drawing area, as the page shows a fitted image."""

    def __init__(self, page, width: int, height: int):
        box = page.locator("#canvas").bounding_box()
        self.page, self.width, self.height = page, width, height
        self.left, self.top = box["x"], box["y"]
        self.scale = min(box["width"] / width, box["height"] / height)
        self.offset_x = (box["width"] - width * self.scale) / 2
        self.offset_y = (box["height"] - height * self.scale) / 2

    def display(self, x: float, y: float) -> tuple[int, int]:
        """Whole display pixels near an image point (the mouse moves on whole pixels)."""
        return round(self.left + self.offset_x + x * self.scale), round(self.top + self.offset_y + y * self.scale)

    def image(self, display: tuple[int, int]) -> tuple[int, int]:
        """The image pixel the page stores for a display pixel."""
        x = (display[0] - self.left - self.offset_x) / self.scale
        y = (display[1] - self.top - self.offset_y) / self.scale
        return min(self.width, max(0, round(x))), min(self.height, max(0, round(y)))

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> tuple[tuple[int, int], tuple[int, int]]:
        a, b = self.display(*start), self.display(*end)
        self.page.mouse.move(*a)
        self.page.mouse.down()
        self.page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        self.page.mouse.move(*b)
        self.page.mouse.up()
        return self.image(a), self.image(b)

    def click(self, x: float, y: float) -> tuple[int, int]:
        point = self.display(x, y)
        self.page.mouse.click(*point)
        return self.image(point)


def normalised_box(a, b, width, height) -> dict:
    return {
        "xmin": min(a[0], b[0]) / width,
        "ymin": min(a[1], b[1]) / height,
        "xmax": max(a[0], b[0]) / width,
        "ymax": max(a[1], b[1]) / height,
    }


def stored_label(task, image_id: str, user) -> dict | None:
    doc = LabelTaskImage(task.dataset_id).find_one({"_id": image_id})
    labels = doc.labels.get(user.pk) or []
    return labels[0].model_dump() if labels else None


def current_image(page) -> str:
    return page.evaluate("document.body.dataset.imageId")


def counter(page, name: str) -> int:
    return int(page.locator(f"[data-counter={name}] strong").inner_text())


def submit_one_box(page, stage: Stage) -> None:
    before = current_image(page)
    stage.drag((100, 100), (300, 250))
    page.keyboard.press("s")
    page.wait_for_function(
        f"document.body.dataset.imageId !== {before!r} || "
        "document.querySelector('#banner').textContent.includes('Nothing left')"
    )


@pytest.fixture
def data_root(settings, tmp_path):
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


@pytest.fixture
def staffed(db, data_root):
    return staffed_task("br", images=3, size=(1600, 1200))


def test_label_review_fix_and_accept_in_the_browser(browser, live_server, staffed, screenshot):
    task, users = staffed.task, staffed.users
    contexts = {}

    def open_as(name: str, viewport=(1366, 768)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts[name] = context
        return context.new_page()

    try:
        # The leader's task page shows the counters before any work.
        leader = open_as("leader")
        sign_in(leader, users["label_leader"], f"/label/{staffed.project.pk}/{task.pk}/overview/")
        wait_ready(leader)
        assert counter(leader, "labeling") == 3
        assert counter(leader, "accepted") == 0
        screenshot(leader, "label_task_page_start")

        # A labeler finds his task and draws two boxes and a polygon with three categories.
        labeler = open_as("labeler")
        sign_in(labeler, users["labeler0"])
        screenshot(labeler, "label_my_tasks")
        labeler.get_by_role("link", name=re.compile(r"^Label\b.*· image")).click()
        labeler.wait_for_url("**role=labeler*")
        wait_ready(labeler)
        first_image = current_image(labeler)
        stage = Stage(labeler, 1600, 1200)
        # Categories are listed by name: 1 bird, 2 cat, 3 dog.
        labeler.keyboard.press("2")
        box_a = stage.drag((200, 200), (800, 600))
        labeler.keyboard.press("3")
        box_b = stage.drag((1500, 1100), (900, 700))
        labeler.keyboard.press("1")
        labeler.keyboard.press("g")
        corners = [stage.click(100, 900), stage.click(500, 950), stage.click(300, 1150)]
        stage.click(100, 900)  # closes the polygon on its first point
        assert labeler.locator("#shape-list li").count() == 3
        screenshot(labeler, "label_drawn")
        labeler.keyboard.press("s")
        labeler.wait_for_function(f"document.body.dataset.imageId !== {first_image!r}")
        wait_ready(labeler)

        label = stored_label(task, first_image, users["labeler0"])
        assert [a["category_name"] for a in label["annotations"]] == ["cat", "dog", "bird"]
        assert label["annotations"][0]["bounding_box"] == normalised_box(*box_a, 1600, 1200)
        assert label["annotations"][1]["bounding_box"] == normalised_box(*box_b, 1600, 1200)
        assert label["annotations"][2]["segmentation"] == ",".join(f"{x},{y}" for x, y in corners)

        for _ in range(2):
            submit_one_box(labeler, stage)
        assert "Nothing left to label" in labeler.locator("#banner").inner_text()
        screenshot(labeler, "label_all_done")
        leader.reload()
        wait_ready(leader)
        assert counter(leader, "reviewing") == 3

        # The reviewer rejects the first image and accepts the others.
        reviewer = open_as("reviewer")
        sign_in(reviewer, users["reviewer0"])
        reviewer.get_by_role("link", name=re.compile(r"^Review ·")).click()
        reviewer.wait_for_url("**role=reviewer*")
        wait_ready(reviewer)
        assert current_image(reviewer) == first_image
        assert reviewer.locator("#others .shape").count() == 3
        screenshot(reviewer, "label_review")
        reviewer.keyboard.press("r")
        reviewer.wait_for_function(f"document.body.dataset.imageId !== {first_image!r}")
        for _ in range(2):
            before = current_image(reviewer)
            reviewer.keyboard.press("a")
            reviewer.wait_for_function(
                f"document.body.dataset.imageId !== {before!r} || "
                "document.querySelector('#banner').textContent.includes('Nothing waiting')"
            )
        wait_ready(reviewer)
        leader.wait_for_function("document.querySelector('[data-counter=rejected] strong').textContent === '1'")
        leader.wait_for_function("document.querySelector('[data-counter=accepted] strong').textContent === '2'")
        screenshot(leader, "label_task_page_moving")

        # The rejected image comes back first, with the verdict; the labeler removes the polygon.
        labeler.goto("/label/")
        assert "rejected first" in labeler.locator("tbody").inner_text()
        labeler.get_by_role("link", name=re.compile(r"^Label\b.*· image")).click()
        labeler.wait_for_url("**role=labeler*")
        wait_ready(labeler)
        assert current_image(labeler) == first_image
        assert "rejected" in labeler.locator("#banner").inner_text()
        assert "rejected by" in labeler.locator("#verdicts").inner_text()
        screenshot(labeler, "label_rejected_back")
        labeler.locator("#shapes g[aria-label='Polygon 3: bird']").focus()  # as Tab does
        labeler.keyboard.press("Delete")
        assert labeler.locator("#shape-list li").count() == 2
        labeler.keyboard.press("Control+z")
        assert labeler.locator("#shape-list li").count() == 3
        labeler.keyboard.press("Control+Shift+z")
        assert labeler.locator("#shape-list li").count() == 2
        labeler.keyboard.press("s")
        labeler.wait_for_selector("#banner.success")
        fixed = stored_label(task, first_image, users["labeler0"])
        assert fixed["annotations"] == label["annotations"][:2]  # unchanged shapes are stored exactly as before

        reviewer.goto(f"/label/{staffed.project.pk}/{task.pk}/?role=reviewer")
        wait_ready(reviewer)
        assert current_image(reviewer) == first_image
        reviewer.keyboard.press("a")
        reviewer.wait_for_selector("#banner.success")
        leader.wait_for_function("document.querySelector('[data-counter=accepted] strong').textContent === '3'")
        screenshot(leader, "label_task_page_done")
        task.refresh_from_db()
        assert task.status == "reviewing"
    finally:
        for context in contexts.values():
            context.close()


def test_two_labelers_submit_the_same_image_at_once(browser, live_server, db, data_root, screenshot):
    staffed = staffed_task("duo", images=2, labelers=2, reviewers=0)
    pages = []
    contexts = []
    try:
        for n in range(2):
            context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
            context.set_default_timeout(15_000)
            contexts.append(context)
            page = context.new_page()
            sign_in(page, staffed.users[f"labeler{n}"], f"/label/{staffed.project.pk}/{staffed.task.pk}/")
            wait_ready(page)
            pages.append(page)
        image_id = current_image(pages[0])
        assert current_image(pages[1]) == image_id
        drawn = [Stage(page, 640, 480).drag((50 + 100 * n, 60), (200 + 100 * n, 300)) for n, page in enumerate(pages)]
        for page in pages:
            page.keyboard.press("s")  # both submits are in flight together
        for page in pages:
            page.wait_for_function(f"document.body.dataset.imageId !== {image_id!r}")
        for n in range(2):
            label = stored_label(staffed.task, image_id, staffed.users[f"labeler{n}"])
            assert label["annotations"][0]["bounding_box"] == normalised_box(*drawn[n], 640, 480)
        screenshot(pages[1], "label_two_labelers")
    finally:
        for context in contexts:
            context.close()


def test_a_label_changed_in_another_tab_is_not_overwritten(browser_context, staffed, screenshot):
    first, second = browser_context.new_page(), browser_context.new_page()
    url = f"/label/{staffed.project.pk}/{staffed.task.pk}/"
    sign_in(first, staffed.users["labeler0"], url)
    wait_ready(first)
    second.goto(url)
    wait_ready(second)
    image_id = current_image(first)
    Stage(first, 1600, 1200).drag((100, 100), (400, 400))
    first.keyboard.press("s")
    first.wait_for_function(f"document.body.dataset.imageId !== {image_id!r}")
    stage = Stage(second, 1600, 1200)
    second.keyboard.press("3")
    stage.drag((600, 600), (900, 900))
    second.keyboard.press("s")
    second.wait_for_selector("#banner.conflict")
    assert "changed elsewhere" in second.locator("#banner").inner_text()
    assert second.locator("#shape-list li").count() == 1  # the drawing is kept
    screenshot(second, "label_conflict")
    stored = stored_label(staffed.task, image_id, staffed.users["labeler0"])
    assert stored["annotations"][0]["category_name"] == "bird"  # the first category
    second.get_by_role("button", name="Keep my drawing and submit it").click()
    second.wait_for_function(f"document.body.dataset.imageId !== {image_id!r}")
    stored = stored_label(staffed.task, image_id, staffed.users["labeler0"])
    assert [a["category_name"] for a in stored["annotations"]] == ["dog"]


def test_an_8000px_image_on_a_4k_screen_stores_exact_pixels(browser, live_server, db, data_root, screenshot):
    staffed = staffed_task("uhd", images=1, size=(8000, 8000), reviewers=0)
    context = browser.new_context(viewport={"width": 3840, "height": 2160}, base_url=live_server.url)
    context.set_default_timeout(30_000)
    try:
        page = context.new_page()
        sign_in(page, staffed.users["labeler0"], f"/label/{staffed.project.pk}/{staffed.task.pk}/")
        wait_ready(page)
        image_id = current_image(page)
        stage = Stage(page, 8000, 8000)
        assert stage.scale < 0.3  # scaled down to fit
        box = stage.drag((1000, 1000), (5000, 3000))
        page.keyboard.press("g")
        corners = [stage.click(7000, 7000), stage.click(7900, 7100), stage.click(7500, 7900)]
        page.keyboard.press("Enter")  # closes the polygon
        screenshot(page, "label_8000px_at_4k")
        page.keyboard.press("s")
        page.wait_for_selector("#banner.success")
        label = stored_label(staffed.task, image_id, staffed.users["labeler0"])
        assert label["annotations"][0]["bounding_box"] == normalised_box(*box, 8000, 8000)
        assert label["annotations"][1]["segmentation"] == ",".join(f"{x},{y}" for x, y in corners)
    finally:
        context.close()


def test_keyboard_only_labeling(page, staffed):
    sign_in(page, staffed.users["labeler0"], f"/label/{staffed.project.pk}/{staffed.task.pk}/")
    wait_ready(page)
    image_id = current_image(page)
    page.locator("#stage").focus()
    page.keyboard.press("2")  # cat
    page.keyboard.press("Enter")  # shows the crosshair at the centre (800, 600)
    page.keyboard.press("Enter")  # first corner
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Enter")  # second corner
    assert page.locator("#shape-list li").count() == 1
    page.keyboard.press("Tab")  # the new shape
    page.keyboard.press("ArrowLeft")  # moves it one image pixel
    page.keyboard.press("s")
    page.wait_for_function(f"document.body.dataset.imageId !== {image_id!r}")
    label = stored_label(staffed.task, image_id, staffed.users["labeler0"])
    (annotation,) = label["annotations"]
    assert annotation["category_name"] == "cat"
    box = annotation["bounding_box"]
    assert box["xmin"] == 799 / 1600
    assert box["ymin"] == 600 / 1200
    assert box["xmax"] > box["xmin"]
    assert box["ymax"] > box["ymin"]


def test_pre_labels_are_the_starting_shapes_and_go_back_unchanged(page, db, data_root):
    staffed = staffed_task("pre", images=2, reviewers=0, pre_labels=True)
    sign_in(page, staffed.users["labeler0"], f"/label/{staffed.project.pk}/{staffed.task.pk}/")
    wait_ready(page)
    image_id = current_image(page)
    assert page.locator("#shape-list li button.link").all_inner_texts() == ["Box 1: cat"]
    page.keyboard.press("s")
    page.wait_for_function(f"document.body.dataset.imageId !== {image_id!r}")
    (annotation,) = stored_label(staffed.task, image_id, staffed.users["labeler0"])["annotations"]
    doc = LabelTaskImage(staffed.task.dataset_id).find_one({"_id": image_id})
    (pre,) = doc.default_labels.annotations
    assert annotation["category_name"] == pre["category_name"] == "cat"
    expected = {"xmin": 0.125, "ymin": 0.125, "xmax": 0.625, "ymax": 0.625}
    assert annotation["bounding_box"] == pre["bounding_box"] == expected


def test_a_refused_review_is_explained_in_the_api_s_words(page, db, data_root):
    staffed = staffed_task("why", images=1, labelers=2)
    (image,) = LabelTaskImage(staffed.task.dataset_id).find_many({"task_id": staffed.task.pk})
    image.set_label(staffed.task, staffed.users["labeler0"], [{"category_name": "cat"}])  # labeler1 has not labeled
    url = f"/label/{staffed.project.pk}/{staffed.task.pk}/?role=reviewer&image={image.id}"
    sign_in(page, staffed.users["reviewer0"], "/label/")
    page.goto(url)
    wait_ready(page)
    page.keyboard.press("a")
    page.wait_for_selector("#banner.error")
    assert "review image require finished labeling" in page.locator("#banner").inner_text()


def test_the_task_page_links_the_admin_steps_of_those_allowed(browser, live_server, staffed):
    url = f"/label/{staffed.project.pk}/{staffed.task.pk}/overview/"
    seen = {}
    for name in ("manager", "label_leader"):
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
        try:
            page = context.new_page()
            sign_in(page, staffed.users[name], url)
            wait_ready(page)
            seen[name] = {link.inner_text(): link.get_attribute("href") for link in page.locator("#qa-links a").all()}
        finally:
            context.close()
    assert seen["manager"] == {"Accept or reject this task": f"/admin/labeling/labeltask/{staffed.task.pk}/qa/"}
    assert seen["label_leader"] == {}  # not staff: the admin is closed to him
