"""Read queries of the datasets app: dataset lists and details, image pages, categories, labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from datasets import store
from datasets.constants import DONT_READ_STATUSES, MAX_IMAGE_NUMBER, ImageFlag
from datasets.documents import category_id_for
from datasets.errors import DatasetNotFound, DatasetNotReadable, ImageNotFound, InvalidDatasetArgument
from datasets.images import Image
from datasets.models import Category, DataSet, Label
from datasets.names import NAME_KEY, NAME_KEY_MAX_LENGTH, prefix_range
from dds_site.keyset import idx_windows

# DDS's label_list order: ground truth first, then user annotations, then predictions.
LABEL_TYPE_ORDER = {"GT": 0, "User": 1, "Pred": 2}


def dataset_list() -> QuerySet[DataSet]:
    """All datasets, oldest first (a stable order for paging)."""
    return DataSet.objects.order_by("created_ts", "id")


def dataset_get(dataset_id: str) -> DataSet:
    """The dataset or ``DatasetNotFound`` (404050); any status."""
    dataset = DataSet.objects.filter(pk=dataset_id).first()
    if dataset is None:
        raise DatasetNotFound(f"Dataset {dataset_id} not found.")
    return dataset


def dataset_get_readable(dataset_id: str) -> DataSet:
    """The dataset if its images may be read: 404050 if missing, 404051 while not ready/imported."""
    dataset = dataset_get(dataset_id)
    if dataset.status in DONT_READ_STATUSES:
        raise DatasetNotReadable(f"Dataset {dataset_id} is not readable while its status is {dataset.status!r}.")
    return dataset


def category_list(dataset: DataSet) -> list[dict]:
    """``[{id, name}]`` of the dataset's categories, by name."""
    return [{"id": row.pk, "name": row.name} for row in Category.objects.filter(dataset_id=dataset.pk).order_by("name")]


def label_list(dataset: DataSet) -> list[dict]:
    """The dataset's label sets, GT first, then User, then Pred (DDS §8.3), each with ``source``."""
    labels = sorted(
        Label.objects.filter(dataset_id=dataset.pk),
        key=lambda label: (LABEL_TYPE_ORDER.get(label.type, len(LABEL_TYPE_ORDER)), label.name),
    )
    return [
        {
            "id": label.pk,
            "name": label.name,
            "type": label.type,
            "source": label.type,
            "clone_from_label": label.clone_from_label,
            "compare_precisions": label.compare_precisions,
            "coco_metrics": label.coco_metrics,
        }
        for label in labels
    ]


@dataclass(frozen=True)
class ImageFilters:
    category_id: str | None = None
    flag: int | None = None
    label_id: str | None = None
    # (prediction label id, precision level key, "fn" or "fp"): images with at least one such error,
    # from the counters the FN/FP analysis stores. Built only from a label and level known to exist.
    errors: tuple[str, str, str] | None = None
    # images whose file name starts with this (any case), see ``datasets.names``
    file_name: str | None = None

    def to_mongo(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.file_name:
            # First: the embedded server serves a filter of several fields from the index of its
            # first indexed field, and a name prefix usually selects fewer images than the others.
            query[NAME_KEY] = prefix_range(self.file_name)
        # The object filters hold of one and the same object: a category AND a label set means an
        # object of that category in that set, not one object of each.
        on_object = {
            key: value for key, value in (("category_id", self.category_id), ("label_id", self.label_id)) if value
        }
        if len(on_object) > 1:
            query["objects"] = {"$elemMatch": on_object}
        elif on_object:
            ((key, value),) = on_object.items()
            query[f"objects.{key}"] = value
        if self.flag is not None:
            query["flag"] = self.flag
        if self.errors:
            label_id, level, kind = self.errors
            query[f"num_{kind}.{label_id}.{level}"] = {"$gt": 0}
        return query

    @property
    def empty(self) -> bool:
        return not self.to_mongo()


def image_filters(
    category_id: Any = None,
    flag: Any = None,
    label_id: Any = None,
    *,
    category_name: Any = None,
    dataset_id: str | None = None,
    file_name: Any = None,
) -> ImageFilters:
    """Parse the image-list filters; values are matched by equality, never as patterns.

    ``category_name`` (with the ``dataset_id``) stands for the category's id, derived from the
    name as every writer derives it, so it filters on the same indexed field. ``file_name`` is a
    prefix of the file name, any case, matched as a range on the indexed name key (every
    character literally).
    """
    if file_name in (None, ""):
        file_name = None
    elif not isinstance(file_name, str) or len(file_name) > NAME_KEY_MAX_LENGTH:
        raise InvalidDatasetArgument(f"file_name must be a string of at most {NAME_KEY_MAX_LENGTH} characters.")
    if category_name not in (None, ""):
        if category_id not in (None, ""):
            raise InvalidDatasetArgument("give category_id or category_name, not both.")
        if dataset_id is None:
            raise InvalidDatasetArgument("category_name needs a dataset.")
        category_id = category_id_for(dataset_id, str(category_name))
    parsed_flag = None
    if flag not in (None, ""):
        try:
            parsed_flag = int(flag)
        except (TypeError, ValueError) as exc:
            raise InvalidDatasetArgument("flag must be one of 0, 1, 2.") from exc
        if parsed_flag not in ImageFlag.ALL:
            raise InvalidDatasetArgument("flag must be one of 0, 1, 2.")
    return ImageFilters(
        category_id=str(category_id) if category_id else None,
        flag=parsed_flag,
        label_id=label_id or None,
        file_name=file_name,
    )


def image_output(data: dict) -> dict:
    """An image as the API returns it (``datasets.serializers.ImageOutput`` renders it)."""
    from datasets.serializers import ImageOutput

    return ImageOutput(data).data


def image_count(dataset: DataSet, filters: ImageFilters) -> int:
    """Number of images matching the filters, counted in the image collection.

    Never the stored ``num_images``, which DDS's ``add_image`` left stale. Unfiltered, it is the
    collection's own count from its metadata, which costs the same for any number of images.
    """
    if filters.empty:
        return store.image_count(dataset.pk, estimate=True)
    return Image(dataset.pk).count_num(filters.to_mongo())


def image_page(dataset: DataSet, filters: ImageFilters, *, page: int, page_size: int) -> tuple[list[dict], int | None]:
    """One page (1-based) of images sorted by idx, and the cursor that continues after it (None at the end).

    Costs grow with the page number; see ``image_keyset_page``.
    """
    model = Image(dataset.pk)
    base = filters.to_mongo()
    found = list(
        model.find_many(base, sort=[("idx", 1)], skip=(page - 1) * page_size, size=page_size + 1, to_dict=True)
    )
    return _page_and_cursor(model, base, found, page_size)


def _page_and_cursor(model, base: dict, found: list[dict], page_size: int) -> tuple[list[dict], int | None]:
    """The page out of ``found`` (one image more than a page, if there are more) and the next cursor.

    The next cursor is the last idx on the page, and the next page starts after it; so when images
    share that idx (DDS gave an image the stored count as its idx), the rest of them join this page.
    """
    if len(found) <= page_size:
        return found, None
    page = found[:page_size]
    boundary = page[-1]["idx"]
    if found[page_size]["idx"] == boundary:
        on_page = [image["id"] for image in page if image["idx"] == boundary]
        page.extend(model.find_many({**base, "idx": boundary, "id": {"$nin": on_page}}, to_dict=True))
    return page, boundary


def image_keyset_page(
    dataset: DataSet, filters: ImageFilters, *, cursor: int, page_size: int
) -> tuple[list[dict], int | None]:
    """Images with ``idx > cursor`` sorted by idx, and the cursor of the next page (None at the end).

    Runs bounded ``idx`` range queries on the ``idx`` index, so the cost of a page does not depend
    on how far into the dataset it is.
    """
    model = Image(dataset.pk)
    base = filters.to_mongo()
    wanted = page_size + 1
    found: list[dict] = []
    for bounds in idx_windows(cursor, wanted):  # the page and the probe for a next one
        found.extend(
            model.find_many({**base, "idx": bounds}, sort=[("idx", 1)], size=wanted - len(found), to_dict=True)
        )
        if len(found) >= wanted:
            break
    return _page_and_cursor(model, base, found, page_size)


def image_list_page(
    dataset: DataSet, filters: ImageFilters, *, page_size: int, cursor: int | None = None, page: int = 1
) -> tuple[int | None, list[dict], int | None]:
    """One page of the image list: the count of matching images, the page's images and the next cursor.

    A keyset page after ``cursor`` when one is given, with no count (counting grows with the dataset;
    a keyset page must not); else the numbered ``page`` (1-based) with the count.
    """
    if cursor is not None:
        images, next_cursor = image_keyset_page(dataset, filters, cursor=cursor, page_size=page_size)
        return None, images, next_cursor
    images, next_cursor = image_page(dataset, filters, page=page, page_size=page_size)
    return image_count(dataset, filters), images, next_cursor


def image_get(dataset: DataSet, image_id: int) -> dict:
    """One image as a dict, or ``ImageNotFound`` (404053)."""
    data = next(Image(dataset.pk).find_many({"id": image_id}, size=1, to_dict=True), None)
    if data is None:
        raise ImageNotFound(f"Image {image_id} not found in dataset {dataset.pk}.")
    return data


def image_get_readable(dataset_id: str, image_id: str) -> dict:
    """The image of a URL (``image_id`` as written there) in a dataset whose images may be read (404050 / 404051);
    404053 also for an id that is not a number or does not fit MongoDB's int64."""
    dataset = dataset_get_readable(dataset_id)
    try:
        number = int(image_id)
    except ValueError:
        number = None
    if number is None or abs(number) > MAX_IMAGE_NUMBER:
        raise ImageNotFound(f"Image {image_id} not found in dataset {dataset_id}.")
    return image_get(dataset, number)
