"""Routes of /api/v1/."""

from django.urls import path

from lending.api import schedule_preview

app_name = "api"

urlpatterns = [
    path("schedule-preview/", schedule_preview.schedule_preview, name="schedule-preview"),
]
