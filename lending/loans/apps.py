"""App config for loans (app label `loans`)."""

from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "lending.loans"
    label = "loans"
    verbose_name = "Loans"
