"""Start the embedded SecantusDB server with our fixes for its known fidelity gaps.

SecantusDB 0.7.0b3 differs from mongod in three aggregation details that Django's
MongoDB backend relies on. We patch the server's functions here, at start-up, instead
of editing site-packages; each patch has a test in ``tests/test_secantus_launcher.py``
that fails without it, so it can be dropped once upstream fixes the bug.

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


def apply_patches() -> None:
    """Patch the server's aggregation functions (idempotent)."""
    from secantus import aggregate, expressions

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

    aggregate._project_one = project_one
    aggregate._add_fields_one = add_fields_one
    expressions._type_name = type_name
    aggregate._dds_patched = True


def main(argv: list[str] | None = None) -> int:
    apply_patches()
    from secantus.cli import main as secantus_main

    return secantus_main(argv)


if __name__ == "__main__":
    sys.exit(main())
