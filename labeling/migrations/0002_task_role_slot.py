from django.db import migrations, models

from labeling import role_slots


# The index is built by the same function adopt_dds_database calls, so the two cannot drift apart.
def create_slot_index(apps, schema_editor):
    role_slots.create_slot_index(schema_editor.connection.get_collection("label_task_roles"))


def drop_slot_index(apps, schema_editor):
    role_slots.drop_slot_index(schema_editor.connection.get_collection("label_task_roles"))


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
