"""App config for `seeds` (hosts the seed_demo command)."""

from django.apps import AppConfig


class SeedsConfig(AppConfig):
    name = "seeds"
    verbose_name = "Seeds"
