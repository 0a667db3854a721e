"""Task images: ``LabelTaskImageModel`` documents in ``label_task_images@dataset_<id>`` (reference §6.6).

Raw PyMongo + pydantic, one collection per dataset, built by the factory ``LabelTaskImage(dataset_id)``.
Besides DDS's fields a document carries ``version``, bumped by every write, so that label and review
writes are compare-and-swap updates instead of DDS's whole-document saves from a stale copy (bug 21).
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic

from dds_site.documents import DocumentModel, current_ts
from labeling import store
from labeling.store import forget_indexes as forget_indexes  # the fixtures' and adoption's names
from labeling.store import task_images_collection_name as task_images_collection_name
from labeling.workflow import ImageState

if TYPE_CHECKING:
    from accounts.models import User
    from labeling.models import LabelTask


def _uuid_hex() -> str:
    return uuid.uuid4().hex


class UserLabelData(pydantic.BaseModel):
    """One labeler's label of an image: the annotations he submitted."""

    model_config = pydantic.ConfigDict(extra="ignore")

    user_id: str
    user_name: str
    annotations: list[dict] = pydantic.Field(default_factory=list)
    id: str = pydantic.Field(default_factory=_uuid_hex)
    created_ts: int = pydantic.Field(default_factory=current_ts)


class UserReviewData(pydantic.BaseModel):
    """One reviewer's verdict on one label."""

    model_config = pydantic.ConfigDict(extra="ignore")

    user_id: str
    user_name: str
    action: str
    label_id: str
    id: str = pydantic.Field(default_factory=_uuid_hex)
    created_ts: int = pydantic.Field(default_factory=current_ts)


class LabelTaskImageModel(DocumentModel):
    """A dataset image inside a label task, with every labeler's label, the reviews and per-role statuses."""

    id: str
    idx: int
    image_id: int
    task_id: str
    url: str
    url_full_res: str = ""
    # DDS declares a UserLabelData with default [] and stores None when there is no pre-label.
    default_labels: UserLabelData | None = None
    labels: dict[str, list[UserLabelData]] = pydantic.Field(default_factory=dict)
    reviews: dict[str, list[UserReviewData]] = pydantic.Field(default_factory=dict)
    role_status: dict[str, str] = pydantic.Field(default_factory=dict)
    version: int = 0

    belong_dataset: ClassVar[str] = ""

    @pydantic.field_validator("default_labels", mode="before")
    @classmethod
    def _empty_default_labels(cls, value: Any) -> Any:
        return None if value in ([], {}) else value

    @classmethod
    def get_cls_id(cls) -> str:
        return f"{cls.__name__}.{cls.belong_dataset}"

    def ensure_status_for_labeling(self, task: LabelTask, labeler: User) -> bool:
        from labeling import services

        return services.task_image_check_label(task=task, image=self, labeler=labeler)

    def set_label(self, task: LabelTask, labeler: User, label_annotations: list[dict]) -> dict:
        from labeling import services

        return services.task_image_label(task=task, image_id=self.id, labeler=labeler, annotations=label_annotations)

    def ensure_status_for_reviewing(self, task: LabelTask, reviewer: User, label_id: str) -> bool:
        from labeling import services

        return services.task_image_check_review(task=task, image=self, reviewer=reviewer, label_id=label_id)

    def set_review(self, task: LabelTask, reviewer: User, label_id: str, action: str) -> dict:
        from labeling import services

        return services.task_image_review(
            task=task, image_id=self.id, reviewer=reviewer, label_id=label_id, action=action
        )


_factory_lock = threading.Lock()
_classes: dict[str, type[LabelTaskImageModel]] = {}
INDEXES = store.TASK_IMAGE_INDEXES


def LabelTaskImage(dataset_id: str) -> type[LabelTaskImageModel]:
    """The ``LabelTaskImageModel`` class bound to one dataset's collection (indexes created on first use)."""
    with _factory_lock:
        model = _classes.get(dataset_id)
        if model is None:
            model = type(
                "LabelTaskImageModel",
                (LabelTaskImageModel,),
                {
                    "__module__": __name__,
                    "belong_dataset": dataset_id,
                    "_collection_name": task_images_collection_name(dataset_id),
                },
            )
            _classes[dataset_id] = model
    store.ensure_task_image_indexes(dataset_id)
    return model


def image_state(doc: dict) -> ImageState:
    """The workflow's view of a stored task image: its labels, reviews and per-role statuses."""
    return ImageState(
        labels=dict(doc.get("labels") or {}),
        reviews=dict(doc.get("reviews") or {}),
        role_status=dict(doc.get("role_status") or {}),
    )


def compare_and_set(dataset_id: str, doc: dict, old: ImageState, new: ImageState, *, holder: str | None = None) -> bool:
    """Write the entries that differ between ``old`` and ``new``, if nobody wrote the image since ``doc`` was read.

    ``holder``, the status key of a labeler or reviewer writing, must also be on the image: the write
    can never land after a replacement moved the writer's work to his successor.
    """
    changes: dict = {}
    unset: dict = {}
    for part in ("labels", "reviews", "role_status"):
        before, after = getattr(old, part), getattr(new, part)
        for key, value in after.items():
            if before.get(key) != value:
                changes[f"{part}.{key}"] = value
        for key in before.keys() - after.keys():
            unset[f"{part}.{key}"] = ""
    version = doc.get("version") or 0
    condition: dict = {"_id": doc["_id"], "version": version if version else {"$in": [0, None]}}
    if holder is not None:
        condition[f"role_status.{holder}"] = {"$exists": True}
    update: dict = {"$inc": {"version": 1}}
    if changes:
        update["$set"] = changes
    if unset:
        update["$unset"] = unset
    return store.task_images(dataset_id).update_one(condition, update).modified_count == 1
