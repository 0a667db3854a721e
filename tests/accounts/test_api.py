"""The accounts HTTP API: login, logout, refresh, profile and user administration."""

from __future__ import annotations

import pytest

from accounts.models import User, UserStatus

LOGIN = "/api/v1/auth/login"


def _login(client, name, password):
    return client.post(LOGIN, {"username": name, "password": password}, format="json")


def test_login_returns_a_token_that_authenticates(make_user, api_client):
    make_user("alice")
    response = _login(api_client, "ALICE", "alice-pw-123")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["user_id"]
    assert len(body["token"]) == 32
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api_client.get("/api/v1/users/me").json()["name"] == "alice"


def test_dds_token_header_is_accepted(make_user, api_client):
    make_user("bob")
    token = _login(api_client, "bob", "bob-pw-123").json()["token"]
    api_client.credentials(HTTP_TOKEN=token)
    assert api_client.get("/api/v1/users/me").status_code == 200


@pytest.mark.parametrize(("name", "password"), [("carol", "wrong"), ("nobody", "carol-pw-123")])
def test_login_failure_is_403050(make_user, api_client, name, password):
    make_user("carol")
    response = _login(api_client, name, password)
    assert response.status_code == 403
    assert response.json()["code"] == 403050


def test_login_of_banned_user_fails(make_user, api_client):
    make_user("dan").ban_user()
    assert _login(api_client, "dan", "dan-pw-123").json()["code"] == 403050


def test_login_validation_error_is_400002(api_client, db):
    response = api_client.post(LOGIN, {"username": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400002
    assert "password" in response.json()["detail"]


def test_login_is_rate_limited(make_user, api_client, frozen_time):
    make_user("eve")
    codes = [_login(api_client, "eve", "bad").status_code for _ in range(11)]
    assert codes[:10] == [403] * 10
    assert codes[10] == 429


def test_logout_revokes_the_token(make_user, api_client):
    make_user("fay")
    token = _login(api_client, "fay", "fay-pw-123").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.post("/api/v1/auth/logout").status_code == 204
    response = api_client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == 401000


def test_refresh_swaps_the_token(make_user, api_client):
    make_user("gus")
    old = _login(api_client, "gus", "gus-pw-123").json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    new = api_client.post("/api/v1/auth/refresh").json()["token"]
    assert new != old
    assert api_client.get("/api/v1/users/me").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api_client.get("/api/v1/users/me").status_code == 200


def test_unknown_token_is_401000(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 32)
    response = api_client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == 401000


def test_anonymous_requests_are_refused(api_client, db):
    response = api_client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["code"] == 401000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("post", "/api/v1/users/{id}/ban"),
        ("post", "/api/v1/users/{id}/reset-password"),
        ("delete", "/api/v1/users/{id}"),
    ],
)
def test_user_administration_is_staff_only(make_user, api_client, method, path):
    target = make_user("target")
    api_client.force_authenticate(make_user("worker"))
    response = getattr(api_client, method)(path.format(id=target.id), {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == 403000


def test_staff_creates_user_and_sees_password_once(staff_client):
    response = staff_client.post("/api/v1/users", {"username": "Newbie"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "newbie"
    assert len(body["password"]) == 16
    assert "password" not in staff_client.get(f"/api/v1/users/{body['id']}").json()
    assert User.authenticate("newbie", body["password"]) is not None


def test_duplicate_user_is_rejected(staff_client, make_user):
    make_user("twin")
    response = staff_client.post("/api/v1/users", {"username": "TWIN"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400002


def test_invalid_user_name_is_rejected(staff_client):
    response = staff_client.post("/api/v1/users", {"username": "two words"}, format="json")
    assert response.status_code == 400
    assert User.objects.filter(name="two words").count() == 0


def test_staff_bans_resets_and_deletes(staff_client, make_user):
    user = make_user("hal")
    token = user.login_user()
    assert staff_client.post(f"/api/v1/users/{user.id}/ban").json()["status"] == UserStatus.INACTIVE
    assert User.objects.get(pk=user.pk).status == UserStatus.INACTIVE
    assert not user.tokens.exists()
    staff_client.post(f"/api/v1/users/{user.id}/unban")
    password = staff_client.post(f"/api/v1/users/{user.id}/reset-password").json()["password"]
    assert User.authenticate("hal", password) is not None
    assert staff_client.delete(f"/api/v1/users/{user.id}").status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert token.value
    assert not user.tokens.exists()


def test_user_list_is_paginated(staff_client, make_user):
    for index in range(5):
        make_user(f"user{index}")
    body = staff_client.get("/api/v1/users?page_size=2&page=2").json()
    assert body["count"] == 6
    assert [row["name"] for row in body["results"]] == ["user1", "user2"]


def test_unknown_user_is_404000(staff_client):
    response = staff_client.get("/api/v1/users/" + "f" * 32)
    assert response.status_code == 404
    assert response.json()["code"] == 404000


def test_name_lints_match_a_literal_prefix(make_user, api_client):
    for name in ["ann", "anna", "annette", "bob", "a.nn"]:
        make_user(name)
    api_client.force_authenticate(make_user("zed"))
    found = api_client.get("/api/v1/users/name-lints?name=ANN").json()
    assert [u["name"] for u in found["results"]] == ["ann", "anna", "annette"]
    assert (found["count"], found["next"], found["previous"]) == (3, None, None)
    # A regex metacharacter is matched literally, never as a pattern.
    assert [u["name"] for u in api_client.get("/api/v1/users/name-lints?name=a.").json()["results"]] == ["a.nn"]
    empty = {"count": 0, "next": None, "previous": None, "results": []}
    assert api_client.get("/api/v1/users/name-lints?name=a").json() == empty


def test_openapi_schema_is_served(staff_client):
    response = staff_client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/auth/login" in response.content
