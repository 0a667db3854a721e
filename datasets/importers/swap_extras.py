"""What an import's swap changes besides the images: the source's own description of the dataset,
and the label sets and analyses the new images make stale.

Run by the runner's swap (``runner._complete_swap``), also when a recovery rolls a journalled
swap forward, so each step is idempotent and reads only the journal (``pending``).
"""

from __future__ import annotations

from datasets import store
from datasets.documents import category_document
from datasets.models import Category, DataSet, Label, LabelType

PENDING_KEY = "source"  # where the journal holds the importer's ``source_info``


def journal_entry(importer: object) -> dict:
    """The journal's share of this module: the importer's ``source_info``, if it has one."""
    info = getattr(importer, "source_info", None)
    return {PENDING_KEY: info} if info else {}


def complete_swap_extras(dataset_id: str, pending: dict) -> None:
    """Store the source description, then drop the label sets the import emptied and the analyses
    of the ones it rewrote."""
    source = pending.get(PENDING_KEY)
    if source:
        source_info_store(dataset_id, source)
    label_sets_after_import(dataset_id, set(pending.get("labels") or ()))


def source_info_store(dataset_id: str, source: dict) -> None:
    """The dataset's ``source_info`` and each source category's id and supercategory.

    Every category of the file is kept, used or not, so an export lists the same categories.
    """
    categories = source.get("categories") or []
    # New categories are created with their source fields in one bulk write; existing ones are
    # updated only where the file says something else (a re-import of the same file writes nothing).
    store.categories_get_or_create(
        {**category_document(dataset_id, row["name"]), **_source_fields(row)} for row in categories
    )
    stored = {
        name: {"source_id": source_id, "supercategory": supercategory}
        for name, source_id, supercategory in Category.objects.filter(dataset_id=dataset_id).values_list(
            "name", "source_id", "supercategory"
        )
    }
    for row in categories:
        if stored.get(row["name"]) != _source_fields(row):
            Category.objects.filter(dataset_id=dataset_id, name=row["name"]).update(**_source_fields(row))
    DataSet.objects.filter(pk=dataset_id).update(source_info=source.get("dataset") or None)


def _source_fields(row: dict) -> dict:
    return {"source_id": row["source_id"], "supercategory": row.get("supercategory")}


def label_sets_after_import(dataset_id: str, imported: set[str]) -> None:
    """Ground-truth and prediction sets the new images no longer hold are deleted; the FN/FP
    figures of every set are cleared, since they describe images that are gone.

    User sets stay even when empty: they are the users' own work, carried over by the import and
    still being edited while it ran (an edit after the count may add objects to one).
    """
    stale = Label.objects.filter(dataset_id=dataset_id).exclude(type=LabelType.USER).exclude(name__in=imported)
    store.labels_delete(dataset_id, stale.values_list("pk", flat=True))
    Label.objects.filter(dataset_id=dataset_id).update(
        compare_precisions=[], coco_metrics=None, category_metrics=None, confusion_matrix=None
    )
