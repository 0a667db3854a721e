"""Account errors, with DDS codes."""

from dds_site.errors import (
    AuthenticationFailed,
    DDSError,
    ErrCode,
    IntegrationError,
    NotFound,
    PermissionDenied,
    Throttled,
)


class UserExists(IntegrationError):
    message = "A user with this name already exists."


class UserNotFound(NotFound):
    message = "User not found."


class InvalidCredentials(AuthenticationFailed):
    """Wrong name, wrong password or inactive user: deliberately indistinguishable."""


class PasswordNotRecoverable(DDSError):
    code = ErrCode.BAD_REQUEST
    message = (
        "Passwords are stored as one-way hashes and cannot be read back; reset the password to hand out a new one."
    )


class InvalidUserName(DDSError):
    code = ErrCode.PARAMETER_INVALID
    message = "User name must be 1-150 characters without whitespace."


class SuperuserRequired(PermissionDenied):
    message = "Only a superuser can do this."


class SelfLockoutRefused(PermissionDenied):
    """Banning or deleting oneself, or dropping one's own privileges, would lock the actor out at once."""

    message = "You cannot lock yourself out."


class LoginThrottled(Throttled):
    message = "Too many failed logins; try again later."
