"""Each fix of the embedded server's fidelity gaps, through the Django behaviour it repairs.

These fail without ``dds_site.secantus_launcher.apply_patches`` (checked against an
unpatched server by the unit tests below), so the patches can be dropped when upstream
SecantusDB fixes the bugs. They pass unchanged against a real MongoDB.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User, UserToken
from datasets.models import DataSet
from dds_site.secantus_launcher import and_index_filter, flatten_nested_spec


def test_flatten_nested_spec_leaves_operators_alone():
    spec = {"a": {"b": 1, "c": {"d": "$x"}}, "e": {"$add": [1, 2]}, "f": {}}
    assert flatten_nested_spec(spec) == {"a.b": 1, "a.c.d": "$x", "e": {"$add": [1, 2]}, "f": {}}


def test_non_superuser_permission_strings_name_the_app(db):
    user = User.objects.create_user("alice", "pw-alice-123")
    user.user_permissions.add(Permission.objects.get(codename="view_dataset"))
    user = User.objects.get(pk=user.pk)  # drop the permission cache
    assert user.get_all_permissions() == {"datasets.view_dataset"}
    assert user.has_perm("datasets.view_dataset")


def test_select_related_keeps_joined_primary_key(db):
    permission = Permission.objects.select_related("content_type").get(codename="view_dataset")
    assert permission.content_type.app_label == "datasets"
    assert permission.content_type.pk is not None


def test_admin_user_change_page_renders(db, client):
    admin = User.objects.create_superuser("root", "pw-root-123")
    other = User.objects.create_user("bob", "pw-bob-123")
    client.force_login(admin)
    response = client.get(f"/admin/accounts/user/{other.pk}/change/")
    assert response.status_code == 200
    assert b"bob" in response.content


@pytest.mark.parametrize(("key", "expected"), [("GroundTruth", {"with"}), ("Pred/x", set())])
def test_jsonfield_has_key_matches_only_documents_with_the_key(db, key, expected):
    DataSet.objects.create(id="a" * 32, name="with", files={"GroundTruth": "/gt.json"})
    DataSet.objects.create(id="b" * 32, name="without", files={})
    assert set(DataSet.objects.filter(files__has_key=key).values_list("name", flat=True)) == expected


def test_and_index_filter_keeps_field_conditions_id_first():
    query = {
        "$and": [
            {"expire": {"$gt": 5}},
            {"$or": [{"a": 1}, {"b": 2}]},
            {"$and": [{"task_id": "t"}, {"expire": {"$lt": 9}}]},
            {"_id": "h"},
        ],
        "kind": "x",
    }
    assert and_index_filter(query) == {"_id": "h", "kind": "x", "task_id": "t", "expire": {"$gt": 5}}
    assert list(and_index_filter(query)) == ["_id", "kind", "task_id", "expire"]
    assert and_index_filter({"a": 1}) is None
    assert and_index_filter({"$and": [{"$or": [{"a": 1}]}]}) is None


def _median_s(action, repeat: int = 3) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


@pytest.mark.skipif(bool(os.environ.get("MONGODB_URI")), reason="the embedded server's index choice")
def test_orm_filters_of_several_conditions_are_served_from_an_index(db):
    """Django writes ``filter(a=.., b=..)`` as ``{$and: [{a: ..}, {b: ..}]}``; unpatched, the embedded server
    read the whole collection for it. Compared with a filter no index serves, on the same 2,000 tokens."""
    UserToken.objects.bulk_create(
        UserToken(id=f"{n:064x}", user_id="u" * 32, expire=2_000_000_000, created_ts=n) for n in range(2000)
    )
    wanted = f"{1000:064x}"
    indexed = _median_s(lambda: UserToken.objects.filter(pk=wanted, expire__gt=0).values_list("pk").first())
    scanned = _median_s(lambda: UserToken.objects.filter(created_ts=1000, expire__gt=0).values_list("pk").first())
    assert UserToken.objects.filter(pk=wanted, expire__gt=0).values_list("pk", flat=True).first() == wanted
    assert indexed * 5 < scanned, (indexed, scanned)
