"""Files users upload for imports: an annotation file (COCO JSON, YOLO, TSV) or a zip of images.

An upload lives in ``<first data root>/uploads/<id>/``: ``meta.json`` (owner, name, declared
size, state), the bytes received so far in ``data.part``, and once finished the file under its
sanitised name in ``data/`` (a zip is unpacked into ``files/``). It is sent in one multipart
request (``store_file``) or in chunks: ``create`` declares name and size, ``receive`` appends a
chunk that must start at the received offset (the size of ``data.part``, so a client that lost
its connection asks for the offset and resumes), ``finish`` checks that every byte arrived.

Every limit is a setting: ``DDS_MAX_UPLOAD_BYTES`` (413000), and for zips the unpacked bytes and
file count (``DDS_MAX_UNPACKED_BYTES``, ``DDS_MAX_UNPACKED_FILES``: 413110, counted while
unpacking, not trusted from the archive's headers). Links, absolute names and names climbing
with ``..`` (zip-slip) are refused (400121); a zip is unpacked into a temporary directory renamed
into place at the end, so a refused archive leaves nothing. Only the upload's owner sees it (others
get 404070). Unfinished uploads idle for ``DDS_UPLOAD_EXPIRE_S`` are purged when the next upload
is created and by ``manage.py purge_uploads``; finished ones stay, since datasets imported from
them refer to their files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

from datasets.errors import (
    ArchiveTooLarge,
    BadArchive,
    UnsafeArchiveEntry,
    UploadChunkInvalid,
    UploadContentMissing,
    UploadFinished,
    UploadIncomplete,
    UploadNotFound,
    UploadOffsetMismatch,
)
from dds_site.errors import InvalidArgument, PayloadTooLarge
from dds_site.files import resolve_data_path, safe_join, safe_relative_name

RECEIVING = "receiving"
READY = "ready"
COPY_BYTES = 1024 * 1024
_ID_CHARS = frozenset("0123456789abcdef")


@dataclass
class Upload:
    id: str
    owner: str
    filename: str
    size: int
    state: str
    created_ts: int
    updated_ts: int
    offset: int = 0
    is_zip: bool = False
    unpacked_files: int = 0
    unpacked_bytes: int = 0

    @property
    def directory(self) -> Path:
        return uploads_root() / self.id

    @property
    def file_path(self) -> Path:
        """The finished file."""
        return self.directory / "data" / self.filename

    @property
    def files_dir(self) -> Path:
        """Where a finished zip was unpacked."""
        return self.directory / "files"

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("owner")
        return data


def uploads_root() -> Path:
    root = resolve_data_path("uploads", field="upload")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _now_ms() -> int:
    return int(time.time() * 1000)


def _meta_path(upload_id: str) -> Path:
    return uploads_root() / upload_id / "meta.json"


def _part_path(upload: Upload) -> Path:
    return upload.directory / "data.part"


def _save(upload: Upload) -> None:
    path = _meta_path(upload.id)
    tmp = path.with_suffix(".tmp")
    data = asdict(upload)
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def _load(upload_id: str) -> Upload | None:
    if not isinstance(upload_id, str) or len(upload_id) != 32 or not set(upload_id) <= _ID_CHARS:
        return None
    try:
        data = json.loads(_meta_path(upload_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    upload = Upload(**data)
    if upload.state == RECEIVING:
        part = _part_path(upload)
        upload.offset = part.stat().st_size if part.exists() else 0
    return upload


@contextlib.contextmanager
def _locked(upload: Upload) -> Iterator[None]:
    """Serialise the writers of one upload (two chunks sent at once, a chunk racing ``finish``)."""
    with open(upload.directory / "lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def max_upload_bytes() -> int:
    return int(settings.DDS_MAX_UPLOAD_BYTES)


def _check_size(size: object) -> int:
    if type(size) is not int or size < 0:
        raise InvalidArgument("size must be a non-negative integer", detail={"field": "size"})
    limit = max_upload_bytes()
    if size > limit:
        raise PayloadTooLarge(
            f"An upload may hold at most {limit} bytes, got {size}.", detail={"limit": limit, "size": size}
        )
    return size


def _clean_filename(filename: object) -> str:
    relative = safe_relative_name(filename) if isinstance(filename, str) else None
    if relative is None or relative.name in ("data.part", "meta.json"):
        raise InvalidArgument("filename must name a file", detail={"field": "filename"})
    return relative.name


def get(owner: str, upload_id: str) -> Upload:
    """The upload ``upload_id`` of ``owner``; ``UploadNotFound`` (404070) if none (or another's)."""
    upload = _load(upload_id)
    if upload is None or upload.owner != owner:
        raise UploadNotFound(detail={"upload_id": upload_id})
    return upload


def create(owner: str, filename: str, size: int) -> Upload:
    """Declare an upload of ``size`` bytes named ``filename``; its chunks follow (``receive``)."""
    size = _check_size(size)
    name = _clean_filename(filename)
    purge_expired()
    now = _now_ms()
    upload = Upload(
        id=uuid.uuid4().hex,
        owner=owner,
        filename=name,
        size=size,
        state=RECEIVING,
        created_ts=now,
        updated_ts=now,
        is_zip=name.lower().endswith(".zip"),
    )
    upload.directory.mkdir(parents=True)
    _part_path(upload).touch()
    _save(upload)
    return upload


def receive(owner: str, upload_id: str, offset: int, stream: BinaryIO, length: int) -> Upload:
    """Append ``length`` bytes read from ``stream`` at ``offset`` (which must be the received offset).

    ``UploadOffsetMismatch`` (409110, ``detail.offset`` the received offset) otherwise, and
    ``UploadChunkInvalid`` (400120) for a chunk past the declared size. Bytes that arrived before a
    client went away are kept: the client asks for the offset and resumes from there.
    """
    upload = get(owner, upload_id)
    if length < 0:
        raise UploadChunkInvalid("a chunk needs its Content-Length", detail={"field": "Content-Length"})
    with _locked(upload):
        upload = get(owner, upload_id)
        if upload.state != RECEIVING:
            raise UploadFinished(detail={"upload_id": upload_id})
        if offset != upload.offset:
            raise UploadOffsetMismatch(
                f"The chunk starts at {offset}; the upload has received {upload.offset} bytes.",
                detail={"offset": upload.offset, "given": offset},
            )
        if offset + length > upload.size:
            raise UploadChunkInvalid(
                f"The chunk ends at {offset + length}, past the upload's size {upload.size}.",
                detail={"offset": offset, "length": length, "size": upload.size},
            )
        with open(_part_path(upload), "ab") as target:
            remaining = length
            while remaining > 0:
                data = stream.read(min(COPY_BYTES, remaining))
                if not data:
                    break
                target.write(data)
                remaining -= len(data)
        upload.offset = _part_path(upload).stat().st_size
        upload.updated_ts = _now_ms()
        _save(upload)
    return upload


def finish(owner: str, upload_id: str) -> Upload:
    """Close a fully received upload: the file moves under its name, a zip is unpacked.

    ``UploadIncomplete`` (409111) before every byte arrived; a zip that cannot be unpacked safely is
    refused (400121, 400122, 413110) and the upload deleted, so nothing half-unpacked remains.
    Finishing a finished upload returns it unchanged.
    """
    upload = get(owner, upload_id)
    with _locked(upload):
        upload = get(owner, upload_id)
        if upload.state == READY:
            return upload
        if upload.offset != upload.size:
            raise UploadIncomplete(
                f"The upload has received {upload.offset} of {upload.size} bytes.",
                detail={"offset": upload.offset, "size": upload.size},
            )
        upload.file_path.parent.mkdir(exist_ok=True)
        os.replace(_part_path(upload), upload.file_path)
        if upload.is_zip:
            try:
                upload.unpacked_files, upload.unpacked_bytes = unpack_zip(upload.file_path, upload.files_dir)
            except BaseException:
                shutil.rmtree(upload.directory, ignore_errors=True)
                raise
        upload.state = READY
        upload.updated_ts = _now_ms()
        _save(upload)
    return upload


def store_file(owner: str, filename: str, source: BinaryIO, size: int) -> Upload:
    """An upload sent whole (a multipart file): create, receive and finish in one go.

    Nothing stays of an upload refused on the way (a short body, a bad zip).
    """
    upload = create(owner, filename, size)
    try:
        upload = receive(owner, upload.id, 0, source, size)
        return finish(owner, upload.id)
    except BaseException:
        shutil.rmtree(upload.directory, ignore_errors=True)
        raise


def delete(owner: str, upload_id: str) -> None:
    upload = get(owner, upload_id)
    shutil.rmtree(upload.directory, ignore_errors=True)


def purge_expired(max_idle_s: float | None = None) -> list[str]:
    """Delete the unfinished uploads idle for ``max_idle_s`` (default ``DDS_UPLOAD_EXPIRE_S``); their ids."""
    idle_ms = (settings.DDS_UPLOAD_EXPIRE_S if max_idle_s is None else max_idle_s) * 1000
    now = _now_ms()
    purged = []
    for directory in sorted(uploads_root().iterdir()):
        upload = _load(directory.name)
        if upload is None:
            continue
        last = max(upload.updated_ts, _mtime_ms(_part_path(upload)))
        if upload.state == RECEIVING and now - last >= idle_ms:
            shutil.rmtree(upload.directory, ignore_errors=True)
            purged.append(upload.id)
    return purged


def _mtime_ms(path: Path) -> int:
    try:
        return int(path.stat().st_mtime * 1000)
    except OSError:
        return 0


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def _entry_name(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The entry's relative path; ``UnsafeArchiveEntry`` if it is absolute or climbs out."""
    raw = info.filename.replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":") or ".." in raw.split("/"):
        raise UnsafeArchiveEntry(
            "An archive entry has an absolute name or climbs out of the archive.", detail={"entry": info.filename}
        )
    return safe_relative_name(raw)


def unpack_zip(archive: Path, target: Path) -> tuple[int, int]:
    """Unpack ``archive`` into the new directory ``target``; returns (files, bytes).

    Links and unsafe names are refused (400121), unreadable or encrypted archives too (400122); more
    files or bytes than the settings allow is 413110, counted on the bytes actually unpacked.
    """
    max_bytes = int(settings.DDS_MAX_UNPACKED_BYTES)
    max_files = int(settings.DDS_MAX_UNPACKED_FILES)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = total = 0
    try:
        try:
            opened = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BadArchive(detail={"file": archive.name}) from exc
        with opened:
            for info in opened.infolist():
                if _is_link(info):
                    raise UnsafeArchiveEntry("The archive holds a link.", detail={"entry": info.filename})
                name = _entry_name(info)
                if info.is_dir() or name is None:
                    continue
                if info.flag_bits & 0x1:
                    raise BadArchive("The archive is encrypted.", detail={"entry": info.filename})
                files += 1
                if files > max_files:
                    raise ArchiveTooLarge(
                        f"The archive holds more than {max_files} files.", detail={"max_files": max_files}
                    )
                path = safe_join(staging, str(name), fallback="file")
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with opened.open(info) as source, open(path, "xb") as out:
                        while chunk := source.read(COPY_BYTES):
                            total += len(chunk)
                            if total > max_bytes:
                                raise ArchiveTooLarge(
                                    f"The archive unpacks to more than {max_bytes} bytes.",
                                    detail={"max_bytes": max_bytes},
                                )
                            out.write(chunk)
                except FileExistsError as exc:
                    raise UnsafeArchiveEntry(
                        "The archive holds two entries of the same name.", detail={"entry": info.filename}
                    ) from exc
                except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
                    raise BadArchive(detail={"entry": info.filename}) from exc
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return files, total


def content_path(upload: Upload, relative: str | None, *, field: str) -> Path:
    """A file or directory of a finished upload: ``relative`` inside its unpacked zip, else the file itself.

    ``UploadIncomplete`` (409111) if not finished; ``UploadContentMissing`` (400123) if not there.
    """
    if upload.state != READY:
        raise UploadIncomplete(detail={"upload_id": upload.id})
    if not relative:
        path = upload.files_dir if upload.is_zip else upload.file_path
    elif upload.is_zip:
        path = safe_join(upload.files_dir, relative, fallback=".")
    else:
        path = upload.file_path if relative == upload.filename else upload.directory / "missing"
    if not path.exists():
        raise UploadContentMissing(f"The upload has no file {relative!r}.", detail={"field": field, "path": relative})
    return path
