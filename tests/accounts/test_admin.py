"""The user admin: pages render, actions call the services."""

from __future__ import annotations

from accounts.models import User, UserStatus


def test_admin_login_page_answers(client, db):
    assert client.get("/admin/login/").status_code == 200


def test_user_changelist_and_add_page_render(admin_client):
    assert admin_client.get("/admin/accounts/user/").status_code == 200
    assert admin_client.get("/admin/accounts/user/add/").status_code == 200


def test_admin_adds_a_user_with_derived_id(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"name": "Added", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123"},
    )
    assert response.status_code == 302
    assert User.authenticate("ADDED", "a-Long-pass-123") is not None


def test_admin_ban_action_revokes_tokens(admin_client, make_user):
    user = make_user("mo")
    user.login_user()
    data = {"action": "ban_users", "_selected_action": [user.pk], "post": "yes"}
    response = admin_client.post("/admin/accounts/user/", data)
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).status == UserStatus.INACTIVE
    assert not user.tokens.exists()


def test_non_staff_cannot_use_admin(client, make_user):
    client.force_login(make_user("plain"))
    assert client.get("/admin/accounts/user/").status_code == 302
