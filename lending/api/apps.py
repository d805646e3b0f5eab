"""The REST API (/api/v1/): its keys for programs and the answers it keeps for Idempotency-Key replays."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "lending.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from lending.api import schema  # noqa: F401 - registers the API-key scheme with drf-spectacular
