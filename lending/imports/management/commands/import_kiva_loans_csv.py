"""`manage.py import_kiva_loans_csv FILE`: Kaggle's kiva_loans.csv (or .csv.gz) through the services."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lending.imports.kiva_csv import CsvFileError, import_loans_csv
from lending.imports.kiva_snapshot import DEFAULT_POOL
from lending.imports.management.commands.import_kiva_snapshot import positive


class Command(BaseCommand):
    help = (
        "Import the loans of Kaggle's kiva_loans.csv (each once, in its own transaction): fully funded loans end "
        "funded, the rest expired with their shares returned. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="kiva_loans.csv from Kaggle's 'Data Science for Good: Kiva Crowdfunding'")
        parser.add_argument("--progress-every", type=positive, default=500, help="rows between progress lines")
        parser.add_argument("--lender-pool", type=positive, default=DEFAULT_POOL, help="synthetic lenders to reuse")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import_loans_csv(
                options["file"],
                out=self.stdout,
                err=self.stderr,
                progress_every=options["progress_every"],
                lender_pool=options["lender_pool"],
            )
        except CsvFileError as exc:
            raise CommandError(str(exc)) from None
