"""Test-run set-up: one in-memory embedded MongoDB per test process, unless MONGODB_URI is set."""

from __future__ import annotations

import os

from dds_site import mongo

_server: mongo.EmbeddedServer | None = None


def pytest_configure(config) -> None:
    global _server
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        "tests.fast_hashers.FastPBKDF2PasswordHasher",
        *settings.PASSWORD_HASHERS[1:],
    ]
    if not os.environ.get("MONGODB_URI"):
        _server = mongo.start_server(":memory:")
        settings.DATABASES["default"]["HOST"] = _server.uri


def pytest_unconfigure(config) -> None:
    if _server is not None:
        _server.stop()
