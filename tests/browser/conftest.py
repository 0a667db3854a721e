"""Real-browser fixtures: Debian's chromium driven by Playwright against pytest-django's live server.

Screenshots go to ``var/screenshots/`` (CI keeps them as artifacts). Browser tests are marked ``slow`` and
``browser``; they are skipped when no chromium binary is installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("DDS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the tests make
    # around it are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def browser_context(browser, live_server, db):
    """A fresh browser profile (no cookies) per test, at a 1366x768 viewport."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def screenshot():
    """``screenshot(page, "gallery")`` saves ``var/screenshots/gallery.png`` and returns its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(target_page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        target_page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, username: str, password: str, *, next_url: str = "/admin/") -> None:
    """Log in through the admin's login form (the session then serves the admin, the API and the labeling pages)."""
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.fixture
def gallery_dataset(settings, tmp_path, make_user):
    """The gallery's dataset (img1.jpg, img2.jpg, img3.jpg with GT and a prediction set) under a fresh data
    root, and a superuser "curator" to look at it."""
    from dds_site.files import resolve_data_path
    from tests.datasets.gallery_helpers import import_gallery_dataset

    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "data").mkdir()
    make_user("curator", is_staff=True, is_superuser=True)
    return import_gallery_dataset(Path(resolve_data_path(".")) / "coco")
