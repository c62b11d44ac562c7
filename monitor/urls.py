from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from monitor.annotations.views import AnnotationsView, AnnotationView
from monitor.api.health import HealthzView, ReadyzView
from monitor.ingest.views import RecordsView
from monitor.readapi.views import MetricsView, ReportView

api_v1 = [
    path("records", RecordsView.as_view(), name="ingest-records"),
    path("metrics", MetricsView.as_view(), name="read-metrics"),
    path("report", ReportView.as_view(), name="read-report"),
    path("annotations", AnnotationsView.as_view(), name="annotations"),
    # Any id: one that is not a number is the API's own 404 naming it, not Django's page.
    path("annotations/<str:id>", AnnotationView.as_view(), name="annotation"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("dashboards.urls")),
]

# The API's own JSON body where Django answers by itself (DEBUG off).
handler404 = "monitor.api.handlers.not_found"
handler500 = "monitor.api.handlers.server_error"
