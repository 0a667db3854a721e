"""The steps of ``adopt_dds_database``: make a database DDS 0.12 wrote one this application runs on.

``migrate`` cannot run there (its CreateModel steps find DDS's collections), so adoption builds what
the migrations would have built, without touching a document it does not have to: missing
collections, every index (the models' and those migrations create directly), Django's content types
and permissions, and the migrations recorded as applied. Then it repairs what DDS left wrong or never
stored: images get the file-name search key the data migrations give them, every stored counter is
recounted from the documents it counts, and active task roles get the slots that guard them. Every step
is idempotent, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.apps import apps
from django.core.management.sql import emit_post_migrate_signal
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

T = TypeVar("T")
# Wraps an iterable to show progress (tqdm in the command); the identity by default.
Progress = Callable[[Iterable[T], str], Iterable[T]]


def _no_progress(items: Iterable[T], _description: str) -> Iterable[T]:
    return items


@dataclass
class SchemaReport:
    created: list[str]
    checked: list[str]


def create_schema(connection: BaseDatabaseWrapper) -> SchemaReport:
    """Create the missing collections, and on every collection the indexes its model declares."""
    existing = set(connection.database.list_collection_names())
    report = SchemaReport(created=[], checked=[])
    with connection.schema_editor() as editor:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if not meta.managed or meta.proxy or meta.swapped:
                continue
            if meta.db_table in existing:
                report.checked.append(meta.db_table)
            else:
                editor.get_database().create_collection(meta.db_table)
                existing.add(meta.db_table)
                report.created.append(meta.db_table)
            # Index creation with an identical spec is a no-op in MongoDB, so re-runs are safe.
            editor._create_model_indexes(model)
    create_migration_indexes(connection)
    return report


def create_migration_indexes(connection: BaseDatabaseWrapper) -> None:
    """The indexes migrations build outside the models' declarations, through the same functions."""
    from labeling import role_slots

    role_slots.create_slot_index(connection.get_collection("label_task_roles"))


def record_migrations(connection: BaseDatabaseWrapper) -> int:
    """Record every migration as applied; returns how many were not yet."""
    recorder = MigrationRecorder(connection)
    recorder.ensure_schema()
    applied = recorder.applied_migrations()
    recorded = 0
    for key in MigrationLoader(connection, ignore_no_migrations=True).graph.nodes:
        if key not in applied:
            recorder.record_applied(*key)
            recorded += 1
    return recorded


def emit_post_migrate(connection: BaseDatabaseWrapper, *, verbosity: int, stdout) -> None:
    """What ``migrate`` does last: content types and permissions are created by the apps' handlers."""
    emit_post_migrate_signal(verbosity, False, connection.alias, stdout=stdout, apps=apps, plan=[])


def backfill_image_fields(progress: Progress = _no_progress) -> int:
    """Give DDS's images the fields it never stored and data migrations fill (the file-name search
    key, ``datasets.names``); returns how many images changed."""
    from datasets import store

    return store.name_keys_backfill(progress=progress)


@dataclass
class RecountReport:
    datasets: int = 0
    tasks: int = 0
    projects: int = 0
    slots: int = 0


def recount(progress: Progress = _no_progress) -> RecountReport:
    """Recount every stored counter from the documents it counts, and give DDS's active roles their slots.

    Datasets (``num_images``, a missing cover), tasks (``num_total``, every active role's counters and
    completion flags), then projects (task counters by status), in that order because each level
    counts the one before. Stored values are never trusted: DDS's ``add_image`` updated ``num_images``
    only in memory and several of its transitions left project counters stale (its bug 19).
    """
    from datasets.models import DataSet
    from datasets.services import dataset_recount
    from labeling import progress as labeling_progress
    from labeling import role_slots
    from labeling.models import LabelProject, LabelTask, TaskRole

    report = RecountReport()
    for dataset in progress(DataSet.objects.order_by("pk").iterator(), "datasets"):
        dataset_recount(dataset=dataset)
        report.datasets += 1
    report.slots = role_slots.backfill_slots(TaskRole.get_collection())
    for task in progress(LabelTask.objects.order_by("pk").iterator(), "tasks"):
        labeling_progress.task_recount_total(task=task)
        labeling_progress.task_recount(task=task)
        report.tasks += 1
    for project in progress(LabelProject.objects.order_by("pk").iterator(), "projects"):
        labeling_progress.project_recount(project=project)
        report.projects += 1
    return report
