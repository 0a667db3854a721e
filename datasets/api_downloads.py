"""Downloads: the output of a dataset's last finished export, and DDS's flags file.

An export is started by staff and written to a path staff chose on the server, so only staff
download it (``GET /api/v1/datasets/<id>/jobs/export/download``). The flags file
(``GET /files/dataset_flags/<id>.tsv``, the ``flag_export_link`` DDS gives) holds only what any
user reads through the images API, so every authenticated user may fetch it.
"""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

from datasets import downloads, selectors


def _streamed(chunks, *, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


class DatasetExportDownload(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        operation_id="dataset_job_export_download",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="the file of the last finished export; a YOLO export (a directory) as a zip",
            )
        },
    )
    def get(self, request: Request, dataset_id: str) -> FileResponse | StreamingHttpResponse:
        """404060 if no export finished (or its output is gone), 409101 while one runs,
        403100 if its output lies outside the data roots."""
        export = downloads.finished_export(selectors.dataset_get(dataset_id).id)
        if export.is_directory:
            return _streamed(
                downloads.iter_zip(export.path), content_type=export.content_type, filename=export.filename
            )
        return FileResponse(
            export.path.open("rb"), as_attachment=True, filename=export.filename, content_type=export.content_type
        )


class DatasetFlagsFile(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="dataset_flags_file",
        responses={
            (200, "text/tab-separated-values"): OpenApiResponse(
                OpenApiTypes.STR, description='per image: dataset name, TAB, {"time", "id", "flag"}'
            )
        },
    )
    def get(self, request: Request, dataset_id: str) -> StreamingHttpResponse:
        dataset = selectors.dataset_get(dataset_id)
        return _streamed(
            downloads.iter_flag_lines(dataset),
            content_type="text/tab-separated-values; charset=utf-8",
            filename=downloads.flags_filename(dataset),
        )
