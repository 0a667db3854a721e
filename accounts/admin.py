from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import services
from accounts.models import User, UserStatus


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("name",)
    list_display = ("name", "status", "is_staff", "is_superuser")
    list_filter = ("status", "is_staff", "is_superuser")
    search_fields = ("name",)
    readonly_fields = ("last_login", "created_ts")
    fieldsets = (
        (None, {"fields": ("name", "password")}),
        ("Status", {"fields": ("status", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_ts")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("name", "password1", "password2")}),)
    actions = ["ban_users", "unban_users", "reset_passwords"]

    def get_readonly_fields(self, request, obj=None):
        # The id is derived from the name, so a stored user's name cannot change.
        return (*self.readonly_fields, "name") if obj else self.readonly_fields

    @admin.action(description="Ban selected users (revokes their tokens)")
    def ban_users(self, request, queryset):
        for user in queryset:
            services.user_set_status(user, UserStatus.INACTIVE)
        self.message_user(request, f"Banned {len(queryset)} user(s).")

    @admin.action(description="Unban selected users")
    def unban_users(self, request, queryset):
        for user in queryset:
            services.user_set_status(user, UserStatus.ACTIVE)
        self.message_user(request, f"Unbanned {len(queryset)} user(s).")

    @admin.action(description="Reset passwords of selected users (shown once)")
    def reset_passwords(self, request, queryset):
        for user in queryset:
            password = services.user_reset_password(user)
            self.message_user(request, f"New password for {user.name}: {password}", level=messages.WARNING)

    def delete_model(self, request, obj):
        services.user_delete(obj.name)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user.name)
