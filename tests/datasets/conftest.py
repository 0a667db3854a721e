"""Fixtures of the datasets tests: users, API clients, datasets with images."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from datasets.models import DataSet
from tests.datasets.helpers import add_images


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


@pytest.fixture
def dataset_with_images(dataset) -> DataSet:
    add_images(dataset, 30)
    return dataset
