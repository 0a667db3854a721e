"""Twenty images of a 100-image task labeled in the browser, timed (the issue's bar is ten minutes for a person).

The run has no thinking time: what it measures is what the page and the API add to a labeler's own time.
"""

from __future__ import annotations

import time

import pytest

from labeling.task_images import LabelTaskImage
from tests.browser.test_label_page import Stage, current_image, data_root, sign_in, wait_ready  # noqa: F401
from tests.label_ui.staging import staffed_task

pytestmark = [pytest.mark.slow, pytest.mark.browser]

IMAGES_TO_LABEL = 20


def test_twenty_images_of_a_hundred_image_task(page, staffed_hundred, screenshot, capsys):
    staffed = staffed_hundred
    sign_in(page, staffed.users["labeler0"], f"/label/{staffed.project.pk}/{staffed.task.pk}/")
    wait_ready(page)
    started = time.monotonic()
    per_image = []
    for n in range(IMAGES_TO_LABEL):
        begin = time.monotonic()
        image_id = current_image(page)
        stage = Stage(page, 1280, 960)
        page.keyboard.press("2")
        stage.drag((160, 160), (640, 480))
        page.keyboard.press("3")
        stage.drag((640, 480), (1120, 800))
        page.keyboard.press("s")
        page.wait_for_function(f"document.body.dataset.imageId !== {image_id!r}")
        per_image.append(time.monotonic() - begin)
        if n == 0:
            screenshot(page, "label_speed_run")
    elapsed = time.monotonic() - started
    docs = LabelTaskImage(staffed.task.dataset_id).find_many({"task_id": staffed.task.pk})
    labeled = [doc for doc in docs if doc.labels.get(staffed.users["labeler0"].pk)]
    assert len(labeled) == IMAGES_TO_LABEL
    assert all(len(doc.labels[staffed.users["labeler0"].pk][0].annotations) == 2 for doc in labeled)
    with capsys.disabled():
        print(
            f"\n{IMAGES_TO_LABEL} images labeled in {elapsed:.1f} s "
            f"(page + API per image: median {sorted(per_image)[len(per_image) // 2]:.2f} s, max {max(per_image):.2f} s)"
        )
    assert elapsed < 600


@pytest.fixture
def staffed_hundred(db, data_root):  # noqa: F811
    return staffed_task("speed", images=100, size=(1280, 960), reviewers=0)
