"""Shared fixtures: a database wiped after each test, API clients, users (made by ``tests.factories``)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connections

# Django's own collections are created by migrations once per run and kept between tests.
KEPT_COLLECTIONS = {"django_migrations", "django_content_type", "auth_permission"}


def _wipe_database() -> None:
    database = connections["default"].database
    for name in database.list_collection_names():
        if name.startswith("system.") or name in KEPT_COLLECTIONS:
            continue
        if "@" in name:
            database.drop_collection(name)  # per-dataset collections, created on demand
        else:
            database[name].delete_many({})


def _join_job_threads() -> None:
    """No job thread a test started may outlive it and write into the next test's data."""
    from datasets import job_worker

    assert job_worker.wait_all(timeout_s=60), "a background job thread outlived its test"


@pytest.fixture(autouse=True)
def _jobs_inline(settings):
    """Jobs started by requests run inside them, except in tests of the background path (which set False),
    and never on Celery, even when CI provides a broker (only the Celery test uses it, with its own worker)."""
    settings.DDS_JOBS_INLINE = True
    settings.CELERY_BROKER_URL = ""


@pytest.fixture
def db(django_db_setup, django_db_blocker):
    """Database access for a test; every document the test wrote is removed afterwards.

    Replaces pytest-django's ``db``: Django's transactional test isolation is a no-op on
    MongoDB, and its flush would also drop the permission rows migrations created.
    """
    with django_db_blocker.unblock():
        yield
        _join_job_threads()
        _wipe_database()
    cache.clear()  # with DDS_CACHE_URL set, the login counters live in the cache


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def make_user(db):
    """``make_user("alice", is_staff=True)`` -> a saved, active user with password ``"<name>-pw-123"``
    (``tests.factories.UserFactory``)."""
    from tests.factories import UserFactory

    def make(name: str, *, is_staff: bool = False, is_superuser: bool = False):
        return UserFactory(name=name, is_staff=is_staff, is_superuser=is_superuser)

    return make


@pytest.fixture
def staff_client(db, api_client):
    from tests.factories import StaffFactory

    api_client.force_authenticate(StaffFactory(name="staffer"))
    return api_client
