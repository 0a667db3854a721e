"""Input and output shapes of the dataset API (no writes here)."""

from __future__ import annotations

import functools
import json

from django.urls import get_script_prefix, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from datasets.constants import MAX_IMAGE_NUMBER
from datasets.image_files import DEFAULT_THUMBNAIL_SIZE
from datasets.job_status import job_status_for
from datasets.models import DataSet
from datasets.names import NAME_KEY_MAX_LENGTH
from dds_site.api import OmitUnknownMixin, created_ts_field
from dds_site.output import DictOutput, page_output


class DatasetOutput(OmitUnknownMixin, serializers.ModelSerializer):
    """A dataset as listed; ``description`` is the evaluated description (DDS §8.3)."""

    # the backend's ArrayField maps to a string field in DRF
    object_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_ts = created_ts_field()
    omit_when_null = ("created_ts",)
    description = serializers.SerializerMethodField()
    detail_status = serializers.SerializerMethodField()

    class Meta:
        model = DataSet
        exclude = ["description_func"]

    def get_description(self, dataset: DataSet) -> str | None:
        return dataset.eval_description()

    def get_detail_status(self, dataset: DataSet) -> dict:
        """Job entries as ``GET .../jobs`` shows them: without paths, host or reasons unless staff."""
        request = self.context.get("request")
        return job_status_for(getattr(request, "user", None), dataset.detail_status)


class DatasetDetailOutput(DatasetOutput):
    category_list = serializers.SerializerMethodField()
    label_list = serializers.SerializerMethodField()

    class Meta(DatasetOutput.Meta):
        pass

    def get_category_list(self, dataset: DataSet) -> list[dict]:
        from datasets.selectors import category_list

        return category_list(dataset)

    def get_label_list(self, dataset: DataSet) -> list[dict]:
        from datasets.selectors import label_list

        return label_list(dataset)


class DatasetCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    id = serializers.RegexField(r"^[0-9a-zA-Z_-]{1,32}$", required=False)
    type = serializers.ChoiceField(choices=["tsv", "coco2017", "simple"], required=False, allow_null=True)
    path = serializers.CharField(max_length=1024, required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class DatasetUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=255, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


BOX_HELP = "xmin, ymin, xmax, ymax normalised to 0-1; {} when there is no box."
POINTS_HELP = "Keypoints, 6 numbers each: x, y, z, w, visibility, conf."


class ImageListQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=10**9, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, default=50)
    cursor = serializers.IntegerField(min_value=-1, max_value=MAX_IMAGE_NUMBER, required=False)
    category_id = serializers.CharField(max_length=64, required=False)
    category_name = serializers.CharField(max_length=255, required=False, help_text="a category's name (or its id)")
    label_id = serializers.CharField(max_length=64, required=False)
    flag = serializers.CharField(max_length=4, required=False)
    file_name = serializers.CharField(
        max_length=NAME_KEY_MAX_LENGTH,
        required=False,
        help_text="Images whose file name (the last part of the URL's path) starts with this, in any case. "
        "Every character is matched literally. Combines with the other filters and both paging modes.",
    )


class CategoryOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class CocoMetricsOutput(serializers.Serializer):
    map = serializers.FloatField(allow_null=True, help_text="mAP@[.5:.95]")
    ap50 = serializers.FloatField(allow_null=True)


class LabelOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    source = serializers.CharField()
    clone_from_label = serializers.CharField(allow_blank=True)
    compare_precisions = serializers.ListField()
    coco_metrics = CocoMetricsOutput(allow_null=True, help_text="COCO bbox metrics of a prediction set, by FN/FP")


_IMAGE_ID_SLOT = 9_007_199_254_740_993  # beyond any image id (2**53 + 1): marks where the id goes


@functools.lru_cache(maxsize=1024)
def _image_url_parts(name: str, dataset_id: str | None, script_prefix: str) -> tuple[str, str]:
    path = reverse(name, args=[dataset_id, _IMAGE_ID_SLOT])
    before, _slot, after = path.rpartition(str(_IMAGE_ID_SLOT))
    return before, after


def image_url(name: str, dataset_id: str | None, image_id: int) -> str:
    """``reverse(name, args=[dataset_id, image_id])``, resolved once per dataset: a page has hundreds of images."""
    before, after = _image_url_parts(name, dataset_id, get_script_prefix())
    return f"{before}{image_id}{after}"


class ObjectOutput(DictOutput):
    """One annotation of an image as stored (reference §3.3), with every field: a field an earlier
    writer left out shows the model's default. ``source`` repeats ``label_type`` as DDS's API did."""

    label_name = serializers.CharField(read_only=True)
    label_type = serializers.CharField(read_only=True)
    source = serializers.CharField(source="label_type", read_only=True)
    label_id = serializers.CharField(read_only=True, default="")
    category_id = serializers.CharField(read_only=True, default="")
    category_name = serializers.CharField(read_only=True, default="")
    conf = serializers.FloatField(read_only=True, default=1.0)
    is_group = serializers.BooleanField(read_only=True, allow_null=True, default=False)
    bounding_box = serializers.DictField(
        child=serializers.FloatField(), read_only=True, allow_null=True, default=dict, help_text=BOX_HELP
    )
    segmentation = serializers.SerializerMethodField(help_text='Polygons "x,y,x,y,..." joined by "/".')
    alpha = serializers.CharField(read_only=True, allow_null=True, default="")
    points = serializers.ListField(
        child=serializers.FloatField(), read_only=True, allow_null=True, default=list, help_text=POINTS_HELP
    )
    lines = serializers.ListField(child=serializers.IntegerField(), read_only=True, allow_null=True, default=list)
    point_colors = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, allow_null=True, default=list
    )
    point_names = serializers.ListField(child=serializers.CharField(), read_only=True, allow_null=True, default=list)
    caption = serializers.SerializerMethodField()
    confirm_type = serializers.IntegerField(read_only=True, allow_null=True, default=0)
    compare_result = serializers.DictField(child=serializers.CharField(), read_only=True, allow_null=True, default=dict)
    matched_det_idx = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    mask = serializers.DictField(read_only=True, allow_null=True, default=dict, help_text="RLE {counts, size}.")

    def get_segmentation(self, obj: dict) -> str:
        return obj.get("segmentation") or ""

    def get_caption(self, obj: dict) -> str:
        return obj.get("caption") or ""


class ImageOutput(DictOutput):
    """An image as the API returns it: DDS's fields plus parsed ``metadata`` and ``desc``, and the
    URLs this server serves its file and a thumbnail at (``url`` keeps DDS's stored value)."""

    id = serializers.IntegerField(read_only=True)
    idx = serializers.SerializerMethodField(help_text="Sort position (the id when a DDS image has none).")
    dataset_id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True, allow_null=True, default=None)
    url = serializers.CharField(read_only=True)
    url_full_res = serializers.SerializerMethodField(help_text="The full-resolution URL (``url`` when not set).")
    file_url = serializers.SerializerMethodField(help_text="The image file served by this API (302 to a remote URL).")
    thumbnail_url = serializers.SerializerMethodField(
        help_text="A JPEG thumbnail (?size=128|256|512) served by this API."
    )
    width = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    height = serializers.IntegerField(read_only=True, allow_null=True, default=None)
    flag = serializers.IntegerField(read_only=True, default=0)
    flag_ts = serializers.IntegerField(read_only=True, default=0)
    objects = ObjectOutput(many=True, read_only=True, default=list)
    desc = serializers.SerializerMethodField(help_text="The stored metadata JSON string.")
    metadata = serializers.SerializerMethodField(help_text="The parsed metadata.")

    def get_idx(self, image: dict) -> int:
        return image.get("idx", image["id"])

    def get_url_full_res(self, image: dict) -> str:
        return image.get("url_full_res") or image.get("url")

    def get_file_url(self, image: dict) -> str:
        return image_url("dataset-image-file", image.get("dataset_id"), image["id"])

    def get_thumbnail_url(self, image: dict) -> str:
        path = image_url("dataset-image-thumbnail", image.get("dataset_id"), image["id"])
        return f"{path}?size={DEFAULT_THUMBNAIL_SIZE}"

    def get_desc(self, image: dict) -> str:
        return image.get("metadata") or "{}"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_metadata(self, image: dict) -> dict:
        stored = image.get("metadata")
        if not stored or stored == "{}":
            return {}
        try:
            metadata = json.loads(stored)
        except (TypeError, ValueError):
            return {}
        return metadata if isinstance(metadata, dict) else {}


ImagePageOutput = page_output(
    ImageOutput,
    "ImagePageOutput",
    count_help="Matching images on numbered pages; null on keyset pages (?cursor=), which never count.",
    count_nullable=True,
    keyset=True,
)


class FlagGroupInput(serializers.Serializer):
    flag = serializers.ChoiceField(choices=[0, 1, 2])
    ids = serializers.ListField(child=serializers.IntegerField())


class FlagsInput(serializers.Serializer):
    """Documentation of the flags body; it is validated by the service with DDS's codes 400100-400104."""

    flag_groups = FlagGroupInput(many=True)


class FlagsOutput(serializers.Serializer):
    flag_export_link = serializers.CharField()


CategoryListOutput = page_output(CategoryOutput, "CategoryListOutput")
LabelListOutput = page_output(LabelOutput, "LabelListOutput")
DatasetPageOutput = page_output(DatasetOutput, "DatasetPageOutput")
