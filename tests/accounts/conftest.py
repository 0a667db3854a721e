"""Fixtures of the accounts tests."""

from __future__ import annotations

import time

import pytest

from accounts import throttle


@pytest.fixture
def frozen_time(monkeypatch):
    """Pin the login throttle's clock to the start of the next hour; ``frozen_time.now`` can be moved.

    Throttle windows are fixed (per minute, per hour): on a real clock a slow run may cross a window's end between
    two attempts and start counting again."""

    class Clock:
        now = (int(time.time()) // 3600 + 1) * 3600

    monkeypatch.setattr(throttle, "now_s", lambda: Clock.now)
    return Clock
