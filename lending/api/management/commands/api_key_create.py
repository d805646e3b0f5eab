"""`manage.py api_key_create --email E --name N --scope S [--scope S ...]`: a new API key, printed once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from lending.api.keys import api_key_create
from lending.api.models import Scope


class Command(BaseCommand):
    help = "Create an API key acting as a user, limited to the given scopes; the key is shown once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="the user the key acts as (e.g. a partner's staff)")
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument("--scope", action="append", required=True, choices=Scope.values, dest="scopes")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            raise CommandError(f"no user with the email {options['email']!r}")
        try:
            key, secret = api_key_create(user=user, name=options["name"], scopes=options["scopes"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"API key {key.pk} for {user.email} ({', '.join(key.scopes)}). Shown once; store it now:")
        self.stdout.write(secret)
