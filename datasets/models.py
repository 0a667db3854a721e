"""DataSet, Category and Label on DDS's ``datasets``, ``categories`` and ``labels`` collections."""

from __future__ import annotations

from django.db import models
from django_mongodb_backend.fields import ArrayField

from dds_site.documents import OrmDocumentMixin


class DatasetStatus(models.TextChoices):
    WAITING = "waiting"
    IMPORTING = "importing"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class DatasetType(models.TextChoices):
    TSV = "tsv"
    COCO2017 = "coco2017"
    SIMPLE = "simple"


class LabelType(models.TextChoices):
    GROUND_TRUTH = "GT"
    PREDICTION = "Pred"
    USER = "User"


class DataSet(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id")
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024, null=True, blank=True)
    type = models.CharField(max_length=32, null=True, blank=True)
    status = models.CharField(max_length=16, default=DatasetStatus.WAITING, choices=DatasetStatus.choices)
    detail_status = models.JSONField(default=dict, blank=True)
    flag_export_link = models.CharField(max_length=1024, null=True, blank=True)
    object_types = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    num_images = models.IntegerField(default=0)
    files = models.JSONField(default=dict, blank=True)
    cover_url = models.CharField(max_length=2048, null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    description_func = models.CharField(max_length=255, null=True, blank=True)
    group_id = models.CharField(max_length=64, null=True, blank=True)
    group_name = models.CharField(max_length=255, null=True, blank=True)
    created_ts = models.BigIntegerField(default=0)

    class Meta:
        db_table = "datasets"

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Category(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id")
    name = models.CharField(max_length=255)
    dataset = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="categories", db_column="dataset_id")

    class Meta:
        db_table = "categories"
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Label(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=8, choices=LabelType.choices, blank=True, default="")
    dataset = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="labels", db_column="dataset_id")
    compare_precisions = models.JSONField(default=list, blank=True)
    clone_from_label = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        db_table = "labels"

    def __str__(self) -> str:
        return f"{self.name} [{self.type}]"
