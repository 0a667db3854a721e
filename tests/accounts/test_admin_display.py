"""The user admin reads like a product: creation dates as dates, a filter by group."""

from __future__ import annotations

from django.contrib.auth.models import Group

from accounts.models import User


def test_user_pages_show_creation_dates_not_milliseconds(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    user = make_user("mo")
    User.objects.filter(pk=user.pk).update(created_ts=1_700_000_000_000)  # 2023-11-14 22:13:20 UTC
    listing = client.get("/admin/accounts/user/").content.decode()
    assert "column-created" in listing
    assert "1700000000000" not in listing
    assert "Nov. 14, 2023" in listing
    page = client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert "Nov. 14, 2023" in page
    assert "1700000000000" not in page


def test_user_list_filters_by_group(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    group = Group.objects.create(name="curators")
    make_user("inside").groups.add(group)
    make_user("outside")
    listing = client.get("/admin/accounts/user/", {"groups__id__exact": group.pk}).content.decode()
    assert ">inside<" in listing
    assert ">outside<" not in listing
