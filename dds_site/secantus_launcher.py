"""Start the embedded SecantusDB server with our fixes for its known fidelity gaps.

SecantusDB 0.7.0b3 differs from mongod in three aggregation details that Django's
MongoDB backend relies on, and picks no index for a filter under a top-level ``$and``,
which is how the backend writes every ORM filter of two or more conditions. We patch the
server's functions here, at start-up, instead of editing site-packages; each patch has a
test in ``tests/test_secantus_launcher.py`` that fails without it, so it can be dropped
once upstream fixes the bug.

Run as ``python -m dds_site.secantus_launcher --port PORT --storage-path DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
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

    aggregate._project_one = project_one
    aggregate._add_fields_one = add_fields_one
    expressions._type_name = type_name
    Storage._try_index_id_keys = try_index_id_keys
    aggregate._dds_patched = True


def main(argv: list[str] | None = None) -> int:
    apply_patches()
    from secantus.cli import main as secantus_main

    return secantus_main(argv)


if __name__ == "__main__":
    sys.exit(main())
