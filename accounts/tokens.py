"""API tokens: issued once in clear, stored as a SHA-256 hash, with an absolute expiry."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from django.conf import settings


def hash_token(token_value: str) -> str:
    return hashlib.sha256(token_value.encode()).hexdigest()


def now_s() -> int:
    return int(time.time())


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token; ``value`` is shown to the client once and never stored."""

    value: str
    expire: int


def new_token_value() -> str:
    return secrets.token_hex(16)


def token_expiry(issued_at: int | None = None) -> int:
    return (issued_at or now_s()) + settings.DDS_TOKEN_AGE
