"""Record the MongoDB commands a block of code sends, through a PyMongo command listener.

A listener can only be given to a client when it is created, so ``recording_connection`` swaps Django's
default connection for one to the same database with the listener, and restores the test run's
connection afterwards (as ``tests/test_database_outage.py`` swaps in its outage server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django_mongodb_backend.base import DatabaseWrapper
from pymongo import monitoring

WRITE_COMMANDS = {"insert", "update", "delete", "findAndModify"}


@dataclass(frozen=True)
class Command:
    name: str
    collection: str
    body: dict[str, Any]

    @property
    def first_filter(self) -> dict[str, Any] | None:
        """The filter a ``find`` starts from, or the first stage's ``$match`` of an ``aggregate`` (else None)."""
        if self.name == "find":
            return self.body.get("filter", {})
        pipeline = self.body.get("pipeline") or [{}]
        return pipeline[0].get("$match") if self.name == "aggregate" else None


@dataclass
class CommandRecorder(monitoring.CommandListener):
    commands: list[Command] = field(default_factory=list)
    active: bool = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active and event.command_name not in {"endSessions", "ping", "hello", "isMaster"}:
            body = dict(event.command)
            self.commands.append(Command(event.command_name, str(body.get(event.command_name, "")), body))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Command]]:
        """The commands sent inside the block (a fresh list)."""
        self.commands = []
        self.active = True
        try:
            yield self.commands
        finally:
            self.active = False


@contextlib.contextmanager
def recording_connection() -> Iterator[CommandRecorder]:
    recorder = CommandRecorder()
    original = connections["default"]
    pools = DatabaseWrapper._connection_pools
    kept_pool = pools.pop("default", None)
    options = {**original.settings_dict["OPTIONS"], "event_listeners": [recorder]}
    wrapper = DatabaseWrapper({**original.settings_dict, "OPTIONS": options}, alias="default")
    connections["default"] = wrapper
    try:
        yield recorder
    finally:
        wrapper.close_pool()
        if kept_pool is not None:
            pools["default"] = kept_pool
        connections["default"] = original
