"""URL routes: the web pages, authentication and the admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from lending.payments import views as payments
from lending.web import payments as pay
from lending.web import views as web

urlpatterns = [
    path("", web.home, name="home"),
    path("wallet/", web.wallet, name="wallet"),
    path("wallet/deposit/", pay.deposit, name="deposit"),
    path("wallet/withdraw/", pay.withdraw, name="withdraw"),
    path("payments/<int:pk>/", pay.card_payment, name="card-payment"),
    path("payments/<int:pk>/status/", pay.card_payment_status, name="card-payment-status"),
    path("loans/<int:pk>/pay/", pay.loan_pay, name="loan-pay"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("lending.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "api/docs/", SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[AllowAny]), name="api-docs"
    ),
    path("webhooks/stripe/", payments.stripe_webhook, name="stripe-webhook"),
]
handler404 = "lending.api.errors.page_not_found"  # JSON under /api/, Django's page elsewhere
