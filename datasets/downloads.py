"""Files a user downloads: the output of a dataset's last finished export, and its image flags as TSV.

An export's output is read only through the data roots (``dds_site.files``): an entry whose output
lies elsewhere (an operator's shell command may write anywhere) is refused with 403100. A YOLO
export is a directory; it is sent as a zip built while it streams, so nothing is written for it.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datasets import jobs, store
from datasets.errors import ExportNotFound, ExportRunning
from datasets.models import DataSet
from dds_site.files import is_in_data_roots, resolve_data_path

CHUNK_BYTES = 256 * 1024
CONTENT_TYPES = {"coco": "application/json", "tsv": "text/tab-separated-values", "yolo": "application/zip"}


@dataclass(frozen=True)
class ExportFile:
    """The output of a finished export: a file, or a directory to send as a zip."""

    path: Path
    format: str
    is_directory: bool

    @property
    def filename(self) -> str:
        return f"{self.path.name}.zip" if self.is_directory else self.path.name

    @property
    def content_type(self) -> str:
        if self.is_directory:
            return "application/zip"
        return CONTENT_TYPES.get(self.format, "application/octet-stream")


def finished_export(dataset_id: str) -> ExportFile:
    """The last export's output: 409101 while one runs, 404060 if none finished or its output is gone,
    403100 if it lies outside the data roots."""
    jobs.mark_stale_failed(dataset_id, "export")
    entry = jobs.job_entry(dataset_id, "export") or {}
    if entry.get("state") in jobs.LIVE_STATES:
        raise ExportRunning()
    output = entry.get("output")
    if entry.get("state") != jobs.READY or not isinstance(output, str) or not output:
        raise ExportNotFound(f"Dataset {dataset_id} has no finished export.")
    path = resolve_data_path(output, field="output")
    if path.is_file():
        return ExportFile(path, str(entry.get("format") or ""), is_directory=False)
    if path.is_dir():
        return ExportFile(path, str(entry.get("format") or ""), is_directory=True)
    raise ExportNotFound(f"The output of the last export of dataset {dataset_id} no longer exists.")


class _Pipe:
    """A write-only stream whose bytes are taken out as they come (``zipfile`` needs no seeking)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def _directory_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files below ``root`` (sorted) with their names in the archive; links leading out of
    the data roots are skipped."""
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in sorted(names):
            path = Path(directory) / name
            if path.is_file() and is_in_data_roots(path):
                yield path, path.relative_to(root).as_posix()


def iter_zip(root: Path) -> Iterator[bytes]:
    """A zip of the directory ``root`` (entries under ``<root name>/``), produced chunk by chunk."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path, name in _directory_files(root):
            with path.open("rb") as source, archive.open(f"{root.name}/{name}", "w", force_zip64=True) as target:
                while chunk := source.read(CHUNK_BYTES):
                    target.write(chunk)
                    if data := pipe.take():
                        yield data
            if data := pipe.take():
                yield data
    if data := pipe.take():
        yield data


def flags_filename(dataset: DataSet) -> str:
    """DDS's name for the flags file: ``[<group_name>.]<name>.flag.tsv``."""
    prefix = f"{dataset.group_name}." if dataset.group_name else ""
    return f"{prefix}{dataset.name}.flag.tsv"


def iter_flag_lines(dataset: DataSet, batch_size: int = 1000) -> Iterator[bytes]:
    """One line per image, by image id: dataset name, TAB, ``{"time": flag_ts, "id": id, "flag": flag}``."""
    for image in store.images_by_id(dataset.pk, {"flag": 1, "flag_ts": 1}, batch_size=batch_size):
        record = {"time": image.get("flag_ts", 0), "id": image["_id"], "flag": image.get("flag", 0)}
        yield f"{dataset.name}\t{json.dumps(record)}\n".encode()
