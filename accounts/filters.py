"""Query filters of the user list, strict: a value that is not one of the choices is a 400, never ignored."""

from __future__ import annotations

from django_filters import rest_framework as filters

from accounts.models import User

BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


class UserFilter(filters.FilterSet):
    is_staff = filters.TypedChoiceFilter(choices=BOOLEAN_CHOICES, coerce=lambda value: value == "true")

    class Meta:
        model = User
        fields = ["status", "is_staff"]
