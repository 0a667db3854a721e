"""The browser fixtures themselves: a staff user logs into the admin in chromium."""

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_staff_user_logs_into_admin(page, make_user, screenshot):
    make_user("curator", is_superuser=True, is_staff=True)

    log_in(page, "curator", "curator-pw-123")

    assert page.url.endswith("/admin/")
    assert page.locator("#site-name").is_visible()
    assert screenshot(page, "admin_index").stat().st_size > 0
