"""Fixtures of the labeling tests: users per role type, datasets with images, projects."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from datasets.images import Image
from datasets.models import DataSet
from labeling import task_images
from labeling.models import LabelProject

USER_TYPES = ("staff", "owner", "manager", "label_leader", "review_leader", "labeler", "reviewer", "others")


@pytest.fixture(autouse=True)
def _fresh_index_marks():
    # Collections are dropped between tests; make the factories re-create their indexes.
    task_images.forget_indexes()
    yield
    task_images.forget_indexes()


def make_users(prefix: str, per_type: int) -> dict[str, list[User]]:
    users: dict[str, list[User]] = {}
    for kind in USER_TYPES:
        users[kind] = [
            User.objects.create_user(f"{prefix}_{kind}_{n:02d}", "pw-12345678", is_staff=kind == "staff")
            for n in range(per_type)
        ]
    return users


def make_dataset(name: str, num_images: int = 0, *, objects: list[dict] | None = None) -> DataSet:
    """A dataset with ``num_images`` image documents written in bulk."""
    dataset = DataSet.create_dataset(name)
    if num_images:
        documents = [
            {
                "_id": number,
                "idx": number,
                "url": f"http://img/{name}/{number}.jpg",
                "url_full_res": f"http://img/{name}/{number}-full.jpg",
                "dataset_id": dataset.pk,
                "width": 640,
                "height": 480,
                "objects": list(objects or []),
            }
            for number in range(num_images)
        ]
        Image(dataset.pk).get_collection().insert_many(documents)
        DataSet.objects.filter(pk=dataset.pk).update(num_images=num_images)
    return dataset


@pytest.fixture
def users(db) -> dict[str, list[User]]:
    return make_users("lbl", 4)


@pytest.fixture
def datasets(db) -> list[DataSet]:
    return [make_dataset(f"dataset_{n:02d}", 100) for n in range(4)]


@pytest.fixture
def small_datasets(db) -> list[DataSet]:
    return [make_dataset(f"small_{n:02d}", 10) for n in range(2)]


def make_project(users, datasets, *, categories=("cat", "dog", "bird", "test"), **init) -> LabelProject:
    project = LabelProject.create_project(
        name="project",
        owner=users["staff"][0],
        datasets=datasets,
        managers=users["manager"][:2],
        categories=list(categories),
    )
    if init:
        project.init_project(**init)
    return project


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


BOX = [{"category_name": "test", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}]
