"""The user admin applies accounts.rules: permissions on actions, per-object rules, read-only privilege fields,
confirmation before resetting passwords or banning, and generated passwords only in a page body."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from accounts.models import User, UserStatus

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def admin_as(client):
    def login(user: User):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def make_staff(make_user):
    """A staff user (not superuser) holding exactly the named ``accounts.user`` permissions."""

    def make(name: str, *codenames: str) -> User:
        user = make_user(name, is_staff=True)
        for codename in codenames:
            user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="accounts"))
        return User.objects.get(pk=user.pk)

    return make


def _action(client, action: str, *users: User, confirm: bool = False):
    data = {"action": action, "_selected_action": [user.pk for user in users]}
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data)


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _stored(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("action", ["reset_passwords", "ban_users", "unban_users", "delete_selected"])
def test_view_only_staff_cannot_run_user_actions(admin_as, make_staff, make_user, action):
    root = make_user("root", is_staff=True, is_superuser=True)
    if action == "unban_users":
        root.ban_user()
    client = admin_as(make_staff("viewer", "view_user"))
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert f'value="{action}"'.encode() not in page.content
    response = _action(client, action, root, confirm=True)
    assert response.status_code == 200  # the change list again: no action ran
    assert _stored(root).password == root.password
    assert _stored(root).status == root.status
    assert not any("password" in message.lower() for message in _messages(response))


@pytest.mark.parametrize("target_kind", ["superuser", "other staff"])
@pytest.mark.parametrize("action", ["reset_passwords", "ban_users", "unban_users", "delete_selected"])
def test_staff_with_change_and_delete_cannot_act_on_privileged_users(
    admin_as, make_staff, make_user, action, target_kind
):
    target = make_user("target", is_staff=True, is_superuser=target_kind == "superuser")
    plain = make_user("plain")
    client = admin_as(make_staff("staffer", "view_user", "change_user", "delete_user"))
    response = _action(client, action, plain, target, confirm=True)
    assert response.status_code == 302
    assert "Only a superuser can" in " ".join(_messages(response))
    for user in (target, plain):  # all or nothing
        assert _stored(user).password == user.password
        assert _stored(user).is_active


@pytest.mark.parametrize("target_kind", ["superuser", "other staff"])
def test_staff_cannot_open_or_post_the_change_form_of_privileged_users(admin_as, make_staff, make_user, target_kind):
    target = make_user("target", is_staff=True, is_superuser=target_kind == "superuser")
    client = admin_as(make_staff("staffer", "view_user", "change_user", "delete_user"))
    page = client.get(f"{CHANGELIST}{target.pk}/change/")
    assert page.status_code == 200
    assert b'name="status"' not in page.content  # read-only view
    response = client.post(f"{CHANGELIST}{target.pk}/change/", {"status": "inactive", "is_staff": ""})
    assert response.status_code == 403
    assert client.get(f"{CHANGELIST}{target.pk}/password/").status_code == 403
    assert client.post(f"{CHANGELIST}{target.pk}/delete/", {"post": "yes"}).status_code == 302
    assert _stored(target).is_active
    assert _stored(target).is_staff


def test_staff_change_form_cannot_grant_privileges(admin_as, make_staff, make_user):
    plain = make_user("plain")
    client = admin_as(make_staff("staffer", "view_user", "change_user"))
    page = client.get(f"{CHANGELIST}{plain.pk}/change/")
    for field in ("is_superuser", "is_staff", "user_permissions", "groups"):
        assert f'name="{field}"'.encode() not in page.content
    assert b'name="status"' in page.content
    response = client.post(
        f"{CHANGELIST}{plain.pk}/change/",
        {"status": "active", "is_staff": "on", "is_superuser": "on", "user_permissions": [1]},
    )
    assert response.status_code == 302
    stored = _stored(plain)
    assert not stored.is_staff
    assert not stored.is_superuser
    assert not stored.user_permissions.exists()


def test_staff_adds_plain_users(admin_as, make_staff):
    client = admin_as(make_staff("staffer", "view_user", "add_user", "change_user"))
    password = "a-Long-pass-123"
    response = client.post(f"{CHANGELIST}add/", {"name": "Added", "password1": password, "password2": password})
    assert response.status_code == 302
    added = User.objects.get(name="added")
    assert not added.is_staff
    assert not added.is_superuser


def test_actions_leave_an_audit_trail(admin_as, make_user):
    target = make_user("target")
    root = make_user("root", is_staff=True, is_superuser=True)
    client = admin_as(root)
    _action(client, "reset_passwords", target, confirm=True)
    _action(client, "ban_users", target, confirm=True)
    _action(client, "unban_users", target)
    entries = LogEntry.objects.filter(object_id=target.pk, user_id=root.pk).order_by("action_time")
    assert [entry.get_change_message() for entry in entries] == ["Reset the password.", "Banned.", "Unbanned."]


def test_superuser_change_form_grants_privileges_to_others_not_itself(admin_as, make_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    plain = make_user("plain")
    client = admin_as(root)
    assert b'name="is_superuser"' in client.get(f"{CHANGELIST}{plain.pk}/change/").content
    response = client.post(f"{CHANGELIST}{plain.pk}/change/", {"status": "active", "is_staff": "on"})
    assert response.status_code == 302
    assert _stored(plain).is_staff
    own = client.get(f"{CHANGELIST}{root.pk}/change/").content
    assert b'name="is_superuser"' not in own
    assert b'name="status"' not in own


def test_change_form_ban_ends_tokens_like_the_action(admin_as, make_user):
    plain = make_user("plain")
    plain.login_user()
    client = admin_as(make_user("root", is_staff=True, is_superuser=True))
    client.post(f"{CHANGELIST}{plain.pk}/change/", {"status": "inactive"})
    assert _stored(plain).status == UserStatus.INACTIVE
    assert not plain.tokens.exists()


@pytest.mark.parametrize("target_kind", ["superuser", "staff"])
def test_superuser_runs_actions_on_privileged_users(admin_as, make_user, target_kind):
    target = make_user("target", is_staff=True, is_superuser=target_kind == "superuser")
    client = admin_as(make_user("root", is_staff=True, is_superuser=True))
    _action(client, "ban_users", target, confirm=True)
    assert not _stored(target).is_active
    _action(client, "unban_users", target)
    assert _stored(target).is_active
    response = _action(client, "reset_passwords", target, confirm=True)
    assert response.status_code == 200
    assert _stored(target).password != target.password


def test_staff_runs_actions_on_plain_users(admin_as, make_staff, make_user):
    plain = make_user("plain")
    client = admin_as(make_staff("staffer", "view_user", "change_user", "delete_user"))
    _action(client, "ban_users", plain, confirm=True)
    assert not _stored(plain).is_active
    _action(client, "delete_selected", plain, confirm=True)
    assert not User.objects.filter(pk=plain.pk).exists()


@pytest.mark.parametrize("is_superuser", [False, True])
@pytest.mark.parametrize(("action", "verb"), [("ban_users", "ban"), ("delete_selected", "delete")])
def test_nobody_bans_or_deletes_themselves_in_the_admin(admin_as, make_staff, make_user, action, verb, is_superuser):
    actor = (
        make_user("root", is_staff=True, is_superuser=True)
        if is_superuser
        else make_staff("staffer", "view_user", "change_user", "delete_user")
    )
    plain = make_user("plain")
    client = admin_as(actor)
    response = _action(client, action, actor, plain, confirm=True)
    assert response.status_code == 302
    assert f"You cannot {verb} your own account." in _messages(response)
    assert _stored(actor).is_active
    assert _stored(plain).is_active
    response = client.post(f"{CHANGELIST}{actor.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert "You cannot delete your own account." in _messages(response)
    assert User.objects.filter(pk=actor.pk).exists()
    assert client.get(CHANGELIST).status_code == 200  # still logged in


def test_reset_passwords_asks_first_then_shows_passwords_once_in_the_page(admin_as, make_user):
    target = make_user("target")
    client = admin_as(make_user("root", is_staff=True, is_superuser=True))

    confirm = _action(client, "reset_passwords", target)
    assert confirm.status_code == 200
    assert b'name="post" value="yes"' in confirm.content
    assert b"target" in confirm.content
    assert _stored(target).password == target.password

    done = _action(client, "reset_passwords", target, confirm=True)
    assert done.status_code == 200
    new_password = html.unescape(re.search(r'class="password">([^<]+)<', done.content.decode()).group(1))
    assert User.authenticate("target", new_password) is not None
    assert "no-store" in done["Cache-Control"]
    assert not any(new_password in message for message in _messages(done))
    assert all(new_password not in morsel.value for morsel in done.cookies.values())
    assert all(new_password not in morsel.value for morsel in client.cookies.values())


def test_ban_asks_first(admin_as, make_user):
    target = make_user("target")
    client = admin_as(make_user("root", is_staff=True, is_superuser=True))
    response = _action(client, "ban_users", target)
    assert response.status_code == 200
    assert b'value="ban_users"' in response.content
    assert _stored(target).is_active


def test_superuser_resetting_own_password_stays_logged_in(admin_as, make_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    client = admin_as(root)
    assert _action(client, "reset_passwords", root, confirm=True).status_code == 200
    assert client.get(CHANGELIST).status_code == 200
