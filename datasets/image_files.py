"""Where an image's pixels live, and its thumbnails.

An image document keeps DDS's URL (``url_full_res``, else ``url``): a local-file URL
``/files/local_files/b/1/-1_-1/<mime>/<quoted path>`` for a file on this server, or a remote
``http(s)://`` URL. A local path is data, so it is read only through ``dds_site.files``: outside the
data roots it is refused (403100), whether the file exists or not. Remote images are not fetched
(the API redirects to them). Inline TSV images (byte-range URLs, ``b/2``) have no file of their own
and are not served here.

Thumbnails are JPEG files under ``settings.DDS_THUMBS_DIR / <dataset id> /``, named by image id,
size and the source's size and modification time, so a changed source gets a new thumbnail. They
are written to a temporary file and renamed, so a reader never sees half a file. A source that is
missing or cannot be decoded gets a neutral placeholder (made once per size) and a logged warning.
"""

from __future__ import annotations

import logging
import os
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
THUMBNAIL_SIZES = (128, 256, 512)
DEFAULT_THUMBNAIL_SIZE = 256
_PLACEHOLDER_COLOR = (200, 200, 200)
_JPEG_QUALITY = 85


class ImageFileNotFound(NotFound):
    """The image has no local file this server can serve (missing, unreadable, or inline)."""

    code = ErrCode.IMAGE_FILE_NOT_FOUND
    message = "Image file not found."


@dataclass(frozen=True)
class ImageSource:
    """A local file (``path``) or a remote URL (``remote``); exactly one is set."""

    path: Path | None = None
    remote: str | None = None


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
    if url.lower().startswith(("http://", "https://")):
        return ImageSource(remote=url)
    raise ImageFileNotFound(
        f"Image {image.get('id')} has no local file to serve.", detail={"image_id": image.get("id")}
    )


def local_file(image: dict) -> ImageSource:
    """Like ``image_source``, but a local source must be an existing regular file (else 404061)."""
    source = image_source(image)
    if source.path is not None and not source.path.is_file():
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


def _render(source: Path, size: int) -> PILImage.Image:
    with PILImage.open(source) as opened:
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
    if source.path is None:
        raise ImageFileNotFound("A remote image has no thumbnail here.", detail={"image_id": image.get("id")})
    image_id = image["id"]
    try:
        stat = source.path.stat()
        target = thumbnail_path(dataset_id, image_id, size, stat)
        if target.is_file():
            return Thumbnail(target, made=False, placeholder=False)
        picture = _render(source.path, size)
        _write_atomically(picture, target)
        _drop_older_versions(target, image_id, size)
        return Thumbnail(target, made=True, placeholder=False)
    except (OSError, UnidentifiedImageError, ValueError, PILImage.DecompressionBombError) as exc:
        logger.warning("thumbnail of image %s in dataset %s: source unreadable (%s)", image_id, dataset_id, exc)
        return Thumbnail(placeholder_path(size), made=False, placeholder=True)


@dataclass
class ThumbnailSummary:
    made: int = 0
    cached: int = 0
    failed: int = 0  # unreadable, missing, or outside the data roots
    skipped: int = 0  # remote or inline images, which have no local file

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
