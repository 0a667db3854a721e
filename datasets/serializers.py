"""Input and output shapes of the dataset API (no writes here)."""

from __future__ import annotations

from rest_framework import serializers

from datasets.models import DataSet


class DatasetOutput(serializers.ModelSerializer):
    """A dataset as listed; ``description`` is the evaluated description (DDS §8.3)."""

    # the backend's ArrayField maps to a string field in DRF
    object_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    description = serializers.SerializerMethodField()

    class Meta:
        model = DataSet
        exclude = ["description_func"]

    def get_description(self, dataset: DataSet) -> str | None:
        return dataset.eval_description()


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


class ImageListQuery(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, required=False, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=500, required=False, default=50)
    cursor = serializers.IntegerField(min_value=-1, required=False)
    category_id = serializers.CharField(max_length=64, required=False)
    label_id = serializers.CharField(max_length=64, required=False)
    flag = serializers.CharField(max_length=4, required=False)


class CategoryOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class LabelOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    source = serializers.CharField()
    clone_from_label = serializers.CharField(allow_blank=True)
    compare_precisions = serializers.ListField()
