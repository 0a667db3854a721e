"""DRF authentication by API token: ``Authorization: Token <key>`` or DDS's ``Token: <key>`` header."""

from __future__ import annotations

from rest_framework import authentication

from dds_site.errors import Unauthorized


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def _token_value(self, request) -> str | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if header and header[0].lower() == self.keyword.lower():
            if len(header) != 2:
                raise Unauthorized("Invalid token header.")
            return header[1]
        return request.META.get("HTTP_TOKEN") or None

    def authenticate(self, request):
        from accounts.services import token_user

        token_value = self._token_value(request)
        if not token_value:
            return None
        user = token_user(token_value)
        if user is None:
            raise Unauthorized()
        return user, token_value

    def authenticate_header(self, request) -> str:
        return self.keyword
