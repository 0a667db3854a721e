"""A curator imports a COCO dataset from the admin's form and watches its progress bar fill in chromium."""

from __future__ import annotations

import json
import threading
import zipfile

import pytest

from datasets import job_worker
from datasets.importers import runner
from tests.browser.conftest import log_in
from tests.datasets.importing_helpers import coco_gt

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def coco_files(tmp_path):
    images = tmp_path / "images"
    gt = tmp_path / "street.json"
    gt.write_text(json.dumps(coco_gt(6, with_files=images)))
    archive = tmp_path / "street-images.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(images.iterdir()):
            out.write(path, path.name)
    return gt, archive


def test_import_form_uploads_and_shows_the_jobs_progress(
    page, make_user, screenshot, settings, tmp_path, monkeypatch, coco_files
):
    root = tmp_path / "roots"
    root.mkdir()
    settings.DDS_DATA_ROOTS = [root]
    settings.DDS_JOBS_INLINE = False
    release = threading.Event()
    monkeypatch.setattr(runner, "before_batch_write", [lambda batch: release.wait(120)])
    make_user("curator", is_staff=True, is_superuser=True)
    gt, archive = coco_files
    try:
        log_in(page, "curator", "curator-pw-123", next_url="/admin/datasets/dataset/")
        page.click("text=Import a dataset")
        page.select_option("#id_format", "coco")
        page.set_input_files("#id_file", str(gt))
        page.set_input_files("#id_images", str(archive))
        page.fill("#id_name", "Street scenes")
        screenshot(page, "admin_import_form")
        page.click("input[type=submit]")

        # "starting" until the job's thread claims it, then "running" (held at its first batch).
        live = page.wait_for_selector(".dds-import-live:has-text('running')", timeout=90_000)
        assert "running" in live.inner_text()
        assert "Import started" in page.locator(".messagelist").inner_text()
        screenshot(page, "admin_import_running")

        release.set()
        done = page.wait_for_selector(".dds-import:not(.dds-import-live)", timeout=90_000)
        assert "ready · done · 6 / 6 images" in done.inner_text()
        assert page.locator(".dds-import-track").get_attribute("aria-valuenow") == "100"
        assert page.locator(".field-num_images .readonly").inner_text().strip() == "6"
        screenshot(page, "admin_import_done")
    finally:
        release.set()
        assert job_worker.wait_all(120)
