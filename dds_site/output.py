"""``DictOutput``: an output serializer of stored documents whose declared fields are both the schema
and the rendering.

DRF renders a serializer field by field, converting every value (``int()``, ``float()``, ``str()``,
child by child). For the image and task-image lists that is most of the request's cost, ten times
what building the dicts costs, and the documents hold values of the declared types already (they
are validated when written). ``DictOutput`` renders from the same declared fields without those
conversions: a key is copied, a missing key renders the field's default (or ``null`` when the field
allows it, else it is left out, as DRF does), ``SerializerMethodField``s call their method, nested
``DictOutput``s render each item. Subclasses declare fields only; the tests check that DRF's own
rendering gives the same result.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

_COPY, _METHOD, _NESTED, _NESTED_MANY = range(4)
_OMIT = object()


def _missing_value(field: serializers.Field) -> Any:
    """What DRF renders for an absent key: the default, else ``None`` if allowed, else nothing."""
    if field.default is not empty:
        return field.default
    return None if field.allow_null else _OMIT


class DictOutput(serializers.Serializer):
    """Render a dict from the declared fields (read-only; see the module docstring)."""

    def _plan(self) -> tuple[list[tuple[str, str, Any]], frozenset[str], dict[str, list[tuple[str, Any]]], list]:
        """Per field (name, key, method or None); the keys copied; per key, the fields it fills and what
        each renders when the key is missing; and the nested serializers (name, serializer, many)."""
        plan = self.__dict__.get("_render_plan")
        if plan is None:
            steps, when_missing, nested = [], {}, []
            for name, field in self.fields.items():
                if isinstance(field, serializers.SerializerMethodField):
                    steps.append((name, "", getattr(self, field.method_name)))
                    continue
                if "." in field.source or field.source == "*":
                    raise TypeError(f"{type(self).__name__}.{name}: DictOutput copies plain keys only")
                steps.append((name, field.source, None))
                when_missing.setdefault(field.source, []).append((name, _missing_value(field)))
                if isinstance(field, serializers.ListSerializer) and isinstance(field.child, DictOutput):
                    nested.append((name, field.child, True))
                elif isinstance(field, DictOutput):
                    nested.append((name, field, False))
            plan = self.__dict__["_render_plan"] = (steps, frozenset(when_missing), when_missing, nested)
        return plan

    def to_representation(self, instance: dict) -> dict:
        steps, keys, when_missing, nested = self._plan()
        get = instance.get
        # one comprehension for every field, then fix-ups for the keys the document lacks (found by a set
        # difference, so a complete document costs no per-field check)
        out = {name: method(instance) if method else get(key) for name, key, method in steps}
        for key in keys.difference(instance.keys()):
            for name, default in when_missing[key]:
                if default is _OMIT:
                    del out[name]
                else:
                    out[name] = default() if callable(default) else default
        for name, serializer, many in nested:
            value = out.get(name)
            if value is not None:
                out[name] = (
                    [serializer.to_representation(item) for item in value]
                    if many
                    else (serializer.to_representation(value))
                )
        return out


def page_output(
    item: type[serializers.Serializer],
    name: str,
    *,
    count_help: str = "Items in all pages.",
    count_nullable: bool = False,
    keyset: bool = False,
) -> type[serializers.Serializer]:
    """The documented body of ``dds_site.api.list_envelope``: ``{count, next, previous, results}``, and
    ``next_cursor`` on the lists that page by keyset. Every key is always present."""
    fields: dict[str, Any] = {
        "__module__": item.__module__,
        "__doc__": f"A page of {item.__name__} items.",
        "count": serializers.IntegerField(allow_null=count_nullable, help_text=count_help),
        "next": serializers.URLField(allow_null=True, help_text="The next page, if any."),
        "previous": serializers.URLField(allow_null=True, help_text="The previous page, if any."),
        "results": item(many=True),
    }
    if keyset:
        fields["next_cursor"] = serializers.IntegerField(
            allow_null=True, help_text="The last idx of this page if more follow (else null); pass as ?cursor=."
        )
    # one page object, though a ``list`` action answers it
    return extend_schema_serializer(many=False)(type(name, (serializers.Serializer,), fields))
