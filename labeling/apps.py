from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
