"""The DDS error hierarchy and the single DRF exception handler.

Every error carries DDS's 6-digit code (reference §5.2); the HTTP status is ``code // 1000``
unless a subclass says otherwise. The API body is ``{"code", "message", "detail"}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

from dds_site import mongo

logger = logging.getLogger(__name__)


class ErrCode:
    """DDS error codes (reference §5.2), by their DDS constant meaning."""

    BAD_REQUEST = 400000
    PARAMETER_MISSING = 400001
    PARAMETER_INVALID = 400002
    # The codes of one app's errors (flags 4001xx, label sets 400150/404055, FN/FP 404054, labeling
    # 2000xx/4002xx/4030xx/4041xx) are defined once, on their classes. DDS codes nothing here raises are left
    # out: 400050-400054 (unused in DDS too), 400151 and 500001 (label clone), 404056 (FN/FP precision look-up).
    UNAUTHORIZED = 401000
    FORBIDDEN = 403000
    AUTHENTICATION_FAILED = 403050
    NOT_FOUND = 404000
    DATASET_NOT_FOUND = 404050
    DATASET_NOT_READABLE = 404051
    DATASET_IMAGE_NOT_FOUND = 404053
    # Ours: an image's local file is missing, unreadable, or not a local file this server serves.
    IMAGE_FILE_NOT_FOUND = 404061
    CONFLICT = 409000
    # Ours (DDS has none): a request or the document it would write is larger than the limits.
    PAYLOAD_TOO_LARGE = 413000
    # Ours (DDS has none): too many attempts; the response says when to retry (Retry-After).
    TOO_MANY_REQUESTS = 429000
    INTERNAL = 500000
    # Ours: the database cannot be reached (or timed out); the request may be retried later.
    DATABASE_UNAVAILABLE = 503000


class DDSError(Exception):
    """Base of every error the application raises on purpose."""

    code: int = ErrCode.BAD_REQUEST
    message: str = "Bad request."
    status_code: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        detail: Any = None,
        status_code: int | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if message is not None:
            self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.detail = detail
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return self.status_code or self.code // 1000

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}

    def response_headers(self) -> dict[str, str]:
        return {}

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class InvalidArgument(DDSError):
    code = ErrCode.PARAMETER_INVALID
    message = "Parameter is invalid."


class MissingArgument(DDSError):
    code = ErrCode.PARAMETER_MISSING
    message = "Parameter missing."


class Unauthorized(DDSError):
    code = ErrCode.UNAUTHORIZED
    message = "Unauthorized."


class PermissionDenied(DDSError):
    code = ErrCode.FORBIDDEN
    message = "Forbidden."


class AuthenticationFailed(DDSError):
    code = ErrCode.AUTHENTICATION_FAILED
    message = "User authentication failed."


class NotFound(DDSError):
    code = ErrCode.NOT_FOUND
    message = "Not found."


class InvalidTransition(DDSError):
    code = ErrCode.BAD_REQUEST
    message = "Invalid state transition."


class WorkflowConflict(DDSError):
    """Someone else changed the object first; the caller should reload and retry."""

    code = ErrCode.CONFLICT
    message = "The object was changed by someone else; reload and retry."


class PayloadTooLarge(DDSError, ValueError):
    """More items, or a bigger document, than the configured limits (or MongoDB's 16 MB) allow."""

    code = ErrCode.PAYLOAD_TOO_LARGE
    message = "Request too large."


class DatabaseUnavailable(DDSError):
    code = ErrCode.DATABASE_UNAVAILABLE
    message = "Database unavailable; try again later."


class Throttled(DDSError):
    code = ErrCode.TOO_MANY_REQUESTS
    message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message, detail={"retry_after": retry_after})
        self.retry_after = retry_after

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class IntegrationError(DDSError):
    """DDS's name for 'this object already exists' (e.g. a duplicate user)."""

    code = ErrCode.PARAMETER_INVALID
    message = "Object already exists."


def database_error(exc: BaseException) -> DDSError | None:
    """The typed error for a database failure that is not a bug: unreachable or too large a document."""
    failure = mongo.classify_failure(exc)
    if failure is mongo.Failure.UNAVAILABLE:
        return DatabaseUnavailable()
    if failure is mongo.Failure.DOCUMENT_TOO_LARGE:
        return PayloadTooLarge("The document would exceed MongoDB's 16 MB limit; send less data.")
    return None


def _drf_error_code(exc: drf_exceptions.APIException) -> int:
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return ErrCode.UNAUTHORIZED
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return ErrCode.FORBIDDEN
    if isinstance(exc, drf_exceptions.NotFound):
        return ErrCode.NOT_FOUND
    if isinstance(exc, drf_exceptions.ValidationError | drf_exceptions.ParseError):
        return ErrCode.PARAMETER_INVALID
    return exc.status_code * 1000


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn any expected error into ``{"code", "message", "detail"}`` with the right HTTP status."""
    if isinstance(exc, DDSError):
        return Response(exc.to_dict(), status=exc.http_status, headers=exc.response_headers())
    mapped = database_error(exc)
    if mapped is not None:
        logger.warning("%s: %s", mapped.message, exc.__cause__ or exc)
        return Response(mapped.to_dict(), status=mapped.http_status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if not isinstance(exc, drf_exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    code = _drf_error_code(exc)
    if isinstance(exc, drf_exceptions.ValidationError):
        message, detail = "Parameter is invalid.", exc.detail
    else:
        message, detail = str(exc.detail), None
    http_status = exc.status_code
    if code == ErrCode.UNAUTHORIZED:
        http_status = status.HTTP_401_UNAUTHORIZED
    return Response({"code": code, "message": message, "detail": detail}, status=http_status, headers=headers)
