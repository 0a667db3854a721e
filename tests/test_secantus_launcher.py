"""Each fix of the embedded server's fidelity gaps, through the Django behaviour it repairs.

These fail without ``dds_site.secantus_launcher.apply_patches`` (checked against an
unpatched server by the unit tests below), so the patches can be dropped when upstream
SecantusDB fixes the bugs. They pass unchanged against a real MongoDB.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
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


def test_filters_under_a_top_level_and_pick_their_candidates_from_an_index():
    """Django writes ``filter(a=.., b=..)`` as ``{$and: [{a: ..}, {b: ..}]}``; unpatched, the embedded server
    picked no index for it (no candidates: the whole collection is read). Checked on the server's storage
    in this process, where the candidates can be counted rather than timed."""
    from secantus.storage import Storage

    from dds_site.secantus_launcher import apply_patches

    apply_patches()
    storage = Storage(":memory:")
    try:
        storage.insert("db", "tokens", [{"_id": n, "user": n % 50, "expire": 5} for n in range(500)])
        storage.create_index("db", "tokens", "user_1", {"user": 1})
        by_user = storage._try_index_id_keys("db", "tokens", {"$and": [{"user": 7}, {"expire": {"$gt": 0}}]})
        by_id = storage._try_index_id_keys("db", "tokens", {"$and": [{"expire": {"$gt": 0}}, {"_id": 3}]})
        unindexed = storage._try_index_id_keys("db", "tokens", {"$and": [{"expire": 5}, {"$or": [{"user": 1}]}]})
    finally:
        storage.close()
    assert by_user is not None
    assert len(by_user) == 10
    assert by_id is not None
    assert len(by_id) == 1
    assert unindexed is None  # nothing to pick an index with: read in full, as before
