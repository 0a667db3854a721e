"""Where an image's pixels live, and its thumbnails.

An image document keeps DDS's URL (``url_full_res``, else ``url``): a local-file URL
``/files/local_files/b/1/-1_-1/<mime>/<quoted path>`` for a file on this server, or a remote
``http(s)://`` URL. A local path is data, so it is read only through ``dds_site.files``: outside the
data roots it is refused (403100), whether the file exists or not. Remote images are not fetched
(the API redirects to them). An inline TSV image (byte-range URL ``/files/local_files/b/2/...``) is
the base64 text at a byte range of the TSV, which must lie under the data roots too; it is decoded.

Thumbnails are JPEG files under ``settings.DDS_THUMBS_DIR / <dataset id> /``, named by image id,
size and the source's size and modification time, so a changed source gets a new thumbnail. They
are written to a temporary file and renamed, so a reader never sees half a file. A source that is
missing or cannot be decoded gets a neutral placeholder (made once per size) and a logged warning.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import mimetypes
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from dds_site.errors import ErrCode, NotFound
from dds_site.files import PathOutsideDataRoots, resolve_data_path, safe_join

logger = logging.getLogger(__name__)

LOCAL_FILE_PREFIX = "/files/local_files/b/1/-1_-1/"
_INLINE_URL = re.compile(r"^/files/local_files/b/2/(\d+)_(\d+)/([^/]+)/(.+)$")
# Served as given; any other type (text/html, SVG with scripts) is sent as application/octet-stream.
SAFE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff"})
MAX_INLINE_BYTES = 64 * 1024 * 1024
THUMBNAIL_SIZES = (128, 256, 512)
DEFAULT_THUMBNAIL_SIZE = 256
_PLACEHOLDER_COLOR = (200, 200, 200)
_JPEG_QUALITY = 85


class ImageFileNotFound(NotFound):
    """The image has no local file this server can serve (missing, unreadable, or inline)."""

    code = ErrCode.IMAGE_FILE_NOT_FOUND
    message = "Image file not found."


@dataclass(frozen=True)
class InlineImage:
    """Base64 bytes ``[begin, end)`` of a local file (an image inside a DDS TSV)."""

    path: Path
    begin: int
    end: int
    content_type: str


@dataclass(frozen=True)
class ImageSource:
    """A local file (``path``), an inline image (``inline``) or a remote URL (``remote``); one is set."""

    path: Path | None = None
    inline: InlineImage | None = None
    remote: str | None = None

    @property
    def local_path(self) -> Path | None:
        """The local file the pixels are read from (the TSV of an inline image)."""
        return self.inline.path if self.inline else self.path


def stored_url(image: dict) -> str:
    return image.get("url_full_res") or image.get("url") or ""


def image_source(image: dict) -> ImageSource:
    """The source of ``image``; ``PathOutsideDataRoots`` (403100) for a local path outside the roots,
    ``ImageFileNotFound`` (404061) for a URL that is neither a local file nor http(s)."""
    url = stored_url(image)
    if url.startswith(LOCAL_FILE_PREFIX):
        _mime, sep, quoted = url[len(LOCAL_FILE_PREFIX) :].partition("/")
        if sep and quoted:
            return ImageSource(path=resolve_data_path(unquote(quoted), field="url"))
    inline = _INLINE_URL.match(url)
    if inline:
        begin, end, mime, quoted = int(inline[1]), int(inline[2]), inline[3].replace("_", "/", 1), inline[4]
        path = resolve_data_path(unquote(quoted), field="url")
        if 0 <= begin <= end and end - begin <= MAX_INLINE_BYTES:
            return ImageSource(inline=InlineImage(path, begin, end, safe_content_type(mime)))
    if url.lower().startswith(("http://", "https://")):
        return ImageSource(remote=url)
    raise ImageFileNotFound(
        f"Image {image.get('id')} has no local file to serve.", detail={"image_id": image.get("id")}
    )


def safe_content_type(content_type: str | None) -> str:
    return content_type if content_type in SAFE_IMAGE_TYPES else "application/octet-stream"


def file_content_type(path: Path) -> str:
    return safe_content_type(mimetypes.guess_type(path.name)[0])


def read_inline(inline: InlineImage) -> bytes:
    """The decoded bytes of an inline image; ``ImageFileNotFound`` if unreadable or not base64."""
    try:
        with open(inline.path, "rb") as handle:
            handle.seek(inline.begin)
            return base64.b64decode(handle.read(inline.end - inline.begin).strip(), validate=True)
    except (OSError, ValueError, binascii.Error) as exc:
        raise ImageFileNotFound("An inline image cannot be read.", detail={"path": str(inline.path)}) from exc


def local_file(image: dict) -> ImageSource:
    """Like ``image_source``, but a local source must be an existing regular file (else 404061)."""
    source = image_source(image)
    if source.local_path is not None and not source.local_path.is_file():
        raise ImageFileNotFound(
            f"The file of image {image.get('id')} is missing.", detail={"image_id": image.get("id")}
        )
    return source


def thumbs_dir() -> Path:
    return Path(settings.DDS_THUMBS_DIR)


def _dataset_dir(dataset_id: str) -> Path:
    directory = safe_join(thumbs_dir(), dataset_id, fallback="_")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def thumbnail_path(dataset_id: str, image_id: int, size: int, source: os.stat_result) -> Path:
    """Where the thumbnail of this version of the source lives (it may not exist yet)."""
    name = f"{image_id}-{size}-{source.st_size:x}-{source.st_mtime_ns:x}.jpg"
    return _dataset_dir(dataset_id) / name


def _write_atomically(picture: PILImage.Image, target: Path) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(handle, "wb") as out:
            picture.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _render(source: Path | io.BytesIO, size: int) -> PILImage.Image:
    with PILImage.open(source) as opened:
        opened.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, still at least size
        picture = ImageOps.exif_transpose(opened)
        picture.thumbnail((size, size))  # keeps the aspect ratio; the longest side becomes size
        if picture.mode not in ("RGB", "L"):
            picture = picture.convert("RGB")
        return picture.copy()


def placeholder_path(size: int) -> Path:
    """A neutral grey square of ``size``, made once."""
    target = thumbs_dir() / f"_placeholder-{size}.jpg"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(PILImage.new("RGB", (size, size), _PLACEHOLDER_COLOR), target)
    return target


def _drop_older_versions(target: Path, image_id: int, size: int) -> None:
    for old in target.parent.glob(f"{image_id}-{size}-*.jpg"):
        if old != target:
            old.unlink(missing_ok=True)


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    made: bool  # generated by this call
    placeholder: bool  # the source is missing or unreadable


def thumbnail(dataset_id: str, image: dict, size: int) -> Thumbnail:
    """The thumbnail file of a local image (made on first use); a placeholder if the source is bad.

    Raises ``PathOutsideDataRoots`` (403100) for a path outside the data roots and
    ``ImageFileNotFound`` for an image without a local file; call only for local sources.
    """
    source = image_source(image)
    if source.local_path is None:
        raise ImageFileNotFound("A remote image has no thumbnail here.", detail={"image_id": image.get("id")})
    image_id = image["id"]
    try:
        stat = source.local_path.stat()
        target = thumbnail_path(dataset_id, image_id, size, stat)
        if target.is_file():
            return Thumbnail(target, made=False, placeholder=False)
        picture = _render(io.BytesIO(read_inline(source.inline)) if source.inline else source.path, size)
        _write_atomically(picture, target)
        _drop_older_versions(target, image_id, size)
        return Thumbnail(target, made=True, placeholder=False)
    except (OSError, UnidentifiedImageError, ValueError, PILImage.DecompressionBombError, ImageFileNotFound) as exc:
        logger.warning("thumbnail of image %s in dataset %s: source unreadable (%s)", image_id, dataset_id, exc)
        return Thumbnail(placeholder_path(size), made=False, placeholder=True)


@dataclass
class ThumbnailSummary:
    made: int = 0
    cached: int = 0
    failed: int = 0  # unreadable, missing, or outside the data roots
    skipped: int = 0  # remote images, and URLs that are no local file

    def __str__(self) -> str:
        return f"made {self.made}, cached {self.cached}, failed {self.failed}, skipped {self.skipped}"


def make_thumbnails(dataset_id: str, size: int, *, progress: Callable[[int], None] | None = None) -> ThumbnailSummary:
    """Make the missing thumbnails of every image of a dataset; ``progress(1)`` after each image."""
    from datasets.images import Image

    summary = ThumbnailSummary()
    for image in Image(dataset_id).find_many({}, includes=["id", "url", "url_full_res"], to_dict=True):
        try:
            source = image_source(image)
        except ImageFileNotFound:
            summary.skipped += 1
        except PathOutsideDataRoots:
            logger.warning("thumbnail of image %s in dataset %s: outside the data roots", image["id"], dataset_id)
            summary.failed += 1
        else:
            if source.remote:
                summary.skipped += 1
            else:
                made = thumbnail(dataset_id, image, size)
                if made.placeholder:
                    summary.failed += 1
                elif made.made:
                    summary.made += 1
                else:
                    summary.cached += 1
        if progress:
            progress(1)
    return summary
