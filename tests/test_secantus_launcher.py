"""Each fix of the embedded server's fidelity gaps, through the Django behaviour it repairs.

These fail without ``dds_site.secantus_launcher.apply_patches`` (checked against an
unpatched server by the unit tests below), so the patches can be dropped when upstream
SecantusDB fixes the bugs. They pass unchanged against a real MongoDB.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from pymongo.errors import DuplicateKeyError, OperationFailure

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


# --- gap 7 (speed): renameCollection moves rows by their packed keys -----------------------------------------


def _fill(storage, coll: str, count: int, *, first_id: int = 0) -> None:
    storage.create_collection("db", coll)
    if count:
        storage.insert(
            "db",
            coll,
            [{"_id": first_id + n, "idx": n, "tags": [n % 7, n % 11], "name": f"n{n:05d}"} for n in range(count)],
        )
    storage.create_index("db", coll, "idx_1", {"idx": 1})
    storage.create_index("db", coll, "tags_1", {"tags": 1})
    storage.create_index("db", coll, "name_1", {"name": 1}, {"unique": True})


def _namespace_rows(storage, coll: str) -> dict[str, list[tuple[bytes, bytes]]]:
    """Every stored row of ``db.coll``, packed, per table."""
    from secantus import storage as st

    from dds_site.secantus_launcher import namespace_key_prefix

    prefix = namespace_key_prefix("db", coll)
    tables = (st._doc_table_for("db", coll), st._NAT_SEQ_TABLE, st._IDX_TABLE, st._IDX_ENTRIES_TABLE, st._UNIQ_TABLE)
    rows: dict[str, list[tuple[bytes, bytes]]] = {}
    for table in tables:
        cursor = storage._cursor_optional(table)
        found: list[tuple[bytes, bytes]] = []
        if cursor is not None:
            cursor.reset()
            while cursor.next() == 0:
                key = cursor._get_key()
                if key.startswith(prefix):
                    found.append((key[len(prefix) :], cursor._get_value()))
        rows[table.removeprefix("table:secantus_")] = found
    return rows


def _shard_of(coll: str) -> str:
    from secantus import storage as st

    return st._doc_table_for("db", coll).removeprefix("table:secantus_")


def _rename_oplog(storage) -> list[dict]:
    """The drop and rename entries of the oplog, without the collection UUIDs (random per store)."""
    entries = storage.find_matching("local", "oplog.rs", {"op": "c"})
    return [
        {"ns": entry["ns"], "o": {key: value for key, value in entry["o"].items() if key != "dropTarget"}}
        for entry in entries
        if "renameCollection" in entry["o"] or "drop" in entry["o"]
    ]


@pytest.mark.parametrize(("documents", "target_exists"), [(300, False), (300, True), (0, True)])
def test_rename_leaves_the_same_rows_as_the_servers_own(documents, target_exists):
    """Row for row (documents, natural order, index catalog and entries, unique keys) what the server's
    own rename leaves, on two stores written alike; the collection list and the oplog entries too."""
    from secantus.storage import Storage

    from dds_site.secantus_launcher import apply_patches

    apply_patches()
    results = []
    for rename in (Storage.rename_collection._dds_original, Storage.rename_collection):
        storage = Storage(":memory:")
        try:
            _fill(storage, "staging", documents)
            if target_exists:
                _fill(storage, "live", 200, first_id=1000)
            assert rename(storage, "db", "staging", "db", "live", drop_target=True) == (True, None)
            results.append(
                (
                    _namespace_rows(storage, "live"),
                    _namespace_rows(storage, "staging"),
                    storage.list_collections("db"),
                    _rename_oplog(storage),
                )
            )
        finally:
            storage.close()
    assert results[1] == results[0]
    live, staging, names, oplog = results[1]
    assert len(live[_shard_of("live")]) == documents
    assert len(live["index_entries"]) >= 3 * documents
    assert len(live["indexes"]) == 3
    assert not any(staging.values())
    assert names == ["live"]
    assert oplog[-1] == {"ns": "db.$cmd", "o": {"renameCollection": "db.staging", "to": "db.live"}}
    assert [entry["o"] for entry in oplog[:-1]] == ([{"drop": "live"}] if target_exists else [])


def test_rename_packs_no_key_per_row(monkeypatch):
    """Unpatched, a rename unpacked and repacked the key (and value) of every row it moved or dropped while
    every other request waited on the server's storage-wide lock: the calls grew with the rows. Counted on
    the engine binding's packing calls of a rename over an existing target, at 20 and at 400 documents."""
    import wiredtiger
    from secantus.storage import Storage

    from dds_site.secantus_launcher import apply_patches

    apply_patches()
    calls = {"count": 0}
    for name in ("get_key", "get_value", "set_key", "set_value"):
        original = getattr(wiredtiger.Cursor, name)

        def counted(self, *args, _original=original):
            calls["count"] += 1
            return _original(self, *args)

        monkeypatch.setattr(wiredtiger.Cursor, name, counted)

    def packing_calls(documents: int) -> int:
        storage = Storage(":memory:")
        try:
            _fill(storage, "staging", documents)
            _fill(storage, "live", documents, first_id=10_000)
            calls["count"] = 0
            assert storage.rename_collection("db", "staging", "db", "live", drop_target=True) == (True, None)
            return calls["count"]
        finally:
            storage.close()

    assert packing_calls(400) == packing_calls(20)


def _rename(database, source: str, target: str, **options) -> None:
    database.client.admin.command(
        "renameCollection", f"{database.name}.{source}", to=f"{database.name}.{target}", **options
    )


def _write_indexed(collection, count: int) -> None:
    collection.insert_many([{"_id": n, "idx": n, "tags": [n % 7, n % 11], "name": f"n{n:05d}"} for n in range(count)])
    collection.create_index("idx")
    collection.create_index("tags")
    collection.create_index("name", unique=True)


def _check_renamed(collection, count: int) -> None:
    assert sorted(doc["_id"] for doc in collection.find()) == list(range(count))
    assert {index["name"] for index in collection.list_indexes()} == {"_id_", "idx_1", "tags_1", "name_1"}
    tagged = [doc["_id"] for doc in collection.find({"tags": 3}).sort("_id", 1)]
    assert tagged == [n for n in range(count) if 3 in (n % 7, n % 11)]
    assert [doc["_id"] for doc in collection.find({"idx": {"$gte": count - 2}}).sort("idx", -1)] == [
        count - 1,
        count - 2,
    ]
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": "dup", "name": "n00001"})
    collection.insert_one({"_id": "new", "idx": -1, "tags": [3], "name": "new"})
    assert collection.find_one({"tags": 3, "idx": -1})["_id"] == "new"
    assert collection.count_documents({}) == count + 1


@pytest.mark.parametrize("target_exists", [False, True])
def test_rename_collection_keeps_documents_and_indexes(db, target_exists):
    database = connections["default"].database
    _write_indexed(database["rename@source"], 60)
    if target_exists:
        database["rename@target"].insert_many([{"_id": n, "name": "old"} for n in range(100, 140)])
    _rename(database, "rename@source", "rename@target", dropTarget=True)
    names = database.list_collection_names()
    assert "rename@source" not in names
    assert "rename@target" in names
    assert database["rename@source"].count_documents({}) == 0
    _check_renamed(database["rename@target"], 60)


def test_rename_collection_errors_change_nothing(db):
    database = connections["default"].database
    _write_indexed(database["rename@source"], 10)
    database["rename@target"].insert_one({"_id": "kept"})
    for options in ({}, {"dropTarget": False}):
        with pytest.raises(OperationFailure) as exists:
            _rename(database, "rename@source", "rename@target", **options)
        assert exists.value.code == 48  # NamespaceExists
    with pytest.raises(OperationFailure) as missing:
        _rename(database, "rename@missing", "rename@target", dropTarget=True)
    assert missing.value.code == 26  # NamespaceNotFound
    with database.client.start_session() as session, session.start_transaction():
        with pytest.raises(OperationFailure) as in_transaction:
            database.client.admin.command(
                "renameCollection",
                f"{database.name}.rename@source",
                to=f"{database.name}.rename@other",
                session=session,
            )
        session.abort_transaction()
    assert in_transaction.value.code == 263  # OperationNotSupportedInTransaction
    assert [doc["_id"] for doc in database["rename@target"].find()] == ["kept"]
    _check_renamed(database["rename@source"], 10)
    assert "rename@other" not in database.list_collection_names()


@pytest.mark.slow
def test_renamed_collection_survives_a_restart_of_a_server_with_a_storage_path(tmp_path):
    import pymongo

    from dds_site import mongo

    server = mongo.start_server(str(tmp_path))
    try:
        client = pymongo.MongoClient(server.uri)
        database = client["renames"]
        _write_indexed(database["staging"], 80)
        database["live"].insert_many([{"_id": n, "name": "old"} for n in range(200, 230)])
        _rename(database, "staging", "live", dropTarget=True)
        client.close()
    finally:
        server.stop()
    server = mongo.start_server(str(tmp_path))
    try:
        client = pymongo.MongoClient(server.uri)
        database = client["renames"]
        assert database.list_collection_names() == ["live"]
        _check_renamed(database["live"], 80)
        client.close()
    finally:
        server.stop()


@pytest.mark.slow
def test_server_writes_its_stack_samples_when_asked(tmp_path, monkeypatch):
    import pymongo

    from dds_site import mongo

    samples = tmp_path / "samples.txt"
    monkeypatch.setenv("DDS_SECANTUS_SAMPLES", str(samples))
    server = mongo.start_server(":memory:")
    try:
        client = pymongo.MongoClient(server.uri)
        client["sampled"]["docs"].insert_many([{"n": n} for n in range(20_000)])
        client["sampled"]["docs"].create_index("n")
        client.close()
    finally:
        server.stop()
    lines = samples.read_text().splitlines()
    assert lines[0].split()[1:4] == ["samples", "every", "0.01"]
    assert lines[1] == "== holding the storage lock, by outermost storage function"
    assert any(line.endswith("\tcreate_index") for line in lines[2:])


def test_profiling_level_is_read_without_the_engine_and_follows_changes(monkeypatch):
    """Unpatched, every command read its database's profiling level from the engine under the server's
    storage-wide lock; now once, until ``set_profile`` changes it."""
    from secantus import storage as st
    from secantus.storage import Storage

    from dds_site.secantus_launcher import apply_patches

    apply_patches()
    storage = Storage(":memory:")
    reads = []
    original_cursor = Storage._cursor

    def cursor(self, table, **kwargs):
        if table == st._PROFILE_TABLE:
            reads.append(table)
        return original_cursor(self, table, **kwargs)

    monkeypatch.setattr(Storage, "_cursor", cursor)
    try:
        assert storage.get_profile("db") == {"level": 0, "slowms": 100, "sampleRate": 1.0}
        for _ in range(50):
            storage.get_profile("db")["level"] = 2  # a caller's change stays its own
        assert len(reads) == 1
        storage.set_profile("db", level=1, slowms=7, sample_rate=0.5)
        assert storage.get_profile("db") == {"level": 1, "slowms": 7, "sampleRate": 0.5}
        assert storage.get_profile("other") == {"level": 0, "slowms": 100, "sampleRate": 1.0}
        with pytest.raises(ValueError, match="level must be"):
            storage.set_profile("db", level=5)
        assert storage.get_profile("db") == {"level": 1, "slowms": 7, "sampleRate": 0.5}
    finally:
        storage.close()


def test_profile_command_sets_and_reports_the_level(db):
    database = connections["default"].database
    try:
        assert database.command("profile", 1, slowms=5)["was"] == 0
        assert database.command("profile", -1)["was"] == 1
        assert database.command("profile", -1)["slowms"] == 5
    finally:
        database.command("profile", 0, slowms=100)
    assert database.command("profile", -1)["was"] == 0
