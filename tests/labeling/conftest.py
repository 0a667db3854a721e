"""Fixtures of the labeling tests: users per role type, datasets with images, projects (``tests.factories``)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from datasets.models import DataSet
from labeling import task_images
from labeling.models import LabelProject, LabelTask
from tests.factories import DatasetFactory, LabelProjectFactory, StaffedTaskFactory, api_client_for, users_by_role


@pytest.fixture(autouse=True)
def _fresh_index_marks():
    # Collections are dropped between tests; make the factories re-create their indexes.
    task_images.forget_indexes()
    yield
    task_images.forget_indexes()


def make_users(prefix: str, per_type: int) -> dict[str, list[User]]:
    return users_by_role(prefix, per_type)


def make_dataset(name: str, num_images: int = 0) -> DataSet:
    """A dataset with ``num_images`` 640x480 images (``DatasetFactory``)."""
    return DatasetFactory(name=name, num_images=num_images)


@pytest.fixture
def users(db) -> dict[str, list[User]]:
    return users_by_role("lbl", 4)


@pytest.fixture
def datasets(db) -> list[DataSet]:
    return [DatasetFactory(name=f"dataset_{n:02d}", num_images=100) for n in range(4)]


@pytest.fixture
def small_datasets(db) -> list[DataSet]:
    return [DatasetFactory(name=f"small_{n:02d}", num_images=10) for n in range(2)]


def make_project(users, datasets, *, categories=("cat", "dog", "bird", "test"), **init) -> LabelProject:
    """A project of the first staff user over ``datasets``, managed by the first two managers; initialised with the
    keyword arguments of ``init_project`` if any are given."""
    return LabelProjectFactory(
        owner=users["staff"][0],
        datasets=datasets,
        managers=users["manager"][:2],
        categories=categories,
        init=init or None,
    )


def staffed_task(users, datasets, *, label_times: int, review_times: int, batch_size: int = 0) -> LabelTask:
    """Task 0 of a new project over ``datasets`` (``make_project``), staffed by ``StaffedTaskFactory.for_users``."""
    project = make_project(users, datasets, batch_size=batch_size, label_times=label_times, review_times=review_times)
    return StaffedTaskFactory.for_users(users, project, label_times=label_times, review_times=review_times)


def client_for(user: User) -> APIClient:
    return api_client_for(user)


BOX = [{"category_name": "test", "bounding_box": {"xmin": 0.1, "ymin": 0.1, "xmax": 0.5, "ymax": 0.5}}]
