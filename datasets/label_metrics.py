"""The per-category metrics and confusion matrix of a prediction set as the API and the admin show
them: what the FN/FP job stored on the Label, with the categories' current names."""

from __future__ import annotations

from datasets.errors import FnFpDataNotFound, LabelNotFound
from datasets.models import Category, DataSet, Label

BACKGROUND_NAME = "background"


def label_get(dataset: DataSet, label_id: str) -> Label:
    """The dataset's label set ``label_id``, or ``LabelNotFound`` (404055)."""
    label = Label.objects.filter(pk=label_id, dataset_id=dataset.pk).first()
    if label is None:
        raise LabelNotFound(f"Label {label_id} not found in dataset {dataset.pk}.")
    return label


def label_metrics(dataset: DataSet, label_id: str) -> dict:
    """``{label_id, label_name, category_metrics, confusion_matrix}`` of a prediction set.

    404055 if the dataset has no such label set, 404054 if the FN/FP analysis has not computed them
    for it (never run with them, cleared by a re-import, or a set that is not a prediction set).
    """
    label = label_get(dataset, label_id)
    if label.category_metrics is None or label.confusion_matrix is None:
        raise FnFpDataNotFound(
            f"No per-category metrics for label {label.name!r}: run the FN/FP analysis of the dataset."
        )
    return metrics_of(label, category_names(dataset.pk))


def category_names(dataset_id: str) -> dict[str, str]:
    return dict(Category.objects.filter(dataset_id=dataset_id).values_list("pk", "name"))


def metrics_of(label: Label, names: dict[str, str]) -> dict:
    """The stored figures with category names (a category deleted since shows its id)."""
    stored = label.category_metrics or {}
    categories = [
        {**entry, "category_name": names.get(entry["category_id"], entry["category_id"])}
        for entry in stored.get("categories") or []
    ]
    matrix = label.confusion_matrix or {}
    matrix_categories = [{"id": cat, "name": names.get(cat, cat)} for cat in matrix.get("categories") or []]
    return {
        "label_id": label.pk,
        "label_name": label.name,
        "category_metrics": {
            "max_dets": stored.get("max_dets"),
            "recall_points": stored.get("recall_points"),
            "categories": categories,
        },
        "confusion_matrix": {
            "iou_threshold": matrix.get("iou_threshold"),
            "conf_threshold": matrix.get("conf_threshold"),
            "precision_level": matrix.get("precision_level"),
            "categories": matrix_categories,
            "background": len(matrix_categories),
            "cells": matrix.get("cells") or [],
        },
    }
