"""Request bodies too deep or too large are typed 4xx answers, on every endpoint."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dds_site.errors import InvalidArgument
from dds_site.parsers import check_depth

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def client(db):
    return Client(raise_request_exception=False)


def test_login_with_a_body_of_a_thousand_brackets_is_a_400(client):
    # 2 KB: Python's JSON decoder gives up with RecursionError, which is no ValueError.
    response = client.post(LOGIN, data="[" * 1000 + "]" * 1000, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": 400002,
        "message": "JSON nested too deeply: at most 32 levels.",
        "detail": {"max_depth": 32},
    }


def test_nesting_below_the_decoder_limit_is_refused_at_the_configured_depth(client, settings):
    settings.DDS_MAX_JSON_DEPTH = 4
    body = '{"username": {"a": [[["x"]]]}}'  # five levels
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == {"path": "username.a[0][0]", "max_depth": 4}
    body = '{"username": {"a": [["x"]]}, "password": "y"}'  # four levels: parsed, then refused by the serializer
    response = client.post(LOGIN, data=body, content_type="application/json")
    assert response.json()["code"] == 400002
    assert "username" in response.json()["detail"]


def test_body_over_the_memory_limit_is_a_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(LOGIN, data=json.dumps({"username": "x" * 2000}), content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"code": 413000, "message": "Request body larger than 1000 bytes.", "detail": None}


def test_depth_check_does_not_recurse():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidArgument, match="nested too deeply"):
        check_depth(deep, 32)
    check_depth({"a": [1, {"b": ["c"]}]}, 4)
    with pytest.raises(InvalidArgument) as caught:
        check_depth({"a": [1, {"b": ["c"]}]}, 3)
    assert caught.value.detail == {"path": "a[1].b", "max_depth": 3}
