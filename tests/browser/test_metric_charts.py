"""The dataset admin page's per-category charts in chromium: drawn, sized, and a category named
like a script tag shown as text."""

from __future__ import annotations

import pytest

from datasets.fnfp import calculate_fnfp
from datasets.models import Category
from datasets.services import category_id_for
from tests.browser.conftest import SCREENSHOTS, log_in
from tests.datasets.test_fnfp_category_metrics import _import_generated

pytestmark = [pytest.mark.slow, pytest.mark.browser]

EVIL = "<script>alert(1)</script>"


def test_dataset_admin_page_draws_the_prediction_charts(page, make_user, screenshot, tmp_path):
    dataset, _gt, _det = _import_generated(tmp_path, 5)
    calculate_fnfp(dataset.id)
    Category.objects.filter(pk=category_id_for(dataset.id, "c2")).update(name=EVIL)
    make_user("curator", is_superuser=True, is_staff=True)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    log_in(page, "curator", "curator-pw-123", next_url=f"/admin/datasets/dataset/{dataset.pk}/change/")

    analysis = page.locator(".dds-analysis")
    analysis.scroll_into_view_if_needed()
    assert page.locator(".dds-analysis svg.dds-pr").count() == 3  # c1, c2, c3 have ground truth
    bars = page.locator("svg.dds-ap-bars .ap-bar")
    assert bars.count() == 3
    assert all(bars.nth(i).bounding_box()["width"] > 0 for i in range(3))
    matrix = page.locator("svg.dds-confusion")
    box = matrix.bounding_box()
    assert box["width"] > 100
    assert box["height"] > 100
    assert page.locator("svg.dds-confusion text.cm-row", has_text="<script>alert(1)").count() == 1  # shortened
    assert dialogs == []  # the name did not run as a script
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    analysis.screenshot(path=str(SCREENSHOTS / "metric_charts.png"))
    assert screenshot(page, "metric_charts_page").stat().st_size > 0
