"""The import framework: an importer yields ``ImageRecord``s, this writes them crash-safely.

Every (re-)import writes into a staging collection of its own attempt,
``images@dataset_<id>@staging_<attempt>``, and swaps it in with one ``renameCollection`` at the
end. Until then the dataset, its images, label sets and categories are untouched, so an exception
or a killed process leaves the dataset exactly as it was; the attempt is recorded as failed
(``detail_status["import"]``). The swap itself is journalled: the final dataset fields are written
to the attempt entry before the rename, and ``recover_import`` rolls an interrupted swap forward.

An attempt declared dead (``datasets.jobs``: its process is gone, or its heartbeat is stale) may
still write late, from a process that lives on or from a batch its killed process had sent. Its
staging collection is its own, so those writes never reach a later attempt; the next import (and
the dataset's deletion) drops the staging collections of dead attempts, an earlier version's
``...@staging`` among them. Every batch is written only after the attempt confirmed it still holds
the job slot, and the journal, the swap and the failure handling are conditional on it too.

A dataset with no images yet (new or failed, status ``importing`` meanwhile, so readers get
404051) is written straight into its empty live collection: the rename would copy every row
again. The attempt entry records ``mode: "direct"`` before the first write; a failure, or the
recovery of a killed attempt, drops that collection, which restores the previous state (no
images) exactly. After an attempt declared dead the next one goes through staging, whose swap
replaces whatever late writes of the dead one reached the live collection.

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
from pymongo.errors import OperationFailure

from datasets import jobs
from datasets.documents import category_document, insert_only, label_document
from datasets.images import (
    REVISION,
    ensure_image_indexes,
    forget_image_indexes,
    image_collection_name,
    legacy_staging_collection_name,
    revision_since,
    staging_collection_name,
    staging_collection_names,
    with_new_revision,
)
from datasets.importers.documents import SOURCE_KEY, image_record_document
from datasets.importers.errors import ImportFormatError, ImportInProgress, failure_reason
from datasets.importers.records import ImageRecord, Problems
from datasets.importers.spool import Spool
from datasets.models import DataSet, DatasetStatus
from datasets.objects import object_types_of
from dds_site import mongo

logger = logging.getLogger(__name__)

JOB_KIND = "import"
DIRECT = "direct"  # journalled mode of an import written straight into the empty live collection
DEFAULT_BATCH_SIZE = 500
# How long the recovery of a killed direct import watches for the server's last insert batch.
_SETTLE_S = 1.0
_STAGING_KEY_INDEX = "source_key_for_late_edits"
_TAKEN_OVER = "another import of this dataset took over"
_NAMESPACE_NOT_FOUND = 26
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


def _staging_of(dataset_id: str, entry: dict) -> str | None:
    """The staging collection of an attempt's entry (None in direct mode)."""
    if entry.get("mode") == DIRECT:
        return None
    return entry.get("staging") or legacy_staging_collection_name(dataset_id)


def _rename(source: str, target: str) -> None:
    database = mongo.get_database()
    database.client.admin.command(
        "renameCollection", f"{database.name}.{source}", to=f"{database.name}.{target}", dropTarget=True
    )


class _Writer(threading.Thread):
    """Inserts document batches on its own thread, so parsing overlaps the server's work.

    Before each batch it confirms that its attempt still holds the job slot (one small
    conditional write), so an attempt declared dead stops writing.
    """

    def __init__(self, collection, record: jobs.JobRecord) -> None:
        super().__init__(name="dds-import-writer", daemon=True)
        self._collection = collection
        self._record = record
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.error is None:
                try:
                    if not self._record.beat():
                        raise ImportInProgress(_TAKEN_OVER)
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
            *insert_only(label_document(dataset_id, name, label_type)), upsert=True
        )
    for name in categories:
        mongo.get_collection("categories").update_one(*insert_only(category_document(dataset_id, name)), upsert=True)


def _complete_swap(dataset_id: str, entry: dict, record: jobs.JobRecord) -> None:
    """Roll a journalled swap of ``record``'s attempt forward: labels, categories, rename, dataset
    fields. Idempotent; the last step is conditional on the attempt still holding the slot."""
    pending = entry["pending"]
    _write_labels_and_categories(dataset_id, pending["labels"], pending["categories"])
    database = mongo.get_database()
    staging = _staging_of(dataset_id, entry)
    if staging and staging in database.list_collection_names(filter={"name": staging}):
        try:
            _rename(staging, image_collection_name(dataset_id))
        except OperationFailure as exc:
            # Renamed meanwhile: by the attempt itself, which woke up after a recovery adopted it.
            if exc.code != _NAMESPACE_NOT_FOUND:
                raise
        forget_image_indexes(database.name, staging)
    fields = {key: pending[key] for key in _SWAP_FIELDS}
    record.finish_with(dataset_fields=fields, unset=("pending",), **pending["result"])


def recover_import(dataset_id: str) -> str | None:
    """Finish an interrupted swap, or close a dead import; returns what was done.

    The dead attempt's entry is adopted first (``jobs.adopt_stale``), so while its leftovers are
    cleaned up no new attempt can start, and of several processes looking only one recovers.
    """
    entry = jobs.job_entry(dataset_id, JOB_KIND)
    if not entry or entry.get("state") not in jobs.LIVE_STATES:
        return None
    record = jobs.adopt_stale(dataset_id, JOB_KIND, entry)
    if record is None:
        return None
    with record.heartbeat():
        if entry.get("state") == jobs.SWAPPING and "pending" in entry:
            _complete_swap(dataset_id, entry, record)
            return "completed"
        staging = _staging_of(dataset_id, entry)
        if staging:
            _drop_collection(staging)
        else:
            _empty_live_collection(dataset_id, settle_s=_SETTLE_S)
        mongo.get_collection("datasets").update_one(
            {"_id": dataset_id, "status": DatasetStatus.IMPORTING}, {"$set": {"status": DatasetStatus.FAILED}}
        )
        record.fail(jobs.DIED, abandoned=True)
    return "failed"


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
    with record.heartbeat():
        result = _run_attempt(dataset, importer, record, skip_invalid, progress, batch_size)
    for key, value in _dataset_fields(dataset.id).items():
        setattr(dataset, key, value)
    return result


def _run_attempt(
    dataset: DataSet,
    importer: Importer,
    record: jobs.JobRecord,
    skip_invalid: bool,
    progress: ProgressCallback | None,
    batch_size: int,
) -> ImportResult:
    started = time.monotonic()
    new_dataset = dataset.status in (DatasetStatus.WAITING, DatasetStatus.FAILED) and not dataset.num_images
    if new_dataset:
        DataSet.objects.filter(pk=dataset.id).update(status=DatasetStatus.IMPORTING)
    # After an attempt declared dead, late writes of it may still reach the live collection: only the
    # swap of a staging collection (which replaces the live one whole) is safe from them then.
    abandoned = bool((record.previous or {}).get("abandoned"))
    direct = new_dataset and not abandoned and _live_is_empty(dataset.id)
    staging = None if direct else staging_collection_name(dataset.id, record.attempt)
    try:
        # Journalled before the first write, so a recovery knows what to undo.
        if not record.update(**({"mode": DIRECT} if direct else {"staging": staging})):
            raise ImportInProgress(_TAKEN_OVER)
        result = _import(dataset, importer, record, skip_invalid, progress, batch_size, staging=staging)
    except BaseException as exc:
        _close_failed(dataset.id, record, exc, new_dataset=new_dataset, staging=staging)
        raise
    result.seconds = time.monotonic() - started
    record.annotate(seconds=round(result.seconds, 3))
    return result


def _close_failed(
    dataset_id: str, record: jobs.JobRecord, exc: BaseException, *, new_dataset: bool, staging: str | None
) -> None:
    """Undo a failed attempt's writes and record its failure, as far as the database lets us.

    Nothing is undone once the attempt no longer holds the slot: a newer attempt (or the recovery
    of this one) owns the dataset's collections then. Nor once it journalled its swap: the swap
    may be half done, and ``recover_import`` rolls it forward once this attempt's heartbeat stopped.
    A failure here is logged; the caller re-raises the import's own error.
    """
    try:
        if not record.beat():
            entry = jobs.job_entry(dataset_id, JOB_KIND) or {}
            # Its own staging is nobody else's, unless a recovery adopted this attempt to roll its swap forward.
            if staging and entry.get("attempt") != record.attempt:
                _drop_collection(staging)
            return
        if (jobs.job_entry(dataset_id, JOB_KIND) or {}).get("state") == jobs.SWAPPING:
            return
        if new_dataset:
            DataSet.objects.filter(pk=dataset_id, status=DatasetStatus.IMPORTING).update(status=DatasetStatus.FAILED)
        if staging:
            _drop_collection(staging)
        elif new_dataset:
            _empty_live_collection(dataset_id)
        detail = getattr(exc, "detail", None)
        record.fail(failure_reason(exc), error=detail if isinstance(detail, dict) else None)
    except Exception:
        logger.exception("could not close the failed import of dataset %s", dataset_id)


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


def _drop_dead_stagings(dataset_id: str, keep: str | None) -> None:
    """Drop the staging collections of the dataset's earlier attempts (all dead: this one holds the slot)."""
    for name in staging_collection_names(mongo.get_database(), dataset_id):
        if name != keep:
            _drop_collection(name)


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
    staging: str | None,
) -> ImportResult:
    """Write the images into ``staging``, or straight into the empty live collection if None."""
    dataset_id = dataset.id
    direct = staging is None
    _drop_dead_stagings(dataset_id, keep=staging)
    if direct:  # empty; unindexed inserts and one index build after are faster than indexed inserts
        _drop_collection(image_collection_name(dataset_id))
    target = connections["default"].get_collection(image_collection_name(dataset_id) if direct else staging)
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
        writer = _Writer(target, record)
        writer.start()
        try:
            batch: list[dict] = []
            for image in importer.iter_images(problems):
                # Ids are unique per importer (COCO checks duplicates; the others number images).
                image_id = image.id if image.id is not None else count
                document = image_record_document(
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
    ensure_image_indexes(target, force=True)
    lap("index")
    late_edits, late_types = 0, set()
    if not direct:  # in direct mode there was no previous image to carry work from
        # Last before the swap, so the time in which an edit can still be missed is short.
        late_edits, late_types = _carry_late_user_edits(dataset_id, target, fingerprints, carry_started)
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
        raise ImportInProgress(_TAKEN_OVER)
    where = {"mode": DIRECT} if direct else {"staging": staging}
    _complete_swap(dataset_id, {**where, "pending": pending}, record)
    lap("swap")
    result.phases = phases
    logger.info("import of dataset %s: %d images, phases %s", dataset_id, count, phases)
    return result


def import_status(dataset_id: str) -> dict[str, Any] | None:
    """The dataset's import entry (after closing a dead attempt)."""
    recover_import(dataset_id)
    return jobs.job_entry(dataset_id, JOB_KIND)
