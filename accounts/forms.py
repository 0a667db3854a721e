"""The login forms of the admin and of the labeling pages: the same throttled authentication as the API login."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts import services
from accounts.errors import InvalidCredentials, LoginThrottled
from accounts.throttle import client_address

THROTTLED = "Too many failed logins; try again in %(seconds)s seconds."


class _ThrottledLogin:
    """``clean()`` through ``services.login_authenticate`` (failed logins counted per name and client)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                user = services.login_authenticate(username, password, client=client_address(self.request))
            except LoginThrottled as exc:
                raise ValidationError(THROTTLED, code="throttled", params={"seconds": exc.retry_after}) from exc
            except InvalidCredentials as exc:
                raise self.get_invalid_login_error() from exc
            # The session remembers the backend that loads the user on later requests.
            user.backend = "django.contrib.auth.backends.ModelBackend"
            self.user_cache = user
            self.confirm_login_allowed(user)
        return self.cleaned_data


class ThrottledLoginForm(_ThrottledLogin, AuthenticationForm):
    """The labeling pages' login."""


class ThrottledAdminLoginForm(_ThrottledLogin, AdminAuthenticationForm):
    """The admin's login (staff only, as Django's)."""
