"""Progress and outcome of long dataset jobs (import, export, FN/FP) on ``DataSet.detail_status``.

Each job kind has one entry ``detail_status[<kind>]`` = ``{state, attempt, pid, host, started_ts,
progress, total, ...}``. Every write is a conditional update on the attempt id, so a stale
worker can never overwrite a newer attempt, and two attempts of the same kind cannot run at
once. A ``running`` entry whose process has died (same host) counts as failed.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

from dds_site import mongo
from dds_site.documents import current_ts

RUNNING = "running"
SWAPPING = "swapping"
READY = "ready"
FAILED = "failed"

_PROGRESS_INTERVAL_S = 1.0
# A running entry of another host counts as dead after this long without a heartbeat.
STALE_AFTER_S = 30 * 60


def _datasets():
    return mongo.get_collection("datasets")


def entry_is_stale(entry: dict | None) -> bool:
    """True if ``entry`` claims to be running but its process is gone.

    On this host the process id is checked; for another host (a Celery worker elsewhere) the
    entry is stale once its heartbeat is older than ``STALE_AFTER_S``.
    """
    if not entry or entry.get("state") not in (RUNNING, SWAPPING):
        return False
    if entry.get("host") == socket.gethostname():
        return not mongo.pid_alive(int(entry.get("pid") or 0))
    heartbeat = entry.get("heartbeat_ts") or entry.get("started_ts") or 0
    return current_ts() - heartbeat > STALE_AFTER_S * 1000


def job_entry(dataset_id: str, kind: str) -> dict | None:
    document = _datasets().find_one({"_id": dataset_id}, {"detail_status": 1})
    if not document:
        return None
    return (document.get("detail_status") or {}).get(kind)


class JobRecord:
    """One attempt of a job on a dataset; creating it claims the job slot."""

    def __init__(self, dataset_id: str, kind: str, attempt: str) -> None:
        self.dataset_id = dataset_id
        self.kind = kind
        self.attempt = attempt
        self._last_progress = 0.0

    @property
    def _mine(self) -> dict:
        return {"_id": self.dataset_id, f"detail_status.{self.kind}.attempt": self.attempt}

    def update(self, **fields: Any) -> bool:
        """Set fields of this attempt's entry; False if another attempt took over."""
        spec = {f"detail_status.{self.kind}.{key}": value for key, value in fields.items()}
        return _datasets().update_one(self._mine, {"$set": spec}).matched_count == 1

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Record progress, at most once a second."""
        now = time.monotonic()
        if force or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.update(progress=done, total=total, heartbeat_ts=current_ts())

    def finish(self, **result: Any) -> None:
        self.update(state=READY, finished_ts=current_ts(), **result)

    def fail(self, reason: str, **detail: Any) -> None:
        self.update(state=FAILED, finished_ts=current_ts(), reason=reason, **detail)


def job_start(dataset_id: str, kind: str, **info: Any) -> JobRecord | None:
    """Claim the ``kind`` slot of the dataset; None if a live attempt holds it.

    A running entry left by a dead process on this host is taken over (and thereby closed).
    """
    attempt = uuid.uuid4().hex
    entry = {
        "state": RUNNING,
        "attempt": attempt,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_ts": current_ts(),
        "progress": 0,
        "total": None,
        **info,
    }
    key = f"detail_status.{kind}"
    free = {"_id": dataset_id, f"{key}.state": {"$nin": [RUNNING, SWAPPING]}}
    if _datasets().update_one(free, {"$set": {key: entry}}).matched_count:
        return JobRecord(dataset_id, kind, attempt)
    current = job_entry(dataset_id, kind)
    if current is not None and entry_is_stale(current):
        taken = {"_id": dataset_id, f"{key}.attempt": current.get("attempt")}
        if _datasets().update_one(taken, {"$set": {key: entry}}).matched_count:
            return JobRecord(dataset_id, kind, attempt)
    return None


def mark_stale_failed(dataset_id: str, kind: str) -> bool:
    """Close a ``running`` entry whose process died; True if one was closed."""
    entry = job_entry(dataset_id, kind)
    if entry is None or entry.get("state") != RUNNING or not entry_is_stale(entry):
        return False
    JobRecord(dataset_id, kind, entry["attempt"]).fail("the process running this job died")
    return True
