"""``datasets/<id>/images/<image_id>/file`` and ``.../thumbnail?size=``: an image's pixels.

Any authenticated user may read them (as the image API). A local file is served with ETag,
Last-Modified, conditional GET and single byte ranges; a local path outside the data roots is
403100; a missing file is 404061 (its thumbnail is a placeholder instead). An inline
TSV image is decoded from its byte range of the TSV (under the data roots too). A remote ``http(s)``
image is not proxied: both endpoints redirect (302) to its URL.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from datasets import image_files, selectors
from datasets.views import ReadAuthenticatedWriteStaff
from dds_site.errors import InvalidArgument
from dds_site.file_serving import etag_for, serve_bytes, serve_file

# Datasets are private: browsers may keep a copy, shared caches may not.
FILE_CACHE_CONTROL = "private, max-age=86400"
THUMBNAIL_CACHE_CONTROL = "private, max-age=604800"


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """``Accept: image/*`` must not make DRF refuse (406) before the view answers with a file;
    errors are still rendered as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


def _serve_inline(request: Request, inline: image_files.InlineImage) -> HttpResponse:
    """An inline TSV image; its validator is the TSV's (size, mtime) and the byte offset."""
    stat = inline.path.stat()
    etag = etag_for(stat)[:-1] + f'-{inline.begin:x}"'
    return serve_bytes(
        request,
        image_files.read_inline(inline),
        etag=etag,
        mtime=int(stat.st_mtime),
        cache_control=FILE_CACHE_CONTROL,
        content_type=inline.content_type,
    )


class _ImageFileView(APIView):
    permission_classes = [ReadAuthenticatedWriteStaff]
    content_negotiation_class = AnyAcceptNegotiation
    http_method_names = ["get", "head", "options"]


def _file_responses(*media_types: str) -> dict:
    """The answers of a file endpoint: the file (whole or one byte range), not modified, or a redirect."""
    responses: dict = {}
    for media_type in media_types:
        responses[(200, media_type)] = OpenApiResponse(OpenApiTypes.BINARY, description="The whole file.")
        responses[(206, media_type)] = OpenApiResponse(OpenApiTypes.BINARY, description="One byte range (Range).")
    responses[302] = OpenApiResponse(description="A remote image: redirected to its URL (Location).")
    responses[304] = OpenApiResponse(description="Not modified (If-None-Match / If-Modified-Since).")
    return responses


class ImageFile(_ImageFileView):
    @extend_schema(
        operation_id="datasets_images_file", responses=_file_responses("image/*", "application/octet-stream")
    )
    def get(self, request: Request, dataset_id: str, image_id: str) -> HttpResponse:
        """The original image file (206 for a byte range, 304 when unchanged, 302 for a remote image)."""
        image = selectors.image_get_readable(dataset_id, image_id)
        source = image_files.local_file(image)
        if source.remote:
            return HttpResponseRedirect(source.remote)
        try:
            if source.inline:
                return _serve_inline(request, source.inline)
            return serve_file(
                request,
                source.path,
                cache_control=FILE_CACHE_CONTROL,
                content_type=image_files.file_content_type(source.path),
            )
        except OSError as exc:
            raise image_files.ImageFileNotFound(
                f"The file of image {image['id']} cannot be read.", detail={"image_id": image["id"]}
            ) from exc


class ImageThumbnail(_ImageFileView):
    @extend_schema(
        operation_id="datasets_images_thumbnail",
        parameters=[
            OpenApiParameter("size", int, enum=list(image_files.THUMBNAIL_SIZES), description="Longest side in pixels.")
        ],
        responses=_file_responses("image/jpeg"),
    )
    def get(self, request: Request, dataset_id: str, image_id: str) -> HttpResponse:
        """A JPEG whose longest side is ``size`` (made on first request); a placeholder if the file is bad."""
        raw_size = request.query_params.get("size", str(image_files.DEFAULT_THUMBNAIL_SIZE))
        if raw_size not in {str(size) for size in image_files.THUMBNAIL_SIZES}:
            raise InvalidArgument(
                f"size must be one of {', '.join(map(str, image_files.THUMBNAIL_SIZES))}.",
                detail={"field": "size", "allowed": list(image_files.THUMBNAIL_SIZES)},
            )
        image = selectors.image_get_readable(dataset_id, image_id)
        source = image_files.image_source(image)
        if source.remote:
            return HttpResponseRedirect(source.remote)
        thumb = image_files.thumbnail(dataset_id, image, int(raw_size))
        cache_control = "no-cache" if thumb.placeholder else THUMBNAIL_CACHE_CONTROL
        return serve_file(request, thumb.path, cache_control=cache_control, content_type="image/jpeg")
