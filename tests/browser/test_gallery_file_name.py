"""The gallery's file-name box in chromium: typing a prefix and pressing Enter shows only those images."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

GALLERY = "/admin/datasets/dataset/gallery/gallery/"


def test_gallery_file_name_box_filters_the_page(page, gallery_dataset, screenshot):
    log_in(page, "curator", "curator-pw-123", next_url=GALLERY)
    assert page.locator(".gal-tile").count() == 3
    box = page.locator('input[name="file_name"]')
    box.fill("IMG3")
    box.press("Enter")
    page.wait_for_url("**file_name=IMG3**")
    assert page.locator(".gal-tile").count() == 1
    assert page.locator('.gal-tile[data-image="3"]').count() == 1
    assert box.input_value() == "IMG3"
    assert "category_id" not in page.url  # the empty selects do not travel
    screenshot(page, "gallery_file_name")
    page.get_by_text("Clear filters").click()
    page.wait_for_url(f"**{GALLERY}")
    assert page.locator(".gal-tile").count() == 3
