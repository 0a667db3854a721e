"""Image documents: one raw collection per dataset, ``images@dataset_<id>`` (reference §3.4).

``Image(dataset_id)`` returns a cached ``ImageModel`` subclass bound to one dataset
(``belong_dataset``); the document API of ``dds_site.documents`` then runs on that dataset's
collection. The collections, their indexes and every raw read and write of them are in
``datasets.store``.

Every write of an image also sets a new ``rev``, an ObjectId made from the writer's clock, and
``rev`` is indexed. A read-compute-write of the whole ``objects`` array, such as the FN/FP
analysis, guards its write on ``rev`` instead of on the array it read: the same protection for
concurrent edits at a fraction of the server's cost. A re-import finds the images edited while
it ran by ``rev`` (see ``revision_since``). Documents written by DDS have no ``rev`` until their
first write here; a guard on ``rev: None`` matches them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pydantic

from datasets import store
from datasets.constants import LabelName
from datasets.documents import image_document_of, object_document
from datasets.errors import InvalidDatasetArgument
from datasets.names import image_name_key
from datasets.objects import (
    Number,
    Object,
    format_bbox,
    format_keypoints,
    format_segmentation,
    object_types_of,
    uri_to_url,
)
from datasets.store import (  # noqa: F401 - the public names of image collections and revisions
    CLOCK_SKEW_S,
    IMAGE_INDEXES,
    REVISION,
    image_collection_name,
    legacy_staging_collection_name,
    new_revision,
    revision_since,
    staging_collection_name,
    with_new_revision,
)
from dds_site import mongo
from dds_site.documents import DocumentModel

if TYPE_CHECKING:
    from datasets.models import DataSet

LABEL_TYPES = frozenset({"GT", "Pred", "User"})


def annotation_types(obj: Object) -> set[str]:
    """The ``AnnotationType`` values one object implies (Classification always)."""
    return object_types_of(obj.__dict__)


class ImageModel(DocumentModel):
    """An image of a dataset with all its annotations (``objects``)."""

    id: int
    idx: int
    url: str
    dataset_id: str
    type: str | None = None
    url_full_res: str = ""
    # default_factory, not ``= {}``: pydantic deep-copies mutable defaults for every instance
    objects: list[Object] = pydantic.Field(default_factory=list)
    width: int | None = None
    height: int | None = None
    metadata: str = "{}"
    flag: int = 0
    flag_ts: int = 0
    num_fn: dict = pydantic.Field(default_factory=dict)
    num_fn_cat: dict = pydantic.Field(default_factory=dict)
    num_fp: dict = pydantic.Field(default_factory=dict)
    num_fp_cat: dict = pydantic.Field(default_factory=dict)
    label_confirm: dict = pydantic.Field(default_factory=dict)
    # not DDS's: the searched form of the file name (``datasets.names``), kept by the document builder
    name_key: str = ""

    belong_dataset: ClassVar[str | None] = None
    _dataset: Any = pydantic.PrivateAttr(default=None)
    _batch_state: str | None = pydantic.PrivateAttr(default=None)  # see services.ImageBatch

    @classmethod
    def get_collection(cls) -> store.ImageCollection:
        if cls.belong_dataset is None:
            raise TypeError("use Image(dataset_id) to get the image model of a dataset")
        return store.image_collection(cls.belong_dataset)

    @classmethod
    def get_cls_id(cls) -> str:
        return f"ImageModel.{cls.belong_dataset}"

    @classmethod
    def from_dict(cls, data: dict) -> ImageModel:
        """Like ``DocumentModel.from_dict``, with ``idx`` defaulting to ``id``."""
        data = cls.convert_id_for_python(dict(data))
        data.setdefault("idx", data.get("id"))
        return cls.model_validate(data)

    def _to_document(self) -> dict:
        return image_document_of(self)

    @classmethod
    def _update_spec(cls, set_data: dict | None, unset_data: dict | None) -> dict:
        # Any update may touch ``objects``; every one gives the image a new revision.
        spec = super()._update_spec(set_data, unset_data)
        return with_new_revision(spec) if spec else spec

    @classmethod
    def _update(cls, method: str, filters: dict, set_data: dict | None, unset_data: dict | None):
        """``update_one`` / ``update_many``; an update of a URL also re-derives the name keys of the
        images it wrote (found by the revision it gave them), as the key may need the other URL."""
        spec = cls._update_spec(set_data, unset_data)
        if not spec:
            return None
        write = getattr(cls.get_collection(), method)
        result = write(cls._mongo_filters(filters), spec, session=mongo.current_session())
        if store.touches_name_key([*(set_data or ()), *(unset_data or ())]):
            store.images_refresh_name_keys(
                image_collection_name(cls.belong_dataset), {REVISION: spec["$set"][REVISION]}
            )
        return result

    @classmethod
    def batch_update(
        cls, filters: dict, set_data: dict | None = None, unset_data: dict | None = None, batch_size: int = 20
    ) -> None:
        """Queue an ``update_one``; one that changes a URL is written at once, after the queue, so
        its name key is re-derived (see ``_update``)."""
        if store.touches_name_key([*(set_data or ()), *(unset_data or ())]):
            cls.finish_batch_update()
            cls.update_one(filters, set_data, unset_data)
            return
        super().batch_update(filters, set_data, unset_data, batch_size)

    def post_init(self) -> None:
        """Local ``file://`` URIs become local-file URLs; the name key is the one the URLs call for, as
        the document builder stores it."""
        if self.url.startswith("file://"):
            self.url = uri_to_url(self.url)
        if self.url_full_res.startswith("file://"):
            self.url_full_res = uri_to_url(self.url_full_res)
        self.name_key = image_name_key(self.url, self.url_full_res, self.name_key)

    @property
    def dataset(self) -> DataSet | None:
        """The owning DataSet, looked up once."""
        if self._dataset is None:
            from datasets.models import DataSet

            self._dataset = DataSet.objects.filter(pk=self.dataset_id).first()
        return self._dataset

    @dataset.setter
    def dataset(self, value: DataSet) -> None:
        self._dataset = value

    format_bbox = staticmethod(format_bbox)
    format_segmentation = staticmethod(format_segmentation)
    format_keypoints = staticmethod(format_keypoints)

    def _build_object(
        self,
        category: str,
        label: str,
        label_type: str,
        conf: Number,
        is_group: bool,
        bbox: Sequence[Number] | None,
        segmentation: Sequence[Sequence[Number]] | None,
        alpha_uri: str | None,
        keypoints: Sequence[Number] | None,
        keypoint_colors: list[int] | None,
        keypoint_skeleton: list[int] | None,
        keypoint_names: list[str] | None,
        caption: str | None,
        confirm_type: int,
        register: Callable[[str, str, str], tuple[str, str]] | None = None,
    ) -> Object:
        """Validate and format one annotation; raises 400002 before anything is written.

        ``register(label, label_type, category)``, called once the input is valid, returns the
        label-set and category ids to store in the object.
        """
        if label_type not in LABEL_TYPES:
            raise InvalidDatasetArgument(f"label_type must be one of GT, Pred, User, got {label_type!r}.")
        if not isinstance(category, str) or not category:
            raise InvalidDatasetArgument("category must be a non-empty string.")
        if not isinstance(label, str) or not label:
            raise InvalidDatasetArgument("label must be a non-empty string.")
        bounding_box = format_bbox(self.width, self.height, bbox)
        points, colors, lines, names = format_keypoints(keypoints, keypoint_colors, keypoint_skeleton, keypoint_names)
        segmentation_text = format_segmentation(segmentation)
        label_id, category_id = register(label, label_type, category) if register else ("", "")
        document = object_document(
            label_name=label,
            label_type=label_type,
            label_id=label_id,
            category_name=category,
            category_id=category_id,
            conf=conf,
            is_group=bool(is_group),
            bounding_box=bounding_box,
            segmentation=segmentation_text,
            alpha=uri_to_url(alpha_uri) if alpha_uri else "",
            points=points,
            lines=lines,
            point_colors=colors,
            point_names=names,
            caption=caption,
            confirm_type=confirm_type,
        )
        try:
            return Object.model_validate(document)
        except pydantic.ValidationError as exc:
            raise InvalidDatasetArgument(
                "annotation field value invalid.", detail=exc.errors(include_url=False, include_context=False)
            ) from exc

    def add_annotation(
        self,
        category: str,
        label: str = LabelName.GROUND_TRUTH,
        label_type: Literal["GT", "Pred", "User"] = "GT",
        conf: float = 1.0,
        is_group: bool = False,
        bbox: tuple[int, int, int, int] | None = None,
        segmentation: list[list[int]] | None = None,
        alpha_uri: str | None = None,
        keypoints: list[float | int] | None = None,
        keypoint_colors: list[int] | None = None,
        keypoint_skeleton: list[int] | None = None,
        keypoint_names: list[str] | None = None,
        caption: str | None = None,
        confirm_type: int = 0,
    ) -> None:
        """Add one annotation and save: creates the label set and category if new.

        Raises ``LabelTypeMismatch`` (400002) if a label set of that name exists with another type.
        """
        from datasets import services

        obj = self._build_object(
            category, label, label_type, conf, is_group, bbox, segmentation, alpha_uri,
            keypoints, keypoint_colors, keypoint_skeleton, keypoint_names, caption, confirm_type,
        )  # fmt: skip
        services.annotation_add(image=self, obj=obj)

    def batch_add_annotation(
        self,
        category: str,
        label: str = LabelName.GROUND_TRUTH,
        label_type: Literal["GT", "Pred", "User"] = "GT",
        conf: float = 1.0,
        is_group: bool = False,
        bbox: tuple[int, int, int, int] | None = None,
        segmentation: list[list[int]] | None = None,
        alpha_uri: str | None = None,
        keypoints: list[float | int] | None = None,
        keypoint_colors: list[int] | None = None,
        keypoint_skeleton: list[int] | None = None,
        keypoint_names: list[str] | None = None,
        caption: str | None = None,
        confirm_type: int = 0,
    ) -> None:
        """Add an annotation to an image queued by ``DataSet.batch_add_image``.

        Label sets and categories are written by ``DataSet.batch_save_image`` /
        ``finish_batch_add_image``. Unlike DDS, a label-type conflict is detected here too.
        """
        dataset = self.__pydantic_private__.get("_dataset") or self.dataset
        if dataset is None:
            from datasets.errors import DatasetNotFound

            raise DatasetNotFound(f"Dataset {self.dataset_id} not found.")
        obj = self._build_object(
            category, label, label_type, conf, is_group, bbox, segmentation, alpha_uri,
            keypoints, keypoint_colors, keypoint_skeleton, keypoint_names, caption, confirm_type,
            dataset.image_batch.register,
        )  # fmt: skip
        self.objects.append(obj)
        if self.__pydantic_private__.get("_batch_state") == "written":
            dataset.image_batch.requeue(self)


_models_lock = threading.Lock()
_models: dict[str, type[ImageModel]] = {}


def Image(dataset_id: str) -> type[ImageModel]:
    """The ``ImageModel`` subclass of one dataset (created once per dataset and cached)."""
    model = _models.get(dataset_id)
    if model is not None:
        return model
    with _models_lock:
        model = _models.get(dataset_id)
        if model is None:
            model = type("ImageModel", (ImageModel,), {"belong_dataset": dataset_id, "__module__": __name__})
            _models[dataset_id] = model
    return model


def dump_metadata(metadata: Any) -> str:
    """DDS stores image metadata as a JSON string; non-serialisable values are a 400002."""
    if metadata is None or metadata == {}:
        return "{}"
    try:
        return json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDatasetArgument(f"metadata is not JSON-serialisable: {exc}") from exc
