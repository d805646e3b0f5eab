"""Routes of /api/v1/."""

from django.urls import path

from lending.api import (
    applications,
    autolending,
    lending,
    loan_repayments,
    loans,
    metrics,
    repayments,
    review,
    schedule_preview,
    statement,
    statistics,
    wallet,
)

app_name = "api"

urlpatterns = [
    path("schedule-preview/", schedule_preview.schedule_preview, name="schedule-preview"),
    path("loans/", loans.LoanList.as_view(), name="loans"),
    path("loans/drafts/", loans.loan_draft_create, name="loan-drafts"),
    path("loans/<int:pk>/submit/", loans.loan_submit_view, name="loan-submit"),
    path("loans/<int:pk>/shares/", lending.shares, name="loan-shares"),
    path("loans/<int:pk>/", loans.LoanDetail.as_view(), name="loan"),
    path("loans/<int:pk>/lenders/", loans.LoanLenders.as_view(), name="loan-lenders"),
    path("loans/drafts/<int:pk>/", applications.loan_draft, name="loan-draft"),
    path("loans/drafts/<int:pk>/cancel/", applications.loan_draft_cancel, name="loan-draft-cancel"),
    path("me/loans/", applications.MyLoans.as_view(), name="my-loans"),
    path("loans/<int:pk>/repayments/", loan_repayments.LoanRepayments.as_view(), name="loan-repayments"),
    path("loans/<int:pk>/approve/", review.approve, name="loan-approve"),
    path("loans/<int:pk>/reject/", review.reject, name="loan-reject"),
    path("loans/<int:pk>/publish/", review.publish, name="loan-publish"),
    path("loans/<int:pk>/disburse/", review.disburse, name="loan-disburse"),
    path("loans/<int:pk>/refund/", review.refund, name="loan-refund"),
    path("loans/<int:pk>/write-off/", review.write_off, name="loan-write-off"),
    path("metrics/series/", metrics.series, name="metrics-series"),
    path("repayment-batches/", repayments.repayment_batches, name="repayment-batches"),
    path("portfolio/", lending.Portfolio.as_view(), name="portfolio"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/deposits/", wallet.deposits, name="deposits"),
    path("wallet/deposits/<int:pk>/", wallet.deposit_detail, name="deposit"),
    path("wallet/withdrawals/", wallet.withdrawals, name="withdrawals"),
    path("wallet/withdrawals/<int:pk>/", wallet.withdrawal_detail, name="withdrawal"),
    path("me/statistics/", statistics.my_statistics, name="my-statistics"),
    path("wallet/statement/", statement.WalletStatement.as_view(), name="wallet-statement"),
    path("auto-lending/", autolending.AutoLending.as_view(), name="auto-lending"),
    path("auto-lending/dry-run/", autolending.auto_lending_dry_run, name="auto-lending-dry-run"),
]
