"""App config for jobs (app label `jobs`): the business date and the close of business."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "lending.jobs"
    label = "jobs"
    verbose_name = "Jobs"
