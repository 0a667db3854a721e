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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from datasets import jobs, store
from datasets.documents import category_document, label_document
from datasets.images import (
    image_collection_name,
    legacy_staging_collection_name,
    staging_collection_name,
)
from datasets.importers.documents import SOURCE_KEY, image_record_document
from datasets.importers.errors import ImportFormatError, ImportInProgress, failure_reason
from datasets.importers.records import ImageRecord, Problems
from datasets.importers.spool import Spool
from datasets.importers.swap_extras import complete_swap_extras, journal_entry
from datasets.models import DataSet, DatasetStatus, Label
from datasets.objects import object_types_of
from dds_site.gcpause import collector_paused

logger = logging.getLogger(__name__)

JOB_KIND = "import"
DIRECT = "direct"  # journalled mode of an import written straight into the empty live collection
DEFAULT_BATCH_SIZE = 500
# How long the recovery of a killed direct import watches for the server's last insert batch.
_SETTLE_S = 1.0
_TAKEN_OVER = "another import of this dataset took over"
# Dataset fields an import sets at the swap.
_SWAP_FIELDS = ("num_images", "object_types", "cover_url", "type", "path", "files", "status")

ProgressCallback = Callable[[int, int | None], None]

# Seams for tests that interleave other work with an import, or stop it at a given point. Each
# hook is called with the arguments named, on the importing thread.
before_batch_write: list[Callable[[list[dict]], None]] = []  # a batch of documents, before it is queued
before_index: list[Callable[[str], None]] = []  # the collection written, before its indexes are built
before_late_edit_look: list[Callable[[str], None]] = []  # the dataset id, before each look for late edits
after_swap_journal: list[Callable[[str], None]] = []  # the dataset id, once the swap is journalled
before_rename: list[Callable[[str, str], None]] = []  # the staging and live names, before the swap's rename


def _call(hooks: list[Callable], *args: Any) -> None:
    for hook in hooks:
        hook(*args)


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
    warnings: dict[str, int] = field(default_factory=dict)  # records imported with a correction, by kind
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
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
        }


def _staging_of(dataset_id: str, entry: dict) -> str | None:
    """The staging collection of an attempt's entry (None in direct mode)."""
    if entry.get("mode") == DIRECT:
        return None
    return entry.get("staging") or legacy_staging_collection_name(dataset_id)


def _batch_writer(name: str, record: jobs.JobRecord) -> Callable[[list[dict]], None]:
    """Inserts a batch into ``name`` once its attempt confirmed it still holds the job slot (one
    small conditional write), so an attempt declared dead stops writing."""
    insert = store.image_inserter(name)

    def write(batch: list[dict]) -> None:
        if not record.beat():
            raise ImportInProgress(_TAKEN_OVER)
        insert(batch)

    return write


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
    for document in store.images_with_user_work(dataset_id, _USER_STATE_FIELDS):
        key, state = _user_state(document)
        spool.add_carry(key, state)
        fingerprints[key] = hash(repr(state))
    return fingerprints


def _carry_late_user_edits(
    dataset_id: str, staging: str, fingerprints: dict[str, int], since: float
) -> tuple[int, set[str]]:
    """Carry user work done on the live images since ``since`` (a time) into staging.

    Each look reads only the live images written since the previous look began, by their
    indexed revision; the swap follows the first look that finds nothing new, so only an edit
    made in its last milliseconds can be missed. Returns (images changed, their object types).
    """
    changed: set[str] = set()
    types: set[str] = set()
    keyed = False
    for _look in range(_LATE_EDIT_PASSES):
        _call(before_late_edit_look, dataset_id)
        started = time.time()
        found = False
        for document in store.images_written_since(dataset_id, since, _USER_STATE_FIELDS):
            key, state = _user_state(document)
            fingerprint = hash(repr(state))
            if fingerprints.get(key, _NO_USER_WORK) == fingerprint:
                continue
            if not keyed:  # staging is looked up by source key: indexed only when there is an edit
                store.staging_index_source_key(staging, SOURCE_KEY)
                keyed = True
            for obj in state[0]:
                types |= object_types_of(obj)
            store.staging_replace_user_work(staging, SOURCE_KEY, key, state)
            fingerprints[key] = fingerprint
            changed.add(key)
            found = True
        if not found:
            break
        since = started
    if keyed:
        store.staging_drop_source_key_index(staging)
    return len(changed), types


def _check_label_types(dataset_id: str, labels: dict[str, str]) -> None:
    """A label set may not change type (e.g. a prediction set named like a GT set)."""
    for name, label_type in Label.objects.filter(dataset_id=dataset_id).values_list("name", "type"):
        wanted = labels.get(name)
        if wanted is not None and label_type != wanted:
            raise ImportFormatError(
                f"label set {name!r} exists with type {label_type!r}, not {wanted!r}", field="label"
            )


def _write_labels_and_categories(dataset_id: str, labels: dict[str, str], categories: list[str]) -> None:
    """Get-or-create (idempotent upserts by md5 id)."""
    store.labels_get_or_create(label_document(dataset_id, name, label_type) for name, label_type in labels.items())
    store.categories_get_or_create(category_document(dataset_id, name) for name in categories)


def _complete_swap(dataset_id: str, entry: dict, record: jobs.JobRecord) -> None:
    """Roll a journalled swap of ``record``'s attempt forward: labels, categories, rename, dataset
    fields. Idempotent; the last step is conditional on the attempt still holding the slot."""
    pending = entry["pending"]
    # First, so the categories of the source are created with their source fields in one write.
    complete_swap_extras(dataset_id, pending)
    _write_labels_and_categories(dataset_id, pending["labels"], pending["categories"])
    staging = _staging_of(dataset_id, entry)
    if staging and store.collection_exists(staging):
        _call(before_rename, staging, image_collection_name(dataset_id))
        # False when renamed meanwhile: by the attempt itself, which woke up after a recovery adopted it.
        store.rename_image_collection(staging, image_collection_name(dataset_id))
    fields = {key: pending[key] for key in _SWAP_FIELDS}
    record.finish_with(dataset_fields=fields, unset=("pending",), phase="done", **pending["result"])


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
        DataSet.objects.filter(pk=dataset_id, status=DatasetStatus.IMPORTING).update(status=DatasetStatus.FAILED)
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
    record = jobs.job_start(dataset.id, JOB_KIND, files=importer.files, phase="reading")
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
    return store.collection_is_empty(image_collection_name(dataset_id))


def _empty_live_collection(dataset_id: str, *, settle_s: float = 0.0) -> None:
    """Undo a direct import: the live collection as a new dataset has it (empty, indexed).

    After a killed attempt the server may still apply the insert batch it was sent last, after
    the drop: ``settle_s`` keeps watching that long after the last drop and drops again. (Any
    straggler later than that stays in a failed dataset, and the next import, seeing images,
    goes through the staging collection, whose swap replaces them.)
    """
    name = image_collection_name(dataset_id)
    deadline = time.monotonic() + 10 * settle_s
    quiet_until = time.monotonic() + settle_s
    _drop_collection(name)
    while time.monotonic() < min(quiet_until, deadline):
        time.sleep(0.05)
        if not store.collection_is_empty(name):
            _drop_collection(name)
            quiet_until = time.monotonic() + settle_s
    try:
        store.ensure_image_indexes(name, force=True)
    except Exception:
        logger.exception("could not re-create the indexes of %s", name)


def _drop_dead_stagings(dataset_id: str, keep: str | None) -> None:
    """Drop the staging collections of the dataset's earlier attempts (all dead: this one holds the slot)."""
    for name in store.staging_collection_names(dataset_id):
        if name != keep:
            _drop_collection(name)


def _drop_collection(name: str) -> None:
    try:
        store.drop_image_collection(name)
    except Exception:
        logger.exception("could not drop the image collection %s", name)


def _dataset_fields(dataset_id: str) -> dict:
    fields = (*_SWAP_FIELDS, "detail_status")
    return DataSet.objects.filter(pk=dataset_id).values(*fields).first() or dict.fromkeys(fields)


class _Laps:
    """Seconds per phase of an import, for tuning."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._clock = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = round(now - self._clock, 3)
        self._clock = now


@dataclass
class _Written:
    """What an import wrote, gathered as it goes: what the swap sets on the dataset."""

    count: int = 0
    carried: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    categories: set[str] = field(default_factory=set)
    object_types: set[str] = field(default_factory=set)
    cover_url: str | None = None

    def add(self, document: dict) -> None:
        for obj in document["objects"]:
            self.labels.setdefault(obj["label_name"], obj["label_type"])
            if obj["category_name"]:
                self.categories.add(obj["category_name"])
            self.object_types |= object_types_of(obj)
        if self.cover_url is None:
            self.cover_url = document["url"]
        self.count += 1


def _carry_user_work(document: dict, previous: tuple[list, int, int] | None) -> bool:
    """Add a previous image's User objects and flag to its new document; False if there were none."""
    if previous is None:
        return False
    user_objects, flag, flag_ts = previous
    document["objects"].extend(user_objects)
    document["flag"], document["flag_ts"] = flag, flag_ts
    return True


def _write_images(
    dataset_id: str,
    importer: Importer,
    problems: Problems,
    carry: Spool,
    writer: store.BackgroundWriter[list[dict]],
    record: jobs.JobRecord,
    progress: ProgressCallback | None,
    batch_size: int,
    laps: _Laps,
) -> _Written:
    """Build every image's document (with the user work carried over) and hand them to ``writer`` in batches."""
    written = _Written()
    carrying = carry.count_carry() > 0
    batch: list[dict] = []
    for image in importer.iter_images(problems):
        # Ids are unique per importer (COCO checks duplicates; the others number images).
        image_id = image.id if image.id is not None else written.count
        document = image_record_document(
            image, image_id=image_id, idx=written.count, dataset_id=dataset_id, dataset_type=importer.dataset_type
        )
        if carrying and _carry_user_work(document, carry.pop_carry(image.key)):
            written.carried += 1
        written.add(document)
        batch.append(document)
        if len(batch) >= batch_size:
            if "first_batch" not in laps.phases:
                laps.lap("first_batch")  # parsing / spooling before the first write
                record.update(phase="writing")
            _put(writer, batch)
            batch = []
            _report(record, progress, written.count + problems.skipped_images, importer.total)
    if batch:
        _put(writer, batch)
    return written


def _put(writer: store.BackgroundWriter[list[dict]], batch: list[dict]) -> None:
    _call(before_batch_write, batch)
    writer.put(batch)


def _report(
    record: jobs.JobRecord, progress: ProgressCallback | None, done: int, total: int | None, *, force: bool = False
) -> None:
    record.progress(done, total, force=force)
    if progress:
        progress(done, total)


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
    target = image_collection_name(dataset_id) if direct else staging
    if direct:  # empty; unindexed inserts and one index build after are faster than indexed inserts
        _drop_collection(target)
    problems = Problems(skip_invalid)
    laps = _Laps()
    with Spool() as carry:
        carry_started = time.time()
        fingerprints = _user_carry(dataset_id, carry)
        # The documents built hold no reference cycles: the collector's rescans of them are pure cost.
        writer = store.BackgroundWriter(_batch_writer(target, record), name="dds-import-writer")
        with collector_paused(), writer:
            written = _write_images(dataset_id, importer, problems, carry, writer, record, progress, batch_size, laps)
        laps.lap("write")
        # Skipped images are work done too: the progress ends at the importer's total.
        _report(record, progress, written.count + problems.skipped_images, importer.total, force=True)
        dropped = carry.count_carry()
    if written.count == 0:
        raise ImportFormatError("no images to import", file=next(iter(importer.files.values()), ""))
    _check_label_types(dataset_id, written.labels)
    # The staging collection exists only if something was inserted; indexes before the swap.
    record.update(phase="indexing")
    _call(before_index, target)
    store.ensure_image_indexes(target, force=True)
    laps.lap("index")
    late_edits = 0
    if not direct:  # in direct mode there was no previous image to carry work from
        # Last before the swap, so the time in which an edit can still be missed is short.
        late_edits, late_types = _carry_late_user_edits(dataset_id, target, fingerprints, carry_started)
        written.object_types |= late_types
    result = ImportResult(
        dataset_id=dataset_id,
        num_images=written.count,
        skipped=problems.skipped,
        skipped_examples=problems.examples,
        carried_images=written.carried,
        dropped_user_images=dropped,
        late_user_edits=late_edits,
        warnings=problems.warnings,
    )
    pending = _swap_journal(importer, written, result)
    if not record.update(state=jobs.SWAPPING, phase="swapping", pending=pending):
        raise ImportInProgress(_TAKEN_OVER)
    _call(after_swap_journal, dataset_id)
    where = {"mode": DIRECT} if direct else {"staging": staging}
    _complete_swap(dataset_id, {**where, "pending": pending}, record)
    laps.lap("swap")
    result.phases = laps.phases
    logger.info("import of dataset %s: %d images, phases %s", dataset_id, written.count, laps.phases)
    return result


def _swap_journal(importer: Importer, written: _Written, result: ImportResult) -> dict:
    """What the swap sets, journalled before it starts so a recovery can finish it."""
    return {
        "num_images": written.count,
        "object_types": sorted(written.object_types),
        "cover_url": written.cover_url,
        "type": importer.dataset_type,
        "path": next(iter(importer.files.values()), None),
        "files": importer.files,
        "status": DatasetStatus.READY,
        "labels": written.labels,
        "categories": sorted(written.categories),
        "result": result.as_dict(),
        **journal_entry(importer),
    }


def import_status(dataset_id: str) -> dict[str, Any] | None:
    """The dataset's import entry (after closing a dead attempt)."""
    recover_import(dataset_id)
    return jobs.job_entry(dataset_id, JOB_KIND)
