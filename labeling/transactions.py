"""Running a multi-document step in a MongoDB transaction, retried when it collides with another writer.

MongoDB aborts a transaction that writes a document someone else changed meanwhile (a
``TransientTransactionError`` such as ``WriteConflict``); the documented remedy is to run the whole
transaction again. The step passed in must therefore do all its conditional writes inside, so a retry
re-checks the state it finds (and fails with the workflow's own error if the other writer won).
Inside an open transaction the step simply joins it: the outermost ``run_atomic`` does the retrying.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError
from django_mongodb_backend import transaction

from dds_site.errors import WorkflowConflict
from labeling.store import ConnectionFailure, PyMongoError, in_transaction

T = TypeVar("T")
ATTEMPTS = 8
WRITE_CONFLICT = 112


def _is_transient(exc: BaseException) -> bool:
    cause = exc if isinstance(exc, PyMongoError) else exc.__cause__
    if not isinstance(cause, PyMongoError):
        return False
    if isinstance(cause, ConnectionFailure):
        return False  # the database is unreachable: fail now (a 503), each retry would wait for it again
    labels = ("TransientTransactionError", "UnknownTransactionCommitResult")
    return any(cause.has_error_label(label) for label in labels) or getattr(cause, "code", None) == WRITE_CONFLICT


def run_atomic(step: Callable[[], T]) -> T:
    """``step()`` inside ``transaction.atomic()``; re-run on transient conflicts, else 409 in the end."""
    if in_transaction():
        return step()  # a retry must re-run the whole outer transaction, not this part of it
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return step()
        except (DatabaseError, PyMongoError) as exc:
            if not _is_transient(exc):
                raise
            if attempt == ATTEMPTS - 1:
                raise WorkflowConflict() from exc
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # noqa: S311 - jitter, not crypto
    raise WorkflowConflict()
