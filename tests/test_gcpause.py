"""The collector pause used by bulk jobs: restored afterwards, nestable, shared by threads."""

from __future__ import annotations

import gc
import threading

import pytest

from dds_site.gcpause import collector_paused


@pytest.fixture(autouse=True)
def collector_enabled():
    gc.enable()
    yield
    gc.enable()


def test_paused_inside_and_restored_after_nested_blocks():
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_exception():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("job failed")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_resumed_only_when_the_last_thread_leaves():
    first_in, second_done, release = threading.Event(), threading.Event(), threading.Event()

    def long_job():
        with collector_paused():
            first_in.set()
            release.wait(5)

    worker = threading.Thread(target=long_job)
    worker.start()
    first_in.wait(5)
    with collector_paused():
        second_done.set()
    assert not gc.isenabled()  # the other job still runs
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_fnfp_job_restores_the_collector_when_it_fails(db, monkeypatch):
    from datasets import fnfp
    from datasets.models import DataSet

    dataset = DataSet.create_dataset("gc")

    def broken(dataset_id):
        assert not gc.isenabled()
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(fnfp.job, "after_collect", [broken])
    with pytest.raises(RuntimeError, match="disk on fire"):
        fnfp.calculate_fnfp(dataset.id)
    assert gc.isenabled()
