"""Adopting a database that DDS populated, as an operator does (``manage.py`` on another database).

One database gets DDS's documents and then ``adopt_dds_database``; a second one gets ``migrate`` and then
the same documents. Whatever ``migrate`` builds, adoption must build too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pymongo
import pytest
from django.conf import settings

from datasets.images import IMAGE_INDEXES
from labeling.task_images import INDEXES as TASK_IMAGE_INDEXES
from tests.dds_shaped import write_dds_database

ROOT = Path(__file__).resolve().parent.parent
ADOPTED_DB = "dds_adoption_check"
MIGRATED_DB = "dds_migration_check"

pytestmark = pytest.mark.slow


def _manage(database: str, *args: str) -> str:
    env = dict(os.environ, MONGODB_URI=settings.DATABASES["default"]["HOST"], MONGODB_NAME=database)
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def run():
    client = pymongo.MongoClient(settings.DATABASES["default"]["HOST"])
    for name in (ADOPTED_DB, MIGRATED_DB):
        client.drop_database(name)
    adopted, migrated = client[ADOPTED_DB], client[MIGRATED_DB]
    ids = write_dds_database(adopted)
    outputs = {"first": _manage(ADOPTED_DB, "adopt_dds_database")}
    # What adopt alone made, before the migrate below (which sends post_migrate itself).
    after_adopt = {"content_types": content_types(adopted), "permissions": permissions(adopted)}
    outputs["second"] = _manage(ADOPTED_DB, "adopt_dds_database")
    outputs["migrate"] = _manage(ADOPTED_DB, "migrate")
    _manage(MIGRATED_DB, "migrate")
    write_dds_database(migrated)
    yield {"adopted": adopted, "migrated": migrated, "ids": ids, "outputs": outputs, "after_adopt": after_adopt}
    for name in (ADOPTED_DB, MIGRATED_DB):
        client.drop_database(name)
    client.close()


def content_types(database) -> set[tuple[str, str]]:
    return {(doc["app_label"], doc["model"]) for doc in database.django_content_type.find()}


def permissions(database) -> set[str]:
    return {doc["codename"] for doc in database.auth_permission.find()}


def index_set(collection) -> set[tuple]:
    return {
        (
            index["name"],
            tuple(index["key"].items()),
            bool(index.get("unique")),
            repr(index.get("partialFilterExpression")),
        )
        for index in collection.list_indexes()
    }


def test_adopt_keeps_documents_creates_the_rest_and_is_idempotent(run):
    adopted, outputs = run["adopted"], run["outputs"]
    assert "recorded" in outputs["first"]
    assert "gave 4 active task role(s) their slot" in outputs["first"]
    assert "created 0 collection(s)" in outputs["second"]
    assert "recorded 0 migration(s)" in outputs["second"]
    assert "gave 0 active task role(s)" in outputs["second"]
    assert "No migrations to apply" in outputs["migrate"]
    assert adopted.users.find_one({"name": "dds_owner"})["password"] == "gAAAAA-encrypted"
    assert adopted.datasets.count_documents({}) == 2
    assert "user_tokens" in adopted.list_collection_names()


def test_every_index_a_migration_creates_exists_after_adopt(run):
    adopted, migrated = run["adopted"], run["migrated"]
    names = sorted(name for name in migrated.list_collection_names() if "@" not in name and "system." not in name)
    assert "label_task_roles" in names
    assert "auth_permission" in names
    assert set(names) <= set(adopted.list_collection_names())
    for name in names:
        assert index_set(adopted[name]) == index_set(migrated[name]), name


def test_adopt_indexes_the_per_dataset_collections_as_new_ones_are(run):
    adopted, ids = run["adopted"], run["ids"]
    for dataset_id in ids.datasets.values():
        images = adopted[f"images@dataset_{dataset_id}"]
        assert {((field, direction),) for field, direction in IMAGE_INDEXES} <= {
            tuple(index["key"].items()) for index in images.list_indexes()
        }
        task_images = adopted[f"label_task_images@dataset_{dataset_id}"]
        assert {index.document["name"] for index in TASK_IMAGE_INDEXES} <= {
            index["name"] for index in task_images.list_indexes()
        }


def test_adopt_creates_content_types_and_permissions_as_migrate_does(run):
    migrated, after_adopt = run["migrated"], run["after_adopt"]
    assert ("datasets", "dataset") in content_types(migrated)
    assert after_adopt["content_types"] == content_types(migrated)
    assert "change_labelproject" in permissions(migrated)
    assert after_adopt["permissions"] == permissions(migrated)
