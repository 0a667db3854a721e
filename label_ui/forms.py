"""The labeling pages' login form: the same throttled authentication as the API and the admin."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts import services
from accounts.errors import InvalidCredentials, LoginThrottled
from accounts.throttle import client_address


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed logins; try again in %(seconds)s seconds.",
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                user = services.login_authenticate(username, password, client=client_address(self.request))
            except LoginThrottled as exc:
                raise ValidationError(
                    self.error_messages["throttled"], code="throttled", params={"seconds": exc.retry_after}
                ) from exc
            except InvalidCredentials as exc:
                raise self.get_invalid_login_error() from exc
            # The session remembers the backend that loads the user on later requests.
            user.backend = "django.contrib.auth.backends.ModelBackend"
            self.user_cache = user
            self.confirm_login_allowed(user)
        return self.cleaned_data
