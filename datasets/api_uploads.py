"""Uploads over HTTP, and importing an upload as a job (staff only, like imports).

A small resumable chunk protocol, modelled on tus core but answering in the API's envelope:

- ``POST uploads`` with a multipart ``file``: the whole file at once (201, finished);
  with JSON ``{filename, size}``: a chunked upload is declared (201, ``offset`` 0).
- ``PATCH uploads/<id>`` with the raw bytes as body and their offset in ``Upload-Offset`` (or
  ``Content-Range: bytes <first>-<last>/<size>``): appended if the offset is the received one
  (409110 with ``detail.offset`` otherwise). ``HEAD``/``GET uploads/<id>`` tell the offset
  (``Upload-Offset`` header, ``offset`` field), so a client resumes after a lost connection.
- ``POST uploads/<id>/finish``: every byte arrived (409111 otherwise); a zip is unpacked.
- ``POST uploads/<id>/import``: start the import (202 with the dataset id; its progress is at
  ``GET datasets/<id>/jobs``). ``DELETE uploads/<id>`` removes an upload.

An upload is its owner's: another user's is a 404070, as is an unknown id.
"""

from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets import upload_imports, uploads
from datasets.errors import UploadChunkInvalid
from datasets.importers.manifest import FORMATS
from dds_site.errors import InvalidArgument, PayloadTooLarge
from dds_site.parsers import BoundedJSONParser

# Room for the multipart envelope around a file of the largest size allowed.
_MULTIPART_OVERHEAD = 64 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class UploadOutput(serializers.Serializer):
    id = serializers.CharField()
    filename = serializers.CharField()
    size = serializers.IntegerField()
    offset = serializers.IntegerField(help_text="bytes received")
    state = serializers.ChoiceField(choices=[uploads.RECEIVING, uploads.READY])
    is_zip = serializers.BooleanField()
    unpacked_files = serializers.IntegerField()
    unpacked_bytes = serializers.IntegerField()
    created_ts = serializers.IntegerField()
    updated_ts = serializers.IntegerField()


class UploadCreateInput(serializers.Serializer):
    filename = serializers.CharField(max_length=1024)
    size = serializers.IntegerField(min_value=0)


class UploadImportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS)
    name = serializers.CharField(required=False, max_length=256, help_text="new dataset's name (default: file name)")
    dataset_id = serializers.CharField(required=False, help_text="re-import into this existing dataset")
    images_upload = serializers.CharField(required=False, help_text="coco: a zip upload of the images")
    options = serializers.DictField(
        required=False, help_text="file names inside the upload: ground_truth, image_root, path, images, ..."
    )
    skip_invalid = serializers.BooleanField(default=False)
    strict = serializers.BooleanField(
        default=False, help_text="refuse boxes overhanging their image (default: clip them, counted in warnings)"
    )


class UploadImportOutput(serializers.Serializer):
    dataset_id = serializers.CharField()
    upload_id = serializers.CharField()
    queued = serializers.BooleanField(required=False, help_text="true: running in the background (202)")
    job = serializers.CharField(required=False)
    task_id = serializers.CharField(required=False)


def _owner(request: Request) -> str:
    return str(request.user.pk)


def _answer(upload: uploads.Upload, code: int = status.HTTP_200_OK) -> Response:
    response = Response(upload.as_dict(), status=code)
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Length"] = str(upload.size)
    response["Cache-Control"] = "no-store"
    return response


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise UploadChunkInvalid("Content-Length is not a number", detail={"field": "Content-Length"}) from None


class _Staff(APIView):
    permission_classes = [permissions.IsAdminUser]


class UploadList(_Staff):
    parser_classes = [BoundedJSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="upload_create",
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
            "application/json": UploadCreateInput,
        },
        responses={201: UploadOutput},
    )
    def post(self, request: Request) -> Response:
        """A whole file (multipart ``file``), or a chunked upload declared by ``{filename, size}``."""
        limit = uploads.max_upload_bytes()
        length = _content_length(request)
        if request.content_type.startswith("multipart/") and length > limit + _MULTIPART_OVERHEAD:
            raise PayloadTooLarge(f"An upload may hold at most {limit} bytes.", detail={"limit": limit, "size": length})
        file = request.FILES.get("file") if request.content_type.startswith("multipart/") else None
        if file is not None:
            with file.open("rb") as source:
                upload = uploads.store_file(_owner(request), file.name, source, file.size)
            return _answer(upload, status.HTTP_201_CREATED)
        if request.content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
            raise InvalidArgument("a multipart upload needs a file field named 'file'", detail={"field": "file"})
        data = UploadCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = uploads.create(_owner(request), data.validated_data["filename"], data.validated_data["size"])
        response = _answer(upload, status.HTTP_201_CREATED)
        response["Location"] = f"{request.path.rstrip('/')}/{upload.id}"
        return response


def _chunk_offset(request: Request, length: int) -> int:
    """The chunk's offset from ``Upload-Offset`` or ``Content-Range`` (400120 if neither is valid)."""
    given = request.headers.get("Upload-Offset")
    if given is not None:
        if not given.isdigit():
            raise UploadChunkInvalid("Upload-Offset must be a non-negative integer", detail={"field": "Upload-Offset"})
        return int(given)
    content_range = request.headers.get("Content-Range")
    if content_range is not None:
        match = _CONTENT_RANGE.match(content_range.strip())
        if match is None or int(match.group(2)) - int(match.group(1)) + 1 != length:
            raise UploadChunkInvalid(
                "Content-Range must be 'bytes <first>-<last>/<size>' matching the body's length",
                detail={"field": "Content-Range"},
            )
        return int(match.group(1))
    raise UploadChunkInvalid(
        "a chunk needs an Upload-Offset or Content-Range header", detail={"field": "Upload-Offset"}
    )


class UploadDetail(_Staff):
    parser_classes: list = []  # a chunk's body is read as a stream, never parsed

    @extend_schema(operation_id="upload_get", responses=UploadOutput)
    def get(self, request: Request, upload_id: str) -> Response:
        return _answer(uploads.get(_owner(request), upload_id))

    @extend_schema(
        operation_id="upload_chunk",
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER, required=False),
        ],
        responses=UploadOutput,
    )
    def patch(self, request: Request, upload_id: str) -> Response:
        """Append a chunk; 409110 (``detail.offset``) if it does not start at the received offset."""
        length = _content_length(request)
        offset = _chunk_offset(request, length)
        upload = uploads.receive(_owner(request), upload_id, offset, request._request, length)
        return _answer(upload)

    @extend_schema(
        operation_id="upload_chunk_put",
        request={"application/offset+octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER, required=False),
        ],
        responses=UploadOutput,
    )
    def put(self, request: Request, upload_id: str) -> Response:
        """The same as PATCH, for clients that send chunks with PUT and ``Content-Range``."""
        return self.patch(request, upload_id)

    @extend_schema(operation_id="upload_delete", responses={204: None})
    def delete(self, request: Request, upload_id: str) -> Response:
        uploads.delete(_owner(request), upload_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadFinish(_Staff):
    @extend_schema(operation_id="upload_finish", request=None, responses=UploadOutput)
    def post(self, request: Request, upload_id: str) -> Response:
        """409111 before every byte arrived; a zip refused while unpacking is 400121/400122/413110."""
        return _answer(uploads.finish(_owner(request), upload_id))


class UploadImport(_Staff):
    @extend_schema(operation_id="upload_import", request=UploadImportInput, responses={202: UploadImportOutput})
    def post(self, request: Request, upload_id: str) -> Response:
        """Start importing the upload; 202 at once, progress at ``GET datasets/<dataset_id>/jobs``."""
        data = UploadImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        outcome = upload_imports.import_upload(
            _owner(request),
            upload_id,
            values["format"],
            options=values.get("options"),
            images_upload=values.get("images_upload"),
            name=values.get("name"),
            dataset_id=values.get("dataset_id"),
            skip_invalid=values["skip_invalid"],
            strict=values["strict"],
        )
        code = status.HTTP_202_ACCEPTED if outcome.get("queued") else status.HTTP_200_OK
        return Response(outcome, status=code)
