"""``GET /api/v1/datasets/<id>/labels/<label_id>/metrics``: a prediction set's per-category AP, AP50
and PR curve and its confusion matrix, as the FN/FP analysis stored them.

Readable by any authenticated user, as the dataset's label list. 404050 (no dataset), 404055 (no
such label set in the dataset), 404054 (not computed: run the FN/FP analysis).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import selectors
from datasets.label_metrics import label_metrics
from datasets.views import ReadAuthenticatedWriteStaff


class CategoryMetricsEntry(serializers.Serializer):
    category_id = serializers.CharField()
    category_name = serializers.CharField()
    num_gt = serializers.IntegerField(help_text="Ground-truth boxes of the category (crowd regions not counted).")
    num_pred = serializers.IntegerField(help_text="The set's predicted boxes of the category.")
    ap = serializers.FloatField(
        allow_null=True, help_text="COCO AP@[.5:.95] (pycocotools' per-category value); null without ground truth."
    )
    ap50 = serializers.FloatField(allow_null=True, help_text="COCO AP at IoU .50; null without ground truth.")
    pr_curve = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="Interpolated precision at IoU .50 at recall 0, .01, ..., 1 (COCO's 101 points); entries past "
        "the list's end are 0 (recall never reached). Null without ground truth.",
    )


class CategoryMetricsOutput(serializers.Serializer):
    max_dets = serializers.IntegerField(help_text="Predictions kept per image and category (COCO's maxDets).")
    recall_points = serializers.IntegerField()
    categories = CategoryMetricsEntry(many=True, help_text="In category-name order.")


class MatrixCategory(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class MatrixCell(serializers.Serializer):
    predicted = serializers.IntegerField(help_text="Index into categories; `background` for a missed GT box.")
    actual = serializers.IntegerField(help_text="Index into categories; `background` for a false detection.")
    count = serializers.IntegerField()


class ConfusionMatrixOutput(serializers.Serializer):
    iou_threshold = serializers.FloatField()
    conf_threshold = serializers.FloatField(help_text="Predictions with a lower confidence are not counted.")
    precision_level = serializers.FloatField(
        allow_null=True,
        help_text="The compare_precisions level whose threshold is used (0.5); null when the set never reaches "
        "it, and every prediction counts.",
    )
    categories = MatrixCategory(many=True)
    background = serializers.IntegerField(help_text="The index standing for the background (= len(categories)).")
    cells = MatrixCell(many=True, help_text="The non-zero cells.")


class LabelMetricsOutput(serializers.Serializer):
    label_id = serializers.CharField()
    label_name = serializers.CharField()
    category_metrics = CategoryMetricsOutput()
    confusion_matrix = ConfusionMatrixOutput()


class LabelMetrics(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]

    @extend_schema(operation_id="datasets_labels_metrics", responses=LabelMetricsOutput)
    def get(self, request: Request, dataset_id: str, label_id: str) -> Response:
        """Per category: AP, AP50 and PR curve; the confusion matrix (rows predicted, columns ground truth,
        at IoU .50 and the set's confidence threshold for precision .5). 404054 until the FN/FP analysis
        computed them."""
        return Response(label_metrics(selectors.dataset_get(dataset_id), label_id))
