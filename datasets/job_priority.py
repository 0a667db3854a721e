"""How background jobs give way to requests when they share CPUs and a database with the server.

Two settings, applied to jobs that run in the background (Celery tasks and the server's job threads,
``datasets.job_worker``), never to a job run inside a request (``DDS_JOBS_INLINE``) or by a management
command:

- ``DDS_JOB_NICE``: the nice value a job's thread runs at (the threads it starts inherit it), so the CPU
  scheduler serves request handlers first. On Linux a nice value belongs to a thread, so a job thread
  of the server is lowered alone; elsewhere only a Celery worker, a process of its own, is.
- ``DDS_JOB_PAUSE``: after each batch a job pauses this many times as long as the batch took, so it
  sends the database at most ``1 / (1 + pause)`` of the work it could (a lower nice value cannot slow
  the database's work for the job; this does).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
# The longest single pause: a slow batch (a busy database) still lets the job go on within seconds.
MAX_PAUSE_S = 5.0


def lower_priority(*, thread_only: bool) -> int | None:
    """Lower the calling thread's CPU priority to ``DDS_JOB_NICE`` (never raise it); returns the nice value
    it runs at, or None if it was left alone.

    ``thread_only``: the caller shares its process with request handlers, so where a nice value is not
    per thread (not Linux) nothing is changed.
    """
    nice = int(settings.DDS_JOB_NICE)
    if nice <= 0 or not hasattr(os, "setpriority"):
        return None
    if sys.platform.startswith("linux"):
        who = threading.get_native_id()  # a thread's own nice value
    elif thread_only:
        return None
    else:
        who = 0  # the whole process: a Celery worker runs nothing but jobs
    current = os.getpriority(os.PRIO_PROCESS, who)
    if current >= nice:
        return current
    try:
        os.setpriority(os.PRIO_PROCESS, who, nice)
    except OSError as exc:  # e.g. a sandbox that forbids it: the job still runs, at the old priority
        logger.warning("could not lower a job's CPU priority to nice %s: %s", nice, exc)
        return current
    return nice


class Pacer:
    """A job's progress callback that pauses it between batches for ``DDS_JOB_PAUSE`` times the batch's time.

    Calls ``progress`` (if given) first. The time a batch took includes its waits for the database, so a
    busy database lengthens the pauses too.
    """

    def __init__(self, progress: Progress | None = None, *, pause: float | None = None) -> None:
        self.progress = progress
        self.pause = float(settings.DDS_JOB_PAUSE if pause is None else pause)
        self.paused_s = 0.0
        self._since = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(done, total)
        if self.pause > 0:
            seconds = min((time.monotonic() - self._since) * self.pause, MAX_PAUSE_S)
            time.sleep(seconds)
            self.paused_s += seconds
        self._since = time.monotonic()
