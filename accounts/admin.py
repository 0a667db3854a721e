"""The user admin. Who may act on whom is ``accounts.rules``, as in the API; actions that destroy or reveal
ask for confirmation first, and generated passwords are shown once in a page body, never in a message."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy

from accounts import rules, services
from accounts.forms import ThrottledAdminLoginForm
from accounts.models import User, UserStatus
from accounts.rules import Verb
from dds_site.admin_confirm import confirmation_page, is_confirmed
from dds_site.admin_display import ms_datetime

admin.site.login_form = ThrottledAdminLoginForm


def _checked(verb: Verb, **confirmation: str) -> Callable:
    """An action on users that runs only when ``verb`` is allowed on every selected user (else each refusal is a
    message and nothing happens) and, given the ``confirmation`` page's title, question and button, once confirmed.
    """

    def wrap(method: Callable) -> Callable:
        @wraps(method)
        def action(modeladmin, request, queryset):
            refusals = [error for user in queryset if (error := rules.refusal(request.user, verb, user))]
            for error in refusals:
                modeladmin.message_user(request, error.message, level=messages.ERROR)
            if refusals:
                return None
            if confirmation and not is_confirmed(request):
                items = [user.name for user in queryset]
                return confirmation_page(
                    modeladmin, request, queryset, action=method.__name__, items=items, **confirmation
                )
            return method(modeladmin, request, queryset)

        return action

    return wrap


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("name",)
    list_display = ("name", "status", "is_staff", "is_superuser", "created", "last_login")
    list_filter = ("status", "is_staff", "is_superuser", "groups")
    search_fields = ("name",)
    readonly_fields = ("last_login", "created")
    fieldsets = (
        (None, {"fields": ("name", "password")}),
        ("Status", {"fields": ("status", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("name", "password1", "password2")}),)
    actions = ["ban_users", "unban_users", "reset_passwords", "delete_selected"]

    @admin.display(description="Created", ordering="created_ts")
    def created(self, user: User) -> str:
        return ms_datetime(user.created_ts)

    # --- who may do what (accounts.rules) -----------------------------------------------

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or rules.can(request.user, Verb.CHANGE, obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or rules.can(request.user, Verb.DELETE, obj))

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("name")  # the id is derived from the name, so a stored user's name cannot change
            if obj.pk == request.user.pk:
                fields.append("status")  # banning oneself would lock one out
        if not rules.can_set_privileges(request.user, obj):
            fields.extend(rules.PRIVILEGE_FIELDS)
        return fields

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description="Ban selected users (ends their sessions and tokens)", permissions=["change"])
    @_checked(
        Verb.BAN,
        title="Ban users",
        question="Ban these users? They are logged out at once and their API tokens are revoked.",
        button="Yes, ban them",
    )
    def ban_users(self, request, queryset):
        return self._set_status(request, queryset, UserStatus.INACTIVE, "Banned")

    @admin.action(description="Unban selected users", permissions=["change"])
    @_checked(Verb.UNBAN)
    def unban_users(self, request, queryset):
        return self._set_status(request, queryset, UserStatus.ACTIVE, "Unbanned")

    def _set_status(self, request, queryset, status: str, done: str) -> None:
        """Ban or unban through the service (which ends a banned user's sessions and tokens), logged per user."""
        for user in queryset:
            services.user_set_status(user, status)
            self.log_change(request, user, f"{done}.")
        self.message_user(request, f"{done} {len(queryset)} user(s).", level=messages.SUCCESS)

    @admin.action(description="Reset passwords of selected users (shown once)", permissions=["change"])
    @_checked(
        Verb.RESET_PASSWORD,
        title="Reset passwords",
        question=(
            "Give these users new random passwords? Their old passwords and API tokens stop working; "
            "the new passwords are shown once on the next page."
        ),
        button="Yes, reset their passwords",
    )
    def reset_passwords(self, request, queryset):
        reset = []
        for user in queryset:
            reset.append((user.name, services.user_reset_password(user)))
            self.log_change(request, user, "Reset the password.")
            if user.pk == request.user.pk:
                update_session_auth_hash(request, user)  # stay logged in after resetting one's own password
        context = {
            **self.admin_site.each_context(request),
            "title": "New passwords",
            "subtitle": None,
            "opts": self.model._meta,
            "reset": reset,
        }
        response = TemplateResponse(request, "admin/accounts/user/passwords_reset.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description=gettext_lazy("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    @_checked(Verb.DELETE)
    def delete_selected(self, request, queryset):
        """Django's confirmed bulk delete, refused as a whole when a selected user may not be deleted."""
        return django_delete_selected(self, request, queryset)

    # --- saving and deleting through the services ---------------------------------------

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "status" in form.changed_data:
            # A ban in the form ends sessions and tokens as the action and the API do.
            services.user_set_status(obj, obj.status)

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        error = None if user is None else rules.refusal(request.user, Verb.DELETE, user)
        if error is not None and super().has_delete_permission(request):
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.user_delete(obj.name)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user.name)
