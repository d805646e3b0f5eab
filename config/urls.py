"""URL routes: the web pages, authentication and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from lending.payments import views as payments
from lending.web import views as web

urlpatterns = [
    path("", web.home, name="home"),
    path("wallet/", web.wallet, name="wallet"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("lending.api.urls")),
    path("webhooks/stripe/", payments.stripe_webhook, name="stripe-webhook"),
]
