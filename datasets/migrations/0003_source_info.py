from django.db import migrations, models


class Migration(migrations.Migration):
    """What an import keeps of its source for the export: DataSet.source_info, Category.source_id and
    Category.supercategory.

    State only, as 0002: documents written before (or by DDS) lack the keys and read as None.
    """

    dependencies = [
        ("datasets", "0002_label_coco_metrics"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="dataset",
                    name="source_info",
                    field=models.JSONField(blank=True, default=None, null=True),
                ),
                migrations.AddField(
                    model_name="category",
                    name="source_id",
                    field=models.IntegerField(blank=True, null=True),
                ),
                migrations.AddField(
                    model_name="category",
                    name="supercategory",
                    field=models.CharField(blank=True, max_length=255, null=True),
                ),
            ],
        ),
    ]
