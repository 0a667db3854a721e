"""Account verbs: users, passwords and tokens."""

from __future__ import annotations

from accounts.models import User, UserToken
from accounts.tokens import hash_token, now_s


def token_user(token_value: str) -> User | None:
    """The active user owning an unexpired token, else None."""
    token = UserToken.objects.select_related("user").filter(pk=hash_token(token_value), expire__gt=now_s()).first()
    if token is None or not token.user.is_active:
        return None
    return token.user
