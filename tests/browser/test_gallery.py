"""The dataset gallery in chromium: overlays drawn where the stored annotations are, label sets toggled,
a confidence slider, flags set on a selection, the page of one image. Screenshots go to var/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets.images import Image
from datasets.models import Label
from dds_site.files import resolve_data_path
from tests.browser.conftest import log_in
from tests.datasets.gallery_helpers import HEIGHT, WIDTH, import_scene_dataset

pytestmark = [pytest.mark.slow, pytest.mark.browser]

GALLERY = "/admin/datasets/dataset/gallery/gallery/"
TOLERANCE_PX = 1.5


def _wait_for_images(page) -> None:
    page.wait_for_function("[...document.images].every((img) => img.complete && img.naturalWidth > 0)")


def _box(locator) -> dict:
    return locator.evaluate(
        "(el) => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }"
    )


def _close(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= TOLERANCE_PX


def _assert_at(element: dict, image: dict, x: float, y: float, w: float = 0, h: float = 0) -> None:
    """``element`` (a client rect) covers stored pixels ``x, y, w, h`` of an image shown in ``image``."""
    scale_x, scale_y = image["w"] / WIDTH, image["h"] / HEIGHT
    expected = (image["x"] + x * scale_x, image["y"] + y * scale_y, w * scale_x, h * scale_y)
    actual = (element["x"], element["y"], element["w"], element["h"])
    assert all(map(_close, actual, expected)), f"drawn at {actual}, expected {expected}"


def test_gallery_overlays_toggles_and_flags(page, gallery_dataset, screenshot):
    gt = Label.objects.get(dataset_id="gallery", name="GroundTruth").pk
    det = Label.objects.get(dataset_id="gallery", name="det").pk
    log_in(page, "curator", "curator-pw-123", next_url=GALLERY)
    _wait_for_images(page)
    assert page.locator(".gal-tile").count() == 3

    tile = page.locator('.gal-tile[data-image="1"]')
    image = _box(tile.locator("img"))
    assert image["w"] > 150  # the thumbnail (200 px wide at most) is shown at about its size
    # the GT cat's box (20, 10, 80, 40) and polygon, the person's keypoints, in thumbnail pixels
    cat = tile.locator(f'g.ov[data-label="{gt}"]').first
    _assert_at(_box(cat.locator("rect.ov-box")), image, 20, 10, 80, 40)
    _assert_at(_box(cat.locator("polygon")), image, 20, 10, 80, 40)
    nose = tile.locator("circle.kp-vis").first
    centre = _box(nose)
    centre = {"x": centre["x"] + centre["w"] / 2, "y": centre["y"] + centre["h"] / 2, "w": 0, "h": 0}
    _assert_at(centre, image, 130, 30)
    assert tile.locator(".ov-kp line").count() == 2
    mask = _box(page.locator('.gal-tile[data-image="2"] image.ov-mask'))
    _assert_at(mask, _box(page.locator('.gal-tile[data-image="2"] img')), 10, 10, 2, 10)
    screenshot(page, "gallery")

    # hide the ground truth: its shapes disappear at once and the choice is kept in the links
    page.locator(f'[data-toggle-label="{gt}"]').uncheck()
    assert not cat.is_visible()
    assert page.locator(f'g.ov[data-label="{det}"]').first.is_visible()
    assert f"hide={gt}" in page.url
    assert f"hide={gt}" in page.locator('.gal-tile[data-image="1"] a.gal-thumb').get_attribute("href")
    # predictions below the slider's confidence are hidden
    page.locator(f'[data-conf-label="{det}"]').fill("0.85")
    assert page.locator(f'g.ov[data-label="{det}"][data-conf="0.8"]').evaluate("(el) => el.classList.contains('off')")
    assert page.locator(f'g.ov[data-label="{det}"][data-conf="0.9"]').is_visible()
    screenshot(page, "gallery_ground_truth_hidden")
    page.locator(f'[data-toggle-label="{gt}"]').check()
    page.locator(f'[data-conf-label="{det}"]').fill("0")

    # flag images 1 and 3 as positive in one go
    assert page.locator("button[data-needs-selection]").first.is_disabled()
    page.locator('input[name=ids][value="1"]').check()
    page.locator('input[name=ids][value="3"]').check()
    assert page.locator("[data-selected-count]").inner_text() == "2 selected"
    with page.expect_navigation():
        page.locator("button.flag-positive").click()
    assert "Set the flag of 2 image(s) to positive." in page.locator(".messagelist").inner_text()
    flags = {image["id"]: image["flag"] for image in Image("gallery").find_many({}, to_dict=True)}
    assert flags == {1: 1, 2: 0, 3: 1}
    assert page.locator(".gal-tile.flag-positive").count() == 2
    _wait_for_images(page)
    screenshot(page, "gallery_flagged")


def test_gallery_fnfp_view_and_image_page(page, gallery_dataset, screenshot):
    det = Label.objects.get(dataset_id="gallery", name="det")
    level = min((e for e in det.compare_precisions if e["threshold"] >= 0), key=lambda e: e["threshold"])
    log_in(page, "curator", "curator-pw-123", next_url=GALLERY)
    with page.expect_navigation():
        page.locator("select[name=fnfp]").select_option(f"{det.pk}:{round(level['precision'] * 100)}")
    _wait_for_images(page)
    false_positive = page.locator('g.ov[data-state="FP"] rect.ov-box')
    assert false_positive.count() == 1
    assert false_positive.evaluate("(el) => getComputedStyle(el).strokeDasharray") != "none"
    assert page.locator('g.ov[data-state="FN"]').count() == 2
    screenshot(page, "gallery_fnfp")

    with page.expect_navigation():
        page.locator('.gal-tile[data-image="1"] a.gal-thumb').click()
    _wait_for_images(page)
    assert page.locator("tr.ov-row").count() == 4
    image = _box(page.locator(".gal-full-stage img"))
    assert image["w"] >= WIDTH - 1  # full size
    _assert_at(_box(page.locator("g.ov[data-state=FP] rect.ov-box")), image, 150, 60, 20, 20)
    screenshot(page, "gallery_image")


def test_gallery_of_a_fuller_dataset_is_a_clean_grid(page, gallery_dataset, screenshot):
    import_scene_dataset(Path(resolve_data_path(".")) / "scenes", 24)
    # a lost file: its thumbnail is a square placeholder, still shown in the image's proportions
    lost = Image("scenes").find_one({"_id": 2}).to_dict()
    (Path(resolve_data_path(".")) / "scenes" / "images" / "scene2.jpg").unlink()
    log_in(page, "curator", "curator-pw-123", next_url="/admin/datasets/dataset/scenes/gallery/")
    _wait_for_images(page)
    tiles = page.locator(".gal-tile")
    assert tiles.count() == 24
    boxes = [_box(tiles.nth(number)) for number in range(tiles.count())]
    first_row = [box for box in boxes if _close(box["y"], boxes[0]["y"])]
    assert len(first_row) >= 4  # several columns at 1366 px
    assert all(_close(box["w"], boxes[0]["w"]) for box in boxes)  # tiles of one width
    # every thumbnail is shown whole inside its tile, and its overlay covers it exactly
    for number in range(tiles.count()):
        image = _box(tiles.nth(number).locator("img"))
        overlay = _box(tiles.nth(number).locator("svg.ov-svg"))
        assert all(map(_close, overlay.values(), image.values()))
        assert image["w"] <= boxes[number]["w"]
    lost_image = _box(page.locator('.gal-tile[data-image="2"] img'))
    assert abs(lost_image["w"] / lost_image["h"] - lost["width"] / lost["height"]) < 0.02
    screenshot(page, "gallery_scenes")
    page.emulate_media(color_scheme="dark")  # the admin's dark theme: the page uses its colour variables
    assert (
        page.locator(".gal-tile").first.evaluate("(el) => getComputedStyle(el).backgroundColor") != "rgb(255, 255, 255)"
    )
    screenshot(page, "gallery_scenes_dark")
    page.emulate_media(color_scheme="light")
    with page.expect_navigation():
        page.locator(".gal-tile a.gal-thumb").first.click()
    _wait_for_images(page)
    screenshot(page, "gallery_scenes_image")


def test_dataset_pages_read_like_a_product(page, gallery_dataset, screenshot):
    log_in(page, "curator", "curator-pw-123", next_url="/admin/datasets/dataset/")
    row = page.locator("#result_list tbody tr").first
    assert "Street scenes" in row.inner_text()
    assert str(gallery_dataset.created_ts) not in row.inner_text()
    screenshot(page, "datasets_list")
    with page.expect_navigation():
        page.locator("#result_list a", has_text="Street scenes").click()
    assert page.locator("table.dds-jobs").is_visible()
    assert page.locator("a.dds-gallery-link").is_visible()
    screenshot(page, "dataset_change")
    with page.expect_navigation():
        page.locator("a.dds-gallery-link").click()
    assert page.url.endswith(GALLERY)
