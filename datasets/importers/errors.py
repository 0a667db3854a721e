"""Errors of the import, export and FN/FP jobs.

Their messages name the file, the record and the field at fault, never bytes read from a file
(a value, a line, a parser's snippet): they reach API responses and ``detail_status``, and the
file could be anything a path led to.
"""

from __future__ import annotations

from typing import Any

from dds_site.errors import DDSError, ErrCode, InvalidArgument


class DataError(InvalidArgument, ValueError):
    """Bad data or a bad request of a job: names the file, the record and the field at fault (400002)."""

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


class ImportFormatError(DataError):
    """Bad input data of an import."""


class ExportError(DataError):
    """An export that cannot be made as asked: a label set that is not there, an output that cannot be written."""


class JobFailed(DDSError):
    """A long job (import, export, FN/FP) failed for a reason that is not bad input."""

    code = ErrCode.INTERNAL
    message = "Job failed."


class OutputExists(DDSError):
    """An export would replace an existing file or directory and ``overwrite`` was not asked for."""

    code = 409100
    message = "The output exists; ask to overwrite it."

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} exists; export with overwrite to replace it.", detail={"field": "output"})


def failure_reason(exc: BaseException) -> str:
    """What a failed job records as its reason: the typed error's message, else only the kind of failure.

    Text of unexpected exceptions (a driver's error with a document in it, a decoder's with input
    bytes) is not stored: it is re-raised to the caller and logged there.
    """
    if isinstance(exc, DDSError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class ImportInProgress(DDSError):
    """Another import of the same dataset is running."""

    code = ErrCode.CONFLICT
    message = "An import of this dataset is already running."
