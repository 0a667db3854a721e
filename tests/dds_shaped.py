"""A database as DDS 0.12 leaves it: its documents, field for field, including what it leaves wrong.

What DDS leaves wrong here: ``num_images`` of datasets filled by ``add_image`` (updated only in memory),
a missing cover, project task counters that missed a transition (its bug 19), a task's stale
``num_total``, role counters that missed progress updates, no ``slot`` on roles, no ``version`` on task
images, and no ``created_ts`` on users and datasets (DDS never stored one).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pymongo.database import Database

PROJECT_ID = "a0" * 16
CREATED_TS = 1_700_000_000_000
BOX = {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@dataclass
class DDSDatabase:
    """The ids of what ``write_dds_database`` wrote."""

    users: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)
    project_id: str = PROJECT_ID


def _user(database: Database, name: str, *, is_staff: bool = False) -> str:
    user_id = md5(name)
    database.users.insert_one(
        {"_id": user_id, "name": name, "password": "gAAAAA-encrypted", "status": "active", "is_staff": is_staff}
    )
    return user_id


def _dataset(database: Database, dataset_id: str, name: str, *, images: int, stored: int, cover: bool) -> None:
    database.datasets.insert_one(
        {
            "_id": dataset_id,
            "name": name,
            "path": None,
            "type": None,
            "status": "ready",
            "detail_status": {},
            "flag_export_link": None,
            "object_types": [],
            "num_images": stored,
            "files": {},
            "cover_url": f"/files/{dataset_id}/0.jpg" if cover else None,
            "description": None,
            "description_func": None,
            "group_id": None,
            "group_name": None,
        }
    )
    database[f"images@dataset_{dataset_id}"].insert_many(
        [
            {
                "_id": n,
                "idx": n,
                "url": f"/files/{dataset_id}/{n}.jpg",
                "url_full_res": "",
                "dataset_id": dataset_id,
                "type": None,
                "objects": [],
                "width": 640,
                "height": 480,
                "metadata": "{}",
                "flag": 0,
                "flag_ts": 0,
                "num_fn": {},
                "num_fp": {},
            }
            for n in range(images)
        ]
    )
    database[f"images@dataset_{dataset_id}"].create_index("idx")  # DDS's own image indexes
    database[f"images@dataset_{dataset_id}"].create_index("objects.category_id")


def _task(database: Database, task_id: str, idx: int, dataset_id: str, *, status: str, num_total: int) -> None:
    database.label_tasks.insert_one(
        {
            "_id": task_id,
            "idx": idx,
            "project_id": PROJECT_ID,
            "dataset_id": dataset_id,
            "created_ts": CREATED_TS + idx,
            "num_total": num_total,
            "status": status,
        }
    )


def _role(database: Database, task_id: str, user_id: str, name: str, role: str, **counters: int) -> None:
    database.label_task_roles.insert_one(
        {
            "_id": md5(f"{task_id}{role}{user_id}"),
            "project_id": PROJECT_ID,
            "task_id": task_id,
            "user_id": user_id,
            "user_name": name,
            "role": role,
            "is_active": True,
            "label_num_waiting": counters.get("label_num_waiting", 0),
            "review_num_waiting": counters.get("review_num_waiting", 0),
            "review_num_rejected": 0,
            "review_num_accepted": 0,
            "label_completed": False,
            "review_completed": False,
        }
    )
    database.label_project_roles.insert_one(
        {"_id": md5(f"pr{task_id}{role}{user_id}"), "project_id": PROJECT_ID, "user_id": user_id, "role": role}
    )


def write_dds_database(database: Database) -> DDSDatabase:
    """Two datasets (12 images said to be 2; 4 said to be 1, no cover) in one working label project.

    Task 0 (images 0-5 of the first dataset) is staffed and working, two of its images labeled and
    waiting for review; tasks 1 and 2 wait for leaders. The project still counts every task as
    waiting, task 2 says it has no images, and task 0's roles never saw the two labels.
    """
    ids = DDSDatabase()
    for name, staff in (("dds_owner", True), ("dds_manager", False), ("dds_leader", False)):
        ids.users[name] = _user(database, name, is_staff=staff)
    for name in ("dds_labeler", "dds_reviewer"):
        ids.users[name] = _user(database, name)
    ids.datasets = {"big": "b1" * 16, "small": "c2" * 16}
    _dataset(database, ids.datasets["big"], "big", images=12, stored=2, cover=True)
    _dataset(database, ids.datasets["small"], "small", images=4, stored=1, cover=False)
    owner = {"id": ids.users["dds_owner"], "name": "dds_owner"}
    database.label_projects.insert_one(
        {
            "_id": PROJECT_ID,
            "name": "legacy project",
            "datasets": [{"id": ids.datasets["big"], "name": "big"}, {"id": ids.datasets["small"], "name": "small"}],
            "created_ts": CREATED_TS,
            "owner": owner,
            "managers": [{"id": ids.users["dds_manager"], "name": "dds_manager"}],
            "description": "",
            "status": "working",
            "batch_size": 6,
            "label_times": 1,
            "review_times": 1,
            "task_num_total": 3,
            "task_num_waiting": 3,
            "task_num_working": 0,
            "task_num_reviewing": 0,
            "task_num_rejected": 0,
            "task_num_accepted": 0,
            "categories": "cat,dog",
            "pre_label": None,
        }
    )
    database.label_project_roles.insert_many(
        [
            {"_id": md5("owner"), "project_id": PROJECT_ID, "user_id": ids.users["dds_owner"], "role": "owner"},
            {"_id": md5("manager"), "project_id": PROJECT_ID, "user_id": ids.users["dds_manager"], "role": "manager"},
        ]
    )
    ids.tasks = ["d0" * 16, "d1" * 16, "d2" * 16]
    _task(database, ids.tasks[0], 0, ids.datasets["big"], status="working", num_total=6)
    _task(database, ids.tasks[1], 1, ids.datasets["big"], status="waiting", num_total=6)
    _task(database, ids.tasks[2], 2, ids.datasets["small"], status="waiting", num_total=0)
    _task_images(database, ids)
    task = ids.tasks[0]
    staff = [
        ("dds_leader", "label_leader"),
        ("dds_manager", "review_leader"),
        ("dds_labeler", "labeler"),
        ("dds_reviewer", "reviewer"),
    ]
    for name, role in staff:
        _role(database, task, ids.users[name], name, role, label_num_waiting=6)
    return ids


def _task_images(database: Database, ids: DDSDatabase) -> None:
    labeler, reviewer = ids.users["dds_labeler"], ids.users["dds_reviewer"]
    keys = ("label_leader", "review_leader", f"labeler_{labeler}", f"reviewer_{reviewer}")
    layout = [
        (ids.tasks[0], ids.datasets["big"], 0, 6),
        (ids.tasks[1], ids.datasets["big"], 6, 6),
        (ids.tasks[2], ids.datasets["small"], 0, 4),
    ]
    for number, (task_id, dataset_id, first, size) in enumerate(layout):
        documents = []
        for idx in range(first, first + size):
            document = {
                "_id": f"{task_id}_{idx}",
                "idx": idx,
                "image_id": idx,
                "task_id": task_id,
                "url": f"/files/{dataset_id}/{idx}.jpg",
                "url_full_res": "",
                "default_labels": None,
                "labels": {},
                "reviews": {},
                "role_status": {},
            }
            if number == 0:
                labeled = idx < 2
                status = "reviewing" if labeled else "labeling"
                document["role_status"] = dict.fromkeys(keys, status)
                if labeled:
                    annotations = [{"category_name": "cat", "category_id": "cat", "bounding_box": BOX}]
                    document["labels"] = {
                        labeler: [
                            {
                                "id": md5(f"label{idx}"),
                                "user_id": labeler,
                                "user_name": "dds_labeler",
                                "annotations": annotations,
                                "created_ts": CREATED_TS + idx,
                            }
                        ]
                    }
            documents.append(document)
        database[f"label_task_images@dataset_{dataset_id}"].insert_many(documents)
