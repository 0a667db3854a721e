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

The rendering plan is made once per class, not per instance: DRF deep-copies a serializer's declared
fields for every new instance (for every request), which cost more than rendering a page. So a
``DictOutput``'s method fields must not depend on the instance (``self.context``): they are called on
the serializer the plan was made with.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

_OMIT = object()

#: per DictOutput class: its rendering plan (see ``DictOutput._plan``)
_PLANS: dict[type, tuple] = {}


def _missing_value(field: serializers.Field) -> Any:
    """What DRF renders for an absent key: the default, else ``None`` if allowed, else nothing."""
    if field.default is not empty:
        return field.default
    return None if field.allow_null else _OMIT


class DictOutput(serializers.Serializer):
    """Render a dict from the declared fields (read-only; see the module docstring)."""

    def _plan(self) -> tuple[list[tuple[str, str, Any]], frozenset[str], dict[str, list[tuple[str, Any, bool]]], list]:
        """Per field (name, key, method or None); the keys copied; per key, the fields it fills with what
        each renders when the key is missing (and whether that is a callable default); and the nested
        serializers (name, serializer, many). Made once per class."""
        plan = _PLANS.get(type(self))
        if plan is None:
            steps, when_missing, nested = [], {}, []
            for name, field in self.fields.items():
                if isinstance(field, serializers.SerializerMethodField):
                    steps.append((name, "", getattr(self, field.method_name)))
                    continue
                if "." in field.source or field.source == "*":
                    raise TypeError(f"{type(self).__name__}.{name}: DictOutput copies plain keys only")
                steps.append((name, field.source, None))
                default = _missing_value(field)
                when_missing.setdefault(field.source, []).append((name, default, callable(default)))
                if isinstance(field, serializers.ListSerializer) and isinstance(field.child, DictOutput):
                    nested.append((name, field.child, True))
                elif isinstance(field, DictOutput):
                    nested.append((name, field, False))
            plan = _PLANS[type(self)] = (steps, frozenset(when_missing), when_missing, nested)
        return plan

    def to_representation(self, instance: dict) -> dict:
        steps, keys, when_missing, nested = self._plan()
        get = instance.get
        # one comprehension for every field, then fix-ups for the keys the document lacks (found by a set
        # difference, so a complete document costs no per-field check)
        out = {name: method(instance) if method else get(key) for name, key, method in steps}
        for key in keys.difference(instance.keys()):
            for name, default, is_callable in when_missing[key]:
                if default is _OMIT:
                    del out[name]
                else:
                    out[name] = default() if is_callable else default
        for name, serializer, many in nested:
            value = out.get(name)
            if value is not None:
                render = serializer.to_representation
                out[name] = [render(item) for item in value] if many else render(value)
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
