"""The served OpenAPI document made strict, for validating real responses against it.

An OpenAPI 3.0 schema becomes a JSON schema that rejects undocumented keys (``additionalProperties:
false`` wherever properties are listed), resolves ``$ref``s and reads ``nullable`` as "or null". So a key
the API returns but does not document fails, as does a documented key that is missing (``required``) or
of another type.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_IGNORED = {"nullable", "readOnly", "writeOnly", "format", "default", "description", "properties"}


def strict(node: Any, components: dict) -> Any:
    """``node`` (with its ``$ref``s into ``components``) as a strict JSON schema."""
    if isinstance(node, list):
        return [strict(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return strict(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {key: strict(value, components) for key, value in node.items() if key not in _IGNORED}
    if "properties" in node:
        out["properties"] = {name: strict(schema, components) for name, schema in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def json_body_validator(document: dict, path: str, method: str, status: int) -> jsonschema.Draft7Validator | None:
    """A strict validator of the JSON body documented for ``method path`` answering ``status`` (None if no
    JSON body is documented for it)."""
    response = document["paths"][path][method.lower()]["responses"].get(str(status)) or {}
    content = (response.get("content") or {}).get("application/json")
    if content is None:
        return None
    return jsonschema.Draft7Validator(strict(content["schema"], document["components"]["schemas"]))
