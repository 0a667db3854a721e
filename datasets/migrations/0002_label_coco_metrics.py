from django.db import migrations, models


class Migration(migrations.Migration):
    """Label.coco_metrics, already written onto label documents by the FN/FP analysis.

    State only: a plain AddField would $set the default on every label document, erasing the
    metrics of earlier runs; a document without the key reads as None.
    """

    dependencies = [
        ("datasets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="label",
                    name="coco_metrics",
                    field=models.JSONField(blank=True, default=None, null=True),
                ),
            ],
        ),
    ]
