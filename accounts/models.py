"""User and UserToken on DDS's ``users`` and ``user_tokens`` collections."""

from __future__ import annotations

import hashlib

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models

from dds_site.documents import OrmDocumentMixin


class UserStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"


def user_id_for(username: str) -> str:
    """DDS's user id: md5 of the lower-cased user name."""
    return hashlib.md5(username.strip().lower().encode()).hexdigest()  # noqa: S324 - an id, not a secret


class UserManager(BaseUserManager):
    def get_by_natural_key(self, username: str) -> User:
        return self.get(pk=user_id_for(username))

    def create_user(self, name: str, password: str | None = None, **extra) -> User:
        user = self.model(id=user_id_for(name), name=name.strip().lower(), **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(force_insert=True)
        return user

    def create_superuser(self, name: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(name, password, **extra)


class User(OrmDocumentMixin, AbstractBaseUser, PermissionsMixin):
    id = models.CharField(primary_key=True, max_length=32, db_column="_id", editable=False)
    name = models.CharField(max_length=150, unique=True)
    status = models.CharField(max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    is_staff = models.BooleanField(default=False)
    created_ts = models.BigIntegerField(default=0)

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
