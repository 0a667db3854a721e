"""Export to YOLO: ``classes.txt`` and one ``labels/<stem>.txt`` per image, streamed.

Detection labels (the default) are ``class cx cy w h`` lines. With ``segments`` the files are
YOLO segmentation labels, ``class x1 y1 x2 y2 ...``: an object's polygons (one line per part, as
YOLO has one polygon per line), or its box as a four-corner polygon when it has none.
Prediction sets get a trailing confidence on each line in both forms.

The label file's name comes from the image's file name, which is data: only its harmless
components are used (``dds_site.files.safe_relative_name``: no ``..``, no absolute path, no
control characters), so ``a/b.jpg`` gives ``labels/a/b.txt`` (the layout the YOLO importer
reads) and ``../../x.jpg`` gives ``labels/x.txt``. A name already taken by an earlier image
becomes ``<stem>__<image id>.txt``: nothing is overwritten, and the same dataset always gives the
same files. The export is written into a fresh directory beside the output and moved into place
at the end, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from datasets.exporters.common import (
    category_names,
    file_name_of,
    iter_images,
    label_names,
    parse_polygons,
    pixel_box,
    put_in_place,
    unwritable,
)
from datasets.importers.errors import OutputExists
from dds_site.files import safe_join, safe_relative_name

# Reasons to try the next name for a label file (a name or directory taken, a path too long).
_NAME_TAKEN = (errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG)


def _box_values(box: list[float], width: int, height: int) -> list[list[float]]:
    x, y, w, h = box
    return [[(x + w / 2) / width, (y + h / 2) / height, w / width, h / height]]


def _segment_values(obj: dict, box: list[float], width: int, height: int) -> list[list[float]]:
    polygons = [p for p in parse_polygons(obj.get("segmentation") or "") if len(p) >= 6 and len(p) % 2 == 0]
    if not polygons:
        x, y, w, h = box
        polygons = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return [[v / (width if i % 2 == 0 else height) for i, v in enumerate(polygon)] for polygon in polygons]


def export_yolo(
    dataset_id: str,
    output_dir: str | Path,
    *,
    labels: list[str] | None = None,
    prediction: str | None = None,
    segments: bool = False,
    overwrite: bool = False,
) -> dict:
    """Objects of the chosen GT sets (or of one prediction set, with a confidence column).

    Objects without a box are not written (every YOLO label line locates its object). An existing
    ``output_dir`` that is not empty is written into only with ``overwrite`` (files of this export
    replace those of the same name, others stay); otherwise ``OutputExists`` (409).
    """
    output_dir = Path(output_dir)
    if not overwrite and _occupied(output_dir):
        raise OutputExists(str(output_dir))
    chosen = label_names(dataset_id, [prediction] if prediction else labels, types=("GT",))
    names = category_names(dataset_id)
    index = {name: number for number, name in enumerate(names)}
    num_images = num_lines = renamed = 0
    with _staged_directory(output_dir, overwrite=overwrite) as staging:
        (staging / "classes.txt").write_text("".join(f"{name}\n" for name in names))
        labels_dir = staging / "labels"
        labels_dir.mkdir()
        for document in iter_images(dataset_id):
            width, height = document.get("width") or 0, document.get("height") or 0
            lines = []
            for obj in document.get("objects") or ():
                if obj.get("label_name") not in chosen or obj.get("category_name") not in index:
                    continue
                box = pixel_box(obj, width, height)
                if box is None:
                    continue
                rows = _segment_values(obj, box, width, height) if segments else _box_values(box, width, height)
                for values in rows:
                    if prediction:
                        values.append(obj.get("conf", 1.0))
                    lines.append(" ".join([str(index[obj["category_name"]]), *(repr(float(v)) for v in values)]))
            handle, first_choice = _new_label_file(labels_dir, file_name_of(document), document["_id"])
            with handle:
                handle.write("".join(f"{line}\n" for line in lines))
            renamed += not first_choice
            num_images += 1
            num_lines += len(lines)
    return {"images": num_images, "lines": num_lines, "renamed_label_files": renamed}


def _occupied(path: Path) -> bool:
    """True if ``path`` exists and is anything but an empty directory."""
    if not os.path.lexists(path):
        return False
    try:
        return path.is_symlink() or not path.is_dir() or any(path.iterdir())
    except OSError:
        return True


def _label_names(file_name: str, image_id: object) -> Iterator[PurePosixPath]:
    """Label file names to try for an image, in order: ``<dirs>/<stem>.txt``, then with the image id."""
    relative = safe_relative_name(file_name)
    stem = os.path.splitext(relative.name)[0] if relative else ""
    folder = relative.parent if relative else PurePosixPath()
    if stem:
        yield folder / f"{stem}.txt"
        yield folder / f"{stem}__{image_id}.txt"
    base = f"{stem[:100]}__{image_id}" if stem else str(image_id)
    yield PurePosixPath(f"{base}.txt")
    number = 2
    while True:
        yield PurePosixPath(f"{base}_{number}.txt")
        number += 1


def _new_label_file(labels_dir: Path, file_name: str, image_id: object) -> tuple[IO[str], bool]:
    """A new label file under ``labels_dir`` (a fresh directory) and whether it got its first-choice name."""
    for attempt, relative in enumerate(_label_names(file_name, image_id)):
        path = labels_dir / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return open(path, "x"), attempt == 0
        except OSError as exc:
            if exc.errno not in _NAME_TAKEN:
                raise unwritable(path, exc) from exc
    raise AssertionError("unreachable: the names to try never run out")


@contextmanager
def _staged_directory(output_dir: Path, *, overwrite: bool) -> Iterator[Path]:
    """A fresh directory beside ``output_dir``; on success it becomes ``output_dir`` or, if that
    exists, its files are moved in (replacing files of the same name only with ``overwrite``)."""
    staging = output_dir.parent / f".{output_dir.name}.{uuid.uuid4().hex}.partial"
    try:
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise unwritable(output_dir, exc) from exc
    try:
        yield staging
        if not os.path.lexists(output_dir):
            try:
                staging.rename(output_dir)
                return
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise unwritable(output_dir, exc) from exc
                # created meanwhile: merge into it like into an existing directory
        _merge(staging, output_dir, overwrite=overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _merge(staging: Path, output_dir: Path, *, overwrite: bool) -> None:
    if not output_dir.is_dir():
        raise unwritable(output_dir, NotADirectoryError(errno.ENOTDIR, "Not a directory"))
    for directory, _subdirs, files in os.walk(staging):
        for name in sorted(files):
            source = Path(directory, name)
            # A symlink already in the output directory must not lead the file out of it.
            target = safe_join(output_dir, source.relative_to(staging).as_posix(), fallback=name)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise unwritable(target, exc) from exc
            put_in_place(source, target, overwrite=overwrite)
