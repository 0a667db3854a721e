from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI token scheme)
        from accounts.staff_group import on_post_migrate

        # After the labeling app's migrations too: the group's permissions name models of every app.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="accounts.staff_group")
