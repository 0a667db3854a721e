"""DataSet, Category and Label on DDS's ``datasets``, ``categories`` and ``labels`` collections."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.db import models
from django_mongodb_backend.fields import ArrayField

from dds_site.documents import OrmDocumentMixin

if TYPE_CHECKING:
    from datasets.images import ImageModel
    from datasets.services import ImageBatch

_batch_lock = threading.Lock()


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
    # What the source file said about the whole dataset and an export writes back (COCO ``info`` and
    # ``licenses``): ``{"format": ..., ...}``; not in DDS, whose documents read as empty here.
    source_info = models.JSONField(null=True, blank=True, default=None)

    # Images queued by batch_add_image per flush (DDS flushed every 200). Few, so their annotation
    # objects are encoded and freed before the cyclic collector promotes them (with 200 images of 10
    # objects its full collections were half of the client's CPU time in bench/import_images.py);
    # the encoded images are inserted ``services.INSERT_SIZE`` at once.
    _batch_size = 10

    class Meta:
        db_table = "datasets"

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def __getstate__(self) -> dict:
        # the image buffer holds a lock and unsaved images: it belongs to this process only
        state = super().__getstate__()
        state.pop("_image_batch", None)
        return state

    # The DDS model API; each method is a thin call into datasets.services.

    @classmethod
    def create_dataset(
        cls,
        name: str,
        id_: str | None = None,
        type: str | None = None,
        path: str | None = None,
        files: dict | None = None,
        description: str | None = None,
        description_func: str | None = None,
    ) -> DataSet:
        """Create a ready dataset, or update name/type/path/files of the existing one with ``id_``."""
        from datasets import services

        return services.dataset_create(
            name=name, id_=id_, type=type, path=path, files=files,
            description=description, description_func=description_func,
        )  # fmt: skip

    @classmethod
    def get_importing_dataset(
        cls,
        name: str,
        id_: str | None = None,
        type: str | None = None,
        path: str | None = None,
        files: dict | None = None,
    ) -> DataSet:
        """Like ``create_dataset``, but a new dataset starts ``waiting`` (an import will fill it)."""
        from datasets import services

        return services.dataset_create(
            name=name, id_=id_, type=type, path=path, files=files, status=DatasetStatus.WAITING
        )

    @property
    def image_batch(self) -> ImageBatch:
        """This instance's image write buffer (created on first use)."""
        batch = self.__dict__.get("_image_batch")
        if batch is None:
            from datasets.services import ImageBatch

            with _batch_lock:
                batch = self.__dict__.get("_image_batch")
                if batch is None:
                    batch = self.__dict__["_image_batch"] = ImageBatch(self, batch_size=self._batch_size)
        return batch

    def add_cover(self, force_update: bool = False) -> None:
        """Set ``cover_url`` from the lowest-idx image unless already set (or ``force_update``)."""
        from datasets import services

        services.dataset_add_cover(dataset=self, force_update=force_update)

    def add_image(
        self,
        uri: str,
        thumb_uri: str | None = None,
        width: int | None = None,
        height: int | None = None,
        id: int | None = None,
        metadata: dict | None = None,
        flag: int = 0,
        flag_ts: int = 0,
    ) -> ImageModel:
        """Add one image now (see ``services.image_add``)."""
        from datasets import services

        return services.image_add(
            dataset=self, uri=uri, thumb_uri=thumb_uri, width=width, height=height,
            id=id, metadata=metadata, flag=flag, flag_ts=flag_ts,
        )  # fmt: skip

    def batch_add_image(
        self,
        uri: str,
        thumb_uri: str | None = None,
        width: int | None = None,
        height: int | None = None,
        id_: int | None = None,
        metadata: dict | None = None,
        flag: int = 0,
        flag_ts: int = 0,
    ) -> ImageModel:
        """Queue an image; call ``finish_batch_add_image`` at the end. Safe from several threads."""
        from datasets import services

        return services.image_batch_add(
            dataset=self, uri=uri, thumb_uri=thumb_uri, width=width, height=height,
            id_=id_, metadata=metadata, flag=flag, flag_ts=flag_ts,
        )  # fmt: skip

    def batch_save_image(self) -> None:
        """Write the queued images, label sets and categories now."""
        self.image_batch.flush()

    def finish_batch_add_image(self) -> None:
        """Write what is left in the queue, then set the image count and the cover."""
        self.image_batch.finish()

    def eval_description(self) -> str | None:
        """The description from a registered ``description_func``, else description, else path."""
        from datasets import services

        return services.dataset_eval_description(self)

    @staticmethod
    def cascade_delete(dataset: DataSet) -> None:
        """Delete the dataset and everything that refers to it (see ``services.dataset_cascade_delete``)."""
        from datasets import services

        services.dataset_cascade_delete(dataset)


class Category(OrmDocumentMixin, models.Model):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id")
    name = models.CharField(max_length=255)
    dataset = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="categories", db_column="dataset_id")
    # The category's id and supercategory in the imported COCO file, written back by the COCO export.
    source_id = models.IntegerField(null=True, blank=True)
    supercategory = models.CharField(max_length=255, null=True, blank=True)

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
    # {"map": mAP@[.5:.95], "ap50": AP50} of a prediction set, by the FN/FP analysis (pycocotools).
    coco_metrics = models.JSONField(null=True, blank=True, default=None)
    # Of a prediction set, by the FN/FP analysis (``datasets.fnfp.analysis``): per-category AP, AP50
    # and PR curve ``{max_dets, recall_points, categories: [...]}``, and the confusion matrix
    # ``{iou_threshold, conf_threshold, precision_level, categories, cells}``. Not in DDS.
    category_metrics = models.JSONField(null=True, blank=True, default=None)
    confusion_matrix = models.JSONField(null=True, blank=True, default=None)
    clone_from_label = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        db_table = "labels"

    def __str__(self) -> str:
        return f"{self.name} [{self.type}]"
