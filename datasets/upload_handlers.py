"""A Django upload handler that keeps no more than ``DDS_MAX_UPLOAD_BYTES`` of any file in a request.

Django stores every multipart file (in memory, then in a temporary file) before a view runs, with
no bound of its own, and a session-authenticated request is parsed as early as the CSRF check.
This handler, first in ``FILE_UPLOAD_HANDLERS``, passes a file's bytes on to Django's handlers
only up to the limit and drops the rest; such a file reaches the view as an empty
``OversizedFile`` carrying the size that was sent, which the upload service refuses (413000).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizedFile(UploadedFile):
    """A multipart file larger than the limit: its name and the size sent, none of its bytes."""

    def __init__(self, name: str, size: int, content_type: str | None) -> None:
        super().__init__(io.BytesIO(), name=name, content_type=content_type, size=size)


class BoundedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0
        self._over = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._received = start + len(raw_data)
        if self._over or self._received > int(settings.DDS_MAX_UPLOAD_BYTES):
            self._over = True
            return None  # the later handlers never see the bytes past the limit
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self._over:
            return OversizedFile(self.file_name, self._received, self.content_type)
        return None
