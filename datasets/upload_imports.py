"""Import a finished upload as a dataset: the import spec its files make, run as a job.

Options name files *inside* the upload (a zip's unpacked tree), never server paths:
coco: ``ground_truth`` (default: the uploaded file itself), ``image_root`` (default: the images
upload's tree, else the zip's tree), ``predictions`` [{name, file}];
tsv: ``path`` (default: the uploaded file), ``predictions`` {name: file};
yolo (a zip): ``images`` (default ``images``), ``classes`` (``classes.txt``), ``labels`` (``labels``
if there), ``predictions`` [{name, file}]; images (a zip): every image of its tree.
The request returns once the spec is checked and the dataset exists; the import runs as a job
(``datasets.tasks.submit_import``: Celery, a server thread, or inline with ``DDS_JOBS_INLINE``).
"""

from __future__ import annotations

import os
from typing import Any

from datasets import jobs, selectors, tasks, uploads
from datasets.importers.errors import ImportFormatError, ImportInProgress
from datasets.importers.manifest import default_dataset_id
from datasets.importers.runner import JOB_KIND

_YOLO_DEFAULTS = {"images": "images", "classes": "classes.txt"}


def _path(upload: uploads.Upload, relative: object, field: str) -> str:
    if relative is not None and not isinstance(relative, str):
        raise ImportFormatError(f"{field} must be a file name inside the upload", field=field)
    return str(uploads.content_path(upload, relative, field=field))


def _need_zip(upload: uploads.Upload, kind: str) -> None:
    if not upload.is_zip:
        raise ImportFormatError(f"a {kind} import needs a zip upload", field="upload")


def _predictions(upload: uploads.Upload, predictions: Any, *, mapping: bool) -> Any:
    if predictions is None:
        return None
    if mapping and isinstance(predictions, dict):
        return {name: _path(upload, file, "predictions") for name, file in predictions.items()}
    if not mapping and isinstance(predictions, list):
        return [
            {"name": item.get("name"), "file": _path(upload, item.get("file"), "predictions")}
            if isinstance(item, dict) and isinstance(item.get("file"), str) and item.get("file")
            else item
            for item in predictions
        ]
    shape = "a {name: file} mapping" if mapping else "a list of {name, file}"
    raise ImportFormatError(f"predictions must be {shape}", field="predictions")


def build_spec(owner: str, upload: uploads.Upload, kind: str, options: dict, images_upload: str | None) -> dict:
    """The import spec of ``upload``'s files (see the module's docstring)."""
    spec: dict[str, Any] = {"format": kind}
    if kind == "coco":
        if upload.is_zip and not options.get("ground_truth"):
            raise ImportFormatError("ground_truth names the COCO JSON inside the zip", field="ground_truth")
        spec["ground_truth"] = _path(upload, options.get("ground_truth"), "ground_truth")
        if images_upload:
            images = uploads.get(owner, images_upload)
            _need_zip(images, "images")
            spec["image_root"] = _path(images, options.get("image_root"), "image_root")
        elif upload.is_zip:
            spec["image_root"] = _path(upload, options.get("image_root"), "image_root")
        spec["predictions"] = _predictions(upload, options.get("predictions"), mapping=False) or []
    elif kind == "tsv":
        spec["path"] = _path(upload, options.get("path"), "path")
        if options.get("predictions") is not None:
            spec["predictions"] = _predictions(upload, options["predictions"], mapping=True)
    elif kind == "yolo":
        _need_zip(upload, kind)
        for key, default in _YOLO_DEFAULTS.items():
            spec[key] = _path(upload, options.get(key) or default, key)
        labels = options.get("labels") or "labels"
        if options.get("labels") or (upload.files_dir / "labels").is_dir():
            spec["labels"] = _path(upload, labels, "labels")
        spec["predictions"] = _predictions(upload, options.get("predictions"), mapping=False) or []
    elif kind == "images":
        _need_zip(upload, kind)
        spec["root"] = _path(upload, None, "upload")
    else:
        raise ImportFormatError(f"unknown format {kind!r}", field="format")
    return spec


def import_upload(
    owner: str,
    upload_id: str,
    kind: str,
    *,
    options: dict | None = None,
    images_upload: str | None = None,
    name: str | None = None,
    dataset_id: str | None = None,
    skip_invalid: bool = False,
    strict: bool = False,
) -> dict:
    """Start importing ``owner``'s finished upload; returns ``{dataset_id, queued, job}`` (or the outcome inline).

    ``dataset_id`` re-imports into that existing dataset (404050 if none); else a new dataset named
    ``name`` (default: the file name) is created. 409 if an import of the dataset is running.
    """
    upload = uploads.get(owner, upload_id)
    spec = build_spec(owner, upload, kind, options or {}, images_upload)
    spec["name"] = name or os.path.splitext(upload.filename)[0]
    spec["strict"] = strict
    if dataset_id:
        spec["dataset_id"] = selectors.dataset_get(dataset_id).id
    entry = jobs.job_entry(spec.get("dataset_id") or default_dataset_id(spec), JOB_KIND)
    if entry and entry.get("state") in jobs.LIVE_STATES and not jobs.entry_is_stale(entry):
        raise ImportInProgress()
    outcome = tasks.submit_import(spec, skip_invalid=skip_invalid)
    return {**outcome, "upload_id": upload.id}
