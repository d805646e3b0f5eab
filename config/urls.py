"""URL routes: the web pages, authentication and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from lending.payments import views as payments

urlpatterns = [
    path("", include("lending.web.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("lending.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "api/docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="api-docs"
    ),
    path("webhooks/stripe/", payments.stripe_webhook, name="stripe-webhook"),
]
handler404 = "lending.api.errors.page_not_found"  # JSON under /api/, Django's page elsewhere
