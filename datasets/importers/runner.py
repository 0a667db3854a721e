"""The import framework: an importer yields ``ImageRecord``s, this writes them crash-safely.

Every (re-)import writes into a staging collection ``images@dataset_<id>@staging`` and swaps
it in with one ``renameCollection`` at the end. Until then the dataset, its images, label sets
and categories are untouched, so an exception or a killed process leaves the dataset exactly
as it was; the attempt is recorded as failed (``detail_status["import"]``). The swap itself is
journalled: the final dataset fields are written to the attempt entry before the rename, and
``recover_import`` rolls an interrupted swap forward.

A dataset with no images yet (new or failed, status ``importing`` meanwhile, so readers get
404051) is written straight into its empty live collection: the rename would copy every row
again. The attempt entry records ``mode: "direct"`` before the first write; a failure, or the
recovery of a killed attempt, drops that collection, which restores the previous state (no
images) exactly.

User-type objects and flags of the previous images are carried over by the images' stable
source key (COCO id, file name, TSV image id), not by position (DDS bug §12.22). Those edited
while the import ran are found by their revision (``datasets.images.REVISION``) right before
the swap, looking again until a look finds nothing new.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connections

from datasets import jobs
from datasets.images import (
    REVISION,
    ensure_image_indexes,
    forget_image_indexes,
    image_collection_name,
    revision_since,
    with_new_revision,
)
from datasets.importers.documents import SOURCE_KEY, image_document
from datasets.importers.errors import ImportFormatError, ImportInProgress, failure_reason
from datasets.importers.records import ImageRecord, Problems
from datasets.importers.spool import Spool
from datasets.models import DataSet, DatasetStatus
from datasets.objects import object_types_of
from datasets.services import category_id_for, label_id_for
from dds_site import mongo

logger = logging.getLogger(__name__)

JOB_KIND = "import"
DIRECT = "direct"  # journalled mode of an import written straight into the empty live collection
DEFAULT_BATCH_SIZE = 500
# How long the recovery of a killed direct import watches for the server's last insert batch.
_SETTLE_S = 1.0
_STAGING_KEY_INDEX = "source_key_for_late_edits"
# Dataset fields an import sets at the swap.
_SWAP_FIELDS = ("num_images", "object_types", "cover_url", "type", "path", "files", "status")

ProgressCallback = Callable[[int, int | None], None]


class Importer(Protocol):
    """What the framework needs from a format parser."""

    dataset_type: str
    total: int | None  # number of images once known (for progress), else None

    @property
    def files(self) -> dict[str, str]: ...

    def iter_images(self, problems: Problems) -> Iterator[ImageRecord]: ...


@dataclass
class ImportResult:
    dataset_id: str
    num_images: int
    skipped: int = 0
    skipped_examples: list[dict] = field(default_factory=list)
    carried_images: int = 0
    dropped_user_images: int = 0
    late_user_edits: int = 0  # images whose user work changed during the import, carried too
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, for tuning

    def as_dict(self) -> dict:
        return {
            "num_images": self.num_images,
            "skipped": self.skipped,
            "skipped_examples": self.skipped_examples,
            "carried_images": self.carried_images,
            "dropped_user_images": self.dropped_user_images,
            "late_user_edits": self.late_user_edits,
            "seconds": round(self.seconds, 3),
        }


def staging_collection_name(dataset_id: str) -> str:
    return f"{image_collection_name(dataset_id)}@staging"


def _rename(source: str, target: str) -> None:
    database = mongo.get_database()
    database.client.admin.command(
        "renameCollection", f"{database.name}.{source}", to=f"{database.name}.{target}", dropTarget=True
    )


class _Writer(threading.Thread):
    """Inserts document batches on its own thread, so parsing overlaps the server's work."""

    def __init__(self, collection) -> None:
        super().__init__(name="dds-import-writer", daemon=True)
        self._collection = collection
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    self._collection.insert_many(batch, ordered=False)
                except BaseException as exc:  # noqa: BLE001 - re-raised on the importing thread
                    self.error = exc

    def put(self, batch: list[dict]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(batch)

    def close(self) -> None:
        self._queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error


_USER_STATE_FIELDS = {"objects": 1, "flag": 1, "flag_ts": 1, SOURCE_KEY: 1}
# A re-import looks for edits made meanwhile until a look finds none, at most this many times.
_LATE_EDIT_PASSES = 5
_NO_USER_WORK = hash(repr(([], 0, 0)))


def _user_state(document: dict) -> tuple[str, tuple[list, int, int]]:
    """``(source key, (User objects, flag, flag_ts))`` of an image document."""
    key = document.get(SOURCE_KEY) or str(document["_id"])
    user_objects = [obj for obj in document.get("objects") or () if obj.get("label_type") == "User"]
    return key, (user_objects, document.get("flag") or 0, document.get("flag_ts") or 0)


def _user_carry(dataset_id: str, spool: Spool) -> dict[str, int]:
    """Spool each previous image's User objects and flag by source key; returns key -> fingerprint."""
    fingerprints = {}
    cursor = mongo.get_collection(image_collection_name(dataset_id)).find(
        {"$or": [{"flag": {"$nin": [0, None]}}, {"objects.label_type": "User"}]}, _USER_STATE_FIELDS
    )
    for document in cursor:
        key, state = _user_state(document)
        spool.add_carry(key, state)
        fingerprints[key] = hash(repr(state))
    return fingerprints


def _carry_late_user_edits(
    dataset_id: str, staging, fingerprints: dict[str, int], since: float
) -> tuple[int, set[str]]:
    """Carry user work done on the live images since ``since`` (a time) into staging.

    Each look reads only the live images written since the previous look began, by their
    indexed revision; the swap follows the first look that finds nothing new, so only an edit
    made in its last milliseconds can be missed. Returns (images changed, their object types).
    """
    live = mongo.get_collection(image_collection_name(dataset_id))
    changed: set[str] = set()
    types: set[str] = set()
    keyed = False
    for _look in range(_LATE_EDIT_PASSES):
        started = time.time()
        found = False
        for document in live.find({REVISION: {"$gte": revision_since(since)}}, _USER_STATE_FIELDS):
            key, state = _user_state(document)
            fingerprint = hash(repr(state))
            if fingerprints.get(key, _NO_USER_WORK) == fingerprint:
                continue
            if not keyed:  # staging is looked up by source key: indexed only when there is an edit
                staging.create_index(SOURCE_KEY, name=_STAGING_KEY_INDEX)
                keyed = True
            user_objects, flag, flag_ts = state
            for obj in user_objects:
                types |= object_types_of(obj)
            staging.update_one({SOURCE_KEY: key}, with_new_revision({"$pull": {"objects": {"label_type": "User"}}}))
            staging.update_one(
                {SOURCE_KEY: key},
                with_new_revision(
                    {"$push": {"objects": {"$each": user_objects}}, "$set": {"flag": flag, "flag_ts": flag_ts}}
                ),
            )
            fingerprints[key] = fingerprint
            changed.add(key)
            found = True
        if not found:
            break
        since = started
    if keyed:
        staging.drop_index(_STAGING_KEY_INDEX)
    return len(changed), types


def _check_label_types(dataset_id: str, labels: dict[str, str]) -> None:
    """A label set may not change type (e.g. a prediction set named like a GT set)."""
    existing = mongo.get_collection("labels").find({"dataset_id": dataset_id}, {"name": 1, "type": 1})
    for document in existing:
        wanted = labels.get(document.get("name"))
        if wanted is not None and document.get("type") != wanted:
            raise ImportFormatError(
                f"label set {document['name']!r} exists with type {document.get('type')!r}, not {wanted!r}",
                field="label",
            )


def _write_labels_and_categories(dataset_id: str, labels: dict[str, str], categories: list[str]) -> None:
    """Get-or-create (idempotent upserts by md5 id)."""
    for name, label_type in labels.items():
        mongo.get_collection("labels").update_one(
            {"_id": label_id_for(dataset_id, name)},
            {
                "$setOnInsert": {
                    "name": name,
                    "type": label_type,
                    "dataset_id": dataset_id,
                    "compare_precisions": [],
                    "clone_from_label": "",
                }
            },
            upsert=True,
        )
    for name in categories:
        mongo.get_collection("categories").update_one(
            {"_id": category_id_for(dataset_id, name)},
            {"$setOnInsert": {"name": name, "dataset_id": dataset_id}},
            upsert=True,
        )


def _complete_swap(dataset_id: str, entry: dict) -> None:
    """Roll a journalled swap forward: labels, categories, rename, dataset fields. Idempotent."""
    pending = entry["pending"]
    _write_labels_and_categories(dataset_id, pending["labels"], pending["categories"])
    database = mongo.get_database()
    staging = staging_collection_name(dataset_id)
    if staging in database.list_collection_names(filter={"name": staging}):
        _rename(staging, image_collection_name(dataset_id))
        forget_image_indexes(database.name, staging)
    fields = {key: pending[key] for key in _SWAP_FIELDS}
    record = jobs.JobRecord(dataset_id, JOB_KIND, entry["attempt"])
    mongo.get_collection("datasets").update_one(
        {"_id": dataset_id, f"detail_status.{JOB_KIND}.attempt": entry["attempt"]},
        {"$set": fields, "$unset": {f"detail_status.{JOB_KIND}.pending": ""}},
    )
    record.finish(**pending["result"])


def recover_import(dataset_id: str) -> str | None:
    """Finish an interrupted swap, or mark a dead import failed; returns what was done."""
    entry = jobs.job_entry(dataset_id, JOB_KIND)
    if not entry:
        return None
    if entry.get("state") == jobs.SWAPPING and "pending" in entry and jobs.entry_is_stale(entry):
        _complete_swap(dataset_id, entry)
        return "completed"
    if jobs.mark_stale_failed(dataset_id, JOB_KIND):
        _drop_staging(dataset_id)
        if entry.get("mode") == DIRECT:
            _empty_live_collection(dataset_id, settle_s=_SETTLE_S)
        mongo.get_collection("datasets").update_one(
            {"_id": dataset_id, "status": DatasetStatus.IMPORTING}, {"$set": {"status": DatasetStatus.FAILED}}
        )
        return "failed"
    return None


def run_import(
    dataset: DataSet,
    importer: Importer,
    *,
    skip_invalid: bool = False,
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportResult:
    """Import ``importer``'s images into ``dataset``, replacing its images at the very end.

    Raises ``ImportFormatError`` (400002) for bad input, ``ImportInProgress`` (409) if another
    import of the dataset runs; either way the dataset's images are unchanged.
    """
    recover_import(dataset.id)
    record = jobs.job_start(dataset.id, JOB_KIND, files=importer.files)
    if record is None:
        raise ImportInProgress()
    started = time.monotonic()
    new_dataset = dataset.status in (DatasetStatus.WAITING, DatasetStatus.FAILED) and not dataset.num_images
    if new_dataset:
        DataSet.objects.filter(pk=dataset.id).update(status=DatasetStatus.IMPORTING)
    direct = new_dataset and _live_is_empty(dataset.id)
    try:
        if direct and not record.update(mode=DIRECT):
            raise ImportInProgress("another import of this dataset took over")
        result = _import(dataset, importer, record, skip_invalid, progress, batch_size, direct=direct)
    except BaseException as exc:
        reason = failure_reason(exc)
        detail = getattr(exc, "detail", None)
        still_mine = (jobs.job_entry(dataset.id, JOB_KIND) or {}).get("attempt") == record.attempt
        record.fail(reason, error=detail if isinstance(detail, dict) else None)
        reverted = new_dataset and DataSet.objects.filter(pk=dataset.id, status=DatasetStatus.IMPORTING).update(
            status=DatasetStatus.FAILED
        )
        _drop_staging(dataset.id)
        # Not if a newer attempt writes the live collection now, nor once the swap set the dataset ready.
        if direct and still_mine and reverted:
            _empty_live_collection(dataset.id)
        raise
    result.seconds = time.monotonic() - started
    record.update(seconds=round(result.seconds, 3))
    for key, value in _dataset_fields(dataset.id).items():
        setattr(dataset, key, value)
    return result


def _live_is_empty(dataset_id: str) -> bool:
    return mongo.get_collection(image_collection_name(dataset_id)).find_one({}, {"_id": 1}) is None


def _empty_live_collection(dataset_id: str, *, settle_s: float = 0.0) -> None:
    """Undo a direct import: the live collection as a new dataset has it (empty, indexed).

    After a killed attempt the server may still apply the insert batch it was sent last, after
    the drop: ``settle_s`` keeps watching that long after the last drop and drops again. (Any
    straggler later than that stays in a failed dataset, and the next import, seeing images,
    goes through the staging collection, whose swap replaces them.)
    """
    name = image_collection_name(dataset_id)
    collection = mongo.get_collection(name)
    deadline = time.monotonic() + 10 * settle_s
    quiet_until = time.monotonic() + settle_s
    _drop_collection(name)
    while time.monotonic() < min(quiet_until, deadline):
        time.sleep(0.05)
        if collection.find_one({}, {"_id": 1}) is not None:
            _drop_collection(name)
            quiet_until = time.monotonic() + settle_s
    try:
        ensure_image_indexes(collection, force=True)
    except Exception:
        logger.exception("could not re-create the indexes of %s", name)


def _drop_staging(dataset_id: str) -> None:
    _drop_collection(staging_collection_name(dataset_id))


def _drop_collection(name: str) -> None:
    try:
        mongo.get_database().drop_collection(name)
        forget_image_indexes(mongo.get_database().name, name)
    except Exception:
        logger.exception("could not drop the image collection %s", name)


def _dataset_fields(dataset_id: str) -> dict:
    document = mongo.get_collection("datasets").find_one({"_id": dataset_id}) or {}
    return {key: document.get(key) for key in (*_SWAP_FIELDS, "detail_status")}


def _import(
    dataset: DataSet,
    importer: Importer,
    record: jobs.JobRecord,
    skip_invalid: bool,
    progress: ProgressCallback | None,
    batch_size: int,
    *,
    direct: bool = False,
) -> ImportResult:
    dataset_id = dataset.id
    staging_name = staging_collection_name(dataset_id)
    database = mongo.get_database()
    database.drop_collection(staging_name)  # left over by a killed attempt
    if direct:  # empty; unindexed inserts and one index build after are faster than indexed inserts
        _drop_collection(image_collection_name(dataset_id))
    # ``staging`` is where the images go: the live collection itself in direct mode.
    staging = connections["default"].get_collection(image_collection_name(dataset_id) if direct else staging_name)
    problems = Problems(skip_invalid)
    labels: dict[str, str] = {}
    categories: set[str] = set()
    object_types: set[str] = set()
    cover_url = None
    count = 0
    clock = time.monotonic()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        phases[name] = round(now - clock, 3)
        clock = now

    with Spool() as carry:
        carry_started = time.time()
        fingerprints = _user_carry(dataset_id, carry)
        carried_total = len(fingerprints)
        carried = 0
        writer = _Writer(staging)
        writer.start()
        try:
            batch: list[dict] = []
            for image in importer.iter_images(problems):
                # Ids are unique per importer (COCO checks duplicates; the others number images).
                image_id = image.id if image.id is not None else count
                document = image_document(
                    image, image_id=image_id, idx=count, dataset_id=dataset_id, dataset_type=importer.dataset_type
                )
                if carried_total:
                    previous = carry.pop_carry(image.key)
                    if previous is not None:
                        user_objects, flag, flag_ts = previous
                        document["objects"].extend(user_objects)
                        document["flag"], document["flag_ts"] = flag, flag_ts
                        carried += 1
                for obj in document["objects"]:
                    labels.setdefault(obj["label_name"], obj["label_type"])
                    if obj["category_name"]:
                        categories.add(obj["category_name"])
                    object_types |= object_types_of(obj)
                if cover_url is None:
                    cover_url = document["url"]
                batch.append(document)
                count += 1
                if len(batch) >= batch_size:
                    if "first_batch" not in phases:
                        lap("first_batch")  # parsing / spooling before the first write
                    writer.put(batch)
                    batch = []
                    record.progress(count, importer.total)
                    if progress:
                        progress(count, importer.total)
            if batch:
                writer.put(batch)
        finally:
            writer.close()
        lap("write")
        record.progress(count, importer.total, force=True)
        if progress:
            progress(count, importer.total)
        dropped = carry.count_carry()
    if count == 0:
        raise ImportFormatError("no images to import", file=next(iter(importer.files.values()), ""))
    _check_label_types(dataset_id, labels)
    # The staging collection exists only if something was inserted; indexes before the swap.
    ensure_image_indexes(staging, force=True)
    lap("index")
    late_edits, late_types = 0, set()
    if not direct:  # in direct mode there was no previous image to carry work from
        # Last before the swap, so the time in which an edit can still be missed is short.
        late_edits, late_types = _carry_late_user_edits(dataset_id, staging, fingerprints, carry_started)
    object_types |= late_types
    result = ImportResult(
        dataset_id=dataset_id,
        num_images=count,
        skipped=problems.skipped,
        skipped_examples=problems.examples,
        carried_images=carried,
        dropped_user_images=dropped,
        late_user_edits=late_edits,
    )
    pending = {
        "num_images": count,
        "object_types": sorted(object_types),
        "cover_url": cover_url,
        "type": importer.dataset_type,
        "path": next(iter(importer.files.values()), None),
        "files": importer.files,
        "status": DatasetStatus.READY,
        "labels": labels,
        "categories": sorted(categories),
        "result": result.as_dict(),
    }
    if not record.update(state=jobs.SWAPPING, pending=pending):
        raise ImportInProgress("another import of this dataset took over")
    _complete_swap(dataset_id, {"attempt": record.attempt, "pending": pending})
    lap("swap")
    result.phases = phases
    logger.info("import of dataset %s: %d images, phases %s", dataset_id, count, phases)
    return result


def import_status(dataset_id: str) -> dict[str, Any] | None:
    """The dataset's import entry (after closing a dead attempt)."""
    recover_import(dataset_id)
    return jobs.job_entry(dataset_id, JOB_KIND)
