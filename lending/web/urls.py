"""Routes of the site's pages (the API is under /api/v1/, in lending/api/urls.py)."""

from django.urls import path

from lending.web import accounts as acc
from lending.web import applications as borrow
from lending.web import console
from lending.web import dashboard as dash
from lending.web import loans as lend
from lending.web import payments as pay
from lending.web import views as web

urlpatterns = [
    path("", web.home, name="home"),
    path("wallet/", web.wallet, name="wallet"),
    path("dashboard/", dash.dashboard, name="dashboard"),
    path("dashboard/statement/", dash.statement, name="dashboard-statement"),
    path("dashboard/auto-lending/", dash.auto_lending, name="dashboard-auto-lending"),
    path("wallet/deposit/", pay.deposit, name="deposit"),
    path("wallet/withdraw/", pay.withdraw, name="withdraw"),
    path("payments/<int:pk>/", pay.card_payment, name="card-payment"),
    path("payments/<int:pk>/status/", pay.card_payment_status, name="card-payment-status"),
    path("loans/<int:pk>/pay/", pay.loan_pay, name="loan-pay"),
    path("loans/", lend.loan_list, name="loan-list"),
    path("loans/<int:pk>/", lend.loan_detail, name="loan-detail"),
    path("loans/<int:pk>/lend/", lend.loan_lend, name="loan-lend"),
    path("apply/", borrow.apply_start, name="apply"),
    path("apply/signup/", borrow.apply_signup, name="apply-signup"),
    path("apply/about/", borrow.apply_about, name="apply-about"),
    path("apply/business/", borrow.apply_business, name="apply-business"),
    path("apply/loan/", borrow.apply_loan, name="apply-loan"),
    path("apply/review/", borrow.apply_review, name="apply-review"),
    path("my-loan/", borrow.my_loan, name="my-loan"),
    path("my-loan/<int:pk>/", borrow.my_loan, name="my-loan-detail"),
    path("console/", console.queue, name="console"),
    path("console/find/", console.find, name="console-find"),
    path("console/loans/<int:pk>/", console.loan_detail, name="console-loan"),
    path("console/loans/<int:pk>/approve/", console.approve, name="console-approve"),
    path("console/loans/<int:pk>/reject/", console.reject, name="console-reject"),
    path("console/loans/<int:pk>/publish/", console.publish, name="console-publish"),
    path("console/loans/<int:pk>/disburse/", console.disburse, name="console-disburse"),
    path("console/loans/<int:pk>/repayment/", console.repayment, name="console-repayment"),
    path("console/loans/<int:pk>/write-off/", console.write_off, name="console-write-off"),
    path("console/loans/<int:pk>/refund/", console.refund, name="console-refund"),
    path("console/repayments/batch/", console.batch, name="console-batch"),
    path("console/repayments/batch/apply/", console.batch_apply, name="console-batch-apply"),
    path("console/repayments/batch/<str:token>/", console.batch_done, name="console-batch-done"),
    path("console/at-risk/", console.at_risk, name="console-at-risk"),
    path("console/defaults/", console.defaults, name="console-defaults"),
    path("console/metrics/", console.metrics, name="console-metrics"),
    path("accounts/signup/", acc.signup, name="signup"),
    path("accounts/login/", acc.login, name="login"),
    path("accounts/logout/", acc.logout, name="logout"),
    path("accounts/profile/", acc.profile, name="profile"),
    path("accounts/profile/notifications/", acc.notification_settings, name="notification-settings"),
    path("accounts/password/reset/", acc.password_reset, name="password_reset"),
    path("accounts/password/reset/sent/", acc.password_reset_done, name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", acc.password_reset_confirm, name="password_reset_confirm"),
    path("accounts/password/reset/done/", acc.password_reset_complete, name="password_reset_complete"),
    path("accounts/password/change/", acc.password_change, name="password_change"),
    path("accounts/password/change/done/", acc.password_change_done, name="password_change_done"),
]
