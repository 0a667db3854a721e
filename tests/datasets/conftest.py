"""Fixtures of the datasets tests: users, API clients, datasets with images (``tests.factories``)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from datasets.models import DataSet
from tests.datasets.helpers import add_images
from tests.factories import DatasetFactory, StaffFactory, UserFactory, api_client_for


@pytest.fixture
def user(db):
    return UserFactory(name="alice")


@pytest.fixture
def staff(db):
    return StaffFactory(name="boss")


@pytest.fixture
def client_user(user) -> APIClient:
    return api_client_for(user)


@pytest.fixture
def client_staff(staff) -> APIClient:
    return api_client_for(staff)


@pytest.fixture
def dataset(db) -> DataSet:
    return DatasetFactory(name="cats", description="some cats")


@pytest.fixture
def dataset_with_images(dataset) -> DataSet:
    add_images(dataset, 30)
    return dataset
