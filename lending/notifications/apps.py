"""App config for notifications (app label `notifications`)."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "lending.notifications"
    label = "notifications"
    verbose_name = "Notifications"
