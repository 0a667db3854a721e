"""Who may administer which user: one set of predicates for the API and the admin.

Reaching user administration at all is gated first (staff for the API, model permissions in the admin).
Then, for an actor and a target user:

1. A superuser may administer any user.
2. A staff user who is not a superuser administers non-staff users and their own account only: changing,
   banning, unbanning, deleting or resetting the password of another staff user or of a superuser is refused.
3. Only a superuser grants or revokes staff or superuser status, groups or permissions.
4. Nobody bans or deletes their own account or revokes their own staff or superuser status through the API or
   the admin, which would lock them out at once; another superuser, or an operator with the management
   commands, can.

The management commands are operator tools on the shell and apply none of these rules.
"""

from __future__ import annotations

from enum import StrEnum

from accounts.errors import SelfLockoutRefused, SuperuserRequired
from accounts.models import User
from dds_site.errors import DDSError

# Fields of the user form that grant or revoke privileges (rule 3).
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class Verb(StrEnum):
    """What an actor does to a user, worded for error messages."""

    CHANGE = "change"
    BAN = "ban"
    UNBAN = "unban"
    DELETE = "delete"
    RESET_PASSWORD = "reset the password of"


# Verbs that lock the target out at once (rule 4).
LOCKOUT_VERBS = frozenset({Verb.BAN, Verb.DELETE})


def is_privileged(user: User) -> bool:
    return bool(user.is_staff or user.is_superuser)


def can_administer(actor: User, target: User) -> bool:
    """Rules 1 and 2: may ``actor`` act on ``target`` at all."""
    if actor.is_superuser or actor.pk == target.pk:
        return True
    return not is_privileged(target)


def refusal(actor: User, verb: Verb, target: User) -> DDSError | None:
    """The 403 to raise when ``actor`` may not do ``verb`` to ``target`` (rules 1, 2 and 4), else None."""
    if verb in LOCKOUT_VERBS and actor.pk == target.pk:
        return SelfLockoutRefused(f"You cannot {verb} your own account.")
    if not can_administer(actor, target):
        return SuperuserRequired(f"Only a superuser can {verb} a staff user or a superuser ({target.name}).")
    return None


def can(actor: User, verb: Verb, target: User) -> bool:
    return refusal(actor, verb, target) is None


def require(actor: User, verb: Verb, target: User) -> None:
    error = refusal(actor, verb, target)
    if error is not None:
        raise error


def privilege_refusal(actor: User, target: User | None = None) -> DDSError | None:
    """The 403 to raise when ``actor`` may not grant or revoke privileges of ``target`` (a new user when None)."""
    if target is not None and actor.pk == target.pk:
        return SelfLockoutRefused("You cannot change your own staff or superuser status, groups or permissions.")
    if not actor.is_superuser:
        return SuperuserRequired(
            "Only a superuser can grant or revoke staff or superuser status, groups or permissions."
        )
    return None


def can_set_privileges(actor: User, target: User | None = None) -> bool:
    return privilege_refusal(actor, target) is None


def require_set_privileges(actor: User, target: User | None = None) -> None:
    error = privilege_refusal(actor, target)
    if error is not None:
        raise error
