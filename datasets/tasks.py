"""Long dataset jobs (import, export, FN/FP): run inline, or as Celery tasks when a broker is set.

``submit_*`` queue a Celery task when ``CELERY_BROKER_URL`` is set, else run in a thread of the
server (``datasets.job_worker``; inline with ``DDS_JOBS_INLINE``);
``run_*`` always run inline (management commands use them, with a progress bar). Progress and
outcome are on ``DataSet.detail_status`` (``datasets.jobs``) either way.

Imports and exports are ``confined`` by default: every path they are given, and every file they
reach through the data, must lie under the data roots (``dds_site.files``). Only the management
commands, run by an operator on the shell, pass ``confined=False`` to use any path they can read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from datasets import job_priority, job_recovery, job_worker, jobs
from datasets.exporters.coco import export_coco
from datasets.exporters.tsv import export_tsv
from datasets.exporters.yolo import export_yolo
from datasets.fnfp import calculate_fnfp
from datasets.importers.errors import ImportFormatError, ImportInProgress, failure_reason
from datasets.importers.manifest import default_dataset_id, default_name, importer_from_spec
from datasets.importers.runner import run_import
from datasets.models import DataSet
from datasets.selectors import dataset_get
from dds_site.celery import app
from dds_site.files import resolve_data_path

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
EXPORT_FORMATS = ("coco", "yolo", "tsv")


def celery_enabled() -> bool:
    return bool(settings.CELERY_BROKER_URL)


def prepare_import(spec: dict, *, confined: bool = True) -> DataSet:
    """The dataset an import spec targets: ``dataset_id`` if it exists, else a new waiting dataset."""
    # Validates the spec, that its files exist (and may be read), before anything is created.
    importer_from_spec(spec, confined=confined)
    dataset_id = spec.get("dataset_id") or default_dataset_id(spec)
    existing = DataSet.objects.filter(pk=dataset_id).first()
    if existing is not None:
        return existing
    return DataSet.get_importing_dataset(spec.get("name") or default_name(spec), id_=dataset_id)


def run_import_spec(
    spec: dict, *, skip_invalid: bool = False, progress: Progress | None = None, confined: bool = True
) -> dict:
    """Import what ``spec`` describes (see ``datasets.importers.manifest``); returns the outcome.

    A dataset this call created is deleted again when its import fails: a failed attempt leaves
    nothing behind. (``submit_import`` creates its dataset first, so the failure can be read there.)
    """
    dataset_id = spec.get("dataset_id") or default_dataset_id(spec)
    created = not DataSet.objects.filter(pk=dataset_id).exists()
    dataset = prepare_import(spec, confined=confined)
    try:
        importer = importer_from_spec(spec, confined=confined)
        result = run_import(dataset, importer, skip_invalid=skip_invalid, progress=progress)
    except Exception as exc:
        if created and not isinstance(exc, ImportInProgress):
            _delete_failed_dataset(dataset)
        raise
    return {"dataset_id": dataset.id, **result.as_dict()}


def _delete_failed_dataset(dataset: DataSet) -> None:
    try:
        dataset.cascade_delete(dataset)
    except Exception:
        logger.exception("could not delete dataset %s after its failed import", dataset.pk)


def run_export(dataset_id: str, spec: dict, *, confined: bool = True) -> dict:
    """Export a dataset.

    ``spec`` = {format: coco|yolo|tsv, output, labels?, overwrite?} plus, for coco, results?; for
    yolo, prediction? and segments?; for tsv, predictions?. An existing output is replaced only
    with ``overwrite`` (else ``OutputExists``, 409).
    """
    dataset_get(dataset_id)
    kind, output = spec.get("format"), spec.get("output")
    if kind not in EXPORT_FORMATS:
        raise ImportFormatError(f"unknown export format {kind!r}; one of {', '.join(EXPORT_FORMATS)}", field="format")
    if not isinstance(output, str) or not output:
        raise ImportFormatError("output path is required", field="output")
    target = resolve_data_path(output, field="output") if confined else Path(output).absolute()
    overwrite = bool(spec.get("overwrite"))
    record = jobs.job_start(dataset_id, "export", format=kind, output=str(target))
    if record is None:
        raise ImportInProgress("An export of this dataset is already running.")
    with record.heartbeat():
        try:
            if kind == "coco":
                result = export_coco(
                    dataset_id, target, labels=spec.get("labels"), results=spec.get("results"), overwrite=overwrite
                )
            elif kind == "yolo":
                result = export_yolo(
                    dataset_id,
                    target,
                    labels=spec.get("labels"),
                    prediction=spec.get("prediction"),
                    segments=bool(spec.get("segments")),
                    overwrite=overwrite,
                )
            else:
                result = export_tsv(
                    dataset_id,
                    target,
                    labels=spec.get("labels"),
                    predictions=spec.get("predictions"),
                    overwrite=overwrite,
                )
        except BaseException as exc:
            record.fail(failure_reason(exc))
            raise
    record.finish(**result)
    return {"dataset_id": dataset_id, **result}


def run_fnfp(dataset_id: str, *, with_coco_metrics: bool = True, progress: Progress | None = None) -> dict:
    dataset_get(dataset_id)
    result = calculate_fnfp(dataset_id, with_coco_metrics=with_coco_metrics, progress=progress)
    return {"dataset_id": dataset_id, "num_images": result.num_images, "labels": result.labels}


class JobTask(app.Task):
    """A dataset job on a Celery worker: it runs at the jobs' CPU priority (``datasets.job_priority``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        job_priority.lower_priority(thread_only=False)
        return super().__call__(*args, **kwargs)


@app.task(name="datasets.import_dataset", base=JobTask, acks_late=True)
def import_dataset_task(spec: dict, skip_invalid: bool = False, confined: bool = True) -> dict:
    return run_import_spec(spec, skip_invalid=skip_invalid, confined=confined, progress=job_priority.Pacer())


@app.task(name="datasets.export_dataset", base=JobTask, acks_late=True)
def export_dataset_task(dataset_id: str, spec: dict, confined: bool = True) -> dict:
    return run_export(dataset_id, spec, confined=confined)


@app.task(name="datasets.calculate_fnfp", base=JobTask, acks_late=True)
def calculate_fnfp_task(dataset_id: str, with_coco_metrics: bool = True) -> dict:
    return run_fnfp(dataset_id, with_coco_metrics=with_coco_metrics, progress=job_priority.Pacer())


@app.task(name="datasets.recover_jobs")
def recover_jobs_task() -> dict:
    """Repair the jobs whose process died (scheduled by ``dds_site.celery``'s beat schedule)."""
    return job_recovery.recover_stale_jobs()


def _paced() -> dict[str, Any]:
    """The progress argument of an import or FN/FP run in a server thread: paced between batches."""
    return {} if job_worker.inline() else {"progress": job_priority.Pacer()}


def _queued(dataset_id: str, kind: str, task) -> dict[str, Any]:
    return {"dataset_id": dataset_id, "queued": True, "task_id": task.id, "job": kind}


def submit_import(spec: dict, *, skip_invalid: bool = False, confined: bool = True) -> dict:
    """Queue (or run) an import; the dataset is created first so its status can be followed.

    The worker checks the paths again (``confined``): its data roots are the ones that count.
    """
    dataset = prepare_import(spec, confined=confined)
    spec = {**spec, "dataset_id": dataset.id}
    if celery_enabled():
        return _queued(dataset.id, "import", import_dataset_task.delay(spec, skip_invalid, confined))
    return job_worker.start(
        "import", dataset.id, run_import_spec, spec, skip_invalid=skip_invalid, confined=confined, **_paced()
    )


def submit_export(dataset_id: str, spec: dict, *, confined: bool = True) -> dict:
    if celery_enabled():
        dataset_get(dataset_id)
        if confined:  # refuse a path outside the roots now, not only later on the worker
            resolve_data_path(spec.get("output") or "", field="output")
        return _queued(dataset_id, "export", export_dataset_task.delay(dataset_id, spec, confined))
    if not job_worker.inline():  # refuse a bad request now, not only in the background
        dataset_get(dataset_id)
        if confined:
            resolve_data_path(spec.get("output") or "", field="output")
    return job_worker.start("export", dataset_id, run_export, dataset_id, spec, confined=confined)


def submit_fnfp(dataset_id: str, *, with_coco_metrics: bool = True) -> dict:
    if celery_enabled():
        dataset_get(dataset_id)
        return _queued(dataset_id, "fnfp", calculate_fnfp_task.delay(dataset_id, with_coco_metrics))
    dataset_get(dataset_id)
    return job_worker.start("fnfp", dataset_id, run_fnfp, dataset_id, with_coco_metrics=with_coco_metrics, **_paced())
