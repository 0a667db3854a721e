"""The default group of staff users: the model permissions that let them use the admin as they use the API.

Django's admin shows a non-superuser only the models his permissions name; without them a staff account sees
"You don't have permission to view or edit anything". Members of ``STAFF_GROUP`` may view and work with users,
datasets and label projects; what they may do to a given user, dataset or project is still decided by the same
rules as in the API (``accounts.rules``, ``labeling.permissions``). ``useradd --staff`` puts new staff users in
it; ``migrate`` (re)creates it with exactly these permissions.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from accounts.models import User

STAFF_GROUP = "Staff"

# app label -> model name -> actions
STAFF_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {"user": ("view", "add", "change", "delete")},
    "datasets": {"dataset": ("view", "change", "delete"), "category": ("view",), "label": ("view",)},
    "labeling": {"labelproject": ("view", "add", "change", "delete"), "labeltask": ("view",), "taskrole": ("view",)},
}


def _wanted_permissions() -> tuple[list[Permission], set[str]]:
    """The permissions ``STAFF_PERMISSIONS`` names, and the ``app.codename`` of those that do not exist."""
    found: list[Permission] = []
    missing: set[str] = set()
    for app_label, models in STAFF_PERMISSIONS.items():
        codenames = {f"{action}_{model}" for model, actions in models.items() for action in actions}
        rows = list(Permission.objects.filter(content_type__app_label=app_label, codename__in=sorted(codenames)))
        found += rows
        missing |= {f"{app_label}.{name}" for name in codenames - {row.codename for row in rows}}
    return found, missing


def staff_group_ensure() -> Group:
    """Create the staff group if missing and set its permissions to ``STAFF_PERMISSIONS`` (idempotent)."""
    wanted, missing = _wanted_permissions()
    if missing:
        # Permissions are made by migrate's post_migrate; this may run before that for the apps after us.
        for app_label in STAFF_PERMISSIONS:
            create_permissions(apps.get_app_config(app_label), verbosity=0)
        wanted, missing = _wanted_permissions()
        if missing:
            raise LookupError(f"permissions {sorted(missing)} do not exist; run migrate first.")
    group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
    group.permissions.set(wanted)
    return group


def staff_group_join(user: User) -> None:
    """Put a staff user in the staff group (creating it, with its permissions, if needed)."""
    group = Group.objects.filter(name=STAFF_GROUP).first() or staff_group_ensure()
    user.groups.add(group)


def on_post_migrate(sender, **kwargs) -> None:
    staff_group_ensure()
