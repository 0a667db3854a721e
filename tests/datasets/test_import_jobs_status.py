"""Job entries on detail_status: one attempt at a time, stale attempts taken over."""

from __future__ import annotations

from datasets import jobs
from datasets.models import DataSet
from dds_site.documents import current_ts


def test_job_slot_is_exclusive_and_stale_entries_are_taken_over(db):
    DataSet.create_dataset("d", id_="d1")
    first = jobs.job_start("d1", "export")
    assert first is not None
    assert jobs.job_start("d1", "export") is None  # this process is alive
    entry = jobs.job_entry("d1", "export")
    # Another host that stopped sending heartbeats long ago.
    old = current_ts() - (jobs.stale_after_s() + 5) * 1000
    remote = {**entry, "host": "elsewhere", "heartbeat_ts": old}
    DataSet.objects.filter(pk="d1").update(detail_status={"export": remote})
    second = jobs.job_start("d1", "export")
    assert second is not None
    assert second.attempt != first.attempt
    assert not first.update(progress=5)  # the old attempt can no longer write
    second.finish(images=3)
    assert jobs.job_entry("d1", "export")["state"] == "ready"
    fresh = {**jobs.job_entry("d1", "export"), "state": "running", "host": "elsewhere", "heartbeat_ts": current_ts()}
    DataSet.objects.filter(pk="d1").update(detail_status={"export": fresh})
    assert jobs.job_start("d1", "export") is None  # a live remote worker keeps its slot
