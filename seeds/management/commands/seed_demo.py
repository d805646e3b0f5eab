"""`manage.py seed_demo`: build the demo (idempotent) and print its logins."""

from typing import Any

from django.core.management.base import BaseCommand

from seeds.demo import DEMO_PASSWORD, build_demo


class Command(BaseCommand):
    help = "Create the demo people and funded wallets once, then print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = build_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for login in logins:
            self.stdout.write(f"  {login.email:<22} {login.role:<20} {login.note}")
