"""Dataset write operations: create, import images (single and batched), annotate, flag, delete.

The seed API (``DataSet.create_dataset``, ``DataSet.batch_add_image``, ``ImageModel.add_annotation``
...) calls into these functions. Every function validates its input before its first write, so
a typed ``DDSError`` leaves the database unchanged.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import bson
from bson.raw_bson import RawBSONDocument
from django.conf import settings
from django.db import IntegrityError
from django_mongodb_backend import transaction

from datasets import hooks, store
from datasets.constants import ImageFlag
from datasets.documents import (
    category_document,
    category_id_for,
    image_document_of,
    label_document,
    label_id_for,
)
from datasets.errors import (
    DatasetNotFound,
    FlagGroupsNotList,
    FlagIdsMissing,
    FlagIdsNotList,
    FlagInvalid,
    FlagMissing,
    InvalidDatasetArgument,
    LabelTypeMismatch,
)
from datasets.images import (
    REVISION,
    Image,
    ImageModel,
    annotation_types,
    dump_metadata,
    image_collection_name,
)
from datasets.models import DataSet, DatasetStatus, Label
from datasets.objects import Object, uri_to_url
from dds_site.documents import current_ts
from dds_site.errors import WorkflowConflict

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

# States of an image in a dataset's batch buffer (kept in the image's private attributes).
QUEUED, WRITTEN = "queued", "written"
# Documents per insert of the image buffer: its images are encoded a few at a time (``DataSet._batch_size``)
# and inserted this many at once, as the server writes large batches faster.
INSERT_SIZE = 200
ADD_IMAGE_ATTEMPTS = 5
MAX_IMAGE_ID = 2**53  # beyond MongoDB's int64 a query would fail; such ids are bad input
# Called with each batch of image documents of a dataset's image buffer right before it is
# inserted (on the writer thread when written in the background): a seam for tests that inject
# a failing write.
before_images_insert: list[Callable[[list[dict]], None]] = []


def _check_flag(flag: Any) -> int:
    if isinstance(flag, bool) or not isinstance(flag, int) or flag not in ImageFlag.ALL:
        raise FlagInvalid()
    return flag


# --- datasets ---------------------------------------------------------------------------------


def dataset_create(
    *,
    name: str,
    id_: str | None = None,
    type: str | None = None,
    path: str | None = None,
    files: dict | None = None,
    description: str | None = None,
    description_func: str | None = None,
    status: str = DatasetStatus.READY,
) -> DataSet:
    """Create a dataset, or update name/type/path/files of the existing one with id ``id_``.

    A new dataset gets ``status`` (``ready`` for ``create_dataset``, ``waiting`` for importers).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidDatasetArgument("dataset name must be a non-empty string.")
    if files is not None and not isinstance(files, dict):
        raise InvalidDatasetArgument("files must be a dict of tag -> path.")
    if id_:
        existing = DataSet.objects.filter(pk=id_).first()
        if existing is not None:
            changes = {"name": name, "type": type or existing.type, "path": path or existing.path}
            changes["files"] = files or existing.files
            if description is not None:
                changes["description"] = description
            if description_func is not None:
                changes["description_func"] = description_func
            changes["num_images"] = Image(id_).count_num({})
            DataSet.objects.filter(pk=id_).update(**changes)
            for key, value in changes.items():
                setattr(existing, key, value)
            return existing
    dataset = DataSet(
        id=id_ or uuid.uuid4().hex,
        name=name,
        type=type,
        path=path,
        files=files or {},
        status=status,
        description=description,
        description_func=description_func,
        created_ts=current_ts(),
    )
    try:
        dataset.save(force_insert=True)
    except IntegrityError:
        if not id_:
            raise
        # created concurrently with the same id: update it like an existing one
        return dataset_create(name=name, id_=id_, type=type, path=path, files=files, description=description)
    store.image_collection(dataset.id)  # creates the collection's indexes
    return dataset


# What a curator may change by hand; status, counters and job entries belong to the workflows.
EDITABLE_FIELDS = frozenset({"name", "description", "type", "path", "group_id", "group_name"})


def dataset_update(*, dataset: DataSet, **changes: Any) -> DataSet:
    """Change the given fields of ``EDITABLE_FIELDS`` (name, description, ...), and only those: a
    counter an import updates meanwhile is never overwritten with a stale copy."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidDatasetArgument(f"dataset fields not editable: {', '.join(sorted(unknown))}.")
    if "name" in changes and (not isinstance(changes["name"], str) or not changes["name"].strip()):
        raise InvalidDatasetArgument("dataset name must be a non-empty string.")
    if changes:
        DataSet.objects.filter(pk=dataset.pk).update(**changes)
        for key, value in changes.items():
            setattr(dataset, key, value)
    return dataset


def dataset_add_cover(*, dataset: DataSet, force_update: bool = False) -> None:
    """Set ``cover_url`` to the URL of the image with the smallest idx, unless already set."""
    if dataset.cover_url and not force_update:
        return
    first = next(Image(dataset.id).find_many({}, includes=["url"], sort=[("idx", 1)], size=1, to_dict=True), None)
    if first is None:
        return
    dataset.cover_url = (first.get("url") or "").strip()
    DataSet.objects.filter(pk=dataset.pk).update(cover_url=dataset.cover_url)


def dataset_recount(*, dataset: DataSet) -> DataSet:
    """Set ``num_images`` from the image collection and a missing cover (DDS's ``add_image`` left both stale)."""
    count = Image(dataset.pk).count_num({})
    if dataset.num_images != count:
        DataSet.objects.filter(pk=dataset.pk).update(num_images=count)
        dataset.num_images = count
    dataset_add_cover(dataset=dataset)
    return dataset


def dataset_add_object_types(*, dataset: DataSet, object_types: Iterable[str]) -> None:
    """Add annotation types to ``object_types`` atomically (a union, never a replacement)."""
    new_types = sorted(set(object_types) - set(dataset.object_types or []))
    if not new_types:
        return
    store.dataset_add_object_types(dataset.pk, new_types)
    dataset.object_types = sorted(set(dataset.object_types or []) | set(new_types))


def dataset_eval_description(dataset: DataSet) -> str | None:
    """The dataset's description: from a registered ``description_func``, else description, else path.

    ``description_func`` is a *name* looked up in ``settings.DDS_DESCRIPTION_FUNCS``; a dotted path
    stored in the database is never imported (DDS bug §12.1 item 3).
    """
    fallback = dataset.description or dataset.path
    name = dataset.description_func
    if not name:
        return fallback
    dotted = getattr(settings, "DDS_DESCRIPTION_FUNCS", {}).get(name)
    if not dotted:
        logger.warning("description_func %r of dataset %s is not registered", name, dataset.pk)
        return fallback
    try:
        module_name, func_name = dotted.rsplit(".", 1)
        return str(getattr(importlib.import_module(module_name), func_name)(dataset))
    except Exception:  # a broken description must not break dataset listing
        logger.exception("description_func %r of dataset %s failed", name, dataset.pk)
        return fallback


def dataset_cascade_delete(dataset: DataSet) -> None:
    """Delete a dataset and everything that refers to it, leaving no orphans.

    In one transaction: the apps built on datasets delete what of theirs refers to it, or refuse
    (``hooks.dataset_deleting``; the labeling app refuses with ``DatasetOccupied``, 400207, while an
    unfinished label project includes the dataset); then its categories, labels and the dataset
    go. Collections cannot be dropped inside a transaction, so after the commit its image
    collection and the staging collections of its imports are dropped, and the other apps drop
    theirs (``hooks.dataset_deleted``). Dropping is idempotent, so a retry after a crash
    finishes the job.
    """
    dataset_id = dataset.pk
    with transaction.atomic():
        hooks.dataset_deleting.send(sender=DataSet, dataset_id=dataset_id)
        store.dataset_delete_rows(dataset_id)
    # With the staging collections of its imports: one killed midway leaves its own behind.
    for name in (image_collection_name(dataset_id), *store.staging_collection_names(dataset_id)):
        store.drop_image_collection(name)
    hooks.dataset_deleted.send(sender=DataSet, dataset_id=dataset_id)
    dataset.__dict__.pop("_image_batch", None)


# --- labels and categories --------------------------------------------------------------------


def label_get_or_create(*, dataset_id: str, name: str, label_type: str) -> str:
    """Id of the label set ``name`` of the dataset, created if new.

    Raises ``LabelTypeMismatch`` (400002) if the label set exists with another type; the upsert
    and the type check are one step, so two concurrent creators cannot both win.
    """
    wanted = label_document(dataset_id, name, label_type)
    label_id = wanted["_id"]
    document = store.label_get_or_create(wanted)
    if document.get("type") != label_type:
        raise LabelTypeMismatch(
            f"label {name!r} already exists with type {document.get('type')!r}, not {label_type!r}.",
            detail={"label": name, "existing_type": document.get("type"), "label_type": label_type},
        )
    return label_id


def category_get_or_create(*, dataset_id: str, name: str) -> str:
    """Id of the category ``name`` of the dataset, created if new."""
    document = category_document(dataset_id, name)
    store.categories_get_or_create([document])
    return document["_id"]


# --- images -----------------------------------------------------------------------------------


def annotation_add(*, image: ImageModel, obj: Object) -> None:
    """Append a formatted annotation to an image and save it; creates label set and category."""
    dataset = image.dataset
    if dataset is None:
        raise DatasetNotFound(f"Dataset {image.dataset_id} not found.")
    obj.label_id = label_get_or_create(dataset_id=image.dataset_id, name=obj.label_name, label_type=obj.label_type)
    obj.category_id = category_get_or_create(dataset_id=image.dataset_id, name=obj.category_name)
    store.image_push_object(image.dataset_id, image.id, obj.model_dump(), _image_insert_fields(image))
    image.objects.append(obj)
    dataset_add_object_types(dataset=dataset, object_types=annotation_types(obj))


def _image_insert_fields(image: ImageModel) -> dict:
    """The stored fields of an image but its id, objects and revision (set by the update itself)."""
    document = image_document_of(image)
    for key in ("_id", "objects", REVISION):
        del document[key]
    return document


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_IMAGE_ID


def _check_image_args(image_id: Any, width: Any, height: Any, flag: Any, flag_ts: Any) -> None:
    if image_id is not None and not _is_int(image_id):
        raise InvalidDatasetArgument("image id must be an integer.")
    for name, value in (("width", width), ("height", height)):
        if value is not None and (not _is_int(value) or value < 0):
            raise InvalidDatasetArgument(f"{name} must be a non-negative integer or None.")
    _check_flag(flag)
    if not _is_int(flag_ts):
        raise InvalidDatasetArgument("flag_ts must be an integer.")


def _new_image_fields(
    dataset: DataSet,
    uri: Any,
    thumb_uri: Any,
    width: Any,
    height: Any,
    image_id: Any,
    metadata: Any,
    flag: Any,
    flag_ts: Any,
) -> dict:
    """The checked fields of an image added through the seed API (400002 on bad input): the
    thumbnail URL falls back to the full-resolution one, ``file://`` URIs become local-file URLs."""
    if not isinstance(uri, str) or not uri:
        raise InvalidDatasetArgument("uri must be a non-empty string.")
    _check_image_args(image_id, width, height, flag, flag_ts)
    full_url = uri_to_url(uri)
    return {
        "url": uri_to_url(thumb_uri) if thumb_uri else full_url,
        "url_full_res": full_url,
        "width": width,
        "height": height,
        "flag": flag,
        "flag_ts": flag_ts,
        "metadata": dump_metadata(metadata),
        "type": dataset.type,
    }


def image_add(
    *,
    dataset: DataSet,
    uri: str,
    thumb_uri: str | None = None,
    width: int | None = None,
    height: int | None = None,
    id: int | None = None,
    metadata: dict | None = None,
    flag: int = 0,
    flag_ts: int = 0,
) -> ImageModel:
    """Add (or re-add) one image.

    An existing image with this ``id`` keeps its idx and its ``User`` annotations only; its other
    fields are updated. A new image gets idx = number of images, and id = ``id`` or that idx.
    """
    fields = _new_image_fields(dataset, uri, thumb_uri, width, height, id, metadata, flag, flag_ts)
    model = Image(dataset.pk)
    image = None
    for _attempt in range(ADD_IMAGE_ATTEMPTS):
        if id is not None and store.image_exists(dataset.pk, id):
            image = model.from_dict(store.image_readd(dataset.pk, id, fields))
            break
        idx = store.image_count(dataset.pk)
        candidate = model(id=id if id is not None else idx, idx=idx, dataset_id=dataset.pk, **fields)
        if not store.image_insert_new(dataset.pk, candidate._to_document()):
            continue  # a concurrent add took this id first: look again
        image = candidate
        break
    if image is None:
        raise WorkflowConflict("Images are being added concurrently; retry.")
    image.dataset = dataset
    dataset.num_images = store.image_count(dataset.pk)
    DataSet.objects.filter(pk=dataset.pk).update(num_images=dataset.num_images)
    dataset_add_cover(dataset=dataset)
    return image


class ImageBatch:
    """The write buffer behind ``DataSet.batch_add_image`` / ``finish_batch_add_image``.

    DDS documents the batch API as single-threaded; this buffer is nevertheless guarded by a lock
    so several threads may feed one dataset. Each flush writes new label sets and categories first
    (bulk upserts), then the images with one ``insert_many``, idx assigned in queue order. An id
    that already exists (re-import) is rejected by the unique ``_id`` and then updated in place,
    keeping its idx (its reserved idx stays unused, as in DDS). No per-image query is made.
    ``object_types`` grows as a union over all batches and the types already stored (DDS kept only
    the last batch's, bug §12.2 item 22).

    The image a thread added last stays "open" (unwritten) until that thread adds another image or
    the batch is flushed explicitly, because its annotations are still to come: DDS flushed the
    200th image before the caller could annotate it, losing those annotations. An annotation added
    to an image that was already written re-queues the image, which is then updated in place.

    Each flush turns its images into BSON at once and keeps only the bytes until ``INSERT_SIZE`` are
    pending: the annotation objects of a few images are freed before the cyclic collector promotes
    them, whose full collections of a large batch's objects otherwise cost as much as the work itself.
    """

    def __init__(self, dataset: DataSet, batch_size: int) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self._lock = threading.RLock()
        self._images: dict[Any, ImageModel] = {}
        self._open: dict[int, Any] = {}  # thread id -> key of the image it added last
        self._auto_ids = 0
        self._writer: store.BackgroundWriter[list[dict]] | None = None
        self._encoded: list[RawBSONDocument] = []  # written, not yet handed to an insert
        self._encoded_ids: set[Any] = set()
        self._reset_session()

    def _reset_session(self) -> None:
        self._label_types: dict[str, str] | None = None
        self._categories: set[str] = set()
        self._pending_labels: dict[str, str] = {}
        self._pending_categories: set[str] = set()
        self._object_types: set[str] = set()
        self._next_idx: int | None = None
        self._started_empty = False
        self._first_url: str | None = None

    def _known_label_types(self) -> dict[str, str]:
        if self._label_types is None:
            self._label_types = dict(Label.objects.filter(dataset_id=self.dataset.pk).values_list("name", "type"))
        return self._label_types

    def register(self, label: str, label_type: str, category: str) -> tuple[str, str]:
        """Ids of a label set and category used by a new annotation; a label-type conflict raises 400002."""
        with self._lock:
            known = self._known_label_types()
            existing = known.get(label)
            if existing is None:
                known[label] = label_type
                self._pending_labels[label] = label_type
            elif existing != label_type:
                raise LabelTypeMismatch(
                    f"label {label!r} already exists with type {existing!r}, not {label_type!r}.",
                    detail={"label": label, "existing_type": existing, "label_type": label_type},
                )
            if category not in self._categories:
                self._categories.add(category)
                self._pending_categories.add(category)
        return label_id_for(self.dataset.pk, label), category_id_for(self.dataset.pk, category)

    def add(self, image: ImageModel, explicit_id: bool) -> None:
        with self._lock:
            if explicit_id:
                key: Any = image.id  # the same id twice in a batch: the last one wins
            else:
                self._auto_ids += 1
                key = ("auto", self._auto_ids)
            self._images[key] = image
            self._open[threading.get_ident()] = key
            image.__pydantic_private__["_batch_state"] = QUEUED
            if len(self._images) - len(self._open) >= self.batch_size:
                self.flush(wait=False, keep_open=True)

    def requeue(self, image: ImageModel) -> None:
        """Queue again an image that was written already (it got another annotation)."""
        with self._lock:
            self._images[image.id] = image
            image.__pydantic_private__["_batch_state"] = QUEUED

    def flush(self, *, wait: bool = True, keep_open: bool = False) -> None:
        """Write everything queued (label sets, categories, images, object types).

        ``keep_open`` (the automatic flush of a full buffer) leaves each thread's last image
        queued. With ``wait=False`` the image insert runs on a ``store.BackgroundWriter`` while the
        caller builds the next batch; its error, if any, is raised by the next flush.
        ``batch_save_image`` and ``finish_batch_add_image`` write everything and wait, so their
        writes are visible when they return. Inside an open transaction everything is
        written synchronously in the transaction's session.
        """
        with self._lock:
            self._write_labels_and_categories()
            if keep_open:
                open_keys = set(self._open.values())
                images = [(key, image) for key, image in self._images.items() if key not in open_keys]
                self._images = {key: image for key, image in self._images.items() if key in open_keys}
            else:
                images = list(self._images.items())
                self._images = {}
                self._open = {}
            if not images:
                self._insert_encoded(wait=True)
                return
            if self._next_idx is None:
                # estimated: the exact count scans the collection on some servers; an idx is an
                # order, and re-imported ids keep theirs, so an estimate is safe here.
                self._next_idx = store.image_count(self.dataset.pk, estimate=True)
                self._started_empty = self._next_idx == 0
            object_types: set[str] = set()
            for key, image in images:
                for obj in image.objects:
                    object_types |= annotation_types(obj)
                if image.idx < 0:  # new in this session (a re-queued image keeps its idx)
                    image.idx = self._next_idx
                    self._next_idx += 1
                if isinstance(key, tuple):
                    image.id = image.idx
                image.__pydantic_private__["_batch_state"] = WRITTEN
                if image.id in self._encoded_ids:  # re-queued before its first version was inserted
                    self._insert_encoded(wait=wait)
                document = image_document_of(image)
                if self._first_url is None:
                    self._first_url = document["url"]
                self._encoded.append(RawBSONDocument(bson.encode(document)))
                self._encoded_ids.add(image.id)
            self._insert_encoded(wait=wait, full_only=True)
            self._object_types |= object_types
            dataset_add_object_types(dataset=self.dataset, object_types=self._object_types)

    def _insert_encoded(self, *, wait: bool, full_only: bool = False) -> None:
        """Insert the encoded images: at once (``wait``, or inside a transaction, whose session writes
        everything now), else on the writer thread; ``full_only``: the writer thread's insert only once
        ``INSERT_SIZE`` are pending."""
        now = wait or store.in_transaction()
        if full_only and not now and len(self._encoded) < INSERT_SIZE:
            return
        documents, self._encoded, self._encoded_ids = self._encoded, [], set()
        if now:
            self._wait_for_insert()
            if documents:
                self._inserter()(documents)
        elif documents:
            if self._writer is None:
                self._writer = store.BackgroundWriter(self._inserter(), name="dds-image-writer", depth=1)
            self._writer.put(documents)

    def _wait_for_insert(self) -> None:
        """Wait for the inserts in flight; re-raise their error."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _inserter(self) -> Callable[[list[dict]], None]:
        """Inserts a batch of new images; ids that already exist are updated in place, keeping their idx."""
        insert = store.image_inserter(image_collection_name(self.dataset.pk), update_existing=True)

        def write(documents: list[dict]) -> None:
            for hook in before_images_insert:
                hook(documents)
            insert(documents)

        return write

    def _write_labels_and_categories(self) -> None:
        dataset_id = self.dataset.pk
        if self._pending_labels:
            store.labels_get_or_create(
                label_document(dataset_id, name, label_type) for name, label_type in self._pending_labels.items()
            )
            self._pending_labels = {}
        if self._pending_categories:
            store.categories_get_or_create(
                category_document(dataset_id, name) for name in sorted(self._pending_categories)
            )
            self._pending_categories = set()

    def finish(self) -> None:
        """Flush, then set the image count and the cover; the import session ends here."""
        with self._lock:
            self.flush()
            store.ensure_image_indexes(image_collection_name(self.dataset.pk), force=True)
            self.dataset.num_images = store.image_count(self.dataset.pk, estimate=True)
            DataSet.objects.filter(pk=self.dataset.pk).update(num_images=self.dataset.num_images)
            if self._started_empty and self._first_url and not self.dataset.cover_url:
                # the first image of an empty dataset has the smallest idx: no sort needed
                self.dataset.cover_url = self._first_url.strip()
                DataSet.objects.filter(pk=self.dataset.pk).update(cover_url=self.dataset.cover_url)
            else:
                dataset_add_cover(dataset=self.dataset)
            self._reset_session()


def image_batch_add(
    *,
    dataset: DataSet,
    uri: str,
    thumb_uri: str | None = None,
    width: int | None = None,
    height: int | None = None,
    id_: int | None = None,
    metadata: dict | None = None,
    flag: int = 0,
    flag_ts: int = 0,
) -> ImageModel:
    """Queue an image for the dataset's batch (see ``ImageBatch``); returns it for annotations."""
    fields = _new_image_fields(dataset, uri, thumb_uri, width, height, id_, metadata, flag, flag_ts)
    image = Image(dataset.pk)(
        id=id_ if id_ is not None else -1,  # -1: assigned from idx at flush
        idx=-1,
        dataset_id=dataset.pk,
        **fields,
    )
    image.dataset = dataset
    dataset.image_batch.add(image, explicit_id=id_ is not None)
    return image


# --- flags ------------------------------------------------------------------------------------


def _parse_flag_groups(flag_groups: Any) -> list[tuple[int, list[int]]]:
    if not isinstance(flag_groups, list):
        raise FlagGroupsNotList()
    groups = []
    for group in flag_groups:
        if not isinstance(group, dict):
            raise FlagGroupsNotList()
        if "flag" not in group:
            raise FlagMissing()
        flag = _check_flag(group["flag"])
        if "ids" not in group:
            raise FlagIdsMissing()
        ids = group["ids"]
        if not isinstance(ids, list | tuple):
            raise FlagIdsNotList()
        try:
            ids = [int(value) for value in ids if not isinstance(value, bool)]
        except (TypeError, ValueError) as exc:
            raise FlagIdsNotList("flag object ids must be a list of image ids.") from exc
        if any(abs(value) > MAX_IMAGE_ID for value in ids):
            raise FlagIdsNotList("flag object ids must be a list of image ids.")
        groups.append((flag, ids))
    return groups


def image_flags_set(*, dataset: DataSet, flag_groups: Any) -> None:
    """Set ``flag`` and ``flag_ts`` (seconds) on the images of each group (DDS ``image_flags``).

    All groups are validated first (400100-400104); then the writes run in one transaction and
    the dataset's ``flag_export_link`` is set.
    """
    groups = _parse_flag_groups(flag_groups)
    flag_ts = int(time.time())
    link = f"/files/dataset_flags/{dataset.pk}.tsv"
    with transaction.atomic():
        for flag, ids in groups:
            if ids:
                store.images_set_flag(dataset.pk, ids, flag, flag_ts)
        DataSet.objects.filter(pk=dataset.pk).update(flag_export_link=link)
    dataset.flag_export_link = link
