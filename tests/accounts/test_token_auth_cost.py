"""What token authentication costs a request: the token and its user read by ``_id``, nothing written."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import User, UserStatus, UserToken
from accounts.tokens import hash_token
from dds_site import mongo
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


def test_token_and_user_are_read_in_one_command_from_the_tokens_id(make_user, api_client, mongo_commands):
    """A join starting from the token collection (``select_related``) read every token on a server that does
    not move the filter ahead of the join: each request cost more with every login. One aggregate starts
    from the token's ``_id`` and joins its user by the users' ``_id``."""
    user = make_user("alice")
    for _ in range(3):
        services.token_issue(make_user(f"other{_}"))
    token = services.token_issue(user).value
    commands = _authenticated_get(api_client, token, mongo_commands)
    on_accounts = [command for command in commands if command.collection in {"user_tokens", "users"}]
    assert [(command.name, command.collection) for command in on_accounts] == [("aggregate", "user_tokens")]
    assert on_accounts[0].first_filter["_id"] == hash_token(token)
    lookup = next(stage["$lookup"] for stage in on_accounts[0].body["pipeline"] if "$lookup" in stage)
    assert (lookup["from"], lookup["localField"], lookup["foreignField"]) == ("users", "user_id", "_id")


def test_the_user_is_built_as_the_orm_builds_it(make_user):
    user = make_user("dora")
    User.objects.filter(pk=user.pk).update(last_login=timezone.now(), is_superuser=True, created_ts=1234)
    token = services.token_issue(user).value
    expected = User.objects.get(pk=user.pk)
    found = services.token_user(token)
    fields = [field.attname for field in User._meta.concrete_fields]
    assert {name: getattr(found, name) for name in fields} == {name: getattr(expected, name) for name in fields}
    assert found.last_login.tzinfo is not None
    assert not found._state.adding
    assert found._state.db == "default"


def test_expired_unknown_and_orphaned_tokens_find_nobody(make_user, settings):
    user = make_user("erin")
    token = services.token_issue(user).value
    assert services.token_user("not-a-token") is None
    mongo.get_collection("users").delete_one({"_id": user.pk})  # the token stays behind
    assert UserToken.objects.filter(user_id=user.pk).exists()
    assert services.token_user(token) is None
    settings.DDS_TOKEN_AGE = -1
    assert services.token_user(services.token_issue(make_user("fred")).value) is None


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
