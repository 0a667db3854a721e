"""A plain directory of images (no annotations); sizes read lazily from the file headers."""

from __future__ import annotations

import os
from collections.abc import Iterator

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from datasets.importers.errors import ImportFormatError
from datasets.importers.records import ImageRecord, Problems
from datasets.objects import local_file_url
from dds_site.files import is_in_data_roots

DATASET_TYPE = "simple"
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def image_size(path: str) -> tuple[int, int]:
    """``(width, height)`` from the header only: Pillow decodes no pixels until asked."""
    try:
        with PILImage.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError, PILImage.DecompressionBombError) as exc:
        # Pillow's text may quote header bytes: only say what went wrong in general.
        raise ImportFormatError("not a readable image", file=path) from exc


def check_listed_file(path: str, *, confined: bool) -> None:
    """A file found in a listed directory may be a symlink: for a request it must stay under the data roots."""
    if confined and not is_in_data_roots(path):
        raise ImportFormatError("the file leads out of the data roots", file=path)


def list_images(root: str) -> list[str]:
    """Image files under ``root`` (recursive), as sorted paths relative to it."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in files:
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


class ImageDirImporter:
    """Every image file of a directory, keyed by its relative path."""

    dataset_type = DATASET_TYPE

    def __init__(self, root: str, *, confined: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.confined = confined
        if not os.path.isdir(self.root):
            raise ImportFormatError("not a directory", file=self.root)
        self.total: int | None = None

    @property
    def files(self) -> dict[str, str]:
        return {"Images": self.root}

    def iter_images(self, problems: Problems) -> Iterator[ImageRecord]:
        names = list_images(self.root)
        self.total = len(names)
        yield from readable_images(self.root, names, confined=self.confined, problems=problems)


def readable_images(root: str, names: list[str], *, confined: bool, problems: Problems) -> Iterator[ImageRecord]:
    """An image record for each listed file under ``root`` that can be read; the others are reported and skipped."""
    for relative in names:
        path = os.path.join(root, relative)
        try:
            check_listed_file(path, confined=confined)
            width, height = image_size(path)
        except ImportFormatError as exc:
            problems.report(exc, whole_image=True)
            continue
        yield ImageRecord(
            key=relative,
            url=local_file_url(path),
            width=width,
            height=height,
            metadata={"file_name": relative},
            where=path,
        )
