"""Input and output shapes of the dataset API (no writes here)."""

from __future__ import annotations

from rest_framework import serializers

from datasets.job_status import job_status_for
from datasets.models import DataSet
from dds_site.api import OmitUnknownMixin, created_ts_field


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


MAX_IMAGE_NUMBER = 2**53  # ids and idx must fit MongoDB's int64; larger input is a 400, not a 500


class ImageListQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=10**9, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, default=50)
    cursor = serializers.IntegerField(min_value=-1, max_value=MAX_IMAGE_NUMBER, required=False)
    category_id = serializers.CharField(max_length=64, required=False)
    label_id = serializers.CharField(max_length=64, required=False)
    flag = serializers.CharField(max_length=4, required=False)


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


class ObjectOutput(serializers.Serializer):
    """One annotation of an image; ``source`` repeats ``label_type`` as DDS's API did."""

    label_name = serializers.CharField()
    label_type = serializers.CharField()
    source = serializers.CharField()
    label_id = serializers.CharField()
    category_id = serializers.CharField()
    category_name = serializers.CharField()
    conf = serializers.FloatField()
    is_group = serializers.BooleanField(allow_null=True)
    bounding_box = serializers.DictField(child=serializers.FloatField(), allow_null=True)
    segmentation = serializers.CharField(allow_blank=True)
    alpha = serializers.CharField(allow_blank=True, allow_null=True)
    points = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    lines = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    point_colors = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    point_names = serializers.ListField(child=serializers.CharField(), allow_null=True)
    caption = serializers.CharField(allow_blank=True)
    confirm_type = serializers.IntegerField(allow_null=True)
    compare_result = serializers.DictField(child=serializers.CharField(), allow_null=True)
    matched_det_idx = serializers.IntegerField(allow_null=True)
    mask = serializers.DictField(allow_null=True)


class ImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    idx = serializers.IntegerField()
    dataset_id = serializers.CharField()
    type = serializers.CharField(allow_null=True)
    url = serializers.CharField()
    url_full_res = serializers.CharField()
    file_url = serializers.CharField(help_text="The image file served by this API (302 to a remote URL).")
    thumbnail_url = serializers.CharField(help_text="A JPEG thumbnail (?size=128|256|512) served by this API.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    flag = serializers.IntegerField()
    flag_ts = serializers.IntegerField()
    objects = ObjectOutput(many=True)
    desc = serializers.CharField(help_text="The stored metadata JSON string.")
    metadata = serializers.DictField(help_text="The parsed metadata.")


class ImagePageOutput(serializers.Serializer):
    count = serializers.IntegerField(required=False, help_text="Matching images (numbered pages only).")
    page = serializers.IntegerField(required=False)
    cursor = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField()
    next_cursor = serializers.IntegerField(allow_null=True, help_text="Pass as ?cursor= for the next page.")
    results = ImageOutput(many=True)


class FlagGroupInput(serializers.Serializer):
    flag = serializers.ChoiceField(choices=[0, 1, 2])
    ids = serializers.ListField(child=serializers.IntegerField())


class FlagsInput(serializers.Serializer):
    """Documentation of the flags body; it is validated by the service with DDS's codes 400100-400104."""

    flag_groups = FlagGroupInput(many=True)


class FlagsOutput(serializers.Serializer):
    flag_export_link = serializers.CharField()


class CategoryListOutput(serializers.Serializer):
    results = CategoryOutput(many=True)


class LabelListOutput(serializers.Serializer):
    results = LabelOutput(many=True)
