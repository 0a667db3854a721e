"""User and UserToken on DDS's ``users`` and ``user_tokens`` collections.

The seed's methods (``User.create_user``, ``login_user`` ...) are kept as the public Python
API; each is a one-line call into ``accounts.services``, which holds the rules.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password as django_check_password
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils.crypto import salted_hmac

from dds_site.documents import OrmDocumentMixin, current_ts, md5_id


class UserStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"


def user_id_for(username: str) -> str:
    """DDS's user id: md5 of the lower-cased user name."""
    return md5_id(username.strip().lower())


class UserManager(BaseUserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(pk=user_id_for(username))

    def create_user(self, name: str, password: str | None = None, **extra) -> User:
        extra.setdefault("created_ts", current_ts())
        user = self.model(name=name, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(force_insert=True)
        return user

    def create_superuser(self, name: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(name, password, **extra)


class User(OrmDocumentMixin, AbstractBaseUser, PermissionsMixin):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id", editable=False)
    name = models.CharField(max_length=150, unique=True, help_text="Stored lower-case; matched in any case.")
    status = models.CharField(max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    is_staff = models.BooleanField(default=False)
    created_ts = models.BigIntegerField(default=0)
    session_epoch = models.IntegerField(
        default=0, editable=False, help_text="Raised by every ban; part of the session hash, so a ban ends sessions."
    )

    objects = UserManager()

    USERNAME_FIELD = "name"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's HMAC of the password hash, with the session epoch: a password change or a ban ends every
        session, and unbanning does not revive them. (Django's fallback secrets call this too.)"""
        return salted_hmac(
            "accounts.models.User.get_session_auth_hash",
            f"{self.password}:{self.session_epoch or 0}",  # DDS's user documents have no epoch
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def save(self, *args, **kwargs) -> None:
        if not self.id:
            self.name = self.name.strip().lower()
            self.id = user_id_for(self.name)
        super().save(*args, **kwargs)

    def check_password(self, raw_password: str) -> bool:
        """Django's check, plus DDS's Fernet-encrypted passwords, which are re-hashed on success."""
        from accounts.hashers import PREFIX, looks_like_dds_password

        encoded = self.password
        if looks_like_dds_password(encoded):
            encoded = f"{PREFIX}${encoded}"

        def upgrade(raw: str) -> None:
            from accounts.services import user_set_password

            user_set_password(self, raw)

        return django_check_password(raw_password, encoded, upgrade)

    # --- the DDS model API -------------------------------------------------------------

    @classmethod
    def get_user(cls, username: str) -> User | None:
        from accounts.services import user_get

        return user_get(username)

    @classmethod
    def create_user(cls, username: str, is_staff: bool = False) -> User:
        """Create a user with a random password, readable once as ``user.plain_password``."""
        from accounts.services import user_create

        return user_create(username, is_staff=is_staff)

    @classmethod
    def delete_user(cls, username: str) -> int:
        from accounts.services import user_delete

        return user_delete(username)

    def reset_password(self) -> str:
        """Set a random password, revoke all tokens, and return the new password (also ``plain_password``)."""
        from accounts.services import user_reset_password

        return user_reset_password(self)

    def ban_user(self) -> None:
        from accounts.services import user_set_status

        user_set_status(self, UserStatus.INACTIVE)

    def unban_user(self) -> None:
        from accounts.services import user_set_status

        user_set_status(self, UserStatus.ACTIVE)

    @classmethod
    def authenticate(cls, username: str, password: str) -> User | None:
        from accounts.services import user_authenticate

        return user_authenticate(username, password)

    def get_password(self) -> str:
        """DDS returned the plaintext; hashes cannot be read back, so this always raises."""
        from accounts.errors import PasswordNotRecoverable

        raise PasswordNotRecoverable()

    def set_password(self, password: str | None) -> None:
        """Hash and store the password (stored at once when the user already exists)."""
        if password is None:
            super().set_password(None)
            return
        from accounts.services import user_set_password

        user_set_password(self, password)

    def login_user(self) -> UserToken:
        """Issue a token; its plaintext is ``token.value`` on the returned object only."""
        from accounts.services import token_issue

        return token_issue(self)

    def logout_user(self, token_value: str) -> bool:
        from accounts.services import token_revoke

        return token_revoke(token_value)

    def refresh_token(self, token_value: str) -> UserToken:
        """Swap the token for a new one with a full lifetime (expiry is absolute, never slid)."""
        from accounts.services import token_refresh

        return token_refresh(self, token_value)

    def delete_all_token(self) -> int:
        from accounts.services import tokens_revoke_all

        return tokens_revoke_all(self)


class UserToken(OrmDocumentMixin, models.Model):
    """An API token; ``_id`` is the SHA-256 of the token value, never the value itself."""

    id = models.CharField(primary_key=True, max_length=64, db_column="_id", editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens", db_column="user_id")
    expire = models.BigIntegerField(db_index=True, help_text="Expiry, unix seconds.")
    created_ts = models.BigIntegerField(default=0)

    class Meta:
        db_table = "user_tokens"

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expire}"


class LoginCounter(models.Model):
    """Failed logins of one client address or account name in one time window, shared by every server process.

    Written only by ``accounts.throttle_store.MongoCounterStore`` (atomic ``$inc``); used when no shared
    cache is configured. Expired counters are deleted on write and by ``purge_tokens`` (a plain index on
    ``expire``, not a TTL index).
    """

    id = models.CharField(primary_key=True, max_length=128, db_column="_id", editable=False)
    hits = models.IntegerField(default=0)
    expire = models.BigIntegerField(db_index=True, help_text="Expiry, unix seconds.")

    class Meta:
        db_table = "login_counters"

    def __str__(self) -> str:
        return f"{self.id}: {self.hits}"
