"""Cursor pagination: stable under inserts, and a constant cost however deep the page."""

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class Cursor(CursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"

    def get_page_size(self, request: Request) -> int:
        """A page_size that is not a whole number from 1 is a 400 naming it (DRF would quietly use 25, hiding the
        client's mistake); above the maximum, the maximum."""
        raw = request.query_params.get("page_size")
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({"page_size": [f"A whole number from 1 (at most {self.max_page_size} are sent)."]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == "page_size":
                parameter["schema"]["minimum"] = 1
        return parameters
