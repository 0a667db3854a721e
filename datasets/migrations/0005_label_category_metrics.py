from django.db import migrations, models


class Migration(migrations.Migration):
    """Label.category_metrics and Label.confusion_matrix, written by the FN/FP analysis.

    State only, as 0002: label documents written before (or by DDS) lack the keys and read as None.
    """

    dependencies = [
        ("datasets", "0004_image_name_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="label",
                    name="category_metrics",
                    field=models.JSONField(blank=True, default=None, null=True),
                ),
                migrations.AddField(
                    model_name="label",
                    name="confusion_matrix",
                    field=models.JSONField(blank=True, default=None, null=True),
                ),
            ],
        ),
    ]
