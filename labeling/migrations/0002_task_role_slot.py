from django.db import migrations, models


def create_slot_index(apps, schema_editor):
    collection = schema_editor.connection.get_collection("label_task_roles")
    collection.create_index(
        "slot", name="ltr_active_slot", unique=True, partialFilterExpression={"slot": {"$type": "string"}}
    )


def drop_slot_index(apps, schema_editor):
    schema_editor.connection.get_collection("label_task_roles").drop_index("ltr_active_slot")


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="taskrole",
            name="slot",
            field=models.CharField(blank=True, default=None, editable=False, max_length=100, null=True),
        ),
        # A unique index on the active slots only (None after replacement); Django cannot express
        # the partial filter on this backend, so it is created directly.
        migrations.RunPython(create_slot_index, drop_slot_index),
    ]
