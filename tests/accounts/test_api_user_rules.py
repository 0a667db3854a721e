"""Who administers whom through the API: superusers anyone, staff only non-staff users, nobody themselves."""

from __future__ import annotations

import pytest

from accounts.models import User, UserStatus

USERS = "/api/v1/users"
VERBS = [
    ("post", "{id}/ban"),
    ("post", "{id}/unban"),
    ("post", "{id}/reset-password"),
    ("delete", "{id}"),
]


def _call(client, method: str, path: str, target: User, data: dict | None = None):
    url = f"{USERS}/{path.format(id=target.id)}"
    return getattr(client, method)(url, data or {}, format="json")


@pytest.fixture
def as_user(api_client):
    def authenticate(user: User):
        api_client.force_authenticate(user)
        return api_client

    return authenticate


def _unchanged(user: User) -> bool:
    stored = User.objects.get(pk=user.pk)
    return stored.status == UserStatus.ACTIVE and stored.password == user.password and stored.is_staff


@pytest.mark.parametrize(("method", "path"), VERBS)
@pytest.mark.parametrize("target_kind", ["superuser", "other staff"])
def test_staff_cannot_act_on_superusers_or_other_staff(make_user, as_user, method, path, target_kind):
    target = make_user("root", is_staff=True, is_superuser=target_kind == "superuser")
    token = target.login_user()
    client = as_user(make_user("staffer", is_staff=True))
    response = _call(client, method, path, target)
    assert response.status_code == 403
    assert response.json()["code"] == 403000
    assert "superuser" in response.json()["message"]
    assert "password" not in response.json()
    assert _unchanged(target)
    assert target.tokens.filter(pk=token.id).exists()


@pytest.mark.parametrize(("method", "path"), VERBS)
@pytest.mark.parametrize("target_kind", ["superuser", "staff", "user"])
def test_superuser_acts_on_anyone(make_user, as_user, method, path, target_kind):
    target = make_user("target", is_staff=target_kind != "user", is_superuser=target_kind == "superuser")
    client = as_user(make_user("root", is_staff=True, is_superuser=True))
    response = _call(client, method, path, target)
    assert response.status_code in (200, 204)


@pytest.mark.parametrize(("method", "path"), VERBS)
def test_staff_acts_on_non_staff_users(make_user, as_user, method, path):
    target = make_user("plain")
    client = as_user(make_user("staffer", is_staff=True))
    assert _call(client, method, path, target).status_code in (200, 204)


@pytest.mark.parametrize("target_kind", ["superuser", "staff", "user"])
def test_only_a_superuser_grants_or_revokes_staff(make_user, as_user, target_kind):
    target = make_user("target", is_staff=target_kind != "user", is_superuser=target_kind == "superuser")
    flip = {"is_staff": not target.is_staff}
    staff = as_user(make_user("staffer", is_staff=True))
    response = _call(staff, "patch", "{id}", target, flip)
    assert response.status_code == 403
    assert response.json()["code"] == 403000
    assert User.objects.get(pk=target.pk).is_staff == target.is_staff

    root = as_user(make_user("root", is_staff=True, is_superuser=True))
    assert _call(root, "patch", "{id}", target, flip).json()["is_staff"] == flip["is_staff"]
    assert User.objects.get(pk=target.pk).is_staff == flip["is_staff"]


def test_only_a_superuser_creates_staff_users(make_user, as_user):
    staff = as_user(make_user("staffer", is_staff=True))
    response = staff.post(USERS, {"username": "newstaff", "is_staff": True}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == 403000
    assert not User.objects.filter(name="newstaff").exists()
    assert staff.post(USERS, {"username": "newuser"}, format="json").status_code == 201

    root = as_user(make_user("root", is_staff=True, is_superuser=True))
    assert root.post(USERS, {"username": "newstaff", "is_staff": True}, format="json").json()["is_staff"]


@pytest.mark.parametrize("is_superuser", [False, True])
@pytest.mark.parametrize(("method", "path", "verb"), [("post", "{id}/ban", "ban"), ("delete", "{id}", "delete")])
def test_nobody_bans_or_deletes_themselves(make_user, as_user, method, path, verb, is_superuser):
    actor = make_user("admin", is_staff=True, is_superuser=is_superuser)
    response = _call(as_user(actor), method, path, actor)
    assert response.status_code == 403
    assert response.json() == {"code": 403000, "message": f"You cannot {verb} your own account.", "detail": None}
    assert User.objects.get(pk=actor.pk).is_active


def test_superuser_cannot_demote_themselves(make_user, as_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    response = _call(as_user(root), "patch", "{id}", root, {"is_staff": False})
    assert response.status_code == 403
    assert "your own" in response.json()["message"]
    assert User.objects.get(pk=root.pk).is_staff


def test_staff_resets_their_own_password(make_user, as_user):
    staff = make_user("staffer", is_staff=True)
    password = _call(as_user(staff), "post", "{id}/reset-password", staff).json()["password"]
    assert User.authenticate("staffer", password) is not None
