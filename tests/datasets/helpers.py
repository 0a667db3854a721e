"""Helpers of the datasets tests, and functions they register in ``settings.DDS_DESCRIPTION_FUNCS``."""

from __future__ import annotations

from datasets.models import DataSet
from tests import factories


def add_images(dataset: DataSet, count: int, *, start_id: int | None = None) -> None:
    """Batch-add ``count`` 100x100 images, each with one GT box of category cat/dog alternately."""
    factories.add_images(
        dataset,
        count,
        size=(100, 100),
        start_id=start_id,
        url="http://img/{number}.jpg",
        annotations=lambda number: [{"category": "cat" if number % 2 == 0 else "dog", "bbox": (10, 10, 20, 20)}],
    )


def shout_description(dataset) -> str:
    return dataset.name.upper()


def broken_description(dataset) -> str:
    raise RuntimeError("broken")
