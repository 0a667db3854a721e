from django.db import migrations
from tqdm import tqdm

from datasets import store


def backfill_name_keys(apps, schema_editor):
    """Images written before ``name_key`` existed (or by DDS) get theirs, collection by collection, in
    batches; then the key is indexed. Later writes keep it (the document builder, ``ImageModel``'s
    updates, the re-add of an image)."""

    def progress(documents, collection):
        return tqdm(documents, desc=f"name keys of {collection}", unit=" images", disable=None, leave=False)

    store.name_keys_backfill(progress=progress)


class Migration(migrations.Migration):
    """The images' ``name_key`` (``datasets.names``), which ``?file_name=`` searches: a data migration
    of the per-dataset image collections, which no model describes. Reversing leaves the keys and
    the index: they cost little, and a repeated forward run only fills keys that are missing."""

    dependencies = [
        ("datasets", "0003_source_info"),
    ]

    operations = [
        migrations.RunPython(backfill_name_keys, migrations.RunPython.noop, elidable=False),
    ]
