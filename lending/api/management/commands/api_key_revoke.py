"""`manage.py api_key_revoke PREFIX`: a key stops working at once (its prefix is the part after `lk_`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lending.api.keys import api_key_revoke
from lending.api.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="the 12 characters after lk_")

    def handle(self, *args: Any, **options: Any) -> None:
        key = ApiKey.objects.filter(prefix=options["prefix"].removeprefix("lk_").split("_")[0]).first()
        if key is None:
            raise CommandError(f"no API key with the prefix {options['prefix']!r}")
        api_key_revoke(key=key)
        self.stdout.write(f"revoked API key {key.pk} ({key.name}) of {key.user.email}")
