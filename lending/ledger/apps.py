"""App config for the ledger (app label `ledger`)."""

from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "lending.ledger"
    label = "ledger"
    verbose_name = "Ledger"
