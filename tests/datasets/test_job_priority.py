"""Background jobs give way to requests: a lower CPU priority (DDS_JOB_NICE) and pauses between batches
(DDS_JOB_PAUSE), applied to server job threads and Celery tasks but never to the thread of a request."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from datasets import job_priority, job_worker, tasks

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value is per thread on Linux only")


def _thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(func):
    """Run ``func`` in a fresh thread (the test's own thread keeps its priority); its result."""
    out: dict = {}

    def run() -> None:
        out["value"] = func()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return out["value"]


@pytest.fixture
def background(settings, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    settings.DDS_JOBS_INLINE = False
    yield
    assert job_worker.wait_all(30)


@linux
def test_a_server_job_thread_and_the_threads_it_starts_run_at_the_job_nice_value(settings, background):
    settings.DDS_JOB_NICE = 7
    expected = max(7, _thread_nice())
    seen: dict[str, int] = {}

    def job() -> None:
        seen["job"] = _thread_nice()
        helper = threading.Thread(target=lambda: seen.setdefault("helper", _thread_nice()))
        helper.start()
        helper.join()

    before = _thread_nice()
    assert job_worker.start("fnfp", "ds1", job)["queued"] is True
    assert job_worker.wait_all(30)
    assert seen == {"job": expected, "helper": expected}
    assert _thread_nice() == before  # the caller (a request's thread) is not lowered


@linux
def test_a_job_run_inside_the_request_keeps_the_request_priority(settings):
    settings.DDS_JOBS_INLINE = True
    settings.DDS_JOB_NICE = 7

    def request() -> tuple[int, int]:
        before = _thread_nice()
        return before, job_worker.start("fnfp", "ds1", _thread_nice)

    before, during = _in_thread(request)
    assert during == before


@linux
def test_nice_zero_leaves_the_priority_alone_and_a_lower_setting_never_raises_it(settings):
    settings.DDS_JOB_NICE = 0
    assert _in_thread(lambda: (job_priority.lower_priority(thread_only=True), _thread_nice())) == (None, _thread_nice())

    def already_lower() -> tuple[int | None, int]:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(12, _thread_nice()))
        return job_priority.lower_priority(thread_only=True), _thread_nice()

    settings.DDS_JOB_NICE = 5
    assert _in_thread(already_lower) == (max(12, _thread_nice()), max(12, _thread_nice()))


@linux
def test_a_celery_task_runs_at_the_job_nice_value_with_a_paced_progress(settings, monkeypatch):
    settings.DDS_JOB_NICE = 9
    calls: list[tuple[int, object]] = []

    def fake_run_fnfp(dataset_id: str, *, with_coco_metrics: bool, progress) -> dict:
        calls.append((_thread_nice(), progress))
        return {"dataset_id": dataset_id}

    monkeypatch.setattr(tasks, "run_fnfp", fake_run_fnfp)
    expected = max(9, _thread_nice())
    result = _in_thread(lambda: tasks.calculate_fnfp_task.apply(args=("ds1",)))
    assert result.successful(), result.traceback
    [(nice, progress)] = calls
    assert nice == expected
    assert isinstance(progress, job_priority.Pacer)


def test_background_imports_and_fnfp_are_paced_but_not_inline_ones(settings, background, monkeypatch):
    seen: list[object] = []

    def fake_run_fnfp(dataset_id: str, *, with_coco_metrics: bool, progress=None) -> dict:
        seen.append(progress)
        return {"dataset_id": dataset_id}

    monkeypatch.setattr(tasks, "run_fnfp", fake_run_fnfp)
    monkeypatch.setattr(tasks, "dataset_get", lambda dataset_id: None)
    tasks.submit_fnfp("ds1")
    assert job_worker.wait_all(30)
    settings.DDS_JOBS_INLINE = True
    tasks.submit_fnfp("ds1")
    assert isinstance(seen[0], job_priority.Pacer)
    assert seen[1] is None


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_pacer_pauses_for_a_multiple_of_each_batch_time_capped(settings, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(job_priority, "time", clock)
    reported: list[tuple[int, int | None]] = []
    pacer = job_priority.Pacer(lambda done, total: reported.append((done, total)), pause=1.5)
    clock.now += 2.0  # the first batch took 2 s
    pacer(500, 2000)
    clock.now += 0.4  # the pause does not count as the next batch's time
    pacer(1000, 2000)
    clock.now += 60.0
    pacer(1500, 2000)
    assert clock.slept == pytest.approx([3.0, 0.6, job_priority.MAX_PAUSE_S])
    assert pacer.paused_s == pytest.approx(3.6 + job_priority.MAX_PAUSE_S)
    assert reported == [(500, 2000), (1000, 2000), (1500, 2000)]


def test_no_pause_by_default(settings, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(job_priority, "time", clock)
    settings.DDS_JOB_PAUSE = 0
    pacer = job_priority.Pacer()
    clock.now += 2.0
    pacer(1, None)
    assert clock.slept == []
