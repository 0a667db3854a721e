"""Accounts API: login/logout/refresh, the caller's profile, and user administration (staff only)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import rules, services
from accounts.filters import UserFilter
from accounts.models import User, UserStatus
from accounts.rules import Verb
from accounts.serializers import (
    LoginInput,
    PasswordOutput,
    TokenOutput,
    UserCreatedOutput,
    UserCreateInput,
    UserNameOutput,
    UserNamePageOutput,
    UserOutput,
    UserPageOutput,
    UserUpdateInput,
)
from accounts.throttle import client_address
from dds_site.api import whole_list_response
from dds_site.errors import MissingArgument

NAME_LINT_MIN_CHARS = 2
NAME_LINT_LIMIT = 20


def _token_payload(user: User, token) -> dict:
    return TokenOutput(
        {
            "username": user.name,
            "user_id": user.id,
            "is_staff": user.is_staff,
            "token": token.value,
            "expire": token.expire,
        }
    ).data


class LoginView(APIView):
    """Exchange a user name (any case) and password for an API token.

    Failed logins are limited per client address and per account (``accounts.throttle``): 429000 with
    ``Retry-After`` once spent."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=LoginInput, responses=TokenOutput)
    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, token = services.user_login(
            data.validated_data["username"], data.validated_data["password"], client=client_address(request)
        )
        return Response(_token_payload(user, token))


class LogoutView(APIView):
    """Revoke the token of this request."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, str):
            services.token_revoke(request.auth)
        return Response(status=204)


class RefreshView(APIView):
    """Swap the token of this request for a new one with a full lifetime."""

    @extend_schema(request=None, responses=TokenOutput)
    def post(self, request):
        if not isinstance(request.auth, str):
            raise MissingArgument("Only token-authenticated requests can refresh their token.")
        token = services.token_refresh(request.user, request.auth)
        return Response(_token_payload(request.user, token))


@extend_schema_view(list=extend_schema(responses=UserPageOutput))
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Users. Staff manage them within ``accounts.rules`` (only superusers act on staff and superusers or grant
    staff; nobody bans or deletes themselves); any authenticated user reads their own profile (``me``)
    and may look names up by prefix (``name_lints``, at most 20 names in one page, no listing of everyone)."""

    queryset = User.objects.order_by("name")
    serializer_class = UserOutput
    permission_classes = [IsAdminUser]
    filterset_class = UserFilter

    def get_permissions(self):
        if self.action in {"me", "name_lints"}:
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=UserCreateInput, responses={201: UserCreatedOutput})
    def create(self, request):
        data = UserCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["is_staff"]:
            rules.require_set_privileges(request.user)
        user = services.user_create(data.validated_data["username"], is_staff=data.validated_data["is_staff"])
        return Response(UserCreatedOutput(user).data, status=201)

    @extend_schema(request=UserUpdateInput, responses=UserOutput)
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = UserUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        rules.require_set_privileges(request.user, user)
        services.user_set_staff(user, data.validated_data["is_staff"])
        return Response(UserOutput(user).data)

    def perform_destroy(self, instance: User) -> None:
        rules.require(self.request.user, Verb.DELETE, instance)
        services.user_delete(instance.name)

    @extend_schema(request=None, responses=UserOutput)
    @action(detail=True, methods=["post"])
    def ban(self, request, pk=None):
        return self._set_status(request, Verb.BAN, UserStatus.INACTIVE)

    @extend_schema(request=None, responses=UserOutput)
    @action(detail=True, methods=["post"])
    def unban(self, request, pk=None):
        return self._set_status(request, Verb.UNBAN, UserStatus.ACTIVE)

    def _set_status(self, request, verb: Verb, status: str) -> Response:
        user = self.get_object()
        rules.require(request.user, verb, user)
        services.user_set_status(user, status)
        return Response(UserOutput(user).data)

    @extend_schema(request=None, responses=PasswordOutput)
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        user = self.get_object()
        rules.require(request.user, Verb.RESET_PASSWORD, user)
        password = services.user_reset_password(user)
        return Response(PasswordOutput({"password": password}).data)

    @extend_schema(responses=UserOutput)
    @action(detail=False, methods=["get"])
    def me(self, request):
        return Response(UserOutput(request.user).data)

    @extend_schema(
        operation_id="api_v1_users_name_lints_list",
        parameters=[OpenApiParameter("name", str, description="Name prefix, at least 2 characters.")],
        responses=UserNamePageOutput,
    )
    @action(detail=False, methods=["get"], url_path="name-lints", pagination_class=None)
    def name_lints(self, request):
        prefix = request.query_params.get("name", "").strip().lower()
        if len(prefix) < NAME_LINT_MIN_CHARS:
            return whole_list_response([])
        # A bounded range on the unique name index: no pattern matching on user input at all.
        users = User.objects.filter(name__gte=prefix, name__lt=prefix + "\uffff", status=UserStatus.ACTIVE)
        users = users.order_by("name")
        return whole_list_response(UserNameOutput(users[:NAME_LINT_LIMIT], many=True).data)
