from django.urls import path
from rest_framework.routers import DefaultRouter

from datasets import views

router = DefaultRouter(trailing_slash=False)
router.register("datasets", views.DatasetViewSet, basename="dataset")

image_list = views.ImageViewSet.as_view({"get": "list"})
image_detail = views.ImageViewSet.as_view({"get": "retrieve"})
image_flags = views.ImageViewSet.as_view({"post": "flags"})

urlpatterns = [
    path("datasets/<str:dataset_id>/images", image_list, name="dataset-image-list"),
    path("datasets/<str:dataset_id>/images/flags", image_flags, name="dataset-image-flags"),
    path("datasets/<str:dataset_id>/images/<str:pk>", image_detail, name="dataset-image-detail"),
    path(
        "datasets/<str:dataset_id>/categories",
        views.CategoryViewSet.as_view({"get": "list"}),
        name="dataset-category-list",
    ),
    path("datasets/<str:dataset_id>/labels", views.LabelViewSet.as_view({"get": "list"}), name="dataset-label-list"),
    *router.urls,
]

from datasets.api_jobs import job_urls  # noqa: E402 - import, export and FN/FP job endpoints

urlpatterns += job_urls()
