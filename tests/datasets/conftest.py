"""Fixtures of the datasets tests: users, API clients, datasets with images."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from datasets.models import DataSet


@pytest.fixture
def user(db):
    from accounts.models import User

    return User.objects.create_user("alice", "alice-password-1")


@pytest.fixture
def staff(db):
    from accounts.models import User

    return User.objects.create_user("boss", "boss-password-1", is_staff=True)


@pytest.fixture
def client_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def client_staff(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def dataset(db) -> DataSet:
    return DataSet.create_dataset("cats", description="some cats")


def add_images(dataset: DataSet, count: int, *, start_id: int | None = None) -> None:
    """Batch-add ``count`` 100x100 images, each with one GT box of category cat/dog alternately."""
    for number in range(count):
        image = dataset.batch_add_image(
            f"http://img/{number}.jpg", width=100, height=100, id_=None if start_id is None else start_id + number
        )
        image.batch_add_annotation("cat" if number % 2 == 0 else "dog", bbox=(10, 10, 20, 20))
    dataset.finish_batch_add_image()


@pytest.fixture
def dataset_with_images(dataset) -> DataSet:
    add_images(dataset, 30)
    return dataset
