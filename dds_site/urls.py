from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from datasets.api_downloads import DatasetFlagsFile
from dds_site.home import ApiRootView, landing_page
from dds_site.views import PingView

api_v1 = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("ping", PingView.as_view(), name="ping"),
    path("", include("accounts.urls")),
    path("", include("datasets.urls")),
    path("", include("labeling.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("", landing_page, name="landing"),
    path("admin/", admin.site.urls),
    path("label/", include("label_ui.urls")),
    path("api/v1/", include(api_v1)),
    path("files/dataset_flags/<str:dataset_id>.tsv", DatasetFlagsFile.as_view(), name="dataset-flags-file"),
]

handler400 = "dds_site.views.bad_request"
handler403 = "dds_site.views.permission_denied"
handler404 = "dds_site.views.page_not_found"
handler500 = "dds_site.views.server_error"
