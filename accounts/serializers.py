"""Input and output shapes of the accounts API."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User
from dds_site.api import OmitUnknownMixin, created_ts_field
from dds_site.output import page_output


class LoginInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    username = serializers.CharField()
    user_id = serializers.CharField()
    is_staff = serializers.BooleanField()
    token = serializers.CharField()
    expire = serializers.IntegerField(help_text="Expiry, unix seconds.")


class UserOutput(OmitUnknownMixin, serializers.ModelSerializer):
    created_ts = created_ts_field()
    omit_when_null = ("created_ts",)

    class Meta:
        model = User
        fields = ["id", "name", "status", "is_staff", "created_ts"]


class UserNameOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name"]


UserPageOutput = page_output(UserOutput, "UserPageOutput")
UserNamePageOutput = page_output(
    UserNameOutput, "UserNamePageOutput", count_help="Names found (at most 20: a longer prefix narrows them)."
)


class UserCreateInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    is_staff = serializers.BooleanField(default=False)


class UserCreatedOutput(UserOutput):
    password = serializers.CharField(source="plain_password", help_text="Shown once; it is not stored.")

    class Meta(UserOutput.Meta):
        fields = [*UserOutput.Meta.fields, "password"]


class UserUpdateInput(serializers.Serializer):
    is_staff = serializers.BooleanField()


class PasswordOutput(serializers.Serializer):
    password = serializers.CharField(help_text="Shown once; it is not stored.")
