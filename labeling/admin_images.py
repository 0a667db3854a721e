"""The images of a task as the admin's task page shows them: each labeler's latest label with the reviewers'
verdicts on it, page by page (keyset on ``idx``, within the indexed ``task_id``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.safestring import SafeString

from datasets.overlay_svg import svg_overlay
from datasets.overlays import image_drawables
from labeling import selectors, store
from labeling.dataset_images import images_by_ids
from labeling.models import LabelTask

PAGE_SIZE = 12
THUMBNAIL_SIZE = 256


@dataclass
class Verdict:
    reviewer: str
    action: str


@dataclass
class LabelCard:
    """One labeler's label of an image, drawn as the dataset gallery draws annotations."""

    labeler: str
    annotations: list[dict]
    verdicts: list[Verdict] = field(default_factory=list)
    svg: SafeString | str = ""
    categories: list[tuple[str, str]] = field(default_factory=list)  # (name, colour) of the drawn objects

    @property
    def objects_text(self) -> str:
        count = len(self.annotations)
        return f"{count} object{'s' if count != 1 else ''}"


@dataclass
class ImageCard:
    idx: int
    image_id: int
    thumbnail_url: str
    file_url: str
    width: int | None
    height: int | None
    labels: list[LabelCard]
    statuses: dict[str, str]


@dataclass
class ImagePage:
    cards: list[ImageCard]
    next_cursor: int | None
    total: int


def task_image_page(task: LabelTask, *, after: int | None = None, size: int = PAGE_SIZE) -> ImagePage:
    """``size`` images of the task after position ``after`` (all of them when None), with labels and reviews."""
    query: dict = {"task_id": task.pk}
    if after is not None:
        query["idx"] = {"$gt": after}
    docs = list(store.task_images(task.dataset_id).find(query).sort("idx", 1).limit(size + 1))
    more = len(docs) > size
    docs = docs[:size]
    sources = images_by_ids(task.dataset_id, [doc["image_id"] for doc in docs], {"width": 1, "height": 1})
    cards = [_card(task, doc, sources.get(doc["image_id"], {})) for doc in docs]
    return ImagePage(cards=cards, next_cursor=docs[-1]["idx"] if more else None, total=task.num_total)


def _label_card(label: dict, source: dict, verdicts: list[Verdict]) -> LabelCard:
    annotations = [item for item in label.get("annotations") or [] if isinstance(item, dict)]
    width, height = source.get("width") or 0, source.get("height") or 0
    drawables = image_drawables({"width": width, "height": height}, objects=annotations, mask_max_side=THUMBNAIL_SIZE)
    categories = dict.fromkeys((drawable.category_name or "?", drawable.color) for drawable in drawables)
    return LabelCard(
        labeler=label.get("user_name") or label.get("user_id", "?"),
        annotations=annotations,
        verdicts=verdicts,
        svg=svg_overlay(drawables, width, height),
        categories=list(categories),
    )


def _card(task: LabelTask, doc: dict, source: dict) -> ImageCard:
    shaped = selectors.shape_task_image(doc, reviewer_view=None, only_user_id=None)
    verdicts: dict[str, list[Verdict]] = {}
    for review in shaped["reviews"]:
        verdicts.setdefault(review["label_id"], []).append(Verdict(review.get("user_name", "?"), review["action"]))
    labels = [
        _label_card(label, source, verdicts.get(label["id"], []))
        for label in sorted(shaped["labels"], key=lambda label: label.get("user_name") or "")
    ]
    image_id = doc["image_id"]
    return ImageCard(
        idx=doc["idx"],
        image_id=image_id,
        thumbnail_url=reverse("dataset-image-thumbnail", args=[task.dataset_id, image_id]) + f"?size={THUMBNAIL_SIZE}",
        file_url=reverse("dataset-image-file", args=[task.dataset_id, image_id]),
        width=source.get("width"),
        height=source.get("height"),
        labels=labels,
        statuses=shaped["role_status"],
    )
