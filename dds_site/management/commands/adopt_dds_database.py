from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from tqdm import tqdm

from dds_site import adoption
from labeling import repair


class Command(BaseCommand):
    help = (
        "Prepare a database written by DDS 0.12 for this application, instead of migrate: create the missing "
        "collections, every index the migrations create, content types and permissions, record all migrations "
        "as applied, give every image its file-name search key, recount every stored counter (datasets, tasks, "
        "task roles, projects), and repair task images "
        "that DDS's worker replacements left blocked (see repair_labeling). Idempotent."
    )

    def handle(self, *args, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        verbosity = options["verbosity"]
        schema = adoption.create_schema(connection)
        recorded = adoption.record_migrations(connection)
        adoption.emit_post_migrate(connection, verbosity=verbosity, stdout=self.stdout)
        self.stdout.write(
            f"created {len(schema.created)} collection(s), checked indexes of {len(schema.checked)} existing one(s), "
            f"recorded {recorded} migration(s) as applied"
        )

        def progress(items, description):
            return tqdm(items, desc=f"recounting {description}", disable=verbosity == 0)

        named = adoption.backfill_image_fields(
            lambda documents, collection: tqdm(documents, desc=f"name keys of {collection}", disable=verbosity == 0)
        )
        self.stdout.write(f"gave {named} image(s) their file-name search key")
        counted = adoption.recount(progress)
        self.stdout.write(
            f"recounted {counted.datasets} dataset(s), {counted.tasks} task(s) with their roles, "
            f"{counted.projects} project(s); gave {counted.slots} active task role(s) their slot"
        )
        # After the recount: the repair moves the (now exact) counters by what it changes.
        repaired = repair.repair_replacement_leftovers(
            progress_bar=lambda tasks: tqdm(tasks, desc="repairing task images", disable=verbosity == 0)
        )
        self.stdout.write(
            f"repaired {repaired.images_repaired} task image(s) of {repaired.tasks_repaired} task(s) "
            "carrying work of replaced workers"
        )
