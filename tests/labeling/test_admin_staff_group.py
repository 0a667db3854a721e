"""Staff accounts can use the admin: ``useradd --staff`` puts them in the Staff group, which migrate keeps."""

from __future__ import annotations

import re

from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.test import Client

from accounts.models import User
from accounts.staff_group import STAFF_GROUP, STAFF_PERMISSIONS, staff_group_ensure

NOTHING = "permission to view or edit anything"


def _expected_codenames() -> set[str]:
    return {
        f"{app}.{action}_{model}"
        for app, models in STAFF_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    }


def _group_codenames() -> set[str]:
    group = Group.objects.get(name=STAFF_GROUP)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_useradd_staff_logs_into_an_admin_with_labeling_and_datasets(db, capsys):
    call_command("useradd", "curator", "--staff")
    password = re.search(r"password: (\S+)", capsys.readouterr().out).group(1)
    client = Client()
    assert client.login(username="curator", password=password)

    page = client.get("/admin/").content.decode()

    assert NOTHING not in page
    for name in ("Label projects", "Label tasks", "Data sets", "Users"):
        assert name.lower() in page.lower(), name
    assert client.get("/admin/labeling/labelproject/add/").status_code == 200
    assert client.get("/admin/auth/group/").status_code == 403  # groups and permissions stay with superusers
    assert User.objects.get(name="curator").get_all_permissions() == _expected_codenames()


def test_staff_outside_the_group_sees_nothing(db):
    User.objects.create_user("bare", "bare-pw-123", is_staff=True)
    client = Client()
    assert client.login(username="bare", password="bare-pw-123")
    assert NOTHING in client.get("/admin/").content.decode()
    assert client.get("/admin/labeling/labelproject/add/").status_code == 403
    assert client.post("/admin/labeling/labelproject/add/", {"name": "x"}).status_code == 403


def test_useradd_without_staff_joins_no_group(db, capsys):
    call_command("useradd", "worker")
    assert not User.objects.get(name="worker").groups.exists()


def test_staff_group_is_made_by_migrate_and_repaired_idempotently(db):
    emit_post_migrate_signal(0, False, "default")
    assert _group_codenames() == _expected_codenames()

    group = Group.objects.get(name=STAFF_GROUP)
    group.permissions.add(Permission.objects.get(codename="delete_group"))
    staff_group_ensure()
    staff_group_ensure()

    assert Group.objects.filter(name=STAFF_GROUP).count() == 1
    assert _group_codenames() == _expected_codenames()
