"""The one gate for files the server reads or writes on behalf of a request or of imported data.

Such files must lie under the data roots (``settings.DDS_DATA_ROOTS``; env ``DDS_DATA_ROOTS``,
directories separated by ``os.pathsep``, default ``var/data``). Paths are resolved first, so
``..`` and symlinks (anywhere along the path) cannot lead out of a root. A path outside every
root is refused with ``PathOutsideDataRoots`` (403100), whether or not it exists, so the answer
tells nothing about files outside the roots. Commands an operator runs on the shell do not pass
their own paths through here; file names *inside* imported data always go through ``safe_join``.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from pathlib import Path, PurePosixPath

from django.conf import settings

from dds_site.errors import InvalidArgument, PermissionDenied

# Longest component kept from a data file name (bytes); file systems refuse more than 255.
_MAX_NAME_BYTES = 200


class PathOutsideDataRoots(PermissionDenied):
    """A path given to the server lies outside every data root (HTTP 403)."""

    code = 403100
    message = "Path is outside the data roots."

    def __init__(self, given: str, *, field: str = "") -> None:
        super().__init__(
            f"{given!r} is outside the data roots of this server.",
            detail={"path": given, "field": field},
        )


def data_roots() -> list[Path]:
    """The data roots, resolved; each is created if missing (so a fresh install has ``var/data``)."""
    configured = settings.DDS_DATA_ROOTS
    if isinstance(configured, str | os.PathLike):
        configured = [configured]
    roots = []
    for root in configured:
        root = Path(root)
        with contextlib.suppress(OSError):
            root.mkdir(parents=True, exist_ok=True)
        roots.append(root.resolve())
    return roots


def _resolved(path: str | os.PathLike) -> Path | None:
    """``path`` with symlinks and ``..`` resolved (missing tail allowed); None if it cannot be."""
    try:
        return Path(path).resolve(strict=False)
    except (OSError, RuntimeError, ValueError):  # symlink loop, NUL byte, ...
        return None


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_data_path(path: str | os.PathLike, *, field: str = "") -> Path:
    """The resolved absolute form of ``path``, which must lie under a data root.

    A relative path is relative to the first root. Raises ``PathOutsideDataRoots`` (403) when the
    resolved path is outside every root, ``InvalidArgument`` (400) for an empty or NUL-bearing path.
    The error names the path as given, never anything read from a file.
    """
    given = os.fspath(path)
    if not given or "\x00" in given:
        raise InvalidArgument("a path must be non-empty and contain no NUL byte", detail={"field": field})
    roots = data_roots()
    if not roots:  # no data roots configured: the server touches no file for a request
        raise PathOutsideDataRoots(given, field=field)
    candidate = Path(given)
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = _resolved(candidate)
    if resolved is None or not _under(resolved, roots):
        raise PathOutsideDataRoots(given, field=field)
    return resolved


def is_in_data_roots(path: str | os.PathLike) -> bool:
    """True if ``path``, symlinks resolved, lies under a data root (for paths found in data)."""
    resolved = _resolved(path)
    return resolved is not None and _under(resolved, data_roots())


def _safe_component(part: str) -> str:
    part = "".join(ch for ch in part if unicodedata.category(ch)[0] != "C").strip()
    if part in ("", ".", ".."):
        return ""
    encoded = part.encode("utf-8")
    if len(encoded) > _MAX_NAME_BYTES:
        part = encoded[:_MAX_NAME_BYTES].decode("utf-8", "ignore")
    return part


def safe_relative_name(name: str) -> PurePosixPath | None:
    """The harmless relative path inside a file name taken from data, or None if nothing is left.

    ``/`` and ``\\`` both separate components; empty, ``.`` and ``..`` components are dropped (so an
    absolute name or one climbing with ``..`` stays below where it is joined); control characters
    (NUL included) are removed and over-long components are cut.
    """
    parts = [_safe_component(part) for part in re.split(r"[/\\]", name)]
    parts = [part for part in parts if part]
    return PurePosixPath(*parts) if parts else None


class UnsafeFileName(InvalidArgument):
    """A file name from data would lead out of its directory (e.g. through a symlink there)."""

    message = "A file name in the data leads out of its directory."


def safe_join(directory: str | os.PathLike, name: str, *, fallback: str) -> Path:
    """``directory / name`` for a ``name`` taken from data, which can never lead out of ``directory``.

    ``name`` is reduced by ``safe_relative_name`` (``fallback`` when nothing is left); the joined path
    is then resolved, so a symlink already inside ``directory`` cannot lead out either
    (``UnsafeFileName``, 400).
    """
    relative = safe_relative_name(name) or PurePosixPath(fallback)
    base = Path(directory)
    joined = base / relative
    resolved_base, resolved = _resolved(base), _resolved(joined)
    if resolved_base is None or resolved is None or not _under(resolved, [resolved_base]):
        raise UnsafeFileName(detail={"directory": str(base)})
    return joined
