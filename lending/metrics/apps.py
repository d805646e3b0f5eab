"""App config for metrics (app label `metrics`)."""

from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "lending.metrics"
    label = "metrics"
    verbose_name = "Portfolio metrics"
