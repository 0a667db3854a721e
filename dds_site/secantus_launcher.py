"""Start the embedded SecantusDB server with our fixes for its known fidelity gaps.

SecantusDB 0.7.0b3 differs from mongod in three aggregation details that Django's
MongoDB backend relies on, picks no index for a filter under a top-level ``$and``,
which is how the backend writes every ORM filter of two or more conditions. Under its
storage-wide lock, which every other request waits on, it renames a collection (an import's
swap) by unpacking and repacking the key of every row it moves, and reads the database's
profiling level from storage for every command. We patch the server's functions
here, at start-up, instead of editing site-packages; each patch has a test in
``tests/test_secantus_launcher.py`` that fails without it, so it can be dropped once
upstream fixes the bug.

Run as ``python -m dds_site.secantus_launcher --port PORT --storage-path DIR``. With
``DDS_SECANTUS_SAMPLES=FILE`` in its environment the server samples its threads' stacks and
writes the most frequent ones to FILE when it stops (a profile of the server under load).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any


def _is_operator_document(value: Mapping[str, Any]) -> bool:
    return any(isinstance(key, str) and key.startswith("$") for key in value)


def flatten_nested_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a": {"b": 1}}`` into ``{"a.b": 1}``, leaving operator expressions alone.

    mongod reads a non-operator sub-document in ``$project``/``$addFields`` as a
    set of dotted paths; SecantusDB evaluates it as a literal expression instead.
    """
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        if isinstance(value, Mapping) and value and not _is_operator_document(value):
            for sub_key, sub_value in flatten_nested_spec(value).items():
                flat[f"{key}.{sub_key}"] = sub_value
        else:
            flat[key] = value
    return flat


def _is_plain_condition(condition: Any) -> bool:
    return isinstance(condition, Mapping) and bool(condition) and not _is_operator_document(condition)


def and_index_filter(query: Mapping[str, Any]) -> dict[str, Any] | None:
    """The field conditions of a top-level ``$and`` as one plain filter, to pick an index with; None if none.

    ``{"$and": [{"expire": {"$gt": 5}}, {"_id": "h"}]}`` gives ``{"_id": "h", "expire": {"$gt": 5}}``. Only
    candidates are picked with it (the server matches every candidate against the whole query afterwards),
    so it may hold fewer conditions than the query, never more: a branch with an operator at its top
    (``$or``, ``$expr``) is left out, and a field keeps its first condition. ``_id`` equality comes first,
    then other equalities, then ranges, because the server serves a filter it has no compound index for
    from the index of its first indexed field.
    """
    branches = query.get("$and")
    if not isinstance(branches, list):
        return None
    conditions: dict[str, Any] = {}
    pending = [{key: value for key, value in query.items() if key != "$and"}, *branches]
    while pending:
        branch = pending.pop(0)
        if not isinstance(branch, Mapping):
            continue
        if isinstance(branch.get("$and"), list):
            pending[:0] = [{key: value for key, value in branch.items() if key != "$and"}, *branch["$and"]]
            continue
        if not _is_plain_condition(branch):
            continue
        for field, condition in branch.items():
            conditions.setdefault(field, condition)
    if not conditions:
        return None

    def rank(field: str) -> int:
        is_equality = not isinstance(conditions[field], Mapping)
        return 0 if field == "_id" and is_equality else 1 if is_equality else 2

    return {field: conditions[field] for field in sorted(conditions, key=rank)}


def namespace_key_prefix(db: str, coll: str) -> bytes:
    """The packed key prefix of every storage row of collection ``db.coll``.

    Each table the server keys by collection starts its key with two ``S`` columns, packed as
    NUL-terminated strings; a name holds no NUL, so no other collection's keys share the prefix.
    """
    from wiredtiger.packing import pack

    return pack("SS", db, coll)


def _raw_rows(storage: Any, table: str, prefix: bytes) -> list[tuple[bytes, bytes]]:
    """The packed (key, value) rows of ``table`` whose key starts with ``prefix``, in key order."""
    import wiredtiger

    cursor = storage._cursor_optional(table)
    if cursor is None:  # a documents shard is created when first written to
        return []
    cursor._key = prefix  # the binding keeps the packed key it passes to the engine alive here
    cursor._set_key(prefix)
    found = cursor.search_near()
    if found == wiredtiger.WT_NOTFOUND or (found < 0 and cursor.next() != 0):
        return []
    rows: list[tuple[bytes, bytes]] = []
    while True:
        key = cursor._get_key()
        if not key.startswith(prefix):
            break
        rows.append((key, cursor._get_value()))
        if cursor.next() != 0:
            break
    cursor.reset()
    return rows


def _raw_remove(storage: Any, table: str, keys: Iterable[bytes]) -> None:
    cursor = storage._cursor(table)
    for key in keys:
        cursor._key = key
        cursor._set_key(key)
        cursor.remove()
        cursor.reset()


def _raw_insert(storage: Any, table: str, rows: Iterable[tuple[bytes, bytes]]) -> None:
    cursor = storage._cursor(table)
    for key, value in rows:
        cursor._key = key
        cursor._set_key(key)
        cursor._value = value
        cursor._set_value(value)
        cursor.insert()
        cursor.reset()


def remove_namespace_rows(storage: Any, table: str, db: str, coll: str) -> int:
    """Remove the rows of ``db.coll`` from ``table``; returns how many there were."""
    keys = [key for key, _ in _raw_rows(storage, table, namespace_key_prefix(db, coll))]
    if keys:  # no cursor on a table that may not exist
        _raw_remove(storage, table, keys)
    return len(keys)


def move_namespace_rows(storage: Any, source_table: str, target_table: str, source: bytes, target: bytes) -> int:
    """Move the rows under key prefix ``source`` of one table to prefix ``target`` of another, the
    rest of each key and its value as stored (no unpacking); returns how many rows moved."""
    rows = _raw_rows(storage, source_table, source)
    if rows:
        _raw_remove(storage, source_table, [key for key, _ in rows])
        _raw_insert(storage, target_table, [(target + key[len(source) :], value) for key, value in rows])
    return len(rows)


def _remove_catalog_row(storage: Any, table: str, db: str, coll: str) -> None:
    """Remove the catalog row of ``db.coll`` if there is one."""
    cursor = storage._cursor(table)
    cursor.set_key(db, coll)
    if cursor.search() == 0:
        cursor.remove()
    cursor.reset()


def _rename_collection(original: Any) -> Any:
    """``Storage.rename_collection`` moving the rows by their packed keys.

    The server's own version unpacks every key of the collection (documents, natural order, index
    entries, unique keys) and packs it again under the new name, one row at a time, all while holding
    its storage-wide lock, every request waiting. The rows are the same here, so the work still grows
    with them (every key starts with the collection's name), but each is a byte-prefix swap and a few
    calls into the engine: 2.5x faster for image documents. Checks, catalog rows, oplog entries and
    their order are the server's.
    """
    import bson
    from secantus import storage as st

    def rename_collection(self, src_db, src_coll, dst_db, dst_coll, *, drop_target=False):
        with self._lock:
            self._refresh_read_snapshot()
            src_exists = self._coll_options(src_db, src_coll) is not None
            dst_existed = self._coll_options(dst_db, dst_coll) is not None
            if not src_exists or (src_db, src_coll) == (dst_db, dst_coll) or (dst_existed and not drop_target):
                return original(self, src_db, src_coll, dst_db, dst_coll, drop_target=drop_target)
            ui = self._collection_uuid(src_db, src_coll)
            dst_ui = self._collection_uuid(dst_db, dst_coll) if dst_existed else None
            side_tables = (st._NAT_TABLE, st._NAT_SEQ_TABLE, st._IDX_TABLE, st._IDX_ENTRIES_TABLE, st._UNIQ_TABLE)
            if dst_existed:
                for table in (st._doc_table_for(dst_db, dst_coll), *side_tables):
                    remove_namespace_rows(self, table, dst_db, dst_coll)
                _remove_catalog_row(self, st._COLL_TABLE, dst_db, dst_coll)
            source, target = namespace_key_prefix(src_db, src_coll), namespace_key_prefix(dst_db, dst_coll)
            self._ensure_doc_shard(dst_db, dst_coll)
            move_namespace_rows(
                self, st._doc_table_for(src_db, src_coll), st._doc_table_for(dst_db, dst_coll), source, target
            )
            for table in side_tables:
                move_namespace_rows(self, table, table, source, target)
            ensure = self._cursor(st._COLL_TABLE)
            ensure.set_key(dst_db, dst_coll)
            if ensure.search() != 0:
                ensure.reset()
                ensure[dst_db, dst_coll] = b""
            ensure.reset()
            _remove_catalog_row(self, st._COLL_TABLE, src_db, src_coll)
            entries: list[dict[str, Any]] = []
            rename_o: dict[str, Any] = {"renameCollection": f"{src_db}.{src_coll}", "to": f"{dst_db}.{dst_coll}"}
            if dst_existed and dst_ui is not None:
                dropped = bson.Binary(dst_ui.bytes, subtype=4)
                entries.append({"op": "c", "ns": f"{dst_db}.$cmd", "ui": dropped, "o": {"drop": dst_coll}})
                rename_o["dropTarget"] = dropped
            entries.append({"op": "c", "ns": f"{src_db}.$cmd", "ui": bson.Binary(ui.bytes, subtype=4), "o": rename_o})
            self._emit_oplog(entries)
            return True, None

    rename_collection._dds_original = original
    return rename_collection


def apply_patches() -> None:
    """Patch the server's functions (idempotent)."""
    from secantus import aggregate, expressions
    from secantus.storage import Storage

    if getattr(aggregate, "_dds_patched", False):
        return

    # Gap 1: nested inclusion in $project (Django's values_list("fk__field")).
    original_project_one = aggregate._project_one

    def project_one(doc, spec, vars):
        return original_project_one(doc, flatten_nested_spec(spec), vars)

    # Gap 2: $addFields/$set of a sub-document merges instead of replacing (select_related()).
    original_add_fields_one = aggregate._add_fields_one

    def add_fields_one(doc, spec, vars):
        return original_add_fields_one(doc, flatten_nested_spec(spec), vars)

    # Gap 3: $type of a missing value is "missing" (JSONField __has_key).
    original_type_name = expressions._type_name

    def type_name(value):
        if value is expressions.MISSING:
            return "missing"
        return original_type_name(value)

    # Gap 6 (speed): a top-level $and picks no index, so every ORM filter of two or more conditions
    # (pk and expiry, project and user, ...) read the whole collection. Reads, updates and deletes pick
    # their candidates here.
    original_try_index_id_keys = Storage._try_index_id_keys

    def try_index_id_keys(self, db, coll, filter, **kwargs):
        index_filter = and_index_filter(filter) if isinstance(filter, Mapping) else None
        return original_try_index_id_keys(self, db, coll, filter if index_filter is None else index_filter, **kwargs)

    # Gap 7 (speed): an import's swap renamed its staging collection by repacking every row's key.
    rename_collection = _rename_collection(Storage.rename_collection)

    # Gap 8 (speed): every command read its database's profiling level from the engine while holding the
    # storage-wide lock, the lock's most frequent holder under load. Only ``set_profile`` writes the level;
    # both fill and clear the cache under that lock, so a read never keeps a level older than a write.
    original_get_profile = Storage.get_profile
    original_set_profile = Storage.set_profile

    def get_profile(self, db):
        cached = self.__dict__.get("_dds_profiles", {}).get(db)
        if cached is None:
            with self._lock:
                cached = original_get_profile(self, db)
                self.__dict__.setdefault("_dds_profiles", {})[db] = cached
        return dict(cached)

    def set_profile(self, db, **settings):
        with self._lock:
            try:
                return original_set_profile(self, db, **settings)
            finally:
                self.__dict__.setdefault("_dds_profiles", {}).pop(db, None)

    aggregate._project_one = project_one
    aggregate._add_fields_one = add_fields_one
    expressions._type_name = type_name
    Storage._try_index_id_keys = try_index_id_keys
    Storage.rename_collection = rename_collection
    Storage.get_profile = get_profile
    Storage.set_profile = set_profile
    aggregate._dds_patched = True


def _stack(frame: Any, depth: int = 12) -> str:
    parts = []
    while frame is not None and len(parts) < depth:
        parts.append(f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


def start_sampler(path: str, interval_s: float = 0.01) -> None:
    """Sample the stack of every thread every ``interval_s``; at exit write the most frequent stacks to
    ``path``, and those of the thread holding the storage-wide lock, with how often it was held."""
    import atexit
    import collections
    import re
    import threading
    import time

    from secantus.storage import Storage

    stores: list[Any] = []
    original_init = Storage.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        stores.append(self)

    Storage.__init__ = init
    stacks: collections.Counter[str] = collections.Counter()
    holders: collections.Counter[str] = collections.Counter()
    taken = {"samples": 0, "held": 0}

    def sample() -> None:
        me = threading.get_ident()
        while True:
            time.sleep(interval_s)
            frames = sys._current_frames()
            taken["samples"] += 1
            owner = re.search(r"owner=(\d+)", repr(stores[0]._lock)) if stores else None
            if owner and int(owner.group(1)) in frames:
                taken["held"] += 1
                holders[_stack(frames[int(owner.group(1))])] += 1
            for ident, frame in frames.items():
                if ident != me:
                    stacks[_stack(frame)] += 1

    def write() -> None:
        with open(path, "w") as out:
            out.write(f"{taken['samples']} samples every {interval_s} s; storage lock held in {taken['held']}\n")
            by_function: collections.Counter[str] = collections.Counter()
            for stack, count in holders.items():
                functions = [
                    frame.split(" ", 1)[1]
                    for frame in stack.split(" < ")
                    if frame.startswith(("storage.py", "secantus_launcher.py"))
                ]
                by_function[functions[-1] if functions else stack.split(" < ")[0]] += count
            out.write("== holding the storage lock, by outermost storage function\n")
            out.writelines(f"{count}\t{function}\n" for function, count in by_function.most_common(30))
            out.write("== holding the storage lock\n")
            out.writelines(f"{count}\t{stack}\n" for stack, count in holders.most_common(40))
            out.write("== every thread\n")
            out.writelines(f"{count}\t{stack}\n" for stack, count in stacks.most_common(80))

    atexit.register(write)
    threading.Thread(target=sample, name="dds-sampler", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    apply_patches()
    if os.environ.get("DDS_SECANTUS_SAMPLES"):  # profiling: where the server's threads spend their time
        start_sampler(os.environ["DDS_SECANTUS_SAMPLES"])
    from secantus.cli import main as secantus_main

    return secantus_main(argv)


if __name__ == "__main__":
    sys.exit(main())
