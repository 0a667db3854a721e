"""An import queued through Celery and run by a real worker (needs a broker: CELERY_BROKER_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings

from datasets.models import DataSet
from datasets.tasks import submit_import
from tests.datasets.importing_helpers import coco_gt, coco_results, write_json

ROOT = Path(__file__).resolve().parents[2]
JOB_NICE = 7

pytestmark = pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL"),
    reason="CELERY_BROKER_URL is not set: no broker to test the Celery path with (CI starts redis-server)",
)


@pytest.fixture
def worker(db, tmp_path):
    env = {
        **os.environ,
        "MONGODB_URI": settings.DATABASES["default"]["HOST"],
        "MONGODB_NAME": connections["default"].settings_dict["NAME"],
        # The worker checks the job's paths against its own data roots.
        "DDS_DATA_ROOTS": str(tmp_path),
        "DDS_JOB_NICE": str(JOB_NICE),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dds_site",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield process
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
    process.stderr.close()


def test_import_runs_through_a_celery_worker(worker, tmp_path, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    gt = coco_gt(3)
    spec = {
        "format": "coco",
        "ground_truth": str(write_json(tmp_path / "gt.json", gt)),
        "dataset_id": "celery1",
        "predictions": [{"name": "det", "file": str(write_json(tmp_path / "det.json", coco_results(gt)))}],
    }
    with override_settings(DDS_DATA_ROOTS=[tmp_path]):  # queued as the API queues it: confined to the roots
        outcome = submit_import(spec)
    assert outcome["queued"] is True
    assert outcome["task_id"]
    assert DataSet.objects.get(pk="celery1").status == "waiting"  # created before queueing, so it can be followed
    deadline = time.monotonic() + 90
    entry = None
    while time.monotonic() < deadline:
        entry = DataSet.objects.get(pk="celery1").detail_status.get("import")
        if entry and entry.get("state") in ("ready", "failed"):
            break
        assert worker.poll() is None, worker.stderr.read().decode()[-3000:]
        time.sleep(0.2)
    assert entry, entry
    assert entry["state"] == "ready", entry
    assert entry["pid"] != os.getpid()  # it really ran in the worker
    if sys.platform.startswith("linux"):  # the solo pool ran it in the worker's main thread, lowered for jobs
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == max(JOB_NICE, os.getpriority(os.PRIO_PROCESS, 0))
    dataset = DataSet.objects.get(pk="celery1")
    assert dataset.status == "ready"
    assert dataset.num_images == 3
