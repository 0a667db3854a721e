"""Errors of the import, export and FN/FP jobs."""

from __future__ import annotations

from typing import Any

from dds_site.errors import DDSError, ErrCode, InvalidArgument


class ImportFormatError(InvalidArgument, ValueError):
    """Bad input data: names the file, the record and the field at fault (400002)."""

    def __init__(self, message: str, *, file: str = "", record: Any = None, field: str = "") -> None:
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file else "",
                f"record {record}" if record is not None else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(
            f"{where}: {message}" if where else message,
            detail={
                "file": file,
                "record": record,
                "field": field,
                "reason": message,
            },
        )
        self.file = file
        self.record = record
        self.field = field
        self.reason = message


class JobFailed(DDSError):
    """A long job (import, export, FN/FP) failed for a reason that is not bad input."""

    code = ErrCode.INTERNAL
    message = "Job failed."


class ImportInProgress(DDSError):
    """Another import of the same dataset is running."""

    code = ErrCode.CONFLICT
    message = "An import of this dataset is already running."
