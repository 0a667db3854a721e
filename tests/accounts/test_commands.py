"""The user management commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User, UserToken
from accounts.tokens import now_s


def _run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_useradd_prints_the_password_once(db):
    output = _run("useradd", "Ivy", "--staff")
    password = output.split("password: ")[1].strip()
    user = User.authenticate("ivy", password)
    assert user is not None
    assert user.is_staff


def test_useradd_duplicate_fails(db):
    _run("useradd", "jon")
    with pytest.raises(CommandError, match="400002"):
        _run("useradd", "JON")


def test_userban_unban_reset_edit_del(db):
    _run("useradd", "kay")
    _run("userban", "KAY")
    assert not User.objects.get(name="kay").is_active
    _run("userunban", "kay")
    assert User.objects.get(name="kay").is_active
    password = _run("userreset", "kay").split("password: ")[1].strip()
    assert User.authenticate("kay", password)
    _run("useredit", "kay", "--staff", "y")
    assert User.objects.get(name="kay").is_staff
    _run("userdel", "Kay")
    assert not User.objects.filter(name="kay").exists()


@pytest.mark.parametrize("command", ["userban", "userunban", "userreset", "userdel"])
def test_commands_on_unknown_user_fail(db, command):
    with pytest.raises(CommandError, match="404000"):
        _run(command, "ghost")


def test_purge_tokens_deletes_only_expired(db):
    user = User.create_user("lou")
    live = user.login_user()
    UserToken.objects.create(id="e" * 64, user=user, expire=now_s() - 1)
    assert "deleted 1" in _run("purge_tokens")
    assert list(UserToken.objects.values_list("pk", flat=True)) == [live.id]
