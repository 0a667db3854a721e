"""Dead import attempts: judged by their heartbeat, taken over, and unable to write afterwards.

An attempt is dead once its heartbeat is stale, even if its process lives on (a web worker whose
import failed while the database was away). Each attempt writes its own staging collection, so
the late writes of a dead one (a killed process's last batch, a frozen process that wakes up)
reach neither a later attempt nor the dataset; staging collections of dead attempts are dropped
by the next import and by the dataset's deletion.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import AutoReconnect

from datasets import jobs, store, tasks
from datasets.fnfp import job as fnfp_job
from datasets.images import Image, image_collection_name, staging_collection_name
from datasets.importers import runner
from datasets.importers.coco import CocoImporter
from datasets.importers.errors import ImportInProgress
from datasets.importers.runner import import_status, run_import
from datasets.models import DataSet
from datasets.store import staging_collection_names
from dds_site import mongo
from dds_site.documents import current_ts
from tests.datasets.importing_helpers import coco_gt, import_killed_after_swap_journal, write_json

DEAD_PID = 2**22 + 7  # above the kernel's pid limit: no such process


def _dataset_id(tmp_path: Path) -> str:
    return f"ds-{tmp_path.name}"


def _import(tmp_path: Path, num_images: int, **kwargs):
    dataset_id = _dataset_id(tmp_path)
    path = write_json(tmp_path / f"gt{num_images}.json", coco_gt(num_images))
    dataset = DataSet.objects.filter(pk=dataset_id).first() or DataSet.get_importing_dataset("c", id_=dataset_id)
    return run_import(dataset, CocoImporter(str(path)), **kwargs)


def _image_ids(dataset_id: str) -> list:
    return sorted(doc["_id"] for doc in Image(dataset_id).get_collection().find({}, {"_id": 1}))


def _stagings(dataset_id: str) -> list[str]:
    return staging_collection_names(dataset_id)


def _late_docs(count: int, first: int = 90_000) -> list[dict]:
    return [{"_id": first + n, "idx": n, "url": "late", "objects": []} for n in range(count)]


def _set_entry(dataset_id: str, **fields) -> None:
    spec = {f"detail_status.import.{key}": value for key, value in fields.items()}
    mongo.get_collection("datasets").update_one({"_id": dataset_id}, {"$set": spec})


def _running_entry(dataset_id: str, *, pid: int, heartbeat_ts: int, **fields) -> None:
    """Replace the import entry with a running attempt ``d...d`` of this host."""
    entry = {"state": "running", "attempt": "d" * 32, "pid": pid, "host": socket.gethostname()}
    entry.update(started_ts=heartbeat_ts, heartbeat_ts=heartbeat_ts, **fields)
    mongo.get_collection("datasets").update_one({"_id": dataset_id}, {"$set": {"detail_status.import": entry}})


def _database_away(monkeypatch) -> dict:
    """From the second batch on every database call fails, as if the server had stopped."""
    away = {"now": False}

    def failing(method):
        def call(self, *args, **kwargs):
            if away["now"]:
                raise AutoReconnect("connection refused")
            return method(self, *args, **kwargs)

        return call

    for cls, names in (
        (Collection, ("insert_many", "update_one", "update_many", "find_one", "find_one_and_update", "find")),
        (Database, ("drop_collection", "list_collection_names")),
    ):
        for name in names:
            monkeypatch.setattr(cls, name, failing(getattr(cls, name)))
    calls = {"n": 0}

    def before_batch_write(batch):
        calls["n"] += 1
        if calls["n"] == 2:
            away["now"] = True

    monkeypatch.setattr(runner, "before_batch_write", [before_batch_write])
    return away


def test_an_import_whose_failure_could_not_be_recorded_frees_its_slot_once_its_heartbeat_is_stale(
    db, tmp_path, monkeypatch, settings
):
    settings.DDS_JOB_STALE_AFTER_S = 1.5
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    _database_away(monkeypatch)
    with pytest.raises(AutoReconnect):
        _import(tmp_path, 6, batch_size=2)
    monkeypatch.undo()  # the database is back; this process (a web worker, say) lives on
    entry = jobs.job_entry(dataset_id, "import")
    assert entry["state"] == "running"
    assert entry["pid"] == os.getpid()
    with pytest.raises(ImportInProgress):  # its heartbeat is recent: it might still be running
        _import(tmp_path, 3)
    deadline = time.monotonic() + 20
    while not jobs.entry_is_stale(jobs.job_entry(dataset_id, "import")):
        assert time.monotonic() < deadline, "the failed attempt still beats"
        time.sleep(0.1)
    result = _import(tmp_path, 3)
    assert result.num_images == 3
    assert _image_ids(dataset_id) == [10, 20, 30]
    assert jobs.job_entry(dataset_id, "import")["state"] == "ready"
    assert _stagings(dataset_id) == []  # the dead attempt's staging went with it


def test_a_live_process_with_a_stale_heartbeat_loses_the_slot(db, tmp_path):
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    dead = staging_collection_name(dataset_id, "d" * 32)
    mongo.get_collection(dead).insert_many(_late_docs(3))
    stale = current_ts() - (jobs.stale_after_s() + 5) * 1000
    _running_entry(dataset_id, pid=os.getpid(), heartbeat_ts=stale, staging=dead)
    result = _import(tmp_path, 3)
    assert result.num_images == 3
    assert _image_ids(dataset_id) == [10, 20, 30]
    assert _stagings(dataset_id) == []


def test_late_writes_of_a_taken_over_attempt_reach_neither_the_next_attempt_nor_the_dataset(db, tmp_path, monkeypatch):
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    original_start = jobs.job_start
    frozen: dict = {}
    records: list = []

    def job_start(*args, **kwargs):
        records.append(original_start(*args, **kwargs))
        return records[-1]

    def before_batch_write(batch):
        if not frozen:
            # Attempt A writes its first batch, then freezes for longer than the staleness window:
            # attempt B takes over and runs while A sleeps.
            frozen["record"] = records[0]
            frozen["entry"] = jobs.job_entry(dataset_id, "import")
            stale = current_ts() - (jobs.stale_after_s() + 5) * 1000
            _set_entry(dataset_id, heartbeat_ts=stale)
            frozen["b"] = _import(tmp_path, 3, batch_size=1)
            return  # A wakes up and goes on writing
        if "late" not in frozen:  # attempt B is writing: a late batch of A reaches the server now
            frozen["late"] = True
            mongo.get_collection(frozen["entry"]["staging"]).insert_many(_late_docs(500))

    monkeypatch.setattr(runner, "before_batch_write", [before_batch_write])
    monkeypatch.setattr(jobs, "job_start", job_start)
    with pytest.raises(ImportInProgress, match="took over"):
        _import(tmp_path, 6, batch_size=2)
    assert frozen["late"]
    assert frozen["b"].num_images == 3
    assert _image_ids(dataset_id) == [10, 20, 30]
    row = DataSet.objects.get(pk=dataset_id)
    assert row.num_images == 3
    assert row.detail_status["import"]["state"] == "ready"
    assert row.detail_status["import"]["attempt"] != frozen["entry"]["attempt"]
    # Nothing A's record writes lands any more: not its journal, not the dataset fields of a swap.
    record = frozen["record"]
    assert record.attempt == frozen["entry"]["attempt"]
    assert not record.update(state=jobs.SWAPPING, pending={})
    assert not record.fail("late")
    assert not record.finish_with(dataset_fields={"num_images": 999})
    row = DataSet.objects.get(pk=dataset_id)
    assert row.num_images == 3
    assert row.detail_status["import"]["state"] == "ready"
    assert _stagings(dataset_id) == []  # A dropped its own staging when it found itself taken over


@pytest.mark.parametrize("version", ["current", "earlier"])
def test_a_late_write_into_a_dead_attempts_staging_does_not_appear_in_the_next_import(
    db, tmp_path, monkeypatch, version
):
    """A killed importer's last batch reaches the server after the next import began.

    ``earlier``: the dead attempt was run by an earlier version, whose staging collection was
    ``...@staging`` for every attempt."""
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    if version == "current":
        dead = staging_collection_name(dataset_id, "d" * 32)
        extra = {"staging": dead}
    else:
        dead, extra = f"{image_collection_name(dataset_id)}@staging", {}
    mongo.get_collection(dead).insert_many(_late_docs(3))
    _running_entry(dataset_id, pid=DEAD_PID, heartbeat_ts=current_ts(), **extra)
    late: list = []

    def before_batch_write(batch):
        if not late:
            late.append(mongo.get_collection(dead).insert_many(_late_docs(500)))

    monkeypatch.setattr(runner, "before_batch_write", [before_batch_write])
    result = _import(tmp_path, 4, batch_size=2)
    assert late
    assert result.num_images == 4
    assert _image_ids(dataset_id) == [10, 20, 30, 40]
    # The late batch left an orphan; the next import drops it.
    monkeypatch.undo()
    assert _stagings(dataset_id) == [dead]
    _import(tmp_path, 3)
    assert _stagings(dataset_id) == []
    assert _image_ids(dataset_id) == [10, 20, 30]


def test_deleting_a_dataset_drops_its_staging_collections(db, tmp_path):
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    other = DataSet.get_importing_dataset("other", id_=f"{dataset_id}-other")
    leftovers = [
        staging_collection_name(dataset_id, "e" * 32),
        f"{image_collection_name(dataset_id)}@staging",  # an earlier version's
    ]
    kept = staging_collection_name(other.id, "f" * 32)
    for number, name in enumerate((*leftovers, kept)):
        mongo.get_collection(name).insert_many(_late_docs(2, first=100 * number))
    assert _stagings(dataset_id) == sorted(leftovers)
    DataSet.cascade_delete(DataSet.objects.get(pk=dataset_id))
    assert _stagings(dataset_id) == []
    assert _stagings(other.id) == [kept]


def test_an_interrupted_swap_of_an_earlier_version_is_rolled_forward(db, tmp_path, monkeypatch):
    """A journalled swap whose entry names no staging collection swaps in ``...@staging``."""
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    import_killed_after_swap_journal(monkeypatch, lambda: _import(tmp_path, 3))
    entry = jobs.job_entry(dataset_id, "import")
    assert entry["state"] == "swapping"
    legacy = f"{image_collection_name(dataset_id)}@staging"
    store.rename_image_collection(entry["staging"], legacy)
    mongo.get_collection("datasets").update_one(
        {"_id": dataset_id},
        {
            "$set": {"detail_status.import.pid": DEAD_PID},
            "$unset": {"detail_status.import.staging": "", "detail_status.import.owner": ""},
        },
    )
    assert import_status(dataset_id)["state"] == "ready"
    assert _image_ids(dataset_id) == [10, 20, 30]
    assert DataSet.objects.get(pk=dataset_id).num_images == 3
    assert _stagings(dataset_id) == []


def _slow(seconds: float):
    def wait(*args, **kwargs):
        time.sleep(seconds)

    return wait


@pytest.mark.parametrize("phase", ["parse", "index", "swap"])
def test_an_import_beats_in_every_phase(db, tmp_path, monkeypatch, settings, phase):
    """A phase that writes no progress for longer than the staleness window keeps the slot."""
    settings.DDS_JOB_STALE_AFTER_S = 0.6
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    seen: list = []

    def still_alive(*args, **kwargs):
        time.sleep(3 * jobs.stale_after_s())
        entry = jobs.job_entry(dataset_id, "import")
        seen.append((entry["state"], jobs.entry_is_stale(entry), jobs.job_start(dataset_id, "import")))

    def slow(*args):
        if not seen:
            still_alive()

    if phase == "parse":
        original = CocoImporter.iter_images

        def slow_then_original(*args, **kwargs):
            slow()
            return original(*args, **kwargs)

        monkeypatch.setattr(CocoImporter, "iter_images", slow_then_original)
    else:
        monkeypatch.setattr(runner, {"index": "before_index", "swap": "before_rename"}[phase], [slow])
    _import(tmp_path, 3)
    assert seen == [("swapping" if phase == "swap" else "running", False, None)]
    assert _image_ids(dataset_id) == [10, 20, 30]


@pytest.mark.parametrize("kind", ["export", "fnfp"])
def test_exports_and_fnfp_beat_too(db, tmp_path, monkeypatch, settings, kind):
    settings.DDS_JOB_STALE_AFTER_S = 0.6
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    seen: list = []

    def slow(*args):
        time.sleep(3 * jobs.stale_after_s())
        entry = jobs.job_entry(dataset_id, kind)
        seen.append((entry["state"], jobs.entry_is_stale(entry), jobs.job_start(dataset_id, kind)))

    if kind == "export":
        original = tasks.export_coco

        def slow_then_original(*args, **kwargs):
            slow()
            return original(*args, **kwargs)

        monkeypatch.setattr(tasks, "export_coco", slow_then_original)
    else:
        monkeypatch.setattr(fnfp_job, "after_collect", [slow])
    if kind == "export":
        tasks.run_export(dataset_id, {"format": "coco", "output": str(tmp_path / "out.json")}, confined=False)
    else:
        tasks.run_fnfp(dataset_id)
    assert seen == [("running", False, None)]
    assert jobs.job_entry(dataset_id, kind)["state"] == "ready"


@pytest.mark.parametrize("seconds", [0, -5])
def test_a_staleness_window_that_is_not_positive_is_a_configuration_error(db, tmp_path, settings, seconds):
    settings.DDS_JOB_STALE_AFTER_S = seconds
    with pytest.raises(ImproperlyConfigured, match="DDS_JOB_STALE_AFTER_S"):
        _import(tmp_path, 2)
    assert jobs.job_entry(_dataset_id(tmp_path), "import") is None  # no slot left claimed


def test_a_swap_finished_by_its_own_attempt_during_the_recovery_is_rolled_forward_once(db, tmp_path, monkeypatch):
    """The attempt wakes up after a recovery adopted it and renames its staging first."""
    _import(tmp_path, 2)
    dataset_id = _dataset_id(tmp_path)
    import_killed_after_swap_journal(monkeypatch, lambda: _import(tmp_path, 3))
    _set_entry(dataset_id, pid=DEAD_PID)

    def renamed_by_the_attempt_first(source, target):
        store.rename_image_collection(source, target)  # the woken attempt; the recovery then finds no source

    monkeypatch.setattr(runner, "before_rename", [renamed_by_the_attempt_first])
    assert import_status(dataset_id)["state"] == "ready"
    assert _image_ids(dataset_id) == [10, 20, 30]
    assert _stagings(dataset_id) == []


def test_after_a_dead_direct_import_the_next_one_goes_through_staging(db, tmp_path, monkeypatch):
    """A killed first import wrote the live collection itself; its late batch may still land there."""
    dataset_id = _dataset_id(tmp_path)
    DataSet.get_importing_dataset("c", id_=dataset_id)
    DataSet.objects.filter(pk=dataset_id).update(status="importing")
    live = mongo.get_collection(image_collection_name(dataset_id))
    live.insert_many(_late_docs(3))
    _running_entry(dataset_id, pid=DEAD_PID, heartbeat_ts=current_ts(), mode=runner.DIRECT)
    closed = import_status(dataset_id)  # someone looked: the dead attempt is closed, its images dropped
    assert closed["state"] == "failed"
    assert closed["abandoned"]
    assert live.estimated_document_count() == 0
    assert DataSet.objects.get(pk=dataset_id).status == "failed"
    late: list = []

    def before_batch_write(batch):
        if not late:  # the dead attempt's last batch reaches the server only now
            late.append(live.insert_many(_late_docs(500, first=80_000)))

    monkeypatch.setattr(runner, "before_batch_write", [before_batch_write])
    _import(tmp_path, 4, batch_size=2)
    entry = jobs.job_entry(dataset_id, "import")
    assert late
    assert "mode" not in entry
    assert entry["staging"]
    assert entry["state"] == "ready"
    assert _image_ids(dataset_id) == [10, 20, 30, 40]
    assert _stagings(dataset_id) == []
