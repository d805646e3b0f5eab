"""Routes of the site's pages (the API is under /api/v1/, in lending/api/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

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
]
