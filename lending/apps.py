"""The `lending` app: hosts the product-wide management commands (bench) and the web pages."""

from django.apps import AppConfig


class LendingConfig(AppConfig):
    name = "lending"
    verbose_name = "Lending"
