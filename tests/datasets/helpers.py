"""Helpers of the datasets tests, and functions they register in ``settings.DDS_DESCRIPTION_FUNCS``."""

from __future__ import annotations

from datasets.models import DataSet


def add_images(dataset: DataSet, count: int, *, start_id: int | None = None) -> None:
    """Batch-add ``count`` 100x100 images, each with one GT box of category cat/dog alternately."""
    for number in range(count):
        image = dataset.batch_add_image(
            f"http://img/{number}.jpg", width=100, height=100, id_=None if start_id is None else start_id + number
        )
        image.batch_add_annotation("cat" if number % 2 == 0 else "dog", bbox=(10, 10, 20, 20))
    dataset.finish_batch_add_image()


def shout_description(dataset) -> str:
    return dataset.name.upper()


def broken_description(dataset) -> str:
    raise RuntimeError("broken")
