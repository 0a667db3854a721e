"""API triggers for the long dataset jobs (import, export, FN/FP) and their status.

Starting a job reads or writes files on the server, so it is for staff users only, and only files
under the data roots (``dds_site.files``): any other path is a 403 (403100). An export does not
replace an existing output unless asked to (``overwrite``; else 409100). Any authenticated user
may read a dataset's job status: state, progress and counts (``datasets.job_status``); staff also
see paths, host, process and failure reasons. With ``CELERY_BROKER_URL`` set the job is queued,
otherwise it runs in a thread of the server (``datasets.job_worker``): 202 either way (200 with the
outcome when ``DDS_JOBS_INLINE`` runs it in the request). Its progress and outcome are in
``detail_status`` (returned by ``GET .../jobs``, which only reads: an entry whose process died is
reported with ``stale: true`` until ``datasets.job_recovery`` repairs it).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import selectors, tasks
from datasets.fnfp import DDS_PROCESSOR_KEY
from datasets.importers.manifest import FORMATS
from datasets.job_status import job_status_for, jobs_overview


class ImportJobInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS)
    ground_truth = serializers.CharField(required=False, help_text="coco: ground-truth JSON path")
    image_root = serializers.CharField(required=False, allow_blank=True, help_text="coco: image directory")
    path = serializers.CharField(required=False, help_text="tsv: the .tsv path")
    images = serializers.CharField(required=False, help_text="yolo: image directory")
    classes = serializers.CharField(required=False, help_text="yolo: class list")
    labels = serializers.CharField(required=False, help_text="yolo: label directory")
    root = serializers.CharField(required=False, help_text="images: directory")
    predictions = serializers.JSONField(required=False, help_text="[{name, file}] (tsv: {name: file})")
    skip_invalid = serializers.BooleanField(default=False)
    strict = serializers.BooleanField(
        default=False, help_text="refuse boxes overhanging their image (default: clip them, counted in warnings)"
    )


class ExportJobInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=tasks.EXPORT_FORMATS)
    output = serializers.CharField(
        help_text="output file (coco, tsv) or directory (yolo) under the data roots; relative to the first root"
    )
    overwrite = serializers.BooleanField(default=False, help_text="replace an existing output")
    labels = serializers.ListField(child=serializers.CharField(), required=False)
    results = serializers.CharField(required=False, help_text="coco: export this prediction set as results")
    prediction = serializers.CharField(required=False, help_text="yolo: export this prediction set")
    segments = serializers.BooleanField(default=False, help_text="yolo: segmentation labels (polygons)")
    predictions = serializers.ListField(child=serializers.CharField(), required=False, help_text="tsv sidecars")


class FnFpJobInput(serializers.Serializer):
    with_coco_metrics = serializers.BooleanField(default=True)


class JobQueuedOutput(serializers.Serializer):
    """202: the job runs in the background; follow it at ``GET datasets/<id>/jobs``."""

    dataset_id = serializers.CharField()
    queued = serializers.BooleanField()
    job = serializers.ChoiceField(choices=["import", "export", "fnfp"])
    task_id = serializers.CharField(required=False, help_text="the Celery task (with a broker only)")


# 200 (``DDS_JOBS_INLINE``): the finished job's outcome, its counts depending on the job and the format.
JOB_OUTCOME = {
    "type": "object",
    "properties": {"dataset_id": {"type": "string"}},
    "required": ["dataset_id"],
    "additionalProperties": True,
    "description": "the outcome: import counts (num_images, skipped, warnings, ...), export counts per format "
    "(images, annotations, lines, ...), FN/FP (num_images, labels)",
}
JOB_RESPONSES = {200: JOB_OUTCOME, 202: JobQueuedOutput}


def _response(outcome: dict) -> Response:
    return Response(outcome, status=status.HTTP_202_ACCEPTED if outcome.get("queued") else status.HTTP_200_OK)


class _StaffJob(APIView):
    permission_classes = [permissions.IsAdminUser]


class DatasetImportJob(_StaffJob):
    @extend_schema(operation_id="dataset_job_import", request=ImportJobInput, responses=JOB_RESPONSES)
    def post(self, request: Request, dataset_id: str) -> Response:
        dataset = selectors.dataset_get(dataset_id)
        data = ImportJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        spec = {key: value for key, value in data.validated_data.items() if key != "skip_invalid"}
        spec["dataset_id"] = dataset.id
        return _response(tasks.submit_import(spec, skip_invalid=data.validated_data["skip_invalid"]))


class DatasetExportJob(_StaffJob):
    @extend_schema(operation_id="dataset_job_export", request=ExportJobInput, responses=JOB_RESPONSES)
    def post(self, request: Request, dataset_id: str) -> Response:
        data = ExportJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _response(tasks.submit_export(selectors.dataset_get(dataset_id).id, dict(data.validated_data)))


class DatasetFnFpJob(_StaffJob):
    @extend_schema(operation_id="dataset_job_fnfp", request=FnFpJobInput, responses=JOB_RESPONSES)
    def post(self, request: Request, dataset_id: str) -> Response:
        data = FnFpJobInput(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = selectors.dataset_get(dataset_id)
        return _response(tasks.submit_fnfp(dataset.id, with_coco_metrics=data.validated_data["with_coco_metrics"]))


class DatasetJobStatus(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="dataset_jobs",
        responses=inline_serializer(
            "DatasetJobs",
            {
                "import": serializers.JSONField(
                    allow_null=True,
                    help_text="last import: state, progress, counts, stale (its process died); staff: paths, reason",
                ),
                "export": serializers.JSONField(allow_null=True, help_text="last export"),
                "fnfp": serializers.JSONField(allow_null=True, help_text="last FN/FP calculation"),
                DDS_PROCESSOR_KEY: serializers.CharField(allow_null=True, help_text="DDS's FN/FP processor state"),
            },
        ),
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        detail = selectors.dataset_get(dataset_id).detail_status or {}
        return Response(job_status_for(request.user, jobs_overview(detail)))
