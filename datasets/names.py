"""How images are found by file name: the stored ``name_key`` and the prefix ranges searched on it.

Every image document carries ``name_key`` (not a DDS field): the file name of its full-resolution
URL (``url`` when unset) — the last segment of the URL's path, unquoted — in Unicode NFC,
case-folded and cut to ``NAME_KEY_MAX_LENGTH`` characters. A local file imported from
``/data/coco/val/000001.JPG`` and ``https://host/val/000001.jpg?sig=x`` are both ``000001.jpg``.
An image with no file of its own (bytes inside a TSV, served by byte range; a ``data:`` URL) is
named by its source key (the image id its TSV line gives it) when it has one.

``?file_name=<prefix>`` is a range ``[prefix, next string after every string starting with
prefix)`` on the indexed key: no pattern language is involved, so any character matches literally,
and the server scans only the index entries of matching names. The module has no database code and
no project imports, so the document builders and the store can both use it.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

NAME_KEY = "name_key"
NAME_KEY_MAX_LENGTH = 255
# A local-file URL (``datasets.objects.local_file_url``): its byte range, then the quoted path.
_LOCAL_FILE_URL = re.compile(r"^/files/local_files/b/\d+/(-?\d+_-?\d+)/[^/]+/(.*)$")
_WHOLE_FILE = "-1_-1"
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)  # not characters: no stored string contains them


def name_key_of(name: str) -> str:
    """The form names are searched in: Unicode NFC, case-folded, at most ``NAME_KEY_MAX_LENGTH`` characters.

    Stored keys and searched prefixes go through it alike, so ``Cat.JPG``, ``cat.jpg`` and a
    decomposed (NFD, as macOS writes it) ``café.jpg`` find their images.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    return folded[:NAME_KEY_MAX_LENGTH]


def url_file_name(url: str) -> str:
    """The file name in an image URL: the last segment of its path, unquoted (no query, no fragment).

    Empty for an image with no file of its own: bytes inside a container file (a TSV's inline
    images, served by byte range), a ``data:`` URL, or a path ending in ``/``.
    """
    local = _LOCAL_FILE_URL.match(url)
    if local:
        if local.group(1) != _WHOLE_FILE:
            return ""
        path = local.group(2)
    else:
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unbalanced "[" in the host
            return ""
        if parts.scheme.lower() == "data":
            return ""
        path = parts.path
    return unquote(path.rsplit("/", 1)[-1])


def image_name_key(url: str | None, url_full_res: str | None = "", fallback: str | None = None) -> str:
    """The ``name_key`` of an image with these URLs; ``fallback`` names an image with no file of its own."""
    return name_key_of(url_file_name(url_full_res or url or "") or fallback or "")


def stored_name_key(document: dict) -> str:
    """The ``name_key`` a stored image document should have: from its URLs, else its source key, else
    the key it has (an image with no file of its own keeps the name it was given)."""
    fallback = document.get("source_key") or document.get(NAME_KEY)
    return image_name_key(
        document.get("url"), document.get("url_full_res"), fallback if isinstance(fallback, str) else None
    )


def prefix_range(prefix: str) -> dict[str, str]:
    """The query on ``name_key`` of the names starting with ``prefix`` (normalised here).

    ``$gte`` the prefix and ``$lt`` the first string after all that start with it: MongoDB compares
    strings by their UTF-8 bytes, which orders them by code point, as Python does.
    """
    key = name_key_of(prefix)
    bounds = {"$gte": key}
    upper = _successor(key)
    if upper is not None:
        bounds["$lt"] = upper
    return bounds


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None if there is none)."""
    for end in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[end]) + 1
        if code in _SURROGATES:
            code = _SURROGATES.stop
        if code <= _MAX_CODE_POINT:
            return prefix[:end] + chr(code)
    return None
