from django.urls import re_path
from rest_framework.routers import SimpleRouter

from labeling import api_worklist, views

ID = r"(?P<project_pk>[0-9a-zA-Z]{1,64})"
TASK = r"(?P<task_pk>[0-9a-zA-Z]{1,64})"

router = SimpleRouter(trailing_slash=False)
router.register("label-projects", views.LabelProjectViewSet, basename="label-project")
router.register(rf"label-projects/{ID}/tasks", views.LabelTaskViewSet, basename="label-task")
router.register(rf"label-projects/{ID}/tasks/{TASK}/images", views.TaskImageViewSet, basename="label-task-image")

urlpatterns = [
    re_path(
        rf"^label-projects/{ID}/tasks/{TASK}/next$", api_worklist.NextTaskImage.as_view(), name="label-task-next-image"
    ),
    *router.urls,
]
