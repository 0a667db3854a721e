"""Account verbs: users, passwords and API tokens.

Rules beyond DDS (reference §4, bugs 1, 7, 22, 24): passwords are hashed with Django's
hashers; generated passwords come from ``secrets`` and are handed out once; user names are
matched case-insensitively; tokens are stored hashed, expire absolutely, and are revoked by
logout, password reset, ban and user deletion.
"""

from __future__ import annotations

import re
import secrets
import string

from django.contrib.auth.hashers import make_password

from accounts import store
from accounts.errors import InvalidCredentials, InvalidUserName, UserExists, UserNotFound
from accounts.models import User, UserStatus, UserToken, user_id_for
from accounts.tokens import hash_token, new_token_value, now_s, token_expiry
from dds_site.documents import current_ts

PASSWORD_LETTERS = string.ascii_letters + string.digits
PASSWORD_SYMBOLS = ".~!@#$%&*-+="
GENERATED_PASSWORD_LENGTH = 16
USER_NAME_PATTERN = re.compile(r"^\S{1,150}$")


def generate_password() -> str:
    """A random password from a CSPRNG: letters and digits plus two symbols."""
    chars = [secrets.choice(PASSWORD_LETTERS) for _ in range(GENERATED_PASSWORD_LENGTH - 2)]
    chars += [secrets.choice(PASSWORD_SYMBOLS) for _ in range(2)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def normalise_user_name(username: str) -> str:
    name = (username or "").strip().lower()
    if not USER_NAME_PATTERN.match(name):
        raise InvalidUserName()
    return name


def user_get(username: str, *, active_only: bool = True) -> User | None:
    """The user of that name (any case); None if missing, or inactive when ``active_only``."""
    try:
        user = User.objects.get(pk=user_id_for(username or ""))
    except User.DoesNotExist:
        return None
    if active_only and not user.is_active:
        return None
    return user


def user_create(username: str, *, is_staff: bool = False, password: str | None = None) -> User:
    """Create an active user; without ``password`` a random one is generated.

    The plaintext is available once, as ``user.plain_password`` on the returned object; it is never stored.
    """
    name = normalise_user_name(username)
    plain = password or generate_password()
    user = User(
        id=user_id_for(name),
        name=name,
        password=make_password(plain),
        status=UserStatus.ACTIVE,
        is_staff=is_staff,
        created_ts=current_ts(),
    )
    # The pk is derived from the name, so a conditional insert is the uniqueness check.
    if User.objects.filter(pk=user.pk).exists():
        raise UserExists()
    user.save(force_insert=True)
    user.plain_password = plain
    return user


def user_delete(username: str) -> int:
    """Delete the user of that name (any case) with all their tokens; returns how many users were deleted."""
    user_id = user_id_for(username or "")
    UserToken.objects.filter(user_id=user_id).delete()
    deleted, _ = User.objects.filter(pk=user_id).delete()
    return 1 if deleted else 0


def user_set_password(user: User, password: str) -> None:
    """Hash and store a new password (no token is revoked)."""
    user.password = make_password(password)
    user._password = password
    if not user._state.adding:
        User.objects.filter(pk=user.pk).update(password=user.password)


def user_reset_password(user: User) -> str:
    """Give the user a new random password, revoke every token, and return the plaintext once."""
    plain = generate_password()
    user_set_password(user, plain)
    tokens_revoke_all(user)
    user.plain_password = plain
    return plain


def user_set_status(user: User, status: str) -> None:
    """Ban (inactive) or unban (active) a user.

    A ban revokes every token and raises the session epoch, which ends every session of the user for good:
    unbanning revives neither.
    """
    if status == UserStatus.INACTIVE:
        epoch = store.user_set_status_and_bump_epoch(user.pk, status)
        if epoch is not None:
            user.session_epoch = epoch
        tokens_revoke_all(user)
    else:
        User.objects.filter(pk=user.pk).update(status=status)
    user.status = status


def user_set_staff(user: User, is_staff: bool) -> None:
    User.objects.filter(pk=user.pk).update(is_staff=is_staff)
    user.is_staff = is_staff


def user_authenticate(username: str, password: str) -> User | None:
    """The active user with that name (any case) and password, else None.

    A password stored by DDS is verified once and re-hashed (see ``User.check_password``). For an unknown or
    banned user the password is hashed anyway, as Django's ``ModelBackend`` does, so the answer takes as long
    as a wrong password and does not tell which names exist.
    """
    user = user_get(username)
    if user is None:
        make_password(password)
        return None
    if not password or not user.check_password(password):
        return None
    return user


def login_authenticate(username: str, password: str, *, client: str) -> User:
    """``user_authenticate`` under the login throttle (``accounts.throttle``): the API and the admin login.

    Raises ``LoginThrottled`` (429000) once the client or the account has spent its failed logins, and
    ``InvalidCredentials`` (403050) for a wrong name or password.
    """
    from accounts.throttle import LoginThrottle

    attempt = LoginThrottle().begin(client=client, username=username)
    user = user_authenticate(username, password)
    if user is None:
        raise InvalidCredentials()
    attempt.succeeded()
    return user


def user_login(username: str, password: str, *, client: str) -> tuple[User, UserToken]:
    """Authenticate (throttled per ``client`` address and account) and issue a token."""
    user = login_authenticate(username, password, client=client)
    return user, token_issue(user)


def token_issue(user: User) -> UserToken:
    """A new token; its plaintext is ``token.value`` on the returned object only."""
    value = new_token_value()
    issued_at = now_s()
    token = UserToken(id=hash_token(value), user=user, expire=token_expiry(issued_at), created_ts=issued_at * 1000)
    token.save(force_insert=True)
    token.value = value
    return token


def token_revoke(token_value: str) -> bool:
    deleted, _ = UserToken.objects.filter(pk=hash_token(token_value)).delete()
    return bool(deleted)


def token_refresh(user: User, token_value: str) -> UserToken:
    """Swap a valid token for a new one with a full lifetime; the old token stops working.

    Expiry is absolute: a token is never extended in place, so a leaked token dies on schedule.
    """
    if token_user(token_value) != user:
        raise InvalidCredentials("Token is not valid for this user.")
    token_revoke(token_value)
    return token_issue(user)


def tokens_revoke_all(user: User) -> int:
    deleted, _ = UserToken.objects.filter(user_id=user.pk).delete()
    return deleted


def tokens_purge_expired() -> int:
    """Delete every expired token (indexed on ``expire``)."""
    deleted, _ = UserToken.objects.filter(expire__lte=now_s()).delete()
    return deleted


def token_user(token_value: str) -> User | None:
    """The active user owning an unexpired token, else None (one round trip: ``accounts.store.token_owner``)."""
    user = store.token_owner(hash_token(token_value), now_s())
    if user is None or not user.is_active:
        return None
    return user


def user_require(username: str) -> User:
    user = user_get(username, active_only=False)
    if user is None:
        raise UserNotFound()
    return user
