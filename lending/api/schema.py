"""OpenAPI pieces drf-spectacular cannot guess: the API-key scheme and the Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "lending.api.keys.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "lk_<prefix>_<secret>",
            "description": "An API key, shown once when created (`manage.py api_key_create`), scoped and revocable.",
        }


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique value per action (up to 255 characters). Sent again with the same body, the first answer is "
        "returned (header Idempotent-Replayed: true) and nothing is done twice; with another body, 409. Kept 24 hours."
    ),
)
