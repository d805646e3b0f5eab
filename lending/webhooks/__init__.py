"""Outbound webhooks: field partners register URLs and receive signed, retried events about their loans."""
