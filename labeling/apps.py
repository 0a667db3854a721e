from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self) -> None:
        from datasets import hooks
        from labeling import dataset_hooks

        hooks.dataset_deleting.connect(dataset_hooks.refuse_or_delete_tasks, dispatch_uid="labeling.dataset_deleting")
        hooks.dataset_deleted.connect(dataset_hooks.drop_task_images, dispatch_uid="labeling.dataset_deleted")
