"""Exporting a label project (reference §7.10, §9.8 ``lpexport``), fixing DDS bugs 16 and 26.

``project_export`` writes the accepted labels back into each dataset as a label set: one label per
image (the one every reviewer accepted, or the latest of a force-accepted task), of the chosen type,
with the union of object types; a failed dataset is marked failed and keeps its status, and the project
becomes ``exported`` only when every dataset succeeded. Task images are read per task on the indexed
``task_id``. ``export_files`` streams DDS's per-dataset JSON or COCO JSON to files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from datasets import store as dataset_store
from datasets.constants import LabelName
from datasets.documents import object_document
from datasets.errors import LabelSetNameReserved
from datasets.exporters.common import file_name_of
from datasets.models import DataSet, Label, LabelType
from datasets.objects import object_types_of
from datasets.services import category_get_or_create, dataset_add_object_types, label_get_or_create
from dds_site.errors import InvalidArgument
from labeling import checkpoint, rules, store, workflow
from labeling.annotations import POINT_ARITY
from labeling.dataset_images import images_by_ids
from labeling.models import LabelProject, LabelTask
from labeling.workflow import ImageState, ProjectAction, ReviewAction

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

PAGE = 200
EXPORT_STATUS_KEY = "export_label_project"


def iter_task_images(task: LabelTask, page: int = PAGE) -> Iterator[list[dict]]:
    """A task's images in pages, by bounded ``idx`` ranges on the ``(task_id, idx)`` index."""
    collection = store.task_images(task.dataset_id)
    last = -1
    while True:
        batch = list(collection.find({"task_id": task.pk, "idx": {"$gt": last}}).sort("idx", 1).limit(page))
        if not batch:
            return
        yield batch
        last = batch[-1]["idx"]


def _state(doc: dict) -> ImageState:
    return ImageState(
        labels=doc.get("labels") or {}, reviews=doc.get("reviews") or {}, role_status=doc.get("role_status") or {}
    )


def project_export(
    *, project: LabelProject, label_set_name: str, label_type: str = LabelType.USER, actor: User | None
) -> LabelProject:
    """Write the project's accepted labels into its datasets as the label set ``<name>[<project id[:8]>]``."""
    rules.require_export_project(actor, project)
    project.refresh_from_db()
    workflow.check_project_move(ProjectAction.EXPORT, project.status)
    if not isinstance(label_set_name, str) or not label_set_name.strip():
        raise InvalidArgument("label_set_name must be a non-empty string.")
    if label_set_name.strip() in (LabelName.GROUND_TRUTH, LabelName.USER_ANNOTATION):
        raise LabelSetNameReserved()
    if label_type not in LabelType.values:
        raise InvalidArgument(f"label_type must be one of {LabelType.values}.")
    name = f"{label_set_name.strip()}[{project.pk[:8]}]"
    clash = Label.objects.filter(dataset_id__in=project.dataset_ids, name=name).exclude(type=label_type).first()
    if clash is not None:
        raise InvalidArgument(
            f"label set {name!r} already exists with type {clash.type!r}.", detail={"label_type": clash.type}
        )
    failed = []
    for item in project.datasets:
        dataset = DataSet.objects.filter(pk=item["id"]).first()
        if dataset is None:
            continue  # deleted since: nothing to write back
        if not _export_dataset(project, dataset, name, label_type):
            failed.append(dataset.pk)
    if not failed:
        checkpoint.move_project(project=project, action=ProjectAction.EXPORT, actor=actor)
    project.refresh_from_db()
    return project


def _export_dataset(project: LabelProject, dataset: DataSet, name: str, label_type: str) -> bool:
    previous = dataset.status
    dataset_store.dataset_set_detail(dataset.pk, EXPORT_STATUS_KEY, "importing")
    try:
        label_id = label_get_or_create(dataset_id=dataset.pk, name=name, label_type=label_type)
        types: set[str] = set()
        categories: dict[str, str] = {}
        for task in LabelTask.objects.filter(project_id=project.pk, dataset_id=dataset.pk).order_by("idx"):
            for batch in iter_task_images(task):
                changes = []
                for doc in batch:
                    label = workflow.exported_label(_state(doc), force_accepted=task.force_accepted)
                    objects = []
                    for annotation in (label or {}).get("annotations", []):
                        category = annotation.get("category_name")
                        if not category:
                            continue
                        if category not in categories:
                            categories[category] = category_get_or_create(dataset_id=dataset.pk, name=category)
                        types |= object_types_of(annotation)
                        objects.append(_object(annotation, name, label_type, label_id, categories[category]))
                    changes.append((doc["image_id"], label_id, objects))
                # The datasets store pulls then pushes: a re-run replaces this label set's objects.
                dataset_store.label_set_objects_replace(dataset.pk, changes)
        dataset_add_object_types(dataset=dataset, object_types=types)
    except Exception:  # any failure marks this dataset failed; the others still export
        logger.exception("export of project %s into dataset %s failed", project.pk, dataset.pk)
        dataset_store.dataset_set_detail(dataset.pk, EXPORT_STATUS_KEY, "failed", status=previous)
        return False
    dataset_store.dataset_set_detail(dataset.pk, EXPORT_STATUS_KEY, "ready", status=previous)
    return True


def _object(annotation: dict, name: str, label_type: str, label_id: str, category_id: str) -> dict:
    """A labeler's accepted annotation as an object of the exported label set."""
    return object_document(
        label_name=name,
        label_type=label_type,
        label_id=label_id,
        category_name=annotation["category_name"],
        category_id=category_id,
        bounding_box=annotation.get("bounding_box"),
        segmentation=annotation.get("segmentation"),
        points=annotation.get("points"),
        lines=annotation.get("lines"),
        point_colors=annotation.get("point_colors"),
        point_names=annotation.get("point_names"),
        mask=annotation.get("mask"),
    )


# --- files --------------------------------------------------------------------------------------------------------


def export_files(
    *,
    project: LabelProject,
    output_dir: str | Path,
    fmt: str = "dds",
    on_missing: Callable[[Path, int], None] | None = None,
) -> list[Path]:
    """Write one file per dataset under ``<output_dir>/<project name>.<project id>/``; returns the paths.

    COCO files leave out task images whose dataset image is gone (a re-import dropped it): COCO
    needs their size. ``on_missing(path, count)`` hears how many a file left out, if any."""
    if fmt not in ("dds", "coco"):
        raise InvalidArgument("format must be 'dds' or 'coco'.")
    folder = Path(output_dir) / f"{_safe(project.name)}.{project.pk}"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for item in project.datasets:
        suffix = "json" if fmt == "dds" else "coco.json"
        path = folder / f"{_safe(item['name'])}.{item['id']}.{suffix}"
        tasks = list(LabelTask.objects.filter(project_id=project.pk, dataset_id=item["id"]).order_by("idx"))
        with open(path, "w", encoding="utf-8") as out:
            if fmt == "dds":
                _write_dds(out, item, tasks)
            else:
                missing = _write_coco(out, project, item, tasks)
                if missing and on_missing is not None:
                    on_missing(path, missing)
        written.append(path)
    return written


# What a COCO image entry needs of the dataset's image: its size and what names its file.
_SOURCE_FIELDS = {"width": 1, "height": 1, "url": 1, "metadata": 1, "source_key": 1}


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "_"


def _write_dds(out: IO[str], dataset: dict, tasks: list[LabelTask]) -> None:
    """DDS's ``lpexport`` layout; each task contributes only its own images (DDS iterated all, bug 26)."""
    out.write(json.dumps({"dataset_id": dataset["id"], "dataset_name": dataset["name"]})[:-1] + ', "images": [')
    first = True
    for task in tasks:
        for batch in iter_task_images(task):
            for doc in batch:
                entry = {"task_id": task.pk, "image_id": doc["image_id"], "labels": _dds_labels(doc)}
                out.write(("" if first else ",") + "\n" + json.dumps(entry))
                first = False
    out.write("\n]}\n")


def _dds_labels(doc: dict) -> list[dict]:
    labels = []
    default = doc.get("default_labels") or {}
    for annotation in default.get("annotations", []) if isinstance(default, dict) else []:
        labels.append({**annotation, "labeler": "_default", "accepted_by": [], "rejected_by": []})
    reviews = doc.get("reviews") or {}
    for items in (doc.get("labels") or {}).values():
        if not items:
            continue
        label = items[0]
        verdicts = [r for rs in reviews.values() for r in rs if r["label_id"] == label["id"]]
        accepted = sorted(r["user_name"] for r in verdicts if r["action"] == ReviewAction.ACCEPT)
        rejected = sorted(r["user_name"] for r in verdicts if r["action"] == ReviewAction.REJECT)
        for annotation in label.get("annotations", []):
            labels.append(
                {**annotation, "labeler": label["user_name"], "accepted_by": accepted, "rejected_by": rejected}
            )
    return labels


def _write_coco(out: IO[str], project: LabelProject, dataset: dict, tasks: list[LabelTask]) -> int:
    """COCO JSON of the exported (accepted) labels: pixel boxes, polygons, RLE masks, keypoints.

    Each image's ``file_name`` is its original file name (as the dataset exports give it); images
    no longer in the dataset are left out. Returns how many were."""
    names = project.category_list
    category_ids = {name: number for number, name in enumerate(names, start=1)}
    out.write('{"info": ' + json.dumps({"description": f"{project.name} / {dataset['name']}"}))
    out.write(', "categories": ' + json.dumps([{"id": n, "name": name} for name, n in category_ids.items()]))
    out.write(', "images": [')
    annotations_file: list[str] = []
    first = True
    annotation_id = 0
    missing = 0
    for task in tasks:
        for batch in iter_task_images(task):
            sources = images_by_ids(dataset["id"], [d["image_id"] for d in batch], _SOURCE_FIELDS)
            for doc in batch:
                source = sources.get(doc["image_id"])
                if source is None:
                    missing += 1
                    continue
                width, height = source.get("width") or 0, source.get("height") or 0
                image = {"id": doc["image_id"], "file_name": file_name_of(source), "width": width, "height": height}
                out.write(("" if first else ",") + "\n" + json.dumps(image))
                first = False
                label = workflow.exported_label(_state(doc), force_accepted=task.force_accepted)
                for annotation in (label or {}).get("annotations", []):
                    category = annotation.get("category_name")
                    if category not in category_ids:
                        continue
                    annotation_id += 1
                    coco = _coco_annotation(
                        annotation, annotation_id, doc["image_id"], category_ids[category], width, height
                    )
                    annotations_file.append(json.dumps(coco))
    # Annotations follow the images; they are small lines kept until the images are written.
    out.write('\n], "annotations": [')
    out.write(",".join("\n" + line for line in annotations_file))
    out.write("\n]}\n")
    return missing


def _coco_annotation(annotation: dict, number: int, image_id: int, category_id: int, width: int, height: int) -> dict:
    result: dict = {"id": number, "image_id": image_id, "category_id": category_id, "iscrowd": 0}
    box = annotation.get("bounding_box") or {}
    if box:
        x, y = box["xmin"] * width, box["ymin"] * height
        w, h = (box["xmax"] - box["xmin"]) * width, (box["ymax"] - box["ymin"]) * height
        result["bbox"] = [round(v, 2) for v in (x, y, w, h)]
        result["area"] = round(w * h, 2)
    segmentation = annotation.get("segmentation") or ""
    mask = annotation.get("mask") or {}
    if mask:
        result["segmentation"] = {"counts": mask["counts"], "size": mask["size"]}
        result["iscrowd"] = 1
    elif segmentation:
        # DDS stores polygon coordinates as given by importers (pixels).
        result["segmentation"] = [[float(v) for v in polygon.split(",")] for polygon in segmentation.split("/")]
    points = annotation.get("points") or []
    if points:
        keypoints = []
        for k in range(0, len(points), POINT_ARITY):
            x, y, _z, _w, visibility = points[k : k + 5]
            keypoints += [x, y, int(visibility)]
        result["keypoints"] = keypoints
        result["num_keypoints"] = sum(1 for k in range(2, len(keypoints), 3) if keypoints[k] > 0)
    return result
