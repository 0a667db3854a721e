"""Reading a dataset's job status only reads; dead jobs are repaired by ``recover_jobs`` (command,
Celery task) or when the next attempt claims the slot."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from datasets import jobs, tasks
from datasets.images import Image
from datasets.importers.coco import CocoImporter
from datasets.importers.runner import run_import
from datasets.models import DataSet
from dds_site.documents import current_ts
from tests.datasets.importing_helpers import coco_gt, import_killed_after_swap_journal, write_json

DEAD_PID = 2**22 + 7  # above the kernel's pid limit: no such process


def _dead_export(dataset_id: str) -> dict:
    """An export entry left running by a worker on another host that stopped beating long ago."""
    assert jobs.job_start(dataset_id, "export") is not None
    entry = jobs.job_entry(dataset_id, "export")
    old = current_ts() - (jobs.stale_after_s() + 5) * 1000
    dead = {**entry, "host": "elsewhere", "heartbeat_ts": old}
    DataSet.objects.filter(pk=dataset_id).update(detail_status={"export": dead})
    return dead


def _recover(*args: str) -> str:
    out = io.StringIO()
    call_command("recover_jobs", *args, stdout=out)
    return out.getvalue()


def test_job_status_reports_a_dead_job_as_stale_without_repairing_it(db, staff_client, make_user):
    DataSet.create_dataset("d", id_="d1")
    dead = _dead_export("d1")
    body = staff_client.get("/api/v1/datasets/d1/jobs").json()
    assert (body["export"]["state"], body["export"]["stale"]) == ("running", True)
    user_client = APIClient()
    user_client.force_authenticate(make_user("viewer"))
    assert user_client.get("/api/v1/datasets/d1/jobs").json()["export"]["stale"] is True
    assert DataSet.objects.get(pk="d1").detail_status == {"export": dead}  # nothing written
    assert _recover() == "d1\texport\tfailed\n"
    entry = jobs.job_entry("d1", "export")
    assert (entry["state"], entry["reason"], entry["abandoned"]) == ("failed", jobs.DIED, True)
    assert "stale" not in staff_client.get("/api/v1/datasets/d1/jobs").json()["export"]
    assert _recover() == "no dead jobs\n"


def test_a_live_job_is_not_stale_and_not_repaired(db, staff_client):
    DataSet.create_dataset("d", id_="d1")
    record = jobs.job_start("d1", "fnfp")
    assert staff_client.get("/api/v1/datasets/d1/jobs").json()["fnfp"]["stale"] is False
    assert tasks.recover_jobs_task() == {}
    assert jobs.job_entry("d1", "fnfp")["state"] == "running"
    assert record.finish()


def test_an_interrupted_swap_is_rolled_forward_by_recovery_not_by_reading(db, tmp_path, monkeypatch, staff_client):
    dataset = DataSet.get_importing_dataset("c", id_="c1")
    run_import(dataset, CocoImporter(str(write_json(tmp_path / "two.json", coco_gt(2)))))
    three = CocoImporter(str(write_json(tmp_path / "three.json", coco_gt(3))))
    import_killed_after_swap_journal(monkeypatch, lambda: run_import(DataSet.objects.get(pk="c1"), three))
    DataSet.objects.filter(pk="c1").update(
        detail_status={
            **DataSet.objects.get(pk="c1").detail_status,
            "import": {**jobs.job_entry("c1", "import"), "pid": DEAD_PID},
        }
    )
    body = staff_client.get("/api/v1/datasets/c1/jobs").json()
    assert (body["import"]["state"], body["import"]["stale"]) == ("swapping", True)
    assert "pending" not in body["import"]  # the journal stays internal
    assert Image("c1").count_num({}) == 2  # still the previous images
    assert tasks.recover_jobs_task() == {"c1": {"import": "completed"}}
    assert Image("c1").count_num({}) == 3
    stored = DataSet.objects.get(pk="c1")
    assert (stored.num_images, stored.detail_status["import"]["state"]) == (3, "ready")


def test_recover_jobs_for_one_dataset_and_an_unknown_one(db):
    DataSet.create_dataset("d", id_="d1")
    DataSet.create_dataset("e", id_="e1")
    _dead_export("d1")
    _dead_export("e1")
    assert _recover("--dataset", "e1") == "e1\texport\tfailed\n"
    assert jobs.job_entry("d1", "export")["state"] == "running"
    with pytest.raises(CommandError, match="404050"):
        _recover("--dataset", "missing")
