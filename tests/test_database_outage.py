"""A database outage: fast 503s with the DDS envelope instead of 30 s hangs ending in 500s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import DatabaseError, connections
from django.test import Client
from django_mongodb_backend.base import DatabaseWrapper
from pymongo.errors import PyMongoError

from accounts import services
from dds_site import mongo
from labeling.transactions import run_atomic

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 1000  # the outage connection's server-selection timeout; the site default is 5000
SLACK_S = 1.5  # scheduling and the driver's first failed attempt, on a loaded machine


@pytest.fixture
def outage(make_user):
    """Django's default connection on a server of its own, used once, then that server stopped.

    Yields ``(token, session_cookie)`` made before the outage, for a staff user. Restores the
    test run's connection afterwards, so the rest of the suite is unaffected.
    """
    staff = make_user("operator", is_staff=True, is_superuser=True)
    token = services.token_issue(staff).value
    server = mongo.start_server(":memory:")
    original = connections["default"]
    pools = DatabaseWrapper._connection_pools
    kept_pool = pools.pop("default", None)
    options = {**original.settings_dict["OPTIONS"], "serverSelectionTimeoutMS": TIMEOUT_MS}
    wrapper = DatabaseWrapper({**original.settings_dict, "HOST": server.uri, "OPTIONS": options}, alias="default")
    connections["default"] = wrapper
    try:
        # The copy of the user and token on the outage server, and a live pooled connection to it.
        wrapper.database["users"].insert_one(original.database["users"].find_one({"_id": staff.pk}))
        wrapper.database["user_tokens"].insert_many(list(original.database["user_tokens"].find()))
        client = Client(raise_request_exception=False)
        client.force_login(staff)
        assert client.get("/api/v1/ping").status_code == 200
        assert client.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
        server.stop()
        yield token, client
    finally:
        server.stop()
        wrapper.close_pool()
        if kept_pool is not None:
            pools["default"] = kept_pool
        connections["default"] = original


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.slow
def test_outage_gives_fast_503s_with_the_envelope(outage, rf):
    from django.conf import settings

    from dds_site.views import server_error

    token, session_client = outage
    # The health check answers within a second, with mongodb false.
    response, elapsed = _timed(lambda: Client().get("/api/v1/ping"))
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == 503000
    assert body["message"] == "mongodb is not available"
    assert body["detail"]["mongodb"] is False
    assert body["detail"]["ts"] > 0
    assert elapsed < settings.MONGODB_PING_TIMEOUT_MS / 1000 + SLACK_S
    # API requests fail within the server-selection timeout, whichever query fails first.
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=False)
    for path in ("/api/v1/users/me", "/api/v1/datasets", "/api/v1/label-projects"):
        response, elapsed = _timed(lambda path=path: client.get(path))
        assert response.status_code == 503, (path, response.content)
        assert response.json() == {
            "code": 503000,
            "message": "Database unavailable; try again later.",
            "detail": None,
        }
        assert elapsed < TIMEOUT_MS / 1000 + SLACK_S, (path, elapsed)
    # The admin (not a DRF view) gets a 503 page.
    response, elapsed = _timed(lambda: session_client.get("/admin/datasets/dataset/"))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Database unavailable" in response.content
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S
    # A failure outside any view (e.g. in the session middleware) reaches the 500 handler while it
    # is the exception being handled.
    try:
        connections["default"].database.command("ping")
    except Exception:  # noqa: BLE001 - the handler reads the exception being handled
        api, page = server_error(rf.get("/api/v1/datasets")), server_error(rf.get("/admin/"))
    assert (api.status_code, json.loads(api.content)["code"]) == (503, 503000)
    assert page.status_code == 503
    assert b"Database unavailable" in page.content


@pytest.mark.slow
def test_transaction_is_not_retried_while_the_database_is_down(outage):
    # Network errors inside a transaction carry TransientTransactionError; retrying them eight times
    # kept a request for eight server-selection timeouts and then answered 409.
    from dds_site.errors import DatabaseUnavailable, DDSError, database_error

    def step():
        connections["default"].get_collection("anything").insert_one({"a": 1}, session=mongo.current_session())

    started = time.monotonic()
    with pytest.raises((DatabaseError, PyMongoError)) as caught:
        run_atomic(step)
    assert not isinstance(caught.value, DDSError)  # not turned into a 409 WorkflowConflict
    assert isinstance(database_error(caught.value), DatabaseUnavailable)
    assert time.monotonic() - started < 2 * TIMEOUT_MS / 1000 + SLACK_S


def test_database_timeout_is_read_from_the_environment():
    code = (
        "import json; from dds_site import settings as s; "
        "print(json.dumps([s.DATABASES['default']['OPTIONS'], s.MONGODB_PING_TIMEOUT_MS]))"
    )
    env = {**os.environ, "MONGODB_TIMEOUT_MS": "2500"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    options, ping_ms = json.loads(result.stdout)
    assert options["serverSelectionTimeoutMS"] == 2500
    assert ping_ms == 500
