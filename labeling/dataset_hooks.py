"""The labeling app's part in deleting a dataset (receivers of ``datasets.hooks``, connected in ``apps.py``).

Inside the delete's transaction: refuse while an unfinished label project includes the dataset
(``DatasetOccupied``, 400207; accepted-but-not-exported also blocks), else delete the dataset's
label tasks and their task roles and remove it from the finished projects' ``datasets``. After the
commit: drop its task-image collection.
"""

from __future__ import annotations

from typing import Any

from datasets.errors import DatasetOccupied
from dds_site import mongo
from labeling import store
from labeling.models import LabelProject, LabelTask, TaskRole
from labeling.workflow import ProjectStatus

# A label project counts as finished for its datasets only once exported.
FINISHED_PROJECT_STATUSES = (ProjectStatus.EXPORTED,)


def refuse_or_delete_tasks(sender: Any, *, dataset_id: str, **kwargs: Any) -> None:
    projects = store.orm(LabelProject)
    blocking = projects.find_one(
        {"datasets.id": dataset_id, "status": {"$nin": [str(status) for status in FINISHED_PROJECT_STATUSES]}},
        {"_id": 1, "name": 1, "status": 1},
    )
    if blocking is not None:
        raise DatasetOccupied(
            f"dataset {dataset_id} is used by label project {blocking.get('name')!r} "
            f"({blocking['_id']}, status {blocking.get('status')!r}); finish (export) it first.",
            detail={"project_id": blocking["_id"], "project_name": blocking.get("name")},
        )
    tasks = store.orm(LabelTask)
    task_ids = [doc["_id"] for doc in tasks.find({"dataset_id": dataset_id}, {"_id": 1})]
    if task_ids:
        store.orm(TaskRole).delete_many({"task_id": {"$in": task_ids}})
        tasks.delete_many({"_id": {"$in": task_ids}})
    projects.update_many({"datasets.id": dataset_id}, {"$pull": {"datasets": {"id": dataset_id}}})


def drop_task_images(sender: Any, *, dataset_id: str, **kwargs: Any) -> None:
    mongo.get_database().drop_collection(store.task_images_collection_name(dataset_id))
