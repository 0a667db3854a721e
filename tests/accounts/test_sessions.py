"""A ban ends the user's sessions and tokens for good: unbanning does not bring them back."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from accounts.services import user_get


@pytest.mark.parametrize("ban", ["model", "api", "admin action", "admin form"])
def test_sessions_and_tokens_stay_dead_after_ban_and_unban(make_user, api_client, ban):
    victim = make_user("victim", is_staff=True)
    session = Client()
    session.force_login(victim)
    assert session.get("/admin/").status_code == 200
    assert session.get("/api/v1/users/me").status_code == 200
    token = victim.login_user()

    root = Client()
    root.force_login(make_user("root", is_staff=True, is_superuser=True))
    if ban == "model":
        victim.ban_user()
    elif ban == "api":
        api_client.force_authenticate(User.objects.get(name="root"))
        assert api_client.post(f"/api/v1/users/{victim.pk}/ban").status_code == 200
    elif ban == "admin action":
        root.post("/admin/accounts/user/", {"action": "ban_users", "_selected_action": [victim.pk], "post": "yes"})
    else:
        root.post(f"/admin/accounts/user/{victim.pk}/change/", {"status": "inactive", "is_staff": "on"})
    assert not User.objects.get(pk=victim.pk).is_active
    user_get("victim", active_only=False).unban_user()

    assert session.get("/admin/").status_code == 302  # to the login page
    assert session.get("/api/v1/users/me").status_code == 401
    api_client.force_authenticate(None)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.value}")
    assert api_client.get("/api/v1/users/me").status_code == 401


def test_a_new_login_after_unban_works(make_user, client):
    victim = make_user("victim", is_staff=True)
    victim.ban_user()
    victim.unban_user()
    assert client.login(username="victim", password="victim-pw-123")
    assert client.get("/admin/").status_code == 200


def test_sessions_of_other_users_survive_a_ban(make_user):
    bystander = make_user("bystander", is_staff=True)
    session = Client()
    session.force_login(bystander)
    make_user("victim").ban_user()
    assert session.get("/admin/").status_code == 200


def test_user_without_the_session_epoch_field_logs_in(make_user, client):
    """A user document written by DDS has no session epoch."""
    user = make_user("legacy", is_staff=True)
    User.get_collection().update_one({"_id": user.pk}, {"$unset": {"session_epoch": ""}})
    assert client.login(username="legacy", password="legacy-pw-123")
    assert client.get("/admin/").status_code == 200
    User.objects.get(pk=user.pk).ban_user()
    assert User.objects.get(pk=user.pk).session_epoch == 1
