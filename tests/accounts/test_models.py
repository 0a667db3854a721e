"""The DDS model API of User and UserToken."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from accounts.errors import PasswordNotRecoverable, UserExists
from accounts.models import User, UserStatus, UserToken, user_id_for
from accounts.services import token_user
from accounts.tokens import hash_token

DDS_SECRET = "dds-django-secret-key-0123456789abcdefXYZ"


def test_create_user_hands_out_a_hashed_random_password_once(db):
    user = User.create_user("Alice", is_staff=True)
    assert user.id == user_id_for("alice")
    assert user.name == "alice"
    assert user.is_staff
    assert user.status == UserStatus.ACTIVE
    assert len(user.plain_password) == 16
    stored = User.objects.get(pk=user.pk)
    assert stored.password.startswith("pbkdf2_sha256$")
    assert user.plain_password not in stored.password
    assert not hasattr(stored, "plain_password")
    assert User.authenticate("alice", user.plain_password) == stored


def test_generated_passwords_differ(db):
    assert User.create_user("a1").plain_password != User.create_user("a2").plain_password


def test_create_user_rejects_duplicates_in_any_case(db):
    User.create_user("bob")
    with pytest.raises(UserExists) as error:
        User.create_user("BOB")
    assert error.value.code == 400002
    assert User.objects.count() == 1


def test_user_names_match_case_insensitively(db):
    """DDS bug 24: names were lower-cased on creation only."""
    user = User.create_user("Carol")
    assert User.get_user("CAROL") == user
    assert User.authenticate("cArOl", user.plain_password) == user
    assert User.delete_user("CaRoL") == 1
    assert User.get_user("carol") is None


def test_get_user_ignores_inactive_users(db):
    user = User.create_user("dave")
    user.ban_user()
    assert User.get_user("dave") is None
    user.unban_user()
    assert User.get_user("dave") == user


def test_authenticate_rejects_wrong_password_and_banned_users(db):
    user = User.create_user("erin")
    assert User.authenticate("erin", "wrong") is None
    assert User.authenticate("nobody", "x") is None
    user.ban_user()
    assert User.authenticate("erin", user.plain_password) is None


def test_get_password_cannot_return_plaintext(db):
    user = User.create_user("frank")
    with pytest.raises(PasswordNotRecoverable, match="cannot be read back"):
        user.get_password()


def test_set_password_stores_a_hash(db):
    user = User.create_user("gina")
    user.set_password("new-secret-123")
    stored = User.objects.get(pk=user.pk)
    assert stored.password.startswith("pbkdf2_sha256$")
    assert User.authenticate("gina", "new-secret-123") == stored


def test_login_issues_hashed_expiring_token(db, settings):
    user = User.create_user("hank")
    token = user.login_user()
    assert len(token.value) == 32
    stored = UserToken.objects.get(user=user)
    assert stored.id == hash_token(token.value) != token.value
    assert stored.expire == token.expire
    assert token_user(token.value) == user


def test_expired_tokens_do_not_authenticate(db, settings):
    settings.DDS_TOKEN_AGE = -1
    user = User.create_user("ivan")
    assert token_user(user.login_user().value) is None


def test_logout_revokes_only_that_token(db):
    user = User.create_user("jane")
    first, second = user.login_user(), user.login_user()
    assert user.logout_user(first.value)
    assert token_user(first.value) is None
    assert token_user(second.value) == user


def test_refresh_rotates_the_token(db):
    user = User.create_user("kim")
    old = user.login_user()
    new = user.refresh_token(old.value)
    assert new.value != old.value
    assert token_user(old.value) is None
    assert token_user(new.value) == user


@pytest.mark.parametrize("action", ["reset_password", "ban_user", "delete_all_token"])
def test_tokens_are_revoked_by(db, action):
    user = User.create_user("lee")
    token = user.login_user()
    getattr(user, action)()
    assert token_user(token.value) is None
    assert not UserToken.objects.filter(user_id=user.pk).exists()


def test_reset_password_returns_the_new_password_once(db):
    user = User.create_user("mia")
    old_password = user.plain_password
    new_password = user.reset_password()
    assert new_password != old_password
    assert User.authenticate("mia", old_password) is None
    assert User.authenticate("mia", new_password) == user


def test_delete_user_removes_their_tokens(db):
    """DDS bug 22: deleting a user orphaned their tokens."""
    user = User.create_user("ned")
    user.login_user()
    User.delete_user("ned")
    assert UserToken.objects.count() == 0


def _dds_encrypt(secret: str, password: str) -> str:
    """What DDS stored: Fernet keyed by the URL-safe base64 of the secret's first 32 characters."""
    return Fernet(base64.urlsafe_b64encode(secret[:32].encode())).encrypt(password.encode()).decode()


@override_settings(DDS_LEGACY_SECRET=DDS_SECRET)
def test_dds_encrypted_password_is_verified_then_rehashed(db):
    encrypted = _dds_encrypt(DDS_SECRET, "Olga.pw~1")
    document = {"_id": user_id_for("olga"), "name": "olga", "password": encrypted, "status": "active"}
    User.get_collection().insert_one(document)
    assert User.authenticate("olga", "wrong") is None
    assert User.objects.get(name="olga").password.startswith("gAAAAA")
    assert User.authenticate("olga", "Olga.pw~1") is not None
    upgraded = User.objects.get(name="olga").password
    assert upgraded.startswith("pbkdf2_sha256$")
    assert User.authenticate("olga", "Olga.pw~1") is not None


def test_dds_encrypted_password_needs_the_dds_secret(db):
    User.get_collection().insert_one(
        {"_id": user_id_for("pat"), "name": "pat", "password": _dds_encrypt(DDS_SECRET, "pw-pat-1"), "status": "active"}
    )
    with override_settings(DDS_LEGACY_SECRET="another-secret-that-is-long-enough-xx"):
        assert User.authenticate("pat", "pw-pat-1") is None


def test_document_api_on_users(db):
    User.create_user("quinn", is_staff=True)
    User.create_user("rosa")
    assert User.count_num({"is_staff": True}) == 1
    found = User.find_one({"name": "quinn"})
    assert isinstance(found, User)
    assert found.id == user_id_for("quinn")
    names = [row["name"] for row in User.find_many({}, sort=[("name", -1)], to_dict=True)]
    assert names == ["rosa", "quinn"]
    User.update_one({"id": user_id_for("rosa")}, {"is_staff": True})
    assert User.objects.get(name="rosa").is_staff
    assert found.to_dict(include=["id", "name"]) == {"id": user_id_for("quinn"), "name": "quinn"}
