"""Celery tasks (thin: ids in, a service call) and the close-of-business steps."""
