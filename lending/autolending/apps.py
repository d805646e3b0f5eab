"""App config for autolending (app label `autolending`)."""

from django.apps import AppConfig


class AutolendingConfig(AppConfig):
    name = "lending.autolending"
    label = "autolending"
    verbose_name = "Auto-lending"
