"""Fixtures of the labeling-page tests: a data root of real image files."""

from __future__ import annotations

import pytest

from labeling import task_images


@pytest.fixture(autouse=True)
def _fresh_index_marks():
    # Collections are dropped between tests; make the factories re-create their indexes.
    task_images.forget_indexes()
    yield
    task_images.forget_indexes()


@pytest.fixture
def data_root(settings, tmp_path):
    settings.DDS_DATA_ROOTS = [tmp_path / "data"]
    settings.DDS_THUMBS_DIR = tmp_path / "thumbs"
    (tmp_path / "data").mkdir()
    return tmp_path / "data"
