"""Progress and outcome of long dataset jobs (import, export, FN/FP) on ``DataSet.detail_status``.

Each job kind has one entry ``detail_status[<kind>]`` = ``{state, attempt, owner, pid, host,
started_ts, heartbeat_ts, progress, total, ...}``. Every write is a conditional update on the
attempt id, its owner and the entry still running, so a stale worker can never overwrite a newer
attempt nor revive one that was closed or adopted, and two attempts of the same kind cannot run
at once.

An attempt proves it is alive with its heartbeat: ``JobRecord.heartbeat()`` refreshes
``heartbeat_ts`` from its own thread while the job runs, in every phase. A running entry counts as
dead once its heartbeat is older than ``settings.DDS_JOB_STALE_AFTER_S``, even if its process
lives on (a web worker whose job failed while the database was unreachable), and at once if its
process is gone (same host). A dead entry is taken over by the next attempt.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from datasets import store
from dds_site import mongo
from dds_site.documents import current_ts

logger = logging.getLogger(__name__)

RUNNING = "running"
SWAPPING = "swapping"
READY = "ready"
FAILED = "failed"
LIVE_STATES = (RUNNING, SWAPPING)
DIED = "the process running this job died"

_PROGRESS_INTERVAL_S = 1.0
# Heartbeats per staleness window: a few lost beats (a slow database) do not make a job look dead.
_BEATS_PER_WINDOW = 6


def stale_after_s() -> float:
    """Seconds without a heartbeat after which a running job counts as dead."""
    seconds = float(settings.DDS_JOB_STALE_AFTER_S)
    if not seconds > 0:
        raise ImproperlyConfigured(f"DDS_JOB_STALE_AFTER_S must be a positive number of seconds, not {seconds}")
    return seconds


def entry_is_stale(entry: dict | None) -> bool:
    """True if ``entry`` claims to be running but its attempt is dead.

    Dead means: no heartbeat for ``stale_after_s()`` (on any host), or, on this host, its process
    is gone. Entries written before heartbeats existed count from ``started_ts``.
    """
    if not entry or entry.get("state") not in LIVE_STATES:
        return False
    heartbeat = entry.get("heartbeat_ts") or entry.get("started_ts") or 0
    if current_ts() - heartbeat > stale_after_s() * 1000:
        return True
    return entry.get("host") == socket.gethostname() and not mongo.pid_alive(int(entry.get("pid") or 0))


def job_entry(dataset_id: str, kind: str) -> dict | None:
    return store.JobEntries().get(dataset_id, kind)


def _as_observed(entry: dict) -> dict:
    """A condition matching the entry only as it was read: same attempt, state and heartbeat.

    An attempt that beat (or moved on) since it was judged dead is not touched.
    """
    return {name: entry.get(name) for name in ("attempt", "state", "heartbeat_ts")}


class JobRecord:
    """One attempt of a job on a dataset, as run by one owner; ``job_start`` creates it.

    Its writes are conditional on the entry being this attempt's, still running, and still held by
    ``owner`` (a token of this record, changed when another process adopts a dead attempt). ``lost``
    turns True once a write finds that no longer so: the attempt was declared dead, taken over or
    closed, and must stop writing. ``previous`` is the entry this attempt replaced, if any.
    """

    def __init__(self, dataset_id: str, kind: str, attempt: str, *, owner: str, previous: dict | None = None) -> None:
        self.dataset_id = dataset_id
        self.kind = kind
        self.attempt = attempt
        self.owner = owner
        self.previous = previous
        self.lost = False
        self._last_progress = 0.0
        # Bound now: the heartbeat thread must not open a database connection of its own.
        self._entries = store.JobEntries()

    @property
    def _mine(self) -> dict:
        return {"attempt": self.attempt, "owner": self.owner, "state": {"$in": list(LIVE_STATES)}}

    def update(self, **fields: Any) -> bool:
        """Set fields of this running attempt's entry; False (and ``lost``) if it is no longer ours."""
        if self._entries.update(self.dataset_id, self.kind, self._mine, fields):
            return True
        self.lost = True
        return False

    def beat(self) -> bool:
        """Refresh the heartbeat; False if the attempt was taken over or closed."""
        return self.update(heartbeat_ts=current_ts())

    def annotate(self, **fields: Any) -> bool:
        """Add fields to this attempt's entry after it ended (e.g. its duration)."""
        return self._entries.update(self.dataset_id, self.kind, {"attempt": self.attempt}, fields)

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Record progress, at most once a second."""
        now = time.monotonic()
        if force or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.update(progress=done, total=total, heartbeat_ts=current_ts())

    def finish(self, **result: Any) -> bool:
        return self.finish_with(**result)

    def finish_with(self, *, dataset_fields: dict | None = None, unset: Iterable[str] = (), **result: Any) -> bool:
        """Close the attempt as ready, in the same write setting ``dataset_fields`` of the dataset
        and removing the entry's fields ``unset``; False (nothing written) if it is no longer ours."""
        entry = {"state": READY, "finished_ts": current_ts(), **result}
        if self._entries.update(
            self.dataset_id, self.kind, self._mine, entry, dataset_fields=dataset_fields, unset=unset
        ):
            return True
        self.lost = True
        return False

    def fail(self, reason: str, **detail: Any) -> bool:
        return self.update(state=FAILED, finished_ts=current_ts(), reason=reason, **detail)

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[JobRecord]:
        """Keep the heartbeat fresh from a thread of its own while the block runs.

        The thread stops when the block ends, however it ends, so an attempt whose job failed
        without recording it (the database was unreachable) looks dead after the staleness window
        although its process lives on.
        """
        beater = _Heartbeat(self, stale_after_s() / _BEATS_PER_WINDOW)
        beater.start()
        try:
            yield self
        finally:
            beater.stop()


class _Heartbeat(threading.Thread):
    def __init__(self, record: JobRecord, every_s: float) -> None:
        super().__init__(name=f"dds-job-heartbeat-{record.kind}", daemon=True)
        self._record = record
        self._every_s = every_s
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self._every_s):
            try:
                if not self._record.beat():
                    return  # taken over or closed: nothing left to keep alive
            except store.DatabaseError as exc:  # the database is away; the job itself will notice
                logger.warning(
                    "no heartbeat for the %s job of dataset %s: %s", self._record.kind, self._record.dataset_id, exc
                )

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def job_start(dataset_id: str, kind: str, **info: Any) -> JobRecord | None:
    """Claim the ``kind`` slot of the dataset; None if a live attempt holds it.

    A running entry whose attempt is dead (see ``entry_is_stale``) is taken over, unless it
    journalled a swap (``pending``): that one must be rolled forward by its job's recovery first.
    """
    stale_after_s()  # a bad setting fails here, before a slot is claimed
    attempt = owner = uuid.uuid4().hex
    now = current_ts()
    entry = {
        "state": RUNNING,
        "attempt": attempt,
        "owner": owner,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_ts": now,
        "heartbeat_ts": now,
        "progress": 0,
        "total": None,
        **info,
    }
    entries = store.JobEntries()
    claimed, previous = entries.claim(dataset_id, kind, {"state": {"$nin": list(LIVE_STATES)}}, entry)
    if claimed:
        return JobRecord(dataset_id, kind, attempt, owner=owner, previous=previous)
    current = entries.get(dataset_id, kind)
    if current is None or "pending" in current or not entry_is_stale(current):
        return None
    if entries.replace(dataset_id, kind, _as_observed(current), entry):
        return JobRecord(dataset_id, kind, attempt, owner=owner, previous={**current, "abandoned": True})
    return None


def mark_stale_failed(dataset_id: str, kind: str) -> dict | None:
    """Close a ``running`` entry whose attempt is dead; returns the entry closed, else None.

    The entry is marked ``abandoned``: its process may still be writing (late), unlike an attempt
    that failed by itself.
    """
    entry = job_entry(dataset_id, kind)
    if entry is None or entry.get("state") != RUNNING or not entry_is_stale(entry):
        return None
    fields = {"state": FAILED, "finished_ts": current_ts(), "reason": DIED, "abandoned": True}
    return entry if store.JobEntries().update(dataset_id, kind, _as_observed(entry), fields) else None


def adopt_stale(dataset_id: str, kind: str, entry: dict) -> JobRecord | None:
    """Make this process the owner of a dead attempt's entry, to finish what it journalled.

    Conditional on the entry being as read, so of several processes that find it dead one adopts it.
    """
    if not entry_is_stale(entry):
        return None
    owner = uuid.uuid4().hex
    fields = {"owner": owner, "pid": os.getpid(), "host": socket.gethostname(), "heartbeat_ts": current_ts()}
    if store.JobEntries().update(dataset_id, kind, _as_observed(entry), fields):
        return JobRecord(dataset_id, kind, entry["attempt"], owner=owner)
    return None
