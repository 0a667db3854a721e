from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder


class Command(BaseCommand):
    help = (
        "Prepare a database written by DDS 0.12 for this application: create only the collections and indexes "
        "that are missing, keep every existing document, and record all migrations as applied. Idempotent."
    )

    def handle(self, *args, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        existing = set(connection.database.list_collection_names())
        created, indexed = [], []
        with connection.schema_editor() as editor:
            for model in apps.get_models(include_auto_created=True):
                meta = model._meta
                if not meta.managed or meta.proxy or meta.swapped:
                    continue
                if meta.db_table in existing:
                    # Index creation with an identical spec is a no-op in MongoDB, so re-runs are safe.
                    editor._create_model_indexes(model)
                    indexed.append(meta.db_table)
                else:
                    editor.get_database().create_collection(meta.db_table)
                    editor._create_model_indexes(model)
                    existing.add(meta.db_table)
                    created.append(meta.db_table)
        recorder = MigrationRecorder(connection)
        recorder.ensure_schema()
        applied = recorder.applied_migrations()
        recorded = 0
        for key in MigrationLoader(connection, ignore_no_migrations=True).graph.nodes:
            if key not in applied:
                recorder.record_applied(*key)
                recorded += 1
        self.stdout.write(
            f"created {len(created)} collection(s), checked indexes of {len(indexed)} existing one(s), "
            f"recorded {recorded} migration(s) as applied"
        )
