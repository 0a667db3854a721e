"""The API's JSON renderer gives DRF's JSONRenderer's bytes for every value the API can return."""

from __future__ import annotations

import datetime
import decimal
import uuid

import numpy as np
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from dds_site.renderers import FastJSONRenderer

VALUES = [
    {"count": 3, "next": None, "results": [{"id": 1, "conf": 0.1 + 0.2, "name": "héllo ✓ 猫"}]},
    {"when": datetime.datetime(2026, 12, 3, 10, 4, 5, 123456, tzinfo=datetime.UTC)},
    {"naive": datetime.datetime(2026, 1, 2, 3, 4, 5), "day": datetime.date(2026, 1, 2)},
    {"at": datetime.time(3, 4, 5, 678000), "span": datetime.timedelta(seconds=90)},
    {"price": decimal.Decimal("1.10"), "id": uuid.UUID(int=7)},
    {"lazy": gettext_lazy("This field is required.")},
    {"separators": "a\u2028b\u2029c", "quote": 'he said "hi"\n\t\\'},
    {1: "int key", "nested": {2: [True, False, None]}},
    {"tuple": (1, 2), "set": {3}, "frozen": frozenset()},
    {"numpy": np.int64(5), "array": np.arange(3), "float": np.float32(0.5)},
    {"big": 2**70, "negative_big": -(2**70)},
    ReturnList([{"a": 1}], serializer=None),
    ReturnDict({"a": [1.5, -0.0, 1e300]}, serializer=None),
    [],
    "plain",
]


@pytest.mark.parametrize("value", VALUES)
def test_bytes_equal_drfs_renderer(value):
    assert FastJSONRenderer().render(value) == JSONRenderer().render(value)


@pytest.mark.parametrize("media_type", ["application/json; indent=4", "application/json; indent=2"])
def test_indented_output_equals_drfs(media_type):
    value = {"results": [{"id": 1, "tags": ["a", "b"]}]}
    rendered = FastJSONRenderer().render(value, media_type, {})
    assert rendered == JSONRenderer().render(value, media_type, {})
    assert b"\n" in rendered


def test_no_content_renders_empty():
    assert FastJSONRenderer().render(None) == b""


def test_nan_renders_null_where_drf_refuses():
    with pytest.raises(ValueError, match="Out of range float"):
        JSONRenderer().render({"ap": float("nan")})
    assert FastJSONRenderer().render({"ap": float("nan"), "inf": float("inf")}) == b'{"ap":null,"inf":null}'


def test_the_api_answers_with_it(api_client):
    response = api_client.get("/api/v1/ping")
    assert isinstance(response.accepted_renderer, FastJSONRenderer)
    assert response["Content-Type"] == "application/json"
