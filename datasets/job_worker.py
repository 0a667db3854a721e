"""Run a job a request started without making the request wait, when there is no Celery broker.

With ``CELERY_BROKER_URL`` set, jobs are Celery tasks (``datasets.tasks``). Without it they run in
a thread of the server process: the request answers 202 at once and the job's progress and outcome
are in ``detail_status`` as for any job (``datasets.jobs``: heartbeats, per-attempt staging). If
the server stops mid-job, its heartbeat stops too and the next attempt, ``manage.py recover_jobs``
or a Celery beat repairs it as it does for a dead worker. ``DDS_JOBS_INLINE`` runs the job inside
the request instead (200 with the outcome), e.g. for tests that do not test this path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections

from datasets import job_priority
from dds_site.errors import DDSError

logger = logging.getLogger(__name__)

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def inline() -> bool:
    return bool(settings.DDS_JOBS_INLINE)


def _run(kind: str, dataset_id: str, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        job_priority.lower_priority(thread_only=True)  # the request handlers of this process come first
        func(*args, **kwargs)
    except DDSError as exc:  # recorded on the job's entry by the job itself
        logger.warning("the %s job of dataset %s failed: %s", kind, dataset_id, exc)
    except Exception:
        logger.exception("the %s job of dataset %s failed", kind, dataset_id)
    finally:
        connections.close_all()  # this thread's connections only
        with _threads_lock:
            _threads.discard(threading.current_thread())


def start(kind: str, dataset_id: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
    """Run ``func(*args, **kwargs)``, the ``kind`` job of a dataset: inline if ``DDS_JOBS_INLINE``
    (returns its outcome), else in a background thread (returns ``{dataset_id, queued, job}``)."""
    if inline():
        return func(*args, **kwargs)
    thread = threading.Thread(
        target=_run, args=(kind, dataset_id, func, args, kwargs), name=f"dds-job-{kind}-{dataset_id}", daemon=True
    )
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return {"dataset_id": dataset_id, "queued": True, "job": kind}


def running() -> list[threading.Thread]:
    with _threads_lock:
        return [thread for thread in _threads if thread.is_alive()]


def wait_all(timeout_s: float) -> bool:
    """Wait for every job thread of this process to end; False if some still run after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    for thread in running():
        thread.join(max(0.0, deadline - time.monotonic()))
    return not running()
