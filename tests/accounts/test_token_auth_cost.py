"""What token authentication costs a request: the token and its user read by ``_id``, nothing written."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import User, UserStatus
from accounts.tokens import hash_token
from tests.mongo_commands import WRITE_COMMANDS, recording_connection


@pytest.fixture
def mongo_commands(db):
    with recording_connection() as recorder:
        yield recorder


def _authenticated_get(api_client, token: str, mongo_commands) -> list:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with mongo_commands.recording() as commands:
        response = api_client.get("/api/v1/datasets")
    assert response.status_code == 200
    return commands


def test_token_and_user_are_read_by_id(make_user, api_client, mongo_commands):
    """A join starting from the token collection (``select_related``) read every token on a server that does
    not move the filter ahead of the join: each request cost more with every login."""
    user = make_user("alice")
    for _ in range(3):
        services.token_issue(make_user(f"other{_}"))
    token = services.token_issue(user).value
    commands = _authenticated_get(api_client, token, mongo_commands)
    on_tokens = [command for command in commands if command.collection == "user_tokens"]
    on_users = [command for command in commands if command.collection == "users"]
    assert len(on_tokens) == 1
    assert len(on_users) == 1
    # each starts from its _id (no join or scan ahead of the filter)
    assert hash_token(token) in str(on_tokens[0].first_filter)
    assert user.pk in str(on_users[0].first_filter)


def test_an_authenticated_read_writes_nothing(make_user, api_client, mongo_commands):
    token = services.token_issue(make_user("bob")).value
    commands = _authenticated_get(api_client, token, mongo_commands)
    assert [command.name for command in commands if command.name in WRITE_COMMANDS] == []


def test_a_token_left_behind_by_a_ban_does_not_authenticate(make_user, api_client):
    """A ban revokes the tokens; should one be left (a DDS database, a write lost), the user's status still
    decides."""
    user = make_user("carol")
    token = services.token_issue(user).value
    User.objects.filter(pk=user.pk).update(status=UserStatus.INACTIVE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get("/api/v1/datasets")
    assert response.status_code == 401
    assert response.json()["code"] == 401000
