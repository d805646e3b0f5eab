"""The REST API (v1): DRF serializers and views, thin over services and selectors."""
