from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("name",)
    list_display = ("name", "status", "is_staff", "is_superuser")
    list_filter = ("status", "is_staff", "is_superuser")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "password")}),
        ("Status", {"fields": ("status", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login",)}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("name", "password1", "password2")}),)
