"""App config for the Kiva data imports (app label `imports`)."""

from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "lending.imports"
    label = "imports"
    verbose_name = "Data imports"
