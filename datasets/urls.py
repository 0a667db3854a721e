from django.urls import path
from rest_framework.routers import SimpleRouter

from datasets import api_downloads, api_image_files, api_jobs, api_label_metrics, api_uploads, views

router = SimpleRouter(trailing_slash=False)
router.register("datasets", views.DatasetViewSet, basename="dataset")

image_list = views.ImageViewSet.as_view({"get": "list"})
image_detail = views.ImageViewSet.as_view({"get": "retrieve"})
image_flags = views.ImageViewSet.as_view({"post": "flags"})

urlpatterns = [
    path("datasets/<str:dataset_id>/images", image_list, name="dataset-image-list"),
    path("datasets/<str:dataset_id>/images/flags", image_flags, name="dataset-image-flags"),
    path("datasets/<str:dataset_id>/images/<str:pk>", image_detail, name="dataset-image-detail"),
    path(
        "datasets/<str:dataset_id>/images/<str:image_id>/file",
        api_image_files.ImageFile.as_view(),
        name="dataset-image-file",
    ),
    path(
        "datasets/<str:dataset_id>/images/<str:image_id>/thumbnail",
        api_image_files.ImageThumbnail.as_view(),
        name="dataset-image-thumbnail",
    ),
    path(
        "datasets/<str:dataset_id>/categories",
        views.CategoryViewSet.as_view({"get": "list"}),
        name="dataset-category-list",
    ),
    path("datasets/<str:dataset_id>/labels", views.LabelViewSet.as_view({"get": "list"}), name="dataset-label-list"),
    path(
        "datasets/<str:dataset_id>/labels/<str:label_id>/metrics",
        api_label_metrics.LabelMetrics.as_view(),
        name="dataset-label-metrics",
    ),
    path("datasets/<str:dataset_id>/jobs", api_jobs.DatasetJobStatus.as_view(), name="dataset-jobs"),
    path("datasets/<str:dataset_id>/jobs/import", api_jobs.DatasetImportJob.as_view(), name="dataset-job-import"),
    path("datasets/<str:dataset_id>/jobs/export", api_jobs.DatasetExportJob.as_view(), name="dataset-job-export"),
    path(
        "datasets/<str:dataset_id>/jobs/export/download",
        api_downloads.DatasetExportDownload.as_view(),
        name="dataset-job-export-download",
    ),
    path("datasets/<str:dataset_id>/jobs/fnfp", api_jobs.DatasetFnFpJob.as_view(), name="dataset-job-fnfp"),
    path("uploads", api_uploads.UploadList.as_view(), name="upload-list"),
    path("uploads/<str:upload_id>", api_uploads.UploadDetail.as_view(), name="upload-detail"),
    path("uploads/<str:upload_id>/finish", api_uploads.UploadFinish.as_view(), name="upload-finish"),
    path("uploads/<str:upload_id>/import", api_uploads.UploadImport.as_view(), name="upload-import"),
    *router.urls,
]
