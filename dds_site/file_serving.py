"""Serving one local file over HTTP: validators, conditional GET and single byte ranges.

``serve_file`` answers 200 (``FileResponse``), 304 when ``If-None-Match`` / ``If-Modified-Since``
say the client's copy is current, 206 for one satisfiable ``Range: bytes=...`` and 416 for an
unsatisfiable one. Several ranges in one header, or a malformed header, get the whole file (which
RFC 9110 allows); ``If-Range`` with a different validator also gets the whole file. The caller has
already checked that ``path`` may be read (data roots).
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE | re.ASCII)
_CHUNK = 64 * 1024


def etag_for(stat: os.stat_result) -> str:
    """A strong validator from size and modification time (nanoseconds)."""
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    tags = [tag.strip() for tag in header.split(",")]
    return any(tag.removeprefix("W/") == etag for tag in tags)


def _not_modified(request: HttpRequest, etag: str, mtime: int) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:  # when present it decides alone (RFC 9110 §13.1.3)
        return _etag_matches(if_none_match, etag)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and mtime <= since


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """``(first, last)`` inclusive for one satisfiable range; False if unsatisfiable; None to ignore.

    None covers a missing, malformed or multi-range header: the whole file is sent.
    """
    match = _RANGE.match(header or "")
    if not match:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix range: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # syntactically invalid: ignored
    if first >= size:
        return False
    last = min(int(last_text), size - 1) if last_text else size - 1
    return first, last


def _read_span(path: Path, first: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def _respond(
    request: HttpRequest,
    *,
    size: int,
    etag: str,
    mtime: int,
    content_type: str,
    cache_control: str,
    whole: Callable[[], HttpResponse],
    span: Callable[[int, int], Iterable[bytes]],
) -> HttpResponse:
    """304, 416, 206 (``span(first, length)``) or 200 (``whole()``) for a resource of ``size`` bytes."""
    if _not_modified(request, etag, mtime):
        response: HttpResponse = HttpResponseNotModified()
    else:
        wanted = parse_range(request.headers.get("Range", ""), size)
        if_range = request.headers.get("If-Range")
        if wanted is not None and if_range is not None and if_range.strip() != etag:
            wanted = None  # the client's partial copy is of another version
        if wanted is False:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
        elif wanted:
            first, last = wanted
            length = last - first + 1
            body = [] if request.method == "HEAD" else span(first, length)
            response = StreamingHttpResponse(body, status=206, content_type=content_type)
            response["Content-Range"] = f"bytes {first}-{last}/{size}"
            response["Content-Length"] = str(length)
        else:
            response = whole()
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(mtime)
    response["Cache-Control"] = cache_control
    return response


def serve_file(
    request: HttpRequest, path: Path, *, cache_control: str, content_type: str | None = None
) -> HttpResponse:
    """The response for GET/HEAD of ``path`` (see the module docstring). Raises ``OSError`` if unreadable."""
    stat = path.stat()
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return _respond(
        request,
        size=stat.st_size,
        etag=etag_for(stat),
        mtime=int(stat.st_mtime),
        content_type=content_type,
        cache_control=cache_control,
        whole=lambda: FileResponse(open(path, "rb"), content_type=content_type),  # Django closes it
        span=lambda first, length: _read_span(path, first, length),
    )


def serve_bytes(
    request: HttpRequest, data: bytes, *, etag: str, mtime: int, cache_control: str, content_type: str
) -> HttpResponse:
    """Like ``serve_file`` for content held in memory, whose validator the caller derives."""
    return _respond(
        request,
        size=len(data),
        etag=etag,
        mtime=mtime,
        content_type=content_type,
        cache_control=cache_control,
        whole=lambda: HttpResponse(data, content_type=content_type),
        span=lambda first, length: [data[first : first + length]],
    )
