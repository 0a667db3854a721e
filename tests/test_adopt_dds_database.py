"""Adopting a database that DDS populated: nothing is lost, what is missing is created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pymongo
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DDS_DB = "dds_adoption_check"


def _manage(*args: str) -> str:
    env = dict(os.environ, MONGODB_URI=settings.DATABASES["default"]["HOST"], MONGODB_NAME=DDS_DB)
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def dds_database():
    client = pymongo.MongoClient(settings.DATABASES["default"]["HOST"])
    client.drop_database(DDS_DB)
    database = client[DDS_DB]
    database.users.insert_one(
        {"_id": "0" * 32, "name": "legacy", "password": "gAAAAA-encrypted", "status": "active", "is_staff": True}
    )
    database.datasets.insert_one({"_id": "d" * 32, "name": "old set", "status": "ready", "num_images": 3})
    database.labels.insert_one({"_id": "l" * 32, "name": "GroundTruth", "type": "GT", "dataset_id": "d" * 32})
    yield database
    client.drop_database(DDS_DB)
    client.close()


@pytest.mark.slow
def test_adopt_keeps_documents_creates_the_rest_and_is_idempotent(dds_database):
    first = _manage("adopt_dds_database")
    assert "recorded" in first
    second = _manage("adopt_dds_database")
    assert "created 0 collection(s)" in second and "recorded 0 migration(s)" in second
    assert "No migrations to apply" in _manage("migrate")

    assert dds_database.users.find_one({"name": "legacy"})["password"] == "gAAAAA-encrypted"
    assert dds_database.datasets.count_documents({}) == 1
    assert "user_tokens" in dds_database.list_collection_names()
    label_indexes = {tuple(index["key"]) for index in dds_database.labels.list_indexes()}
    assert ("dataset_id",) in label_indexes
    user_indexes = {index["name"]: index for index in dds_database.users.list_indexes()}
    assert any(index.get("unique") and list(index["key"]) == ["name"] for index in user_indexes.values())
