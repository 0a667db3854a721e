"""The datasets app's store: the only place it talks to MongoDB through PyMongo (besides the seed's
document API of ``dds_site.documents``, which ``ImageModel`` and the ORM models carry).

It owns the per-dataset image collections (names, indexes, staging collections of imports),
image revisions, the raw writes the ORM cannot express on ``DataSet``/``Label``/``Category``
(reached through the models' ``db_table``), the job entries in ``detail_status``, and the one
background writer. Functions take the open transaction's session themselves; ``_id`` stays
inside the documents they exchange with the importer and the FN/FP job, which work on stored
documents (``ImageModel`` converts to ``id`` for everyone else).
"""

from __future__ import annotations

from pymongo.errors import PyMongoError as DatabaseError  # any failure of the database or the driver

from datasets.store.collections import (
    IMAGE_INDEXES,
    ImageCollection,
    collection_exists,
    drop_image_collection,
    ensure_image_indexes,
    image_collection,
    image_collection_name,
    in_transaction,
    legacy_staging_collection_name,
    rename_image_collection,
    staging_collection_name,
    staging_collection_names,
)
from datasets.store.images import (
    GuardedSet,
    collection_is_empty,
    guarded_setter,
    image_count,
    image_cursor,
    image_document,
    image_exists,
    image_insert_new,
    image_inserter,
    image_push_object,
    image_readd,
    image_revisions,
    image_set_guarded,
    images_by_id,
    images_by_ids,
    images_by_idx,
    images_refresh_name_keys,
    images_set_flag,
    images_with_user_work,
    images_written_since,
    label_set_objects_replace,
    name_keys_backfill,
    staging_drop_source_key_index,
    staging_index_source_key,
    staging_replace_user_work,
    touches_name_key,
)
from datasets.store.job_entries import JobEntries
from datasets.store.revisions import CLOCK_SKEW_S, REVISION, new_revision, revision_since, with_new_revision
from datasets.store.rows import (
    categories_get_or_create,
    dataset_add_object_types,
    dataset_delete_rows,
    dataset_set_detail,
    label_get_or_create,
    labels_delete,
    labels_get_or_create,
)
from datasets.store.writer import BackgroundWriter

__all__ = [
    "CLOCK_SKEW_S",
    "IMAGE_INDEXES",
    "REVISION",
    "BackgroundWriter",
    "DatabaseError",
    "GuardedSet",
    "ImageCollection",
    "JobEntries",
    "categories_get_or_create",
    "collection_exists",
    "collection_is_empty",
    "dataset_add_object_types",
    "dataset_delete_rows",
    "dataset_set_detail",
    "drop_image_collection",
    "ensure_image_indexes",
    "guarded_setter",
    "image_collection",
    "image_collection_name",
    "image_count",
    "image_cursor",
    "image_document",
    "image_exists",
    "image_insert_new",
    "image_inserter",
    "image_push_object",
    "image_readd",
    "image_revisions",
    "image_set_guarded",
    "images_by_id",
    "images_by_ids",
    "images_by_idx",
    "images_refresh_name_keys",
    "images_set_flag",
    "images_with_user_work",
    "images_written_since",
    "in_transaction",
    "label_get_or_create",
    "label_set_objects_replace",
    "labels_delete",
    "labels_get_or_create",
    "legacy_staging_collection_name",
    "name_keys_backfill",
    "new_revision",
    "rename_image_collection",
    "revision_since",
    "staging_collection_name",
    "staging_collection_names",
    "staging_drop_source_key_index",
    "staging_index_source_key",
    "staging_replace_user_work",
    "touches_name_key",
    "with_new_revision",
]
