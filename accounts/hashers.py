"""Verify passwords stored by DDS (reversible Fernet encryption) so they can be re-hashed once.

DDS encrypted passwords with Fernet keyed by the URL-safe base64 of the first 32 characters
of its Django secret (reference §4.2). We never create such values: a successful check makes
Django re-hash the password with the preferred (PBKDF2) hasher, see ``User.check_password``.
"""

from __future__ import annotations

import base64
import hmac

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher
from django.utils.translation import gettext_noop as _

PREFIX = "dds_fernet"
FERNET_TOKEN_START = "gAAAAA"  # version byte 0x80 plus the high bytes of the timestamp


def looks_like_dds_password(stored: str) -> bool:
    return bool(stored) and "$" not in stored and stored.startswith(FERNET_TOKEN_START)


def dds_fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(secret[:32].encode()))


class DDSFernetPasswordHasher(BasePasswordHasher):
    """Checks ``dds_fernet$<fernet token>`` values; refuses to create new ones."""

    algorithm = PREFIX

    def encode(self, password: str, salt: str) -> str:
        raise ValueError("DDS's reversible password encryption is only verified, never used for new passwords.")

    def salt(self) -> str:
        return ""

    def decode(self, encoded: str) -> dict:
        algorithm, token = encoded.split("$", 1)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": token, "salt": None}

    def verify(self, password: str, encoded: str) -> bool:
        secret = getattr(settings, "DDS_LEGACY_SECRET", "")
        if len(secret) < 32:
            return False
        try:
            plain = dds_fernet(secret).decrypt(self.decode(encoded)["hash"].encode()).decode()
        except (InvalidToken, ValueError):
            return False
        return hmac.compare_digest(plain.encode(), password.encode())

    def safe_summary(self, encoded: str) -> dict:
        return {_("algorithm"): self.algorithm, _("hash"): "********"}

    def must_update(self, encoded: str) -> bool:
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
