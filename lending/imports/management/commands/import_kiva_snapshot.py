"""`manage.py import_kiva_snapshot FILE [FILE ...]`: Kiva API snapshot pages (.json, .json.gz), via the services."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lending.imports.kiva_snapshot import DEFAULT_POOL, SnapshotError, import_snapshot


def positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number, 1 or more")
    return number


class Command(BaseCommand):
    help = (
        "Import the loans of Kiva API snapshot files (each loan once, in its own transaction), close the books "
        "to the snapshot's date and compare Kiva's outcomes with ours. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help='snapshot pages: {"header": {..., "date"}, "loans": [...]}')
        parser.add_argument("--progress-every", type=positive, default=100, help="loans between progress lines")
        parser.add_argument("--lender-pool", type=positive, default=DEFAULT_POOL, help="synthetic lenders to reuse")
        parser.add_argument("--no-close", action="store_true", help="import only; do not close the books")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import_snapshot(
                options["files"],
                out=self.stdout,
                err=self.stderr,
                progress_every=options["progress_every"],
                lender_pool=options["lender_pool"],
                close=not options["no_close"],
            )
        except SnapshotError as exc:
            raise CommandError(str(exc)) from None
