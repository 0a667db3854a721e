"""What every exporter shares: streaming the images, choosing label sets, atomic output files."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from datasets import store
from datasets.importers.errors import ExportError, OutputExists
from datasets.importers.records import parse_number
from datasets.models import Category, Label

_PROJECTION = {"objects": 1, "width": 1, "height": 1, "url": 1, "metadata": 1, "idx": 1, "source_key": 1}


def iter_images(dataset_id: str, batch_size: int = 1000) -> Iterator[dict]:
    """Every image document of the dataset by ``idx``, through one cursor (bounded memory)."""
    yield from store.images_by_idx(dataset_id, _PROJECTION, batch_size=batch_size)


def category_names(dataset_id: str) -> list[str]:
    """The dataset's category names, sorted."""
    return sorted(Category.objects.filter(dataset_id=dataset_id).values_list("name", flat=True))


def label_names(dataset_id: str, names: list[str] | None, *, types: tuple[str, ...]) -> dict[str, str]:
    """Chosen label sets ``{name: type}``; all sets of ``types`` when ``names`` is None."""
    rows = dict(Label.objects.filter(dataset_id=dataset_id).values_list("name", "type"))
    if names is None:
        return {name: kind for name, kind in rows.items() if kind in types}
    missing = [name for name in names if name not in rows]
    if missing:
        raise ExportError(f"no label set named {', '.join(missing)} in this dataset", field="labels")
    return {name: rows[name] for name in names}


def metadata_of(document: dict) -> dict:
    try:
        value = json.loads(document.get("metadata") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def file_name_of(document: dict) -> str:
    """The image's file name: from its metadata, its source key, or its URL."""
    name = metadata_of(document).get("file_name") or document.get("source_key")
    if isinstance(name, str) and name and not name.isdigit():
        return name
    return os.path.basename((document.get("url") or "").split("?")[0]) or f"{document['_id']}.jpg"


def parse_polygons(segmentation: str) -> list[list[float]]:
    """``"x,y,.../x,y,..."`` -> polygons; integers stay integers, so a round trip keeps the text."""
    return [[parse_number(v) for v in part.split(",")] for part in (segmentation or "").split("/") if part]


def pixel_box(obj: dict, width: int, height: int) -> list[float] | None:
    """``[x, y, w, h]`` in pixels of a normalised ``bounding_box``."""
    box = obj.get("bounding_box")
    if not box or not width or not height:
        return None
    x0, y0 = box["xmin"] * width, box["ymin"] * height
    return [x0, y0, box["xmax"] * width - x0, box["ymax"] * height - y0]


def unwritable(path: Path, exc: OSError) -> ExportError:
    return ExportError(f"cannot write {path}: {exc.strerror or exc}", field="output")


@contextlib.contextmanager
def atomic_output(path: str | Path, mode: str = "w", *, overwrite: bool = False):
    """Write to a temporary file beside ``path``; move it into place only on success.

    An existing ``path`` is replaced only with ``overwrite``; otherwise it is refused up front
    and, should it appear meanwhile, at the end (``OutputExists``, 409): the file is linked into
    place, which never replaces. A path that cannot be written (a file where a directory must be,
    a directory in the way, no permission, a name too long) is the caller's bad ``output``: a
    typed 400, not a crash.
    """
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise OutputExists(str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", delete=False)  # noqa: SIM115
    except OSError as exc:
        raise unwritable(path, exc) from exc
    try:
        with handle:
            yield handle
        put_in_place(Path(handle.name), path, overwrite=overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)


def put_in_place(source: Path, path: Path, *, overwrite: bool) -> None:
    """Move the finished ``source`` to ``path`` (same directory), replacing it only with ``overwrite``."""
    try:
        if overwrite:
            os.replace(source, path)
            return
        try:
            os.link(source, path)  # atomic, and fails if ``path`` exists
        except FileExistsError:
            raise OutputExists(str(path)) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # A file system without hard links: check, then rename (a small window remains).
            if os.path.lexists(path):
                raise OutputExists(str(path)) from None
            os.replace(source, path)
    except OSError as exc:
        raise unwritable(path, exc) from exc
