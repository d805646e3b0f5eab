"""App config for outbound webhooks (app label `webhooks`)."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "lending.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
